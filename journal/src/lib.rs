//! `charter-journal`: a small durable command journal.
//!
//! Charter's metadata (the registry's command batches, topic metadata, committed offsets) is
//! shaped as commands replayed into in-memory state. This crate keeps such commands on disk:
//!
//! - **Records** are appended to a log file, each with its sequence number and a CRC32C
//!   ([`record`]). Appending writes to the file (page cache); [`Journal::sync`] makes
//!   everything appended so far durable, and concurrent callers share one `fdatasync`
//!   (group commit).
//! - **The watermark** ([`watermark`]) is written after every flush and before anyone is
//!   told: it is the highest sequence number ever acknowledged. On open, a log that ends
//!   early or holds a bad record *after* the watermark has a torn tail (never acknowledged)
//!   and is cut back; one that cannot reach the watermark has lost acknowledged writes and is
//!   refused as [`JournalError::Damaged`], never silently shortened.
//! - **Snapshots** ([`Journal::compact`]) replace the log with the owner's state when it grows.
//!
//! What never happens: an open that fails writes nothing but the cut of a torn tail (which
//! needs no free space); a failed append leaves no partial record behind (the file is cut
//! back to its previous length, or the journal refuses further writes); a failed flush
//! poisons the journal (the kernel may have dropped the dirty pages, so nothing after it can
//! be trusted until a restart re-reads the file), as PostgreSQL does since "fsyncgate".
//!
//! Layout of a journal directory:
//!
//! ```text
//! watermark                        two checksummed slots
//! snapshot-<seq:020>.snap          optional: state up to and including <seq>
//! <base:020>.log                   records <base>, <base>+1, ... (base = snapshot seq + 1)
//! ```

pub mod record;
pub mod watermark;

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use record::Decoded;
use watermark::Watermark;

/// Why a journal operation failed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Acknowledged data cannot be read back. The journal refuses to open rather than
    /// serve a shorter history.
    #[error("{path} is damaged: {detail}")]
    Damaged { path: PathBuf, detail: String },
    /// An earlier write or flush failed; nothing more is accepted until a restart.
    #[error("journal {path} refuses writes after an earlier failure: {reason}")]
    Poisoned { path: PathBuf, reason: String },
    #[error("record of {0} bytes exceeds the journal's limit")]
    TooLarge(usize),
}

impl JournalError {
    /// Whether the failure was the disk being full (the caller may say so to its client).
    pub fn is_disk_full(&self) -> bool {
        match self {
            JournalError::Io { source, .. } => source.raw_os_error() == Some(28), // ENOSPC
            JournalError::Poisoned { reason, .. } => reason.contains("No space left"),
            _ => false,
        }
    }
}

/// How [`Journal::open_with`] treats damage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Recovery {
    /// Refuse to open a journal that cannot reach its watermark.
    #[default]
    Strict,
    /// The operator's decision to accept the loss: keep the readable prefix, move the damaged
    /// file aside (`*.damaged`), and lower the watermark's sequence to what is readable while
    /// keeping its mark, so the owner's monotonic numbers (schema ids) still never go back.
    AcceptLoss,
}

/// What a journal held when it was opened.
#[derive(Debug, Default)]
pub struct Replay {
    /// The newest snapshot's payload, if any: apply it first.
    pub snapshot: Option<Vec<u8>>,
    /// The records after the snapshot, in order: `(seq, payload)`.
    pub records: Vec<(u64, Vec<u8>)>,
    /// The watermark's mark: the owner's monotonic number as last acknowledged.
    pub mark: u64,
    /// Bytes of torn tail cut off (0 after a clean shutdown).
    pub torn_bytes: u64,
    /// Set when [`Recovery::AcceptLoss`] dropped acknowledged records: what was lost.
    pub accepted_loss: Option<String>,
}

/// A durable, append-only command journal. See the crate docs.
pub struct Journal {
    dir: PathBuf,
    watermark_file: File,
    inner: Mutex<Inner>,
    flush: Mutex<FlushState>,
    flushed: Condvar,
}

