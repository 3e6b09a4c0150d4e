//! Committed offsets, durable in a `charter-journal` (`<data>/offsets-journal`): a commit
//! acknowledged has been flushed to disk, and only then becomes visible to OffsetFetch.
//!
//! Each commit or delete is one journal record; the offsets live in memory. Commits from
//! different connections share flushes (group commit): a commit is appended under the state
//! lock, flushed without it, and applied afterwards together with every earlier record the
//! flush covered, in journal order, so memory always equals a replay of the durable prefix.
//! When the log outgrows the live offsets, it is replaced by a snapshot of them.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use charter_journal::{Journal, JournalError, Recovery};
use serde::{Deserialize, Serialize};

/// One committed position, as OffsetCommit sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedOffset {
    pub offset: i64,
    /// The leader epoch the consumer saw at `offset`; -1 when unknown.
    pub leader_epoch: i32,
    /// The client's metadata string (`None` is Kafka's null).
    pub metadata: Option<String>,
    /// When the commit was made (ms since the epoch); drives `offsets.retention.minutes`.
    pub commit_timestamp: i64,
}

/// A (topic, partition) pair.
pub type TopicPartition = (String, i32);

/// The journal's directory under the data dir.
pub const JOURNAL_DIR: &str = "offsets-journal";
/// The log is compacted once it is larger than this and than 4× the last snapshot.
const COMPACT_MIN_BYTES: u64 = 8 << 20;

/// One journal record.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffsetEntry {
    Commit {
        group: String,
        offsets: Vec<(TopicPartition, CommittedOffset)>,
    },
    /// `partitions: None` deletes every offset of the group.
    Delete {
        group: String,
        partitions: Option<Vec<TopicPartition>>,
    },
}

type Offsets = BTreeMap<String, BTreeMap<TopicPartition, CommittedOffset>>;

struct State {
    offsets: Offsets,
    /// Appended, not yet known durable: applied in order once a flush covers them.
    pending: VecDeque<(u64, OffsetEntry)>,
    last_snapshot_bytes: u64,
}

/// The committed offsets of every group.
#[derive(Clone)]
pub struct OffsetStore {
    journal: Arc<Journal>,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for OffsetStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OffsetStore").finish_non_exhaustive()
    }
}

fn apply(offsets: &mut Offsets, entry: OffsetEntry) {
    match entry {
        OffsetEntry::Commit { group, offsets: os } => {
            offsets.entry(group).or_default().extend(os);
        }
        OffsetEntry::Delete { group, partitions } => match partitions {
            None => {
                offsets.remove(&group);
            }
            Some(ps) => {
                if let Some(g) = offsets.get_mut(&group) {
                    for tp in &ps {
                        g.remove(tp);
                    }
                    if g.is_empty() {
                        offsets.remove(&group);
                    }
                }
            }
        },
    }
}

