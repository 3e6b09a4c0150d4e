//! One log segment: `<base>.log` plus its `.index` and `.timeindex`.
//!
//! The `.log` file holds v2 batches exactly as stored by [`super::PartitionLog::append`]
//! (offsets and leader epoch stamped, nothing else changed). Writes use `pwrite` at the known
//! end and reads use `pread`, so one `File` serves both without a shared seek position, and a
//! reader can keep reading through its `Arc<File>` while appends continue. A sealed segment's
//! file is open only while it is used ([`SegmentFile`]).

use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use super::batch::{self, BatchHeader, HEADER_LEN};
use super::index::{OffsetIndex, TimeIndex};
use super::segment_file::SegmentFile;

/// The file name Kafka uses for a segment file: the base offset as 20 zero-padded digits.
pub fn file_name(base_offset: i64, extension: &str) -> String {
    format!("{base_offset:020}.{extension}")
}

/// Where one appended batch sits, as needed to maintain a segment's indexes.
#[derive(Debug, Clone, Copy)]
pub struct BatchPlacement {
    /// First offset of the batch.
    pub base_offset: i64,
    /// Last offset of the batch.
    pub last_offset: i64,
    /// The batch's max timestamp (after any LogAppendTime stamping).
    pub max_timestamp: i64,
    /// Leader epoch stamped in the batch.
    pub leader_epoch: i32,
    /// Byte position of the batch inside the appended blob.
    pub blob_position: usize,
    /// Total size of the batch in bytes.
    pub size: usize,
}

/// What a recovery scan found.
#[derive(Debug, Default)]
pub struct RecoveryReport {
    /// Bytes cut off the end of the file (0 if the file was clean).
    pub truncated_bytes: u64,
    /// Why the scan stopped early, if it did.
    pub reason: Option<String>,
    /// (epoch, first offset) wherever the leader epoch changes, for the epoch cache.
    pub epoch_starts: Vec<(i32, i64)>,
    /// Set when the scan stopped at damage that is not a torn tail — below the protected
    /// offset (flushed data), or followed by valid batches. The file was left as it is; the
    /// value is one past the highest offset the file is known to have held.
    pub damaged: Option<i64>,
}

/// A failed segment append.
#[derive(Debug)]
pub struct AppendFailure {
    /// The I/O error.
    pub error: io::Error,
    /// True when the file was cut back to its previous length, so the log is unchanged.
    pub undone: bool,
}

/// An open segment.
#[derive(Debug)]
pub struct Segment {
    base_offset: i64,
    dir: PathBuf,
    log: SegmentFile,
    size: u64,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    index_interval: u64,
    bytes_since_index: u64,
    next_offset: i64,
    max_timestamp: i64,
    offset_of_max_timestamp: i64,
    /// Max timestamp of the first batch: Kafka measures `segment.ms` from it.
    rolling_timestamp: Option<i64>,
}

impl Segment {
    /// Create a new, empty segment starting at `base_offset`.
    pub fn create(dir: &Path, base_offset: i64, index_interval: u64) -> io::Result<Segment> {
        let log = SegmentFile::create(&dir.join(file_name(base_offset, "log")))?;
        Ok(Segment {
            base_offset,
            dir: dir.to_path_buf(),
            log,
            size: 0,
            offset_index: OffsetIndex::create(
                &dir.join(file_name(base_offset, "index")),
                base_offset,
            )?,
            time_index: TimeIndex::create(
                &dir.join(file_name(base_offset, "timeindex")),
                base_offset,
            )?,
            index_interval,
            bytes_since_index: 0,
            next_offset: base_offset,
            max_timestamp: -1,
            offset_of_max_timestamp: base_offset,
            rolling_timestamp: None,
        })
    }

