//! `kill -9` of a process appending to the controller log: everything it reported as
//! flushed (openraft's `LogFlushed` fired) is there after a reopen, in order, intact.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use charter_cluster::{LogStore, LogStoreOptions, MetadataCommand};
use openraft::storage::{RaftLogStorage, RaftLogStorageExt};
use openraft::testing::log_id;
use openraft::{Entry, EntryPayload, RaftLogReader, Vote};

/// The crasher is this test binary itself, running only [`crasher`] (see there).
fn crasher_command(dir: &Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("current exe"));
    cmd.args([
        "crasher",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CRASHER_DIR, dir);
    cmd
}

const CRASHER_DIR: &str = "CHARTER_CLUSTER_CRASHER_DIR";

/// The process the crash test kills, not a test of its own (hence ignored): it appends to the
/// controller log at `$CHARTER_CLUSTER_CRASHER_DIR` forever. Each run saves a higher vote
/// (printed as `vote <term>`), then appends entries of that term in small batches (printed as
/// `flushed <index>` once openraft's callback fired) and purges the old head now and then, so
/// that compactions happen too. It runs on a current-thread runtime, as the controller will.
#[test]
#[ignore = "run by everything_reported_flushed_survives_kill_9 in a child process"]
fn crasher() {
    let dir = std::env::var_os(CRASHER_DIR).expect("CHARTER_CLUSTER_CRASHER_DIR");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(append_forever(PathBuf::from(dir)));
}

async fn append_forever(dir: PathBuf) {
    let mut log = LogStore::open(&dir, LogStoreOptions { compact_after: 64 }).expect("open");
    let term = log
        .read_vote()
        .await
        .unwrap()
        .map_or(0, |v| v.leader_id.term)
        + 1;
    log.save_vote(&Vote::new(term, 1)).await.unwrap();
    let mut out = std::io::stdout().lock();
    writeln!(out, "vote {term}").unwrap();
    out.flush().unwrap();

    let state = log.get_log_state().await.unwrap();
    let mut next = state.last_log_id.map_or(0, |l| l.index + 1);
    let mut batch_no = 0u64;
    loop {
        let n = 1 + batch_no % 4;
        let batch: Vec<_> = (next..next + n)
            .map(|i| Entry {
                log_id: log_id(term, 1, i),
                payload: EntryPayload::Normal(MetadataCommand::Registry(i.to_le_bytes().to_vec())),
            })
            .collect();
        log.blocking_append(batch).await.unwrap();
        next += n;
        writeln!(out, "flushed {}", next - 1).unwrap();
        out.flush().unwrap();
        batch_no += 1;
        if batch_no.is_multiple_of(25) && next > 40 {
            log.purge(log_id(term, 1, next - 40)).await.unwrap();
        }
    }
}

/// Runs the crasher until it has reported `lines` flushes, kills it, and returns the highest
/// vote term and entry index it reported.
fn run_and_kill(dir: &Path, lines: usize) -> (u64, u64) {
    let mut child = crasher_command(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the crasher (built by cargo test as an example)");
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let (mut term, mut flushed, mut seen) = (0, 0, 0);
    let mut line = String::new();
    let mut killed = false;
    loop {
        line.clear();
        if reader.read_line(&mut line).expect("read") == 0 {
            break;
        }
        // The harness prints "test crasher ... " before the first line, without a newline.
        let words: Vec<&str> = line.split_whitespace().collect();
        if let [.., word, n] = words.as_slice() {
            match (*word, n.parse::<u64>()) {
                ("vote", Ok(t)) => term = t,
                ("flushed", Ok(i)) => {
                    assert!(i > flushed || seen == 0, "flushes out of order");
                    flushed = i;
                    seen += 1;
                }
                _ => {}
            }
        }
        if seen == lines && !killed {
            child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix.
            killed = true;
        }
    }
    let status = child.wait().expect("wait");
    assert!(killed, "the crasher stopped by itself: {status}");
    (term, flushed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_reported_flushed_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("log");
    let mut prev_last = None;
    for (round, lines) in [(1u64, 150usize), (2, 400), (3, 77)] {
        let (term, flushed) = run_and_kill(&log_dir, lines);
        assert_eq!(term, round, "each run saw the previous run's vote");

        let mut log = LogStore::open(&log_dir, LogStoreOptions::default()).expect("reopen");
        let vote = log.read_vote().await.unwrap().expect("a vote");
        assert!(vote.leader_id.term >= term, "lost the vote of term {term}");
        let state = log.get_log_state().await.unwrap();
        let last = state.last_log_id.expect("entries").index;
        assert!(
            last >= flushed,
            "flushed up to {flushed}, reopened up to {last}"
        );
        if let Some(p) = prev_last {
            assert!(last > p, "round {round} appended nothing durable");
        }
        prev_last = Some(last);

        let entries = log.try_get_log_entries(..).await.unwrap();
        let first = state.last_purged_log_id.map_or(0, |p| p.index + 1);
        assert_eq!(entries.first().map(|e| e.log_id.index), Some(first));
        for (k, e) in entries.iter().enumerate() {
            assert_eq!(e.log_id.index, first + k as u64, "a hole in the log");
            let want = MetadataCommand::Registry(e.log_id.index.to_le_bytes().to_vec());
            assert!(
                matches!(&e.payload, EntryPayload::Normal(c) if *c == want),
                "entry {} has the wrong payload",
                e.log_id.index
            );
        }
    }
}
