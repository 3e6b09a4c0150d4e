//! Durability of the partition log under a real `kill -9`: a child process (the `log_writer`
//! example) appends with group-committed `sync` and prints each acknowledged range; we kill it
//! mid-stream, reopen the log in this process, and check that every acknowledged batch is there
//! in order and that the log holds only whole, CRC-valid, contiguous batches.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use charter_broker::log::batch::validate_batch;
use charter_broker::log::{LogConfig, PartitionLog};

/// Path of the `log_writer` example, building it if `cargo test` was run without examples
/// (e.g. `--test log_crash`).
fn writer_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/log_crash-HASH
    let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let bin = profile_dir.join("examples").join("log_writer");
    if !bin.exists() {
        let target_dir = profile_dir.parent().unwrap();
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "-p", "charter-broker", "--example", "log_writer"])
            .env("CARGO_TARGET_DIR", target_dir);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        assert!(
            cmd.status().unwrap().success(),
            "building log_writer failed"
        );
    }
    bin
}

fn run_and_kill(dir: &std::path::Path, min_acks: usize) -> Vec<(i64, i64)> {
    let mut child = Command::new(writer_binary())
        .arg(dir)
        .arg("4")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn log_writer");
    let mut acks = Vec::new();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acks.len() < min_acks && Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        let mut parts = line.split_whitespace();
        assert_eq!(parts.next(), Some("ack"), "unexpected line {line:?}");
        let base: i64 = parts.next().unwrap().parse().unwrap();
        let last: i64 = parts.next().unwrap().parse().unwrap();
        acks.push((base, last));
    }
    // SIGKILL while the producers are still appending and syncing.
    child.kill().expect("kill -9");
    child.wait().unwrap();
    assert!(
        acks.len() >= min_acks,
        "only {} acks before the deadline",
        acks.len()
    );
    acks
}

fn check_log(dir: &std::path::Path, acks: &[(i64, i64)]) -> i64 {
    let log = PartitionLog::open(dir, LogConfig::default()).expect("reopen after kill -9");
    let mut present = BTreeSet::new();
    let mut next = log.log_start_offset();
    while next < log.log_end_offset() {
        let bytes = log.read(next, 1 << 20).unwrap();
        assert!(!bytes.is_empty(), "read made no progress at {next}");
        let mut pos = 0;
        while pos < bytes.len() {
            // No torn batch: everything readable is whole and CRC-valid.
            let h = validate_batch(&bytes[pos..], usize::MAX).expect("whole, valid batch");
            // In order and contiguous.
            assert_eq!(h.base_offset, next, "gap or reordering");
            present.insert((h.base_offset, h.last_offset()));
            next = h.last_offset() + 1;
            pos += h.total_size();
        }
    }
    for ack in acks {
        assert!(
            present.contains(ack),
            "acknowledged batch {ack:?} missing after kill -9"
        );
    }
    log.log_end_offset()
}

#[test]
fn acknowledged_batches_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let acks = run_and_kill(dir.path(), 300);
    let end = check_log(dir.path(), &acks);
    assert!(end > acks.iter().map(|a| a.1).max().unwrap());

    // kill -9 cannot tear a single pwrite (the page cache keeps it), so also simulate what a
    // power loss can leave: half a batch at the end of the newest segment. Recovery must cut it
    // and keep everything acknowledged.
    let newest = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .max()
        .unwrap();
    let torn = charter_broker::log::batch::simple_batch(8, 1024, 0);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&newest)
        .unwrap();
    std::io::Write::write_all(&mut f, &torn[..torn.len() / 2]).unwrap();
    drop(f);
    assert_eq!(check_log(dir.path(), &acks), end);

    // A second writer continues after recovery and is killed too: offsets keep growing and the
    // first run's acknowledged batches are still there.
    let acks2 = run_and_kill(dir.path(), 100);
    assert!(
        acks2.iter().all(|a| a.0 >= end),
        "offsets were reused after recovery"
    );
    let all: Vec<_> = acks.into_iter().chain(acks2).collect();
    check_log(dir.path(), &all);
}