    /// Open a sealed segment (fsync'd at roll) cheaply: load its indexes and walk the batch
    /// headers from the last offset-index entry to the end of the file. The walk must end
    /// exactly at the file's size with contiguous offsets; the segment's next offset is where
    /// it ends (the caller compares it with the next segment's base). Indexes that fail their
    /// sanity checks are rebuilt by a full scan, which truncates nothing. `Ok(Err(why))` means
    /// the segment is damaged and was left untouched.
    pub fn open_checked(
        dir: &Path,
        base_offset: i64,
        index_interval: u64,
    ) -> io::Result<Result<Segment, String>> {
        let log = SegmentFile::open(&dir.join(file_name(base_offset, "log")))?;
        let file = log.get()?;
        let size = file.metadata()?.len();
        let oi = OffsetIndex::load(
            &dir.join(file_name(base_offset, "index")),
            base_offset,
            size.max(1),
        )?;
        let ti = TimeIndex::load(&dir.join(file_name(base_offset, "timeindex")), base_offset)?;
        let (offset_index, time_index) = match (oi, ti) {
            (Some(o), Some(t)) if size == 0 || !t.is_empty() => (o, t),
            _ => {
                drop((file, log));
                let (seg, report) = Segment::recover(dir, base_offset, index_interval, i64::MAX)?;
                return Ok(match report.reason {
                    Some(why) => Err(why),
                    None => Ok(seg),
                });
            }
        };
        let mut seg = Segment {
            base_offset,
            dir: dir.to_path_buf(),
            log,
            size,
            offset_index,
            time_index,
            index_interval,
            bytes_since_index: 0,
            next_offset: base_offset,
            max_timestamp: -1,
            offset_of_max_timestamp: base_offset,
            rolling_timestamp: None,
        };
        let mut pos = seg.offset_index.lookup(i64::MAX) as u64;
        let mut expected: Option<i64> = None;
        while pos < size {
            if size - pos < HEADER_LEN as u64 {
                return Ok(Err(format!(
                    "cut mid-batch: {} bytes at position {pos}",
                    size - pos
                )));
            }
            let mut buf = [0u8; HEADER_LEN];
            file.read_exact_at(&mut buf, pos)?;
            let h = match BatchHeader::parse(&buf) {
                Ok(h) => h,
                Err(e) => return Ok(Err(format!("bad batch header at position {pos}: {e}"))),
            };
            if pos + h.total_size() as u64 > size {
                return Ok(Err(format!(
                    "cut mid-batch: a batch of {} bytes at position {pos}, {} bytes remain",
                    h.total_size(),
                    size - pos
                )));
            }
            if expected.is_some_and(|e| h.base_offset != e) || h.base_offset < base_offset {
                return Ok(Err(format!(
                    "batch at position {pos} has base offset {}, expected {}",
                    h.base_offset,
                    expected.unwrap_or(base_offset)
                )));
            }
            expected = Some(h.last_offset() + 1);
            pos += h.total_size() as u64;
        }
        seg.next_offset = expected.unwrap_or(base_offset);
        // The last time-index entry is the segment's largest timestamp and the batch that
        // first reached it (written on roll).
        if let Some((ts, offset)) = seg.time_index.last_entry() {
            seg.max_timestamp = ts;
            seg.offset_of_max_timestamp = offset;
        }
        seg.rolling_timestamp = seg.header_at(0).map(|h| h.max_timestamp);
        Ok(Ok(seg))
    }

