//! Sparse per-segment indexes, in Kafka's file formats.
//!
//! * `.index`: 8-byte entries (offset relative to the segment base: u32, file position: u32),
//!   one per `index.interval.bytes` of log. A lookup gives a position at or before the batch
//!   holding an offset; the caller scans batch headers forward from there.
//! * `.timeindex`: 12-byte entries (max timestamp so far: i64, relative offset: u32), appended
//!   only when the timestamp grows, so the file is monotonic in both fields.
//!
//! Unlike Kafka we keep the entries in a `Vec` and append them to the file with `pwrite`
//! instead of mmapping a preallocated file: that needs no `unsafe`, there is nothing to trim
//! on roll, and an index is at most a few MiB per GiB of log. Indexes are derived data: any file
//! that fails the sanity checks on load is rebuilt from the log.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const OFFSET_ENTRY: usize = 8;
const TIME_ENTRY: usize = 12;

fn open_rw(path: &Path, truncate: bool) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(truncate)
        .open(path)
}

/// An index file opened only for each write or sync. An index is written once per
/// `index.interval.bytes` of log, so holding two descriptors per segment would cost more (at
/// 10,000 partitions, 20,000 fds) than reopening does. Indexes are derived data: a write error
/// a reopened descriptor cannot report is repaired by the rebuild on recovery.
#[derive(Debug)]
struct IndexFile {
    path: PathBuf,
}

impl IndexFile {
    fn create(path: &Path, truncate: bool) -> io::Result<IndexFile> {
        open_rw(path, truncate)?;
        Ok(IndexFile {
            path: path.to_path_buf(),
        })
    }
    fn write_all_at(&self, buf: &[u8], position: u64) -> io::Result<()> {
        open_rw(&self.path, false)?.write_all_at(buf, position)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        open_rw(&self.path, false)?.set_len(len)
    }
    fn sync_all(&self) -> io::Result<()> {
        open_rw(&self.path, false)?.sync_all()
    }
}

fn read_all(file: &File) -> io::Result<Vec<u8>> {
    let len = file.metadata()?.len() as usize;
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, 0)?;
    Ok(buf)
}

/// Sparse offset → file position index of one segment.
#[derive(Debug)]
pub struct OffsetIndex {
    file: IndexFile,
    base_offset: i64,
    /// (relative offset, position), strictly increasing in both.
    entries: Vec<(u32, u32)>,
}

impl OffsetIndex {
    /// Create (or empty) the index file at `path`.
    pub fn create(path: &Path, base_offset: i64) -> io::Result<OffsetIndex> {
        Ok(OffsetIndex {
            file: IndexFile::create(path, true)?,
            base_offset,
            entries: Vec::new(),
        })
    }

    /// Load an existing index and check it against a log of `log_size` bytes. Returns `None`
    /// when the file is missing or inconsistent, in which case the caller rebuilds it.
    pub fn load(path: &Path, base_offset: i64, log_size: u64) -> io::Result<Option<OffsetIndex>> {
        if !path.exists() {
            return Ok(None);
        }
        let raw = read_all(&open_rw(path, false)?)?;
        let file = IndexFile {
            path: path.to_path_buf(),
        };
        if raw.len() % OFFSET_ENTRY != 0 {
            return Ok(None);
        }
        let mut entries = Vec::with_capacity(raw.len() / OFFSET_ENTRY);
        for e in raw.chunks_exact(OFFSET_ENTRY) {
            let rel = u32::from_be_bytes([e[0], e[1], e[2], e[3]]);
            let pos = u32::from_be_bytes([e[4], e[5], e[6], e[7]]);
            if let Some(&(prev_rel, prev_pos)) = entries.last() {
                if rel <= prev_rel || pos <= prev_pos {
                    return Ok(None);
                }
            }
            if pos as u64 >= log_size {
                return Ok(None);
            }
            entries.push((rel, pos));
        }
        Ok(Some(OffsetIndex {
            file,
            base_offset,
            entries,
        }))
    }

