//! Import of a data directory written by releases that kept the broker's metadata in sled.
//!
//! The sled store `<data>/broker-meta` held the cluster id (tree `broker-meta`), one
//! `CreateTopic` per topic (tree `broker-topics`), committed offsets (tree `group-offsets`)
//! and sled's id counter, from which producer-id blocks were taken. They are read once into
//! the two journals, each built beside its final place and renamed into it (a crash during
//! the import leaves no journal, and the import runs again); then the sled directory is
//! renamed `broker-meta.sled-imported` and never read again.

use std::path::Path;

use charter_journal::{Journal, Recovery};

use crate::group::offsets::{self, CommittedOffset, OffsetEntry};
use crate::kafka::OpenError;
use crate::meta::{self, MetaEntry};
use crate::topics::TopicCommand;

const SLED_DIR: &str = "broker-meta";
const IMPORTED_DIR: &str = "broker-meta.sled-imported";
/// The block size the sled releases reserved producer ids in.
const SLED_PRODUCER_ID_BLOCK: i64 = 1 << 20;

/// Imports `<data_dir>/broker-meta` if it exists and the journals do not.
pub fn import_sled_if_present(data_dir: &Path) -> Result<(), OpenError> {
    let sled_dir = data_dir.join(SLED_DIR);
    if !sled_dir.join("conf").exists() {
        return Ok(());
    }
    let meta_dir = data_dir.join(meta::JOURNAL_DIR);
    let offsets_dir = data_dir.join(offsets::JOURNAL_DIR);
    if !meta_dir.exists() || !offsets_dir.exists() {
        let db = sled::Config::new()
            .path(&sled_dir)
            .open()
            .map_err(|e| err(&sled_dir, e))?;
        // Offsets first: the metadata journal's presence marks a finished import.
        if !offsets_dir.exists() {
            import_offsets(&db, &offsets_dir)?;
        }
        if !meta_dir.exists() {
            import_meta(&db, &meta_dir)?;
        }
    }
    std::fs::rename(&sled_dir, data_dir.join(IMPORTED_DIR)).map_err(|e| err(&sled_dir, e))?;
    tracing::info!(from = %sled_dir.display(), "imported the sled broker metadata into journals");
    Ok(())
}

fn import_meta(db: &sled::Db, dir: &Path) -> Result<(), OpenError> {
    let mut entries = Vec::new();
    let meta = db.open_tree("broker-meta").map_err(|e| err(dir, e))?;
    if let Some(id) = meta.get("cluster-id").map_err(|e| err(dir, e))? {
        entries.push(MetaEntry::ClusterId(
            String::from_utf8_lossy(&id).into_owned(),
        ));
    }
    // sled's counter is past every block it ever gave out.
    let block = db.generate_id().map_err(|e| err(dir, e))? as i64;
    entries.push(MetaEntry::ProducerIdBlock {
        next: block
            .saturating_add(1)
            .saturating_mul(SLED_PRODUCER_ID_BLOCK),
    });
    let topics = db.open_tree("broker-topics").map_err(|e| err(dir, e))?;
    for item in topics.iter() {
        let (_, v) = item.map_err(|e| err(dir, e))?;
        let cmd: TopicCommand = serde_json::from_slice(&v)
            .map_err(|e| err(dir, format!("a topic record is not a command: {e}")))?;
        entries.push(MetaEntry::Topic(cmd));
    }
    build(dir, entries.iter().map(serde_json::to_vec))
}

fn import_offsets(db: &sled::Db, dir: &Path) -> Result<(), OpenError> {
    let tree = db.open_tree("group-offsets").map_err(|e| err(dir, e))?;
    let mut entries = Vec::new();
    for item in tree.iter() {
        let (k, v) = item.map_err(|e| err(dir, e))?;
        let (Some((group, topic, partition)), Some(c)) = (parse_key(&k), decode_value(&v)) else {
            return Err(err(dir, "an offsets record does not decode"));
        };
        entries.push(OffsetEntry::Commit {
            group,
            offsets: vec![((topic, partition), c)],
        });
    }
    build(dir, entries.iter().map(serde_json::to_vec))
}

/// Writes `records` into a new journal at `dir`, atomically.
fn build(
    dir: &Path,
    records: impl Iterator<Item = serde_json::Result<Vec<u8>>>,
) -> Result<(), OpenError> {
    let building = dir.with_extension("importing");
    if building.exists() {
        std::fs::remove_dir_all(&building).map_err(|e| err(&building, e))?;
    }
    let (journal, _) = Journal::open_with(&building, Recovery::Strict)?;
    for r in records {
        journal.append(&r.map_err(|e| err(dir, e))?)?;
    }
    journal.sync()?;
    drop(journal);
    std::fs::rename(&building, dir).map_err(|e| err(dir, e))?;
    if let Some(parent) = dir.parent() {
        std::fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(|e| err(parent, e))?;
    }
    Ok(())
}

/// The sled key: `len(group) group len(topic) topic partition` (u16 lengths, big-endian).
fn parse_key(k: &[u8]) -> Option<(String, String, i32)> {
    let take_str = |b: &[u8]| -> Option<(String, usize)> {
        let len = u16::from_be_bytes([*b.first()?, *b.get(1)?]) as usize;
        let s = std::str::from_utf8(b.get(2..2 + len)?).ok()?;
        Some((s.to_string(), 2 + len))
    };
    let (group, used) = take_str(k)?;
    let (topic, used2) = take_str(k.get(used..)?)?;
    let p = k.get(used + used2..used + used2 + 4)?;
    Some((group, topic, i32::from_be_bytes([p[0], p[1], p[2], p[3]])))
}

/// The sled value: `offset i64, leader epoch i32, commit time i64, flag, metadata`.
fn decode_value(v: &[u8]) -> Option<CommittedOffset> {
    let offset = i64::from_be_bytes(v.get(0..8)?.try_into().ok()?);
    let leader_epoch = i32::from_be_bytes(v.get(8..12)?.try_into().ok()?);
    let commit_timestamp = i64::from_be_bytes(v.get(12..20)?.try_into().ok()?);
    let metadata = match v.get(20)? {
        0 => None,
        _ => Some(String::from_utf8_lossy(v.get(21..)?).into_owned()),
    };
    Some(CommittedOffset {
        offset,
        leader_epoch,
        metadata,
        commit_timestamp,
    })
}

fn err(path: &Path, e: impl std::fmt::Display) -> OpenError {
    OpenError::Import(format!(
        "importing the sled broker metadata ({}): {e}",
        path.display()
    ))
}