impl OffsetStore {
    /// Opens (or creates) the offsets journal in `dir` and replays it.
    pub fn open(dir: &Path, recovery: Recovery) -> Result<OffsetStore, JournalError> {
        let (journal, replay) = Journal::open_with(dir, recovery)?;
        let undecodable = |seq: u64, e: serde_json::Error| JournalError::Damaged {
            path: dir.to_path_buf(),
            detail: format!("record {seq} is not an offsets entry: {e}"),
        };
        let mut offsets = Offsets::new();
        let last_snapshot_bytes = replay.snapshot.as_ref().map_or(0, |s| s.len() as u64);
        if let Some(snap) = replay.snapshot {
            let groups: Vec<OffsetEntry> =
                serde_json::from_slice(&snap).map_err(|e| undecodable(0, e))?;
            for entry in groups {
                apply(&mut offsets, entry);
            }
        }
        for (seq, payload) in replay.records {
            let entry = serde_json::from_slice(&payload).map_err(|e| undecodable(seq, e))?;
            apply(&mut offsets, entry);
        }
        Ok(OffsetStore {
            journal: Arc::new(journal),
            state: Arc::new(Mutex::new(State {
                offsets,
                pending: VecDeque::new(),
                last_snapshot_bytes,
            })),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes `entry` durable, then visible.
    async fn write(&self, entry: OffsetEntry) -> Result<(), JournalError> {
        let bytes = serde_json::to_vec(&entry).map_err(|e| JournalError::Damaged {
            path: self.journal.dir().to_path_buf(),
            detail: format!("unencodable entry: {e}"),
        })?;
        {
            let mut st = self.lock();
            let seq = self.journal.append(&bytes)?;
            st.pending.push_back((seq, entry));
        }
        let journal = self.journal.clone();
        tokio::task::spawn_blocking(move || journal.sync())
            .await
            .map_err(|e| JournalError::Poisoned {
                path: self.journal.dir().to_path_buf(),
                reason: e.to_string(),
            })??;
        let mut st = self.lock();
        let durable = self.journal.durable_seq();
        while st.pending.front().is_some_and(|(seq, _)| *seq <= durable) {
            if let Some((_, e)) = st.pending.pop_front() {
                apply(&mut st.offsets, e);
            }
        }
        self.maybe_compact(&mut st);
        Ok(())
    }

    /// Replaces the log with a snapshot when it has grown well past the live offsets.
    fn maybe_compact(&self, st: &mut State) {
        let bytes = self.journal.log_bytes();
        if bytes < COMPACT_MIN_BYTES.max(4 * st.last_snapshot_bytes) || !st.pending.is_empty() {
            return;
        }
        // Appends happen under this same lock, so the snapshot covers the whole log. It is
        // one commit entry per group (JSON maps cannot have (topic, partition) keys).
        let groups: Vec<OffsetEntry> = st
            .offsets
            .iter()
            .map(|(g, os)| OffsetEntry::Commit {
                group: g.clone(),
                offsets: os.iter().map(|(tp, c)| (tp.clone(), c.clone())).collect(),
            })
            .collect();
        match serde_json::to_vec(&groups) {
            Ok(snap) => match self.journal.compact(&snap) {
                Ok(()) => st.last_snapshot_bytes = snap.len() as u64,
                Err(e) => tracing::warn!(error = %e, "compacting the offsets journal failed"),
            },
            Err(e) => tracing::warn!(error = %e, "encoding the offsets snapshot failed"),
        }
    }

    /// Stores `offsets` for `group` atomically and waits until they are on disk.
    pub async fn commit(
        &self,
        group: &str,
        offsets: &[(TopicPartition, CommittedOffset)],
    ) -> Result<(), JournalError> {
        self.write(OffsetEntry::Commit {
            group: group.to_string(),
            offsets: offsets.to_vec(),
        })
        .await
    }

    /// The committed offset of one partition.
    pub fn get(&self, group: &str, topic: &str, partition: i32) -> Option<CommittedOffset> {
        self.lock()
            .offsets
            .get(group)?
            .get(&(topic.to_string(), partition))
            .cloned()
    }

    /// Every committed offset of `group`, ordered by topic and partition.
    pub fn all(&self, group: &str) -> Vec<(TopicPartition, CommittedOffset)> {
        self.lock().offsets.get(group).map_or_else(Vec::new, |g| {
            g.iter().map(|(tp, c)| (tp.clone(), c.clone())).collect()
        })
    }

    /// Whether `group` has any committed offset.
    pub fn has_any(&self, group: &str) -> bool {
        self.lock()
            .offsets
            .get(group)
            .is_some_and(|g| !g.is_empty())
    }

    /// Groups that have at least one committed offset.
    pub fn groups(&self) -> BTreeSet<String> {
        self.lock().offsets.keys().cloned().collect()
    }

    /// Deletes the given partitions' offsets of `group` (all of them when `None`).
    pub async fn delete(
        &self,
        group: &str,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<(), JournalError> {
        self.write(OffsetEntry::Delete {
            group: group.to_string(),
            partitions: partitions.map(<[TopicPartition]>::to_vec),
        })
        .await
    }

    /// Deletes `group`'s offsets committed before `cutoff_ms`; returns how many went.
    pub async fn expire(&self, group: &str, cutoff_ms: i64) -> Result<usize, JournalError> {
        let expired: Vec<TopicPartition> = self
            .all(group)
            .into_iter()
            .filter(|(_, c)| c.commit_timestamp < cutoff_ms)
            .map(|(tp, _)| tp)
            .collect();
        if !expired.is_empty() {
            self.delete(group, Some(&expired)).await?;
        }
        Ok(expired.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed(offset: i64, metadata: Option<&str>, ts: i64) -> CommittedOffset {
        CommittedOffset {
            offset,
            leader_epoch: 3,
            metadata: metadata.map(str::to_string),
            commit_timestamp: ts,
        }
    }

    fn t(s: &str, p: i32) -> TopicPartition {
        (s.to_string(), p)
    }

    #[tokio::test]
    async fn commits_round_trip_and_stay_per_group() {
        let dir = tempfile::tempdir().unwrap();
        let store = OffsetStore::open(&dir.path().join("o"), Recovery::Strict).unwrap();
        store
            .commit(
                "g1",
                &[
                    (t("a", 0), committed(5, Some("meta"), 10)),
                    (t("a", 1), committed(7, None, 10)),
                ],
            )
            .await
            .unwrap();
        store
            .commit("g10", &[(t("a", 0), committed(1, Some(""), 20))])
            .await
            .unwrap();
        assert_eq!(
            store.get("g1", "a", 0),
            Some(committed(5, Some("meta"), 10))
        );
        assert_eq!(store.get("g1", "a", 1), Some(committed(7, None, 10)));
        assert_eq!(store.all("g1").len(), 2, "g10 must not leak into g1");
        assert_eq!(store.all("g10")[0].1.metadata.as_deref(), Some(""));
        assert_eq!(
            store.groups().into_iter().collect::<Vec<_>>(),
            vec!["g1", "g10"]
        );
        assert_eq!(store.expire("g1", 11).await.unwrap(), 2);
        assert!(store.all("g1").is_empty());
        store.delete("g10", None).await.unwrap();
        assert!(store.groups().is_empty());
    }

    #[tokio::test]
    async fn offsets_survive_reopen_and_compaction() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o");
        {
            let store = OffsetStore::open(&path, Recovery::Strict).unwrap();
            // Enough commits of one partition to pass the compaction threshold.
            let meta = "m".repeat(4096);
            for i in 0..2500 {
                store
                    .commit("g", &[(t("a", 0), committed(i, Some(&meta), i))])
                    .await
                    .unwrap();
            }
            store
                .commit("h", &[(t("b", 3), committed(9, None, 1))])
                .await
                .unwrap();
            store.delete("h", Some(&[t("b", 3)])).await.unwrap();
            assert!(store.journal.log_bytes() < COMPACT_MIN_BYTES);
        }
        let store = OffsetStore::open(&path, Recovery::Strict).unwrap();
        assert_eq!(store.get("g", "a", 0).unwrap().offset, 2499);
        assert!(!store.has_any("h"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_commits_leave_memory_equal_to_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o");
        let store = OffsetStore::open(&path, Recovery::Strict).unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    for i in 0..50 {
                        store
                            .commit("g", &[(t("a", 0), committed(w * 1000 + i, None, 0))])
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let live = store.get("g", "a", 0).unwrap();
        drop(store);
        let reopened = OffsetStore::open(&path, Recovery::Strict).unwrap();
        assert_eq!(reopened.get("g", "a", 0).unwrap(), live);
    }
}
