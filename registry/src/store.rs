//! Durable storage: the registry's command log, in a `charter-journal`.
//!
//! Each write appends one batch of [`Command`]s as one checksummed journal record and waits
//! until it is on disk; only then does the registry apply it (readers never see what a crash
//! could take back). The journal's watermark carries the registry's next schema id, so ids
//! cannot go backwards even if an operator accepts the loss of a damaged log.
//!
//! Data directories written before the journal kept the log in sled (`registry/`); the first
//! open imports it (`migrate.rs`) and keeps the old directory as `registry.sled-imported`.

use std::path::Path;
use std::sync::Arc;

use charter_journal::{Journal, JournalError, Recovery};
use serde::{Deserialize, Serialize};

use crate::error::RegistryError;
use crate::model::SchemaId;
use crate::state::Command;

/// The journal's directory under the data dir.
pub const JOURNAL_DIR: &str = "registry-journal";

/// One journal record.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// A batch of commands, applied atomically.
    Batch(Vec<Command>),
    /// A named value of the registry itself (its cluster id).
    Meta { key: String, value: String },
}

/// What the log held when it was opened.
pub struct Opened {
    pub store: Store,
    pub batches: Vec<Vec<Command>>,
    pub meta: Vec<(String, String)>,
    /// The largest `next_id` ever acknowledged: replay must reach at least this.
    pub next_id_floor: SchemaId,
    /// Set when the operator accepted the loss of damaged records.
    pub accepted_loss: Option<String>,
}

/// The registry's persistent command log.
pub struct Store {
    journal: Arc<Journal>,
    /// Holds writes back while a test looks at the registry between append and flush.
    #[cfg(test)]
    pub(crate) hold: failpoint::Hold,
}

impl Store {
    /// Opens (or creates) the store in `dir`, importing a sled store written by an earlier
    /// release, and returns every batch ever written, in order, for the caller to replay.
    pub fn open(dir: &Path, recovery: Recovery) -> Result<Opened, RegistryError> {
        std::fs::create_dir_all(dir).map_err(|e| RegistryError::Store(e.to_string()))?;
        let journal_dir = dir.join(JOURNAL_DIR);
        crate::migrate::import_sled_if_present(dir, &journal_dir)?;
        let (journal, replay) = Journal::open_with(&journal_dir, recovery).map_err(store_err)?;
        let mut batches = Vec::with_capacity(replay.records.len());
        let mut meta = Vec::new();
        for (seq, payload) in &replay.records {
            match serde_json::from_slice(payload) {
                Ok(Entry::Batch(b)) => batches.push(b),
                Ok(Entry::Meta { key, value }) => meta.push((key, value)),
                // The record passed its checksum, so this is a bug or a foreign file.
                Err(e) => {
                    return Err(RegistryError::Store(format!(
                        "{}: record {seq} is not a registry entry: {e}",
                        journal_dir.display()
                    )))
                }
            }
        }
        if replay.torn_bytes > 0 {
            tracing::warn!(
                bytes = replay.torn_bytes,
                "registry log: cut a torn tail (a write that was never acknowledged)"
            );
        }
        Ok(Opened {
            store: Store {
                journal: Arc::new(journal),
                #[cfg(test)]
                hold: failpoint::Hold::default(),
            },
            batches,
            meta,
            next_id_floor: replay.mark.try_into().unwrap_or(SchemaId::MAX),
            accepted_loss: replay.accepted_loss,
        })
    }

    /// Appends a batch (not durable until [`Store::sync`]) and returns its sequence number.
    /// `next_id` is the registry's next schema id once the batch is applied; the watermark
    /// keeps it.
    pub fn append(&self, batch: &[Command], next_id: SchemaId) -> Result<u64, RegistryError> {
        let bytes = serde_json::to_vec(&Entry::Batch(batch.to_vec()))
            .map_err(|e| RegistryError::Store(e.to_string()))?;
        self.journal
            .append_marked(&bytes, next_id.max(0) as u64)
            .map_err(store_err)
    }

    /// The sequence number of the last batch known to be on disk.
    pub fn durable_seq(&self) -> u64 {
        self.journal.durable_seq()
    }

    /// Records a named value durably.
    pub async fn write_meta(&self, key: &str, value: &str) -> Result<(), RegistryError> {
        let entry = Entry::Meta {
            key: key.to_string(),
            value: value.to_string(),
        };
        let bytes = serde_json::to_vec(&entry).map_err(|e| RegistryError::Store(e.to_string()))?;
        self.journal.append(&bytes).map_err(store_err)?;
        self.sync().await
    }

    /// [`Store::write_meta`] for callers outside the runtime (opening).
    pub fn write_meta_blocking(&self, key: &str, value: &str) -> Result<(), RegistryError> {
        let entry = Entry::Meta {
            key: key.to_string(),
            value: value.to_string(),
        };
        let bytes = serde_json::to_vec(&entry).map_err(|e| RegistryError::Store(e.to_string()))?;
        self.journal.append(&bytes).map_err(store_err)?;
        self.journal.sync().map_err(store_err)
    }

    /// Waits until everything appended so far is durable (group commit in the journal).
    pub async fn sync(&self) -> Result<(), RegistryError> {
        #[cfg(test)]
        self.hold.wait().await;
        let journal = self.journal.clone();
        tokio::task::spawn_blocking(move || journal.sync())
            .await
            .map_err(|e| RegistryError::Store(e.to_string()))?
            .map_err(store_err)
    }
}

fn store_err(e: JournalError) -> RegistryError {
    if e.is_disk_full() {
        tracing::error!(error = %e, "registry write failed: the disk is full");
    }
    RegistryError::Store(e.to_string())
}

/// A test hook that holds a write between its append and its flush, so a test can look at
/// the registry in the window where a crash would take the write back.
#[cfg(test)]
pub(crate) mod failpoint {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use tokio::sync::Notify;

    #[derive(Default)]
    pub struct Hold {
        on: AtomicBool,
        /// Writes parked at the hook.
        pub parked: AtomicUsize,
        release: Notify,
    }

    impl Hold {
        pub fn hold(&self) {
            self.on.store(true, Ordering::SeqCst);
        }
        pub fn release(&self) {
            self.on.store(false, Ordering::SeqCst);
            self.release.notify_waiters();
        }
        pub(crate) async fn wait(&self) {
            if !self.on.load(Ordering::SeqCst) {
                return;
            }
            let released = self.release.notified();
            self.parked.fetch_add(1, Ordering::SeqCst);
            if self.on.load(Ordering::SeqCst) {
                released.await;
            }
            self.parked.fetch_sub(1, Ordering::SeqCst);
        }
    }
}