/// The active log file and what has been appended to it.
struct Inner {
    file: Arc<File>,
    path: PathBuf,
    len: u64,
    /// The sequence number the next record gets.
    next_seq: u64,
    /// The owner's mark as of the last append.
    mark: u64,
    poisoned: Option<String>,
    buf: Vec<u8>,
}

/// Group commit: one flusher at a time, the others wait for its result.
struct FlushState {
    durable_seq: u64,
    flushing: bool,
    watermark: Watermark,
    poisoned: Option<String>,
}

const WATERMARK: &str = "watermark";

impl Journal {
    /// Opens the journal in `dir`, creating an empty one if `dir` does not exist.
    pub fn open(dir: &Path) -> Result<(Journal, Replay), JournalError> {
        Self::open_with(dir, Recovery::Strict)
    }

    /// Opens the journal in `dir` with the given treatment of damage.
    pub fn open_with(dir: &Path, recovery: Recovery) -> Result<(Journal, Replay), JournalError> {
        if !dir.exists() {
            create(dir)?;
        }
        let wm_path = dir.join(WATERMARK);
        let watermark_file = match OpenOptions::new().read(true).write(true).open(&wm_path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(damaged(&wm_path, "the watermark file is missing"))
            }
            Err(e) => return Err(io_err(&wm_path, e)),
        };
        let Some(mut wm) = watermark::read(&watermark_file).map_err(|e| io_err(&wm_path, e))?
        else {
            return Err(damaged(&wm_path, "neither watermark slot is valid"));
        };

        let (snapshot, logs) = list(dir)?;
        let mut replay = Replay {
            mark: wm.mark,
            ..Replay::default()
        };
        let mut snap_seq = 0;
        if let Some((seq, path)) = snapshot {
            let bytes = std::fs::read(&path).map_err(|e| io_err(&path, e))?;
            let (s, _mark, payload) =
                record::decode_snapshot(&bytes).map_err(|d| damaged(&path, d))?;
            if s != seq {
                return Err(damaged(&path, "snapshot name and contents disagree"));
            }
            snap_seq = seq;
            replay.snapshot = Some(payload.to_vec());
        }

