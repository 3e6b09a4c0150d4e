//! The broker's own metadata, durable in a `charter-journal` (`<data>/broker-journal`): its
//! cluster id, the producer-id blocks it reserved, and every topic command.
//!
//! Every write is appended and flushed before it is applied or answered, and opening replays
//! the journal, refusing a damaged one (see `charter-journal`): a topic cannot silently vanish
//! and later be re-created over its old data with default configs.

use std::path::Path;

use charter_journal::{Journal, JournalError, Recovery};
use serde::{Deserialize, Serialize};

use crate::topics::TopicCommand;

/// The journal's directory under the data dir.
pub const JOURNAL_DIR: &str = "broker-journal";

/// One record of the broker's metadata journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetaEntry {
    ClusterId(String),
    /// Producer ids below `next` are reserved (handed out or skipped); never reissued.
    ProducerIdBlock {
        next: i64,
    },
    Topic(TopicCommand),
}

/// What the journal held when opened.
#[derive(Debug, Default)]
pub struct MetaReplay {
    pub cluster_id: Option<String>,
    /// The first producer id never reserved.
    pub producer_id_floor: i64,
    /// Every topic command, in order.
    pub topics: Vec<TopicCommand>,
}

/// The broker's metadata journal.
pub struct MetaStore {
    journal: Journal,
}

impl MetaStore {
    /// Opens (or creates) the journal in `dir`.
    pub fn open(dir: &Path, recovery: Recovery) -> Result<(MetaStore, MetaReplay), JournalError> {
        let (journal, replay) = Journal::open_with(dir, recovery)?;
        let mut out = MetaReplay::default();
        for (seq, payload) in replay.records {
            let entry: MetaEntry =
                serde_json::from_slice(&payload).map_err(|e| JournalError::Damaged {
                    path: dir.to_path_buf(),
                    detail: format!("record {seq} is not broker metadata: {e}"),
                })?;
            match entry {
                MetaEntry::ClusterId(id) => out.cluster_id = Some(id),
                MetaEntry::ProducerIdBlock { next } => {
                    out.producer_id_floor = out.producer_id_floor.max(next)
                }
                MetaEntry::Topic(cmd) => out.topics.push(cmd),
            }
        }
        if replay.torn_bytes > 0 {
            tracing::warn!(
                bytes = replay.torn_bytes,
                "broker metadata: cut a torn tail (a write that was never acknowledged)"
            );
        }
        Ok((MetaStore { journal }, out))
    }

    /// Appends `entry` and waits until it is on disk.
    pub fn write(&self, entry: &MetaEntry) -> Result<(), JournalError> {
        let bytes = serde_json::to_vec(entry).map_err(|e| JournalError::Damaged {
            path: self.journal.dir().to_path_buf(),
            detail: format!("unencodable entry: {e}"),
        })?;
        self.journal.append(&bytes)?;
        self.journal.sync()
    }
}
