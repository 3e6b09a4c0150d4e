//! Import of a data directory written by releases that kept the registry's log in sled.
//!
//! The sled store (`<data>/registry`, trees `registry-log`: sequence → JSON batch, and
//! `registry-meta`: the cluster id) is read once into a new journal, built beside its final
//! place and renamed into it, so a crash during the import leaves either no journal (the
//! import runs again) or a complete one. The sled directory is then renamed
//! `registry.sled-imported` and never read again; delete it once the upgrade is trusted.

use std::path::Path;

use charter_journal::Journal;

use crate::error::RegistryError;
use crate::state::Command;
use crate::store::Entry;

const SLED_DIR: &str = "registry";
const IMPORTED_DIR: &str = "registry.sled-imported";

/// Imports `<dir>/registry` into `journal_dir` if the former exists and the latter does not.
pub fn import_sled_if_present(dir: &Path, journal_dir: &Path) -> Result<(), RegistryError> {
    let sled_dir = dir.join(SLED_DIR);
    if !sled_dir.join("conf").exists() {
        return Ok(());
    }
    if !journal_dir.exists() {
        import(&sled_dir, journal_dir)?;
    }
    std::fs::rename(&sled_dir, dir.join(IMPORTED_DIR)).map_err(|e| err(&sled_dir, e))?;
    tracing::info!(from = %sled_dir.display(), "imported the sled registry store into the journal");
    Ok(())
}

fn import(sled_dir: &Path, journal_dir: &Path) -> Result<(), RegistryError> {
    let db = sled::Config::new()
        .path(sled_dir)
        .open()
        .map_err(|e| err(sled_dir, e))?;
    let log = db.open_tree("registry-log").map_err(|e| err(sled_dir, e))?;
    let meta = db
        .open_tree("registry-meta")
        .map_err(|e| err(sled_dir, e))?;

    let building = journal_dir.with_extension("importing");
    if building.exists() {
        std::fs::remove_dir_all(&building).map_err(|e| err(&building, e))?;
    }
    let (journal, _) = Journal::open(&building).map_err(|e| err(&building, e))?;
    let mut next_id: u64 = 1;
    let mut batches = 0usize;
    for item in log.iter() {
        let (_, v) = item.map_err(|e| err(sled_dir, e))?;
        let batch: Vec<Command> = serde_json::from_slice(&v)
            .map_err(|e| err(sled_dir, format!("a log entry is not a command batch: {e}")))?;
        for c in &batch {
            if let Command::CreateSchema { id, .. } = c {
                next_id = next_id.max(*id as u64 + 1);
            }
        }
        append(&journal, &Entry::Batch(batch), next_id, &building)?;
        batches += 1;
    }
    for item in meta.iter() {
        let (k, v) = item.map_err(|e| err(sled_dir, e))?;
        let entry = Entry::Meta {
            key: String::from_utf8_lossy(&k).into_owned(),
            value: String::from_utf8_lossy(&v).into_owned(),
        };
        append(&journal, &entry, next_id, &building)?;
    }
    journal.sync().map_err(|e| err(&building, e))?;
    drop(journal);
    drop(db);
    std::fs::rename(&building, journal_dir).map_err(|e| err(journal_dir, e))?;
    if let Some(parent) = journal_dir.parent() {
        std::fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(|e| err(parent, e))?;
    }
    tracing::info!(batches, next_id, "registry store imported");
    Ok(())
}

fn append(journal: &Journal, entry: &Entry, mark: u64, path: &Path) -> Result<(), RegistryError> {
    let bytes = serde_json::to_vec(entry).map_err(|e| err(path, e))?;
    journal
        .append_marked(&bytes, mark)
        .map(|_| ())
        .map_err(|e| err(path, e))
}

fn err(path: &Path, e: impl std::fmt::Display) -> RegistryError {
    RegistryError::Store(format!(
        "importing the sled registry store ({}): {e}",
        path.display()
    ))
}