        // The active log starts right after the snapshot; older logs are covered by it.
        let base = snap_seq + 1;
        for (b, path) in &logs {
            if *b < base {
                if let Err(e) = std::fs::remove_file(path) {
                    tracing::warn!(path = %path.display(), error = %e, "could not remove an obsolete log");
                }
            } else if *b > base {
                return Err(damaged(path, "a log file newer than the newest snapshot"));
            }
        }
        let path = dir.join(log_name(base));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_err(&path, e))?;
        let bytes = std::fs::read(&path).map_err(|e| io_err(&path, e))?;

        let mut pos = 0usize;
        let mut last_seq = snap_seq;
        let problem = loop {
            match record::decode(&bytes[pos..]) {
                Decoded::Record { seq, payload, len } if seq == last_seq + 1 => {
                    replay.records.push((seq, payload.to_vec()));
                    last_seq = seq;
                    pos += len;
                }
                Decoded::Record { seq, .. } => {
                    break Some(format!("record {seq} where {} was expected", last_seq + 1))
                }
                Decoded::Short if pos == bytes.len() => break None,
                Decoded::Short => break Some("a record cut short".to_string()),
                Decoded::Bad(why) => break Some(why.to_string()),
            }
        };
        let mut len = bytes.len() as u64;
        if let Some(problem) = problem {
            let detail = format!(
                "{problem} at byte {pos}: records up to {} were acknowledged, only up to {last_seq} are readable",
                wm.seq
            );
            if last_seq >= wm.seq {
                // Never acknowledged: a write cut short by a crash or a full disk.
                tracing::warn!(path = %path.display(), at = pos, bytes = len - pos as u64, "cutting a torn tail ({problem})");
                replay.torn_bytes = len - pos as u64;
            } else if recovery == Recovery::AcceptLoss {
                let aside = path.with_extension(format!("log.damaged-{}", wm.generation));
                std::fs::copy(&path, &aside).map_err(|e| io_err(&aside, e))?;
                tracing::error!(path = %path.display(), kept_aside = %aside.display(), "accepting loss: {detail}");
                replay.accepted_loss = Some(detail);
            } else {
                return Err(damaged(&path, &detail));
            }
            file.set_len(pos as u64).map_err(|e| io_err(&path, e))?;
            file.sync_all().map_err(|e| io_err(&path, e))?;
            len = pos as u64;
        } else if last_seq < wm.seq {
            let detail = format!(
                "records up to {} were acknowledged, the log ends at {last_seq}",
                wm.seq
            );
            if recovery == Recovery::AcceptLoss {
                tracing::error!(path = %path.display(), "accepting loss: {detail}");
                replay.accepted_loss = Some(detail);
            } else {
                return Err(damaged(&path, &detail));
            }
        }
        if replay.accepted_loss.is_some() {
            wm = Watermark {
                generation: wm.generation + 1,
                seq: last_seq,
                mark: wm.mark,
            };
            watermark::write(&watermark_file, &wm).map_err(|e| io_err(&wm_path, e))?;
        }

        let journal = Journal {
            dir: dir.to_path_buf(),
            watermark_file,
            inner: Mutex::new(Inner {
                file: Arc::new(file),
                path,
                len,
                next_seq: last_seq + 1,
                mark: wm.mark,
                poisoned: None,
                buf: Vec::new(),
            }),
            flush: Mutex::new(FlushState {
                durable_seq: last_seq,
                flushing: false,
                watermark: wm,
                poisoned: None,
            }),
            flushed: Condvar::new(),
        };
        Ok((journal, replay))
    }

    /// The directory this journal lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends a record and returns its sequence number. It is not durable until
    /// [`Journal::sync`] returns; a crash before that may drop it, never half of it.
    pub fn append(&self, payload: &[u8]) -> Result<u64, JournalError> {
        self.append_marked(payload, 0)
    }

    /// [`Journal::append`], raising the owner's mark to at least `mark` (it never goes down).
    pub fn append_marked(&self, payload: &[u8], mark: u64) -> Result<u64, JournalError> {
        if payload.len() > record::MAX_RECORD {
            return Err(JournalError::TooLarge(payload.len()));
        }
        let mut inner = lock(&self.inner);
        if let Some(reason) = &inner.poisoned {
            return Err(JournalError::Poisoned {
                path: inner.path.clone(),
                reason: reason.clone(),
            });
        }
        let seq = inner.next_seq;
        let mut buf = std::mem::take(&mut inner.buf);
        buf.clear();
        record::encode(seq, payload, &mut buf);
        let at = inner.len;
        let res = inner.file.write_all_at(&buf, at);
        inner.buf = buf;
        if let Err(e) = res {
            // Leave no partial record: cut back to where this one began.
            if let Err(cut) = inner.file.set_len(at) {
                inner.poisoned = Some(format!("{e}; cutting the partial record failed: {cut}"));
            }
            return Err(io_err(&inner.path, e));
        }
        inner.len += inner.buf.len() as u64;
        inner.next_seq += 1;
        inner.mark = inner.mark.max(mark);
        Ok(seq)
    }

    /// The sequence number of the last record appended (0 if none).
    pub fn last_seq(&self) -> u64 {
        lock(&self.inner).next_seq - 1
    }

    /// The sequence number of the last record known to be durable.
    pub fn durable_seq(&self) -> u64 {
        lock(&self.flush).durable_seq
    }

    /// Makes every record appended before this call durable, then the watermark. Concurrent
    /// callers share the flush. Blocking: async callers use `spawn_blocking`.
    pub fn sync(&self) -> Result<(), JournalError> {
        let target = self.last_seq();
        let mut st = lock(&self.flush);
        loop {
            if let Some(reason) = &st.poisoned {
                return Err(self.poisoned(reason));
            }
            if st.durable_seq >= target {
                return Ok(());
            }
            if !st.flushing {
                break;
            }
            st = self.flushed.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        st.flushing = true;
        let generation = st.watermark.generation + 1;
        drop(st);

        // This caller flushes for everyone who appended so far.
        let (file, upto, mark, path) = {
            let inner = lock(&self.inner);
            (
                inner.file.clone(),
                inner.next_seq - 1,
                inner.mark,
                inner.path.clone(),
            )
        };
        let wm = Watermark {
            generation,
            seq: upto,
            mark,
        };
        let res = file
            .sync_data()
            .map_err(|e| io_err(&path, e))
            .and_then(|()| {
                watermark::write(&self.watermark_file, &wm)
                    .map_err(|e| io_err(&self.dir.join(WATERMARK), e))
            });

        let mut st = lock(&self.flush);
        st.flushing = false;
        let out = match res {
            Ok(()) => {
                st.durable_seq = upto;
                st.watermark = wm;
                if st.durable_seq >= target {
                    Ok(())
                } else {
                    Err(self.poisoned("flush did not cover the target"))
                }
            }
            Err(e) => {
                let reason = e.to_string();
                tracing::error!(dir = %self.dir.display(), error = %reason, "journal flush failed; refusing writes until restart");
                st.poisoned = Some(reason.clone());
                lock(&self.inner).poisoned = Some(reason);
                Err(e)
            }
        };
        self.flushed.notify_all();
        out
    }

    /// Replaces everything appended so far with `snapshot`, the owner's state as of
    /// [`Journal::last_seq`]. The caller must not append concurrently.
    pub fn compact(&self, snapshot: &[u8]) -> Result<(), JournalError> {
        // Take the flusher role so no other flush writes the watermark meanwhile.
        let mut st = lock(&self.flush);
        while st.flushing {
            st = self.flushed.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        if let Some(reason) = &st.poisoned {
            return Err(self.poisoned(reason));
        }
        st.flushing = true;
        let generation = st.watermark.generation + 1;
        drop(st);

        let res = self.compact_locked(snapshot, generation);
        let mut st = lock(&self.flush);
        st.flushing = false;
        let out = match res {
            Ok(wm) => {
                st.durable_seq = wm.seq;
                st.watermark = wm;
                Ok(())
            }
            // Nothing changed yet: the old log stays active (e.g. no space for the snapshot).
            Err((e, false)) => Err(e),
            Err((e, true)) => {
                // The snapshot is in place but this process could not switch to a new log:
                // a restart reads the files correctly; this process stops writing.
                st.poisoned = Some(e.to_string());
                lock(&self.inner).poisoned = Some(e.to_string());
                Err(e)
            }
        };
        self.flushed.notify_all();
        out
    }

    /// Errors say whether the journal must be poisoned (the snapshot was already in place).
    fn compact_locked(
        &self,
        snapshot: &[u8],
        generation: u64,
    ) -> Result<Watermark, (JournalError, bool)> {
        let mut inner = lock(&self.inner);
        if let Some(reason) = &inner.poisoned {
            return Err((self.poisoned(reason), false));
        }
        let seq = inner.next_seq - 1;
        let snap_path = self.dir.join(snapshot_name(seq));
        let tmp = snap_path.with_extension("tmp");
        let encoded = record::encode_snapshot(seq, inner.mark, snapshot);
        if let Err(e) = write_durably(&tmp, &encoded)
            .and_then(|()| std::fs::rename(&tmp, &snap_path).map_err(|e| io_err(&snap_path, e)))
        {
            let _ = std::fs::remove_file(&tmp);
            return Err((e, false));
        }
        let poison = |e| (e, true);
        sync_dir(&self.dir).map_err(poison)?;

        let new_path = self.dir.join(log_name(seq + 1));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&new_path)
            .map_err(|e| poison(io_err(&new_path, e)))?;
        sync_dir(&self.dir).map_err(poison)?;
        let old_path = std::mem::replace(&mut inner.path, new_path);
        inner.file = Arc::new(file);
        inner.len = 0;
        let wm = Watermark {
            generation,
            seq,
            mark: inner.mark,
        };
        watermark::write(&self.watermark_file, &wm)
            .map_err(|e| poison(io_err(&self.dir.join(WATERMARK), e)))?;
        drop(inner);

        // Best effort: what is left behind is removed by the next open.
        let _ = std::fs::remove_file(&old_path);
        if let Ok((_, logs)) = list(&self.dir) {
            for (b, p) in logs {
                if b <= seq {
                    let _ = std::fs::remove_file(p);
                }
            }
        }
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                if let Some(s) = parse_snapshot_name(&e.file_name().to_string_lossy()) {
                    if s < seq {
                        let _ = std::fs::remove_file(e.path());
                    }
                }
            }
        }
        Ok(wm)
    }

    /// Bytes in the active log (what a compaction would reclaim).
    pub fn log_bytes(&self) -> u64 {
        lock(&self.inner).len
    }

    fn poisoned(&self, reason: &str) -> JournalError {
        JournalError::Poisoned {
            path: self.dir.clone(),
            reason: reason.to_string(),
        }
    }
}