    /// Record that the batch starting at `offset` lies at `position`. Entries must increase.
    pub fn append(&mut self, offset: i64, position: u32) -> io::Result<()> {
        let rel = (offset - self.base_offset) as u32;
        if let Some(&(r, p)) = self.entries.last() {
            if rel <= r || position <= p {
                return Ok(()); // never write a non-monotonic entry
            }
        }
        let mut e = [0u8; OFFSET_ENTRY];
        e[..4].copy_from_slice(&rel.to_be_bytes());
        e[4..].copy_from_slice(&position.to_be_bytes());
        self.file
            .write_all_at(&e, (self.entries.len() * OFFSET_ENTRY) as u64)?;
        self.entries.push((rel, position));
        Ok(())
    }

    /// Position of the last indexed batch starting at or before `offset` (0 if none).
    pub fn lookup(&self, offset: i64) -> u32 {
        if offset < self.base_offset {
            return 0;
        }
        let rel = (offset - self.base_offset).min(u32::MAX as i64) as u32;
        let i = self.entries.partition_point(|&(r, _)| r <= rel);
        if i == 0 {
            0
        } else {
            self.entries[i - 1].1
        }
    }

    /// Replace the whole file with `entries` (absolute offset, position), used by recovery.
    pub fn rewrite(&mut self, entries: &[(i64, u32)]) -> io::Result<()> {
        self.file.set_len(0)?;
        self.entries.clear();
        let mut raw = Vec::with_capacity(entries.len() * OFFSET_ENTRY);
        for &(off, pos) in entries {
            let rel = (off - self.base_offset) as u32;
            raw.extend_from_slice(&rel.to_be_bytes());
            raw.extend_from_slice(&pos.to_be_bytes());
            self.entries.push((rel, pos));
        }
        self.file.write_all_at(&raw, 0)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// fsync the index file.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_all()
    }
}

/// Sparse timestamp → offset index of one segment.
#[derive(Debug)]
pub struct TimeIndex {
    file: IndexFile,
    base_offset: i64,
    /// (max timestamp so far, relative offset of the batch that first reached it).
    entries: Vec<(i64, u32)>,
}

impl TimeIndex {
    /// Create (or empty) the time index file at `path`.
    pub fn create(path: &Path, base_offset: i64) -> io::Result<TimeIndex> {
        Ok(TimeIndex {
            file: IndexFile::create(path, true)?,
            base_offset,
            entries: Vec::new(),
        })
    }

    /// Load an existing time index; `None` when missing or not monotonic.
    pub fn load(path: &Path, base_offset: i64) -> io::Result<Option<TimeIndex>> {
        if !path.exists() {
            return Ok(None);
        }
        let raw = read_all(&open_rw(path, false)?)?;
        let file = IndexFile {
            path: path.to_path_buf(),
        };
        if raw.len() % TIME_ENTRY != 0 {
            return Ok(None);
        }
        let mut entries: Vec<(i64, u32)> = Vec::with_capacity(raw.len() / TIME_ENTRY);
        for e in raw.chunks_exact(TIME_ENTRY) {
            let mut t = [0u8; 8];
            t.copy_from_slice(&e[..8]);
            let ts = i64::from_be_bytes(t);
            let rel = u32::from_be_bytes([e[8], e[9], e[10], e[11]]);
            if let Some(&(pts, prel)) = entries.last() {
                if ts <= pts || rel < prel {
                    return Ok(None);
                }
            }
            entries.push((ts, rel));
        }
        Ok(Some(TimeIndex {
            file,
            base_offset,
            entries,
        }))
    }

    /// Append (timestamp, offset) if the timestamp is larger than the last entry's.
    pub fn maybe_append(&mut self, timestamp: i64, offset: i64) -> io::Result<()> {
        let rel = (offset - self.base_offset) as u32;
        if let Some(&(ts, r)) = self.entries.last() {
            if timestamp <= ts || rel < r {
                return Ok(());
            }
        }
        let mut e = [0u8; TIME_ENTRY];
        e[..8].copy_from_slice(&timestamp.to_be_bytes());
        e[8..].copy_from_slice(&rel.to_be_bytes());
        self.file
            .write_all_at(&e, (self.entries.len() * TIME_ENTRY) as u64)?;
        self.entries.push((timestamp, rel));
        Ok(())
    }