    /// Open a segment by scanning every batch: check sizes, magic, CRC and offset order,
    /// truncate the file at the first byte that is not part of a valid batch, and rebuild both
    /// indexes from the scan.
    ///
    /// Damage is cut only when it is a torn tail: at or past `protect_below` (the recovery
    /// point: everything below it was flushed) and with no valid batch after it. Otherwise the
    /// file is left as it is and the report's `damaged` is set.
    pub fn recover(
        dir: &Path,
        base_offset: i64,
        index_interval: u64,
        protect_below: i64,
    ) -> io::Result<(Segment, RecoveryReport)> {
        let mut seg = Segment::create_from_existing(dir, base_offset, index_interval)?;
        let file = seg.file()?;
        let file_len = file.metadata()?.len();
        let mut report = RecoveryReport::default();
        let mut reader = BufReader::with_capacity(1 << 20, &*file);
        let mut pos: u64 = 0;
        let mut buf = Vec::new();
        let mut last_epoch: Option<i32> = None;
        while pos < file_len {
            let remaining = file_len - pos;
            if remaining < HEADER_LEN as u64 {
                report.reason = Some(format!("{remaining} trailing bytes, less than a header"));
                break;
            }
            buf.resize(HEADER_LEN, 0);
            reader.read_exact(&mut buf)?;
            let header = match BatchHeader::parse(&buf) {
                Ok(h) => h,
                Err(e) => {
                    report.reason = Some(e.to_string());
                    break;
                }
            };
            let size = header.total_size();
            if size as u64 > remaining {
                report.reason = Some(format!("batch of {size} bytes but {remaining} remain"));
                break;
            }
            buf.resize(size, 0);
            reader.read_exact(&mut buf[HEADER_LEN..])?;
            // Bound by the file, not by max.message.bytes: that setting may have been lowered
            // after these batches were written, and they must not be cut for it.
            let header = match batch::validate_batch(&buf, size) {
                Ok(h) => h,
                Err(e) => {
                    report.reason = Some(e.to_string());
                    break;
                }
            };
            if header.base_offset < seg.next_offset {
                report.reason = Some(format!(
                    "batch base offset {} below expected {}",
                    header.base_offset, seg.next_offset
                ));
                break;
            }
            if header.last_offset() - base_offset > i32::MAX as i64 {
                report.reason = Some("offset too far from the segment base".into());
                break;
            }
            if last_epoch != Some(header.partition_leader_epoch) {
                report
                    .epoch_starts
                    .push((header.partition_leader_epoch, header.base_offset));
                last_epoch = Some(header.partition_leader_epoch);
            }
            seg.track_batch(
                header.base_offset,
                header.last_offset(),
                header.max_timestamp,
                pos as u32,
                size as u64,
            )?;
            pos += size as u64;
        }
        drop(reader);
        if pos < file_len {
            let valid_after = last_valid_batch_after(&file, pos, file_len)?;
            if seg.next_offset < protect_below || valid_after.is_some() {
                let known = valid_after.map_or(seg.next_offset, |last| last + 1);
                report.damaged = Some(known.max(seg.next_offset));
            } else {
                file.set_len(pos)?;
                report.truncated_bytes = file_len - pos;
            }
        }
        seg.size = pos;
        Ok((seg, report))
    }

    fn create_from_existing(
        dir: &Path,
        base_offset: i64,
        index_interval: u64,
    ) -> io::Result<Segment> {
        let log = SegmentFile::open(&dir.join(file_name(base_offset, "log")))?;
        Ok(Segment {
            base_offset,
            dir: dir.to_path_buf(),
            log,
            size: 0,
            offset_index: OffsetIndex::create(
                &dir.join(file_name(base_offset, "index")),
                base_offset,
            )?,
            time_index: TimeIndex::create(
                &dir.join(file_name(base_offset, "timeindex")),
                base_offset,
            )?,
            index_interval,
            bytes_since_index: 0,
            next_offset: base_offset,
            max_timestamp: -1,
            offset_of_max_timestamp: base_offset,
            rolling_timestamp: None,
        })
    }

    /// Index bookkeeping for one batch at `position`, shared by append and recovery so both
    /// produce identical indexes. Mirrors Kafka's LogSegment: an entry is written before a
    /// batch once more than `index.interval.bytes` have gone by since the last entry.
    fn track_batch(
        &mut self,
        base: i64,
        last: i64,
        max_ts: i64,
        position: u32,
        size: u64,
    ) -> io::Result<()> {
        if max_ts > self.max_timestamp {
            self.max_timestamp = max_ts;
            self.offset_of_max_timestamp = base;
        }
        if self.rolling_timestamp.is_none() {
            self.rolling_timestamp = Some(max_ts);
        }
        if self.bytes_since_index > self.index_interval {
            self.offset_index.append(base, position)?;
            self.time_index
                .maybe_append(self.max_timestamp, self.offset_of_max_timestamp)?;
            self.bytes_since_index = 0;
        }
        self.bytes_since_index += size;
        self.next_offset = last + 1;
        Ok(())
    }