/// Creates an empty journal in `dir` atomically: built beside it, then renamed into place.
fn create(dir: &Path) -> Result<(), JournalError> {
    let tmp = dir.with_extension("creating");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
    let wm_path = tmp.join(WATERMARK);
    let wm = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&wm_path)
        .map_err(|e| io_err(&wm_path, e))?;
    watermark::init(
        &wm,
        &Watermark {
            generation: 1,
            seq: 0,
            mark: 0,
        },
    )
    .map_err(|e| io_err(&wm_path, e))?;
    write_durably(&tmp.join(log_name(1)), &[])?;
    sync_dir(&tmp)?;
    std::fs::rename(&tmp, dir).map_err(|e| io_err(dir, e))?;
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// The newest snapshot and every log file of `dir`, logs sorted by base.
#[allow(clippy::type_complexity)]
fn list(dir: &Path) -> Result<(Option<(u64, PathBuf)>, Vec<(u64, PathBuf)>), JournalError> {
    let mut snapshot: Option<(u64, PathBuf)> = None;
    let mut logs = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(seq) = parse_snapshot_name(&name) {
            if snapshot.as_ref().is_none_or(|(s, _)| seq > *s) {
                snapshot = Some((seq, entry.path()));
            }
        } else if let Some(base) = name.strip_suffix(".log").and_then(|b| b.parse().ok()) {
            logs.push((base, entry.path()));
        }
    }
    logs.sort();
    Ok((snapshot, logs))
}

fn log_name(base: u64) -> String {
    format!("{base:020}.log")
}

fn snapshot_name(seq: u64) -> String {
    format!("snapshot-{seq:020}.snap")
}

fn parse_snapshot_name(name: &str) -> Option<u64> {
    name.strip_prefix("snapshot-")?
        .strip_suffix(".snap")?
        .parse()
        .ok()
}

fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), JournalError> {
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| io_err(path, e))?;
    f.write_all_at(bytes, 0).map_err(|e| io_err(path, e))?;
    f.sync_all().map_err(|e| io_err(path, e))
}

fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, e))
}

fn io_err(path: &Path, source: io::Error) -> JournalError {
    JournalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn damaged(path: &Path, detail: &str) -> JournalError {
    JournalError::Damaged {
        path: path.to_path_buf(),
        detail: detail.to_string(),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing holding these locks can leave them inconsistent by panicking half-way: every
    // field is updated after the IO it describes succeeded.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests;