    /// Offset from which to scan for the first batch with max timestamp >= `timestamp`: the
    /// offset of the last entry whose timestamp is below it (every batch before that offset has
    /// a smaller max timestamp), or the segment base.
    pub fn lookup(&self, timestamp: i64) -> i64 {
        let i = self.entries.partition_point(|&(ts, _)| ts < timestamp);
        if i == 0 {
            self.base_offset
        } else {
            self.base_offset + self.entries[i - 1].1 as i64
        }
    }

    /// The largest timestamp recorded, if any.
    pub fn last_timestamp(&self) -> Option<i64> {
        self.entries.last().map(|&(ts, _)| ts)
    }

    /// The last entry as (timestamp, absolute offset of the batch that first reached it).
    pub fn last_entry(&self) -> Option<(i64, i64)> {
        self.entries
            .last()
            .map(|&(ts, rel)| (ts, self.base_offset + rel as i64))
    }

    /// Replace the whole file with `entries` (timestamp, absolute offset).
    pub fn rewrite(&mut self, entries: &[(i64, i64)]) -> io::Result<()> {
        self.file.set_len(0)?;
        self.entries.clear();
        let mut raw = Vec::with_capacity(entries.len() * TIME_ENTRY);
        for &(ts, off) in entries {
            let rel = (off - self.base_offset) as u32;
            raw.extend_from_slice(&ts.to_be_bytes());
            raw.extend_from_slice(&rel.to_be_bytes());
            self.entries.push((ts, rel));
        }
        self.file.write_all_at(&raw, 0)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// fsync the time index file.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_index_lookup_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("00000000000000000100.index");
        let mut idx = OffsetIndex::create(&p, 100).unwrap();
        assert_eq!(idx.lookup(150), 0);
        idx.append(110, 4096).unwrap();
        idx.append(120, 8192).unwrap();
        idx.append(115, 9000).unwrap(); // non-monotonic: ignored
        assert_eq!(idx.lookup(99), 0);
        assert_eq!(idx.lookup(109), 0);
        assert_eq!(idx.lookup(110), 4096);
        assert_eq!(idx.lookup(119), 4096);
        assert_eq!(idx.lookup(500), 8192);
        drop(idx);
        let idx = OffsetIndex::load(&p, 100, 10_000).unwrap().unwrap();
        assert_eq!(idx.len(), 2);
        assert_eq!(idx.lookup(125), 8192);
        // An entry pointing past the end of the log makes the index untrustworthy.
        assert!(OffsetIndex::load(&p, 100, 8192).unwrap().is_none());
    }

    #[test]
    fn time_index_lookup_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("00000000000000000000.timeindex");
        let mut idx = TimeIndex::create(&p, 0).unwrap();
        idx.maybe_append(1000, 0).unwrap();
        idx.maybe_append(1000, 5).unwrap(); // not larger: skipped
        idx.maybe_append(2000, 10).unwrap();
        idx.maybe_append(3000, 20).unwrap();
        assert_eq!(idx.lookup(500), 0);
        assert_eq!(idx.lookup(1000), 0);
        assert_eq!(idx.lookup(2500), 10);
        assert_eq!(idx.lookup(9999), 20);
        drop(idx);
        let idx = TimeIndex::load(&p, 0).unwrap().unwrap();
        assert_eq!(idx.len(), 3);
        assert_eq!(idx.last_timestamp(), Some(3000));
        // A torn trailing entry is rejected (rebuild) rather than misread.
        let f = OpenOptions::new().write(true).open(&p).unwrap();
        f.set_len(30).unwrap();
        assert!(TimeIndex::load(&p, 0).unwrap().is_none());
    }
}
