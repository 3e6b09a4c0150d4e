//! Durability of the log store and the state machine across reopen, compaction and damage.

use std::path::{Path, PathBuf};

use charter_cluster::log_store::OpenError as LogOpenError;
use charter_cluster::state_machine::OpenError as SmOpenError;
use charter_cluster::types::{Entry, LogId};
use charter_cluster::{LogStore, LogStoreOptions, MetadataCommand, StateMachine};
use charter_journal::JournalError;
use openraft::storage::{RaftLogStorage, RaftLogStorageExt, RaftStateMachine};
use openraft::testing::log_id;
use openraft::{EntryPayload, RaftLogReader, RaftSnapshotBuilder, Vote};

fn entry(term: u64, index: u64) -> Entry {
    Entry {
        log_id: log_id(term, 1, index),
        payload: EntryPayload::Normal(MetadataCommand::Registry(index.to_le_bytes().to_vec())),
    }
}

fn entries(term: u64, range: std::ops::RangeInclusive<u64>) -> Vec<Entry> {
    range.map(|i| entry(term, i)).collect()
}

fn open(dir: &Path, compact_after: u64) -> LogStore {
    LogStore::open(&dir.join("log"), LogStoreOptions { compact_after }).expect("open log")
}

async fn read_all(log: &mut LogStore) -> Vec<Entry> {
    log.try_get_log_entries(..).await.expect("read")
}

fn indexes(es: &[Entry]) -> Vec<u64> {
    es.iter().map(|e| e.log_id.index).collect()
}

/// The active `.log` file of a journal directory.
fn log_file(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir.join("log"))
        .expect("read dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "log"))
        .expect("a log file")
}

#[tokio::test]
async fn reopen_preserves_log_vote_committed_and_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let vote = Vote::new_committed(3, 2);
    let snap_id;
    {
        let mut log = open(dir.path(), 10_000);
        log.blocking_append(entries(1, 0..=9)).await.unwrap();
        log.save_vote(&vote).await.unwrap();
        log.save_committed(Some(log_id(1, 1, 7))).await.unwrap();

        let mut sm = StateMachine::open(&dir.path().join("sm")).unwrap();
        sm.apply(entries(1, 0..=7)).await.unwrap();
        let snap = sm
            .get_snapshot_builder()
            .await
            .build_snapshot()
            .await
            .unwrap();
        assert_eq!(snap.meta.last_log_id, Some(log_id(1, 1, 7)));
        snap_id = snap.meta.snapshot_id;
    }
    let mut log = open(dir.path(), 10_000);
    assert_eq!(read_all(&mut log).await, entries(1, 0..=9));
    assert_eq!(log.read_vote().await.unwrap(), Some(vote));
    assert_eq!(log.read_committed().await.unwrap(), Some(log_id(1, 1, 7)));
    let state = log.get_log_state().await.unwrap();
    assert_eq!(state.last_log_id, Some(log_id(1, 1, 9)));
    assert_eq!(state.last_purged_log_id, None);

    let mut sm = StateMachine::open(&dir.path().join("sm")).unwrap();
    assert_eq!(sm.state().last_applied, Some(log_id(1, 1, 7)));
    assert_eq!(sm.state().commands.len(), 8);
    assert_eq!(
        sm.state().commands.get(&5),
        Some(&MetadataCommand::Registry(5u64.to_le_bytes().to_vec()))
    );
    let current = sm
        .get_current_snapshot()
        .await
        .unwrap()
        .expect("a snapshot");
    assert_eq!(current.meta.snapshot_id, snap_id);
    assert_eq!(current.meta.last_log_id, Some(log_id(1, 1, 7)));
}

#[tokio::test]
async fn flushed_means_durable() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), 10_000);
    for i in 0..20 {
        log.blocking_append([entry(1, i)]).await.unwrap();
        let (durable, appended) = log.journal_seqs();
        assert_eq!(durable, appended, "openraft was told before the sync");
    }
}

#[tokio::test]
async fn truncate_and_purge_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut log = open(dir.path(), 10_000);
        log.blocking_append(entries(1, 0..=20)).await.unwrap();
        log.truncate(log_id(1, 1, 15)).await.unwrap();
        // A new leader's entries replace the truncated ones.
        log.blocking_append(entries(2, 15..=17)).await.unwrap();
        log.purge(log_id(1, 1, 4)).await.unwrap();
    }
    let mut log = open(dir.path(), 10_000);
    let got = read_all(&mut log).await;
    assert_eq!(indexes(&got), (5..=17).collect::<Vec<_>>());
    assert_eq!(got.last().unwrap().log_id, log_id(2, 1, 17));
    let state = log.get_log_state().await.unwrap();
    assert_eq!(state.last_purged_log_id, Some(log_id(1, 1, 4)));
    assert_eq!(state.last_log_id, Some(log_id(2, 1, 17)));

    // Purging past the last entry (after installing a snapshot) leaves an empty log that
    // continues after the purged id, also after a reopen.
    log.purge(log_id(3, 1, 30)).await.unwrap();
    drop(log);
    let mut log = open(dir.path(), 10_000);
    assert!(read_all(&mut log).await.is_empty());
    let state = log.get_log_state().await.unwrap();
    assert_eq!(state.last_log_id, Some(log_id(3, 1, 30)));
    log.blocking_append([entry(3, 31)]).await.unwrap();
    assert_eq!(indexes(&read_all(&mut log).await), vec![31]);
}