    /// Write a blob of already validated and stamped batches at the end of the file, then
    /// update the indexes. If the write fails the file is cut back to its old length so no
    /// partial blob stays behind; the error says whether that worked.
    pub fn append(&mut self, blob: &[u8], batches: &[BatchPlacement]) -> Result<(), AppendFailure> {
        let start = self.size;
        let file = self.log.get().map_err(|error| AppendFailure {
            error,
            undone: true,
        })?;
        if let Err(error) = file.write_all_at(blob, start) {
            let undone = file.set_len(start).is_ok();
            return Err(AppendFailure { error, undone });
        }
        self.size += blob.len() as u64;
        for b in batches {
            // An index write failure leaves the log intact (indexes are rebuilt on recovery),
            // but the caller must not assume the index is complete: report it as not undone.
            self.track_batch(
                b.base_offset,
                b.last_offset,
                b.max_timestamp,
                (start + b.blob_position as u64) as u32,
                b.size as u64,
            )
            .map_err(|error| AppendFailure {
                error,
                undone: false,
            })?;
        }
        Ok(())
    }

    /// The header of the batch at `position`, if a whole header is there.
    pub fn header_at(&self, position: u64) -> Option<BatchHeader> {
        if position + HEADER_LEN as u64 > self.size {
            return None;
        }
        let mut buf = [0u8; HEADER_LEN];
        self.log
            .get()
            .ok()?
            .read_exact_at(&mut buf, position)
            .ok()?;
        BatchHeader::parse(&buf).ok()
    }

    /// Position of the batch containing `offset`, found through the offset index and a short
    /// header scan; `None` if this segment has no such batch.
    pub fn find_position(&self, offset: i64) -> Option<u64> {
        if offset >= self.next_offset {
            return None;
        }
        let mut pos = self.offset_index.lookup(offset) as u64;
        while let Some(h) = self.header_at(pos) {
            if h.last_offset() >= offset {
                return Some(pos);
            }
            pos += h.total_size() as u64;
        }
        None
    }

    /// The first batch whose max timestamp is at least `timestamp`, as (position, header):
    /// the time index says where to start, a header scan finds the batch. The first record
    /// at or after `timestamp` is inside it.
    pub fn find_timestamp(&self, timestamp: i64) -> Option<(u64, BatchHeader)> {
        if self.max_timestamp < timestamp {
            return None;
        }
        let from = self.time_index.lookup(timestamp);
        let pos = self.find_position(from).unwrap_or(0);
        self.scan_from(pos, |h| h.max_timestamp >= timestamp)
    }

    /// The first batch carrying the segment's largest timestamp, as (position, header), or
    /// `None` when no batch has a timestamp.
    pub fn find_max_timestamp(&self) -> Option<(u64, BatchHeader)> {
        if self.max_timestamp < 0 {
            return None;
        }
        let max = self.max_timestamp;
        let pos = self
            .find_position(self.offset_of_max_timestamp)
            .unwrap_or(0);
        self.scan_from(pos, |h| h.max_timestamp == max)
            // The offset hint could predate a truncation; scan the whole segment then.
            .or_else(|| self.scan_from(0, |h| h.max_timestamp == max))
    }

