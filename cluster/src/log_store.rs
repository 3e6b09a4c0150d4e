//! The controller's Raft log, vote and committed index on a `charter-journal`.
//!
//! Every change is one journal record (JSON of [`LogRecord`]):
//!
//! - `Entry`: one log entry per record. [`LogStore::append`] writes the records (page cache)
//!   and hands openraft's `LogFlushed` callback to a flusher thread, which calls
//!   [`Journal::sync`] once for everything queued since its last flush (group commit) and only
//!   then tells openraft. Callbacks are answered in the order they were queued.
//! - `Truncate { since }` and `Purge(log_id)`: the journal is append-only, so removing
//!   entries is itself a record; replay folds the records in order. Both are synced before
//!   returning, like the vote.
//! - `Vote` and `Committed`: synced before returning (openraft requires the vote to be
//!   durable; the committed index is kept so a restart re-applies what was committed).
//!
//! Because a sync covers every record appended before it, every write is durable in the
//! order openraft issued it, as its storage contract requires.
//!
//! **Compaction.** When the journal holds many more records than live state (purged or
//! truncated entries, superseded votes), [`Journal::compact`] replaces it with one snapshot of
//! the surviving state ([`Compacted`]). The journal makes that step crash-safe.
//!
//! **Damage.** The journal cuts a torn tail (records never acknowledged) and refuses a log
//! that lost acknowledged records; this store additionally refuses records it cannot decode
//! and entries that would leave a hole, as [`OpenError::Damaged`]. There is deliberately no
//! `AcceptLoss` open here: a voter that lost acknowledged entries or its vote must not vote
//! again; such a node is to be wiped and re-added as a learner (issue #14's wiped-disk rule).
//!
//! The journal is blocking: appends are page-cache writes done inline, every `fsync` runs on
//! the flusher thread or in `spawn_blocking`, so this store works on a current-thread runtime.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::RangeBounds;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use charter_journal::{Journal, JournalError};
use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{ErrorSubject, ErrorVerb, OptionalSend, RaftLogReader};
use serde::{Deserialize, Serialize};

use crate::io_error;
use crate::types::{Entry, LogId, StorageError, TypeConfig, Vote};

/// One journal record of the log store.
#[derive(Serialize, Deserialize)]
enum LogRecord {
    Entry(Entry),
    /// Entries at `since` and after were removed.
    Truncate {
        since: u64,
    },
    /// Entries up to and including this log id were removed.
    Purge(LogId),
    Vote(Vote),
    Committed(Option<LogId>),
}

/// [`LogRecord::Entry`] borrowed: the same JSON without cloning the entry.
#[derive(Serialize)]
enum EntryRecord<'a> {
    Entry(&'a Entry),
}

/// The journal snapshot written by compaction: the whole surviving state.
#[derive(Serialize, Deserialize, Default)]
struct Compacted {
    vote: Option<Vote>,
    committed: Option<LogId>,
    last_purged: Option<LogId>,
    entries: Vec<Entry>,
}

/// The folded log: what openraft reads.
#[derive(Default)]
struct State {
    vote: Option<Vote>,
    committed: Option<LogId>,
    last_purged: Option<LogId>,
    entries: BTreeMap<u64, Entry>,
}

impl State {
    fn last_log_id(&self) -> Option<LogId> {
        self.entries
            .values()
            .next_back()
            .map(|e| e.log_id)
            .or(self.last_purged)
    }

    /// Folds one record; an entry that would leave a hole is refused.
    fn fold(&mut self, record: LogRecord) -> Result<(), String> {
        match record {
            LogRecord::Entry(entry) => {
                let index = entry.log_id.index;
                if let Some(last) = self.last_log_id() {
                    if Some(index) != last.index.checked_add(1) {
                        return Err(format!(
                            "entry {index} follows {}: the log would have a hole",
                            last.index
                        ));
                    }
                }
                self.entries.insert(index, entry);
            }
            LogRecord::Truncate { since } => {
                self.entries.split_off(&since);
            }
            LogRecord::Purge(log_id) => self.purge(log_id),
            LogRecord::Vote(v) => self.vote = Some(v),
            LogRecord::Committed(c) => self.committed = c,
        }
        Ok(())
    }

    fn purge(&mut self, log_id: LogId) {
        self.entries = self.entries.split_off(&log_id.index.saturating_add(1));
        if self.last_purged.is_none_or(|p| p.index < log_id.index) {
            self.last_purged = Some(log_id);
        }
    }
}

/// Why a log store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The journal is intact but holds something this store did not write.
    #[error("controller log {path} is damaged: {detail}")]
    Damaged { path: String, detail: String },
}

/// Tuning of a [`LogStore`].
#[derive(Debug, Clone, Copy)]
pub struct LogStoreOptions {
    /// Compact once the journal holds this many more records than there are live entries.
    pub compact_after: u64,
}

impl Default for LogStoreOptions {
    fn default() -> Self {
        LogStoreOptions {
            compact_after: 10_000,
        }
    }
}