#[tokio::test]
async fn compaction_keeps_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let vote = Vote::new(4, 1);
    {
        let mut log = open(dir.path(), 8);
        for i in 0..100 {
            log.blocking_append([entry(1, i)]).await.unwrap();
            if i % 10 == 9 {
                log.purge(log_id(1, 1, i - 5)).await.unwrap();
            }
        }
        log.save_vote(&vote).await.unwrap();
        // 100 entries, 10 purges and a vote, yet far fewer records: compaction ran.
        assert!(
            log.journal_records() < 40,
            "{} records",
            log.journal_records()
        );
    }
    let mut log = open(dir.path(), 8);
    assert_eq!(read_all(&mut log).await, entries(1, 95..=99));
    assert_eq!(log.read_vote().await.unwrap(), Some(vote));
    assert_eq!(
        log.get_log_state().await.unwrap().last_purged_log_id,
        Some(log_id(1, 1, 94))
    );
}

#[tokio::test]
async fn torn_tail_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut log = open(dir.path(), 10_000);
        log.blocking_append(entries(1, 0..=4)).await.unwrap();
    }
    // A record that was being written when the process died: never acknowledged.
    let path = log_file(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let good = bytes.len();
    bytes.extend_from_slice(&[0x40, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]);
    std::fs::write(&path, &bytes).unwrap();

    let mut log = open(dir.path(), 10_000);
    assert_eq!(read_all(&mut log).await, entries(1, 0..=4));
    assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, good);
    log.blocking_append([entry(1, 5)]).await.unwrap();
    drop(log);
    let mut log = open(dir.path(), 10_000);
    assert_eq!(read_all(&mut log).await, entries(1, 0..=5));
}

#[tokio::test]
async fn damaged_log_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut log = open(dir.path(), 10_000);
        log.blocking_append(entries(1, 0..=4)).await.unwrap();
    }
    let path = log_file(dir.path());
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&path, &bytes).unwrap();

    match LogStore::open(&dir.path().join("log"), LogStoreOptions::default()) {
        Err(LogOpenError::Journal(JournalError::Damaged { .. })) => {}
        Err(e) => panic!("expected Damaged, got {e}"),
        Ok(_) => panic!("a log that lost acknowledged entries was opened"),
    }
    // Refusing wrote nothing: the damaged bytes are still there for the operator.
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[tokio::test]
async fn damaged_snapshot_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sm_dir = dir.path().join("sm");
    {
        let mut sm = StateMachine::open(&sm_dir).unwrap();
        sm.apply(entries(1, 0..=3)).await.unwrap();
        sm.get_snapshot_builder()
            .await
            .build_snapshot()
            .await
            .unwrap();
    }
    let path = sm_dir.join("current.snap");
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    match StateMachine::open(&sm_dir) {
        Err(SmOpenError::Damaged { .. }) => {}
        Err(e) => panic!("expected Damaged, got {e}"),
        Ok(_) => panic!("a damaged snapshot was opened"),
    }
}

#[tokio::test]
async fn installed_snapshot_replaces_state_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    // A leader's state machine builds a snapshot ...
    let mut leader = StateMachine::open(&dir.path().join("leader")).unwrap();
    leader.apply(entries(2, 0..=12)).await.unwrap();
    let snap = leader
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap();

    // ... which a follower with other state installs.
    let follower_dir = dir.path().join("follower");
    {
        let mut follower = StateMachine::open(&follower_dir).unwrap();
        follower.apply(entries(1, 0..=2)).await.unwrap();
        let mut data = follower.begin_receiving_snapshot().await.unwrap();
        data.get_mut()
            .extend_from_slice(snap.snapshot.get_ref().as_slice());
        follower.install_snapshot(&snap.meta, data).await.unwrap();
        assert_eq!(follower.state(), leader.state());
    }
    let mut follower = StateMachine::open(&follower_dir).unwrap();
    assert_eq!(follower.state(), leader.state());
    let current = follower.get_current_snapshot().await.unwrap().unwrap();
    assert_eq!(current.meta, snap.meta);
    let expect: LogId = log_id(2, 1, 12);
    assert_eq!(follower.state().last_applied, Some(expect));
}

#[tokio::test]
async fn a_stale_build_does_not_replace_a_newer_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let sm_dir = dir.path().join("sm");
    let mut sm = StateMachine::open(&sm_dir).unwrap();
    sm.apply(entries(1, 0..=3)).await.unwrap();
    // openraft builds on a task of its own: a builder made earlier may finish later.
    let mut stale = sm.get_snapshot_builder().await;
    sm.apply(entries(1, 4..=9)).await.unwrap();
    let newer = sm
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap();
    stale.build_snapshot().await.unwrap();

    let current = sm.get_current_snapshot().await.unwrap().unwrap();
    assert_eq!(current.meta, newer.meta);
    drop(sm);
    let sm = StateMachine::open(&sm_dir).unwrap();
    assert_eq!(sm.state().last_applied, Some(log_id(1, 1, 9)));
}