    /// The segment's largest timestamp (-1 when no batch has one).
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }

    /// The first batch at or after `pos` that `wanted` accepts.
    fn scan_from(
        &self,
        mut pos: u64,
        wanted: impl Fn(&BatchHeader) -> bool,
    ) -> Option<(u64, BatchHeader)> {
        while let Some(h) = self.header_at(pos) {
            if wanted(&h) {
                return Some((pos, h));
            }
            pos += h.total_size() as u64;
        }
        None
    }

    /// Called when this segment stops being the active one: record its largest timestamp in
    /// the time index (so a reopen knows it without a scan) and make everything durable.
    pub fn seal(&mut self) -> io::Result<()> {
        if self.max_timestamp >= 0 {
            self.time_index
                .maybe_append(self.max_timestamp, self.offset_of_max_timestamp)?;
        }
        self.sync_all()
    }

    /// fdatasync the log and fsync both indexes. A released file has nothing unsynced: it
    /// was synced when its segment was sealed, before it could be released.
    pub fn sync_all(&self) -> io::Result<()> {
        if let Some(file) = self.log.if_open() {
            file.sync_data()?;
        }
        self.offset_index.sync()?;
        self.time_index.sync()
    }

    /// Remove the segment's files. The log goes first: an index without a log is garbage that
    /// open cleans up, while a log without its index is simply rebuilt.
    pub fn delete(self) -> io::Result<()> {
        for ext in ["log", "index", "timeindex"] {
            match fs::remove_file(self.dir.join(file_name(self.base_offset, ext))) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Largest timestamp in the segment; falls back to the file's mtime when the batches carry
    /// no timestamps (-1), as Kafka does for time retention.
    pub fn largest_timestamp(&self) -> i64 {
        if self.max_timestamp >= 0 {
            return self.max_timestamp;
        }
        fs::metadata(self.dir.join(file_name(self.base_offset, "log")))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(-1, |d| d.as_millis() as i64)
    }

    /// First offset of the segment (its file name).
    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }
    /// Offset after the last batch.
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }
    /// Bytes in the log file.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// True when no batch has been written.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }
    /// Max timestamp of the first batch, the reference for `segment.ms`.
    pub fn rolling_timestamp(&self) -> Option<i64> {
        self.rolling_timestamp
    }
    /// Shared handle to the log file, for reads and flushes outside the partition lock
    /// (opening it if it was released).
    pub fn file(&self) -> io::Result<Arc<File>> {
        self.log.get()
    }
    /// Close the log file's descriptor if it has not been used for `idle` (only for sealed
    /// segments: the active one is written all the time). True if one was closed.
    pub fn release_file_if_idle(&self, idle: Duration) -> bool {
        self.log.release_if_idle(idle)
    }
    /// True while the log file holds a descriptor.
    pub fn file_is_open(&self) -> bool {
        self.log.is_open()
    }
    /// Entries in the offset index (for tests and metrics).
    pub fn offset_index_len(&self) -> usize {
        self.offset_index.len()
    }
    /// Entries in the time index (for tests and metrics).
    pub fn time_index_len(&self) -> usize {
        self.time_index.len()
    }
}

/// After damage at `from`: steps over batches by their declared lengths and returns the last
/// offset of the last CRC-valid batch found, if any. A valid batch after the damage means the
/// damage is not a torn tail (bit rot, a bad sector) and the data after it was acknowledged.
fn last_valid_batch_after(file: &File, from: u64, len: u64) -> io::Result<Option<i64>> {
    let mut pos = from;
    let mut last = None;
    let mut buf = Vec::new();
    while len - pos >= HEADER_LEN as u64 {
        let mut head = [0u8; HEADER_LEN];
        file.read_exact_at(&mut head, pos)?;
        let Ok(h) = BatchHeader::parse(&head) else {
            break;
        };
        let size = h.total_size();
        if size as u64 > len - pos {
            break;
        }
        buf.resize(size, 0);
        file.read_exact_at(&mut buf, pos)?;
        if let Ok(valid) = batch::validate_batch(&buf, size) {
            last = Some(valid.last_offset());
        }
        pos += size as u64;
    }
    Ok(last)
}

/// Extension of a quarantined segment, or of the marker of a range whose data is missing:
/// reads of `[base, next base)` are refused until an operator decides.
pub const DAMAGED_EXT: &str = "log.damaged";
/// Extension an operator gives a `.log.damaged` file to accept the loss: reads skip the range.
pub const LOST_EXT: &str = "log.lost";

/// Moves a damaged segment aside (`NNN.log` → `NNN.log.damaged`, indexes removed), keeping
/// its bytes for the operator.
pub fn quarantine(dir: &Path, base_offset: i64) -> io::Result<()> {
    fs::rename(
        dir.join(file_name(base_offset, "log")),
        dir.join(file_name(base_offset, DAMAGED_EXT)),
    )?;
    for ext in ["index", "timeindex"] {
        match fs::remove_file(dir.join(file_name(base_offset, ext))) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Records that offsets from `start` (to the next segment) are missing: an empty
/// `NNN.log.damaged` marker, so the hole stays refused across restarts.
pub fn mark_missing(dir: &Path, start: i64) -> io::Result<()> {
    File::create(dir.join(file_name(start, DAMAGED_EXT)))?.sync_all()
}