/// Openraft's `RaftLogStorage` on a journal. See the module docs.
pub struct LogStore {
    journal: Arc<Journal>,
    /// Gives each command's owner mark (the registry's next schema id after it), kept by the
    /// journal's watermark so that even an operator's accepted loss cannot take it back.
    marker: Option<Arc<dyn crate::state_machine::Applier>>,
    /// What the open found: the loss the operator accepted, and the mark as acknowledged.
    accepted_loss: Option<String>,
    mark: u64,
    state: Arc<Mutex<State>>,
    options: LogStoreOptions,
    /// Records in the journal since its last compaction (snapshot included as one).
    records: u64,
    flusher: Option<mpsc::Sender<LogFlushed<TypeConfig>>>,
    flusher_thread: Option<JoinHandle<()>>,
}

/// Reads entries for openraft's replication tasks.
#[derive(Clone)]
pub struct LogReader {
    state: Arc<Mutex<State>>,
}

impl LogStore {
    /// Opens (or creates) the log store in `dir`.
    pub fn open(dir: &Path, options: LogStoreOptions) -> Result<LogStore, OpenError> {
        LogStore::open_with(dir, options, charter_journal::Recovery::Strict)
    }

    /// [`LogStore::open`], with the operator's choice about a damaged journal.
    pub fn open_with(
        dir: &Path,
        options: LogStoreOptions,
        recovery: charter_journal::Recovery,
    ) -> Result<LogStore, OpenError> {
        let (journal, replay) = Journal::open_with(dir, recovery)?;
        let (accepted_loss, mark) = (replay.accepted_loss.clone(), replay.mark);
        let damaged = |detail: String| OpenError::Damaged {
            path: dir.display().to_string(),
            detail,
        };
        let mut state = State::default();
        if let Some(bytes) = replay.snapshot {
            let c: Compacted = serde_json::from_slice(&bytes)
                .map_err(|e| damaged(format!("undecodable compaction snapshot: {e}")))?;
            state.vote = c.vote;
            state.committed = c.committed;
            state.last_purged = c.last_purged;
            for e in c.entries {
                state
                    .fold(LogRecord::Entry(e))
                    .map_err(|d| damaged(format!("in the compaction snapshot: {d}")))?;
            }
        }
        let records = replay.records.len() as u64 + 1;
        for (seq, bytes) in replay.records {
            let record: LogRecord = serde_json::from_slice(&bytes)
                .map_err(|e| damaged(format!("undecodable record {seq}: {e}")))?;
            state
                .fold(record)
                .map_err(|d| damaged(format!("record {seq}: {d}")))?;
        }
        if replay.torn_bytes > 0 {
            tracing::warn!(dir = %dir.display(), bytes = replay.torn_bytes, "controller log: cut a torn tail");
        }

        let journal = Arc::new(journal);
        let (tx, rx) = mpsc::channel();
        let j = journal.clone();
        let flusher_thread = std::thread::Builder::new()
            .name("raft-log-flush".into())
            .spawn(move || flush_loop(&j, &rx))
            .map_err(|e| {
                OpenError::Journal(JournalError::Io {
                    path: dir.to_path_buf(),
                    source: e,
                })
            })?;
        Ok(LogStore {
            journal,
            marker: None,
            accepted_loss,
            mark,
            state: Arc::new(Mutex::new(state)),
            options,
            records,
            flusher: Some(tx),
            flusher_thread: Some(flusher_thread),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Marks every appended command with `marker`'s [`crate::Applier::mark`].
    pub fn with_marker(mut self, marker: Arc<dyn crate::state_machine::Applier>) -> LogStore {
        self.marker = Some(marker);
        self
    }

    /// The loss accepted at open (`Recovery::AcceptLoss`), if any, and the largest mark ever
    /// acknowledged: what the owner must never go below.
    pub fn accepted_loss(&self) -> (Option<&str>, u64) {
        (self.accepted_loss.as_deref(), self.mark)
    }

    /// The committed index this log recorded (what a lone voter applies at start).
    pub fn committed_index(&self) -> Option<u64> {
        self.lock().committed.map(|l| l.index)
    }

    /// Appends one record (not yet durable).
    fn write(&mut self, record: &impl Serialize) -> Result<(), StorageError> {
        self.write_marked(record, 0)
    }

    /// Appends one record, raising the journal's owner mark to at least `mark`.
    fn write_marked(&mut self, record: &impl Serialize, mark: u64) -> Result<(), StorageError> {
        let bytes = serde_json::to_vec(record)
            .map_err(|e| io_error(ErrorSubject::Logs, ErrorVerb::Write, &e))?;
        self.journal
            .append_marked(&bytes, mark)
            .map_err(|e| io_error(ErrorSubject::Logs, ErrorVerb::Write, &e))?;
        self.records += 1;
        Ok(())
    }

    /// Makes everything written so far durable, off the async runtime's threads.
    async fn sync(&self, subject: ErrorSubject<u64>) -> Result<(), StorageError> {
        let journal = self.journal.clone();
        let res = tokio::task::spawn_blocking(move || journal.sync()).await;
        match res {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(io_error(subject, ErrorVerb::Write, &e)),
            Err(e) => Err(io_error(subject, ErrorVerb::Write, &e)),
        }
    }

    /// Replaces the journal with a snapshot of the live state once it is mostly dead records.
    async fn maybe_compact(&mut self) -> Result<(), StorageError> {
        let bytes = {
            let st = self.lock();
            let live = st.entries.len() as u64 + 1;
            if self.records < live.saturating_mul(2) + self.options.compact_after {
                return Ok(());
            }
            let c = Compacted {
                vote: st.vote,
                committed: st.committed,
                last_purged: st.last_purged,
                entries: st.entries.values().cloned().collect(),
            };
            serde_json::to_vec(&c)
                .map_err(|e| io_error(ErrorSubject::Logs, ErrorVerb::Write, &e))?
        };
        if bytes.len() > u32::MAX as usize {
            // The journal's snapshot format holds at most 4 GiB; keep the log as it is.
            tracing::warn!(
                bytes = bytes.len(),
                "controller log too large to compact; waiting for a purge"
            );
            return Ok(());
        }
        let journal = self.journal.clone();
        let res = tokio::task::spawn_blocking(move || journal.compact(&bytes)).await;
        match res {
            Ok(Ok(())) => {
                self.records = 1;
                Ok(())
            }
            Ok(Err(e)) => Err(io_error(ErrorSubject::Logs, ErrorVerb::Write, &e)),
            Err(e) => Err(io_error(ErrorSubject::Logs, ErrorVerb::Write, &e)),
        }
    }

    /// The journal's `(durable, appended)` sequence numbers: equal once everything appended
    /// is on disk (for tests and metrics).
    pub fn journal_seqs(&self) -> (u64, u64) {
        (self.journal.durable_seq(), self.journal.last_seq())
    }

    /// True when the log holds nothing at all: no vote, no entry, nothing purged. A voter of
    /// an existing cluster never is (it voted or received entries before it was a voter).
    pub fn is_pristine(&self) -> bool {
        let st = self.lock();
        st.vote.is_none() && st.last_log_id().is_none()
    }

    /// Records in the journal since the last compaction (for tests and metrics).
    pub fn journal_records(&self) -> u64 {
        self.records
    }
}

impl Drop for LogStore {
    fn drop(&mut self) {
        // Let the flusher answer what is queued, then stop it, so a reopen finds it gone.
        drop(self.flusher.take());
        if let Some(t) = self.flusher_thread.take() {
            let _ = t.join();
        }
    }
}

/// The flusher thread: one `sync` for everything queued, then the callbacks, in order.
fn flush_loop(journal: &Journal, rx: &mpsc::Receiver<LogFlushed<TypeConfig>>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        let res = journal.sync();
        for cb in batch {
            let r = match &res {
                Ok(()) => Ok(()),
                Err(e) => Err(std::io::Error::other(e.to_string())),
            };
            cb.log_io_completed(r);
        }
    }
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    // Every mutation of `State` is a single in-memory step after its journal write.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn read_entries<RB: RangeBounds<u64>>(state: &Mutex<State>, range: RB) -> Vec<Entry> {
    lock(state)
        .entries
        .range(range)
        .map(|(_, e)| e.clone())
        .collect()
}

impl RaftLogReader<TypeConfig> for LogReader {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        Ok(read_entries(&self.state, range))
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        Ok(read_entries(&self.state, range))
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogReader;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let st = self.lock();
        Ok(LogState {
            last_purged_log_id: st.last_purged,
            last_log_id: st.last_log_id(),
        })
    }

    async fn get_log_reader(&mut self) -> LogReader {
        LogReader {
            state: self.state.clone(),
        }
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        self.write(&LogRecord::Vote(*vote))?;
        self.sync(ErrorSubject::Vote).await?;
        self.lock().vote = Some(*vote);
        self.maybe_compact().await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        Ok(self.lock().vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        self.write(&LogRecord::Committed(committed))?;
        self.sync(ErrorSubject::Store).await?;
        self.lock().committed = committed;
        self.maybe_compact().await
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.lock().committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        for entry in entries {
            let mark = match (&self.marker, &entry.payload) {
                (Some(m), openraft::EntryPayload::Normal(cmd)) => m.mark(cmd),
                _ => 0,
            };
            self.write_marked(&EntryRecord::Entry(&entry), mark)?;
            self.lock().entries.insert(entry.log_id.index, entry);
        }
        // Readable now; durable (and openraft told) when the flusher's sync covers it.
        let queued = self
            .flusher
            .as_ref()
            .map(|tx| tx.send(callback).is_ok())
            .unwrap_or(false);
        if !queued {
            let e = std::io::Error::other("the log flusher thread is gone");
            return Err(io_error(ErrorSubject::Logs, ErrorVerb::Write, &e));
        }
        self.maybe_compact().await
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let since = log_id.index;
        self.write(&LogRecord::Truncate { since })?;
        self.lock().entries.split_off(&since);
        self.sync(ErrorSubject::Logs).await?;
        self.maybe_compact().await
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.write(&LogRecord::Purge(log_id))?;
        self.lock().purge(log_id);
        self.sync(ErrorSubject::Logs).await?;
        self.maybe_compact().await
    }
}
