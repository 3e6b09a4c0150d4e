//! The partition log: an ordered set of segments with one active (last) segment.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::batch::{self, BatchError};
use super::checkpoint;
use super::producer_state::{self, ProducerStates, Sequenced};
use super::records;
use super::recovery::{self, Gap, Listing, Recovered};
use super::segment::{self, BatchPlacement, Segment};
use super::sync::GroupCommit;
use super::{AppendInfo, LogConfig, LogError, TimestampType};
use crate::rate_limit::RateLimited;

/// Failed appends, across all partitions: one line per interval with a count.
static WRITE_FAILED: RateLimited = RateLimited::new(std::time::Duration::from_secs(10));

/// The whole batch `header` describes, at `position` of `file`. Read outside the log's lock:
/// stored batches never change.
fn read_batch(
    file: &fs::File,
    position: u64,
    header: &batch::BatchHeader,
) -> Result<Vec<u8>, LogError> {
    let mut buf = vec![0u8; header.total_size()];
    file.read_exact_at(&mut buf, position)?;
    Ok(buf)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[derive(Debug)]
struct Inner {
    segments: BTreeMap<i64, Segment>,
    log_end_offset: i64,
    high_watermark: i64,
    log_start_offset: i64,
    /// (leader epoch, first offset written in it), increasing in both.
    epochs: Vec<(i32, i64)>,
    /// Set when a failed write could not be undone: the file may hold a partial blob, so no
    /// further appends are allowed until the log is reopened (and recovered).
    failed: bool,
    /// Idempotent producers' sequences, checked and updated under the append lock.
    producers: ProducerStates,
    /// Offset ranges without readable data, by start: reads there are refused (or skipped once
    /// an operator accepted the loss).
    gaps: BTreeMap<i64, Gap>,
}

impl Inner {
    fn active(&self) -> &Segment {
        // Invariant: open() always leaves at least one segment, and retention never removes the
        // last one.
        self.segments
            .values()
            .next_back()
            .expect("log has an active segment")
    }
    fn active_mut(&mut self) -> &mut Segment {
        self.segments
            .values_mut()
            .next_back()
            .expect("log has an active segment")
    }
}

/// Result of a retention pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionOutcome {
    /// Base offsets of the deleted segments.
    pub deleted_segments: Vec<i64>,
    /// The log start offset after the pass.
    pub log_start_offset: i64,
}

/// What recovery did on open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Segments scanned batch by batch.
    pub segments_recovered: usize,
    /// Bytes cut off because they were not valid batches.
    pub bytes_truncated: u64,
    /// Damaged segments moved aside as `NNN.log.damaged`.
    pub segments_quarantined: usize,
    /// Ranges `[start, end)` with no readable data (quarantined, missing or accepted lost).
    pub gaps: Vec<(i64, i64)>,
}

/// One partition's log. All methods take `&self`; appends are serialised by an internal mutex,
/// reads only hold it to locate data and then read outside it.
#[derive(Debug)]
pub struct PartitionLog {
    dir: PathBuf,
    /// Replaced whole by [`set_config`](Self::set_config) (IncrementalAlterConfigs); read
    /// briefly, never held across I/O.
    config: RwLock<LogConfig>,
    inner: Mutex<Inner>,
    commit: GroupCommit,
    open_report: OpenReport,
}

fn parse_segment_name(name: &str) -> Option<(i64, &str)> {
    let (stem, ext) = name.split_once('.')?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((stem.parse().ok()?, ext))
}

impl PartitionLog {
    /// Open (or create) the log in `dir`, recovering every segment past the recovery point.
    pub fn open(dir: impl AsRef<Path>, config: LogConfig) -> Result<PartitionLog, LogError> {
        config.validate()?;
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir)?;

        let mut listing = Listing::default();
        let mut index_files = Vec::new();
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.ends_with(".tmp") {
                fs::remove_file(entry.path())?;
                continue;
            }
            match parse_segment_name(name) {
                Some((base, "log")) => listing.bases.push(base),
                Some((base, segment::DAMAGED_EXT)) => {
                    listing.markers.insert(base, false);
                }
                Some((base, segment::LOST_EXT)) => {
                    listing.markers.insert(base, true);
                }
                Some((base, "index" | "timeindex")) => index_files.push((base, entry.path())),
                Some((base, "snapshot")) => listing.snapshots.push(base),
                _ => {}
            }
        }
        listing.bases.sort_unstable();
        // Indexes whose log is gone are leftovers of an interrupted segment deletion.
        for (base, path) in index_files {
            if listing.bases.binary_search(&base).is_err() {
                fs::remove_file(path)?;
            }
        }

        let recovery_point = checkpoint::read_recovery_point_opt(&dir);
        let Recovered {
            segments,
            changed,
            gaps,
            epoch_starts,
            scanned: recovered,
            bytes_truncated,
            segments_quarantined,
        } = recovery::recover(&dir, &config, &listing)?;
        let report = OpenReport {
            segments_recovered: recovered.len(),
            bytes_truncated,
            segments_quarantined,
            gaps: gaps.iter().map(|(&s, g)| (s, g.end)).collect(),
        };
        let snapshots = listing.snapshots;

        let log_end_offset = segments
            .values()
            .next_back()
            .map_or(0, Segment::next_offset);
        // A damaged range at the start is still part of the log: reading it must fail, not
        // look like retention (OFFSET_OUT_OF_RANGE would let consumers skip it silently).
        let log_start_offset = segments
            .keys()
            .next()
            .copied()
            .unwrap_or(0)
            .min(gaps.keys().next().copied().unwrap_or(i64::MAX));

        // Leader epochs: drop entries past the end (their batches were truncated), then add any
        // epoch seen in the recovered batches that the file did not have yet.
        let stored_epochs = checkpoint::read_leader_epochs(&dir);
        let mut epochs: Vec<(i32, i64)> = stored_epochs
            .iter()
            .copied()
            .filter(|&(_, start)| start < log_end_offset)
            .collect();
        for (epoch, start) in epoch_starts {
            if epochs.last().is_none_or(|&(e, _)| epoch > e) {
                epochs.push((epoch, start));
            }
        }
        if epochs != stored_epochs {
            checkpoint::write_leader_epochs(&dir, &epochs)?;
        }

        // Make what we verified durable before recording it as verified. After a clean stop
        // (nothing changed, the recovery point already at the log end) all of it already is:
        // skipping those fsyncs is most of a fast start with thousands of partitions.
        if changed || recovery_point != Some(log_end_offset) {
            for base in &recovered {
                if let Some(seg) = segments.get(base) {
                    seg.sync_all()?;
                }
            }
            checkpoint::sync_dir(&dir)?;
            checkpoint::write_recovery_point(&dir, log_end_offset)?;
        }
        let producers = rebuild_producer_states(&dir, &segments, snapshots, log_end_offset)?;
        // The checks above opened the sealed segments' files; they reopen when read.
        for seg in segments.values().rev().skip(1) {
            seg.release_file_if_idle(Duration::ZERO);
        }

        Ok(PartitionLog {
            dir,
            config: RwLock::new(config),
            inner: Mutex::new(Inner {
                segments,
                log_end_offset,
                // One node: everything in the log is committed. Replication will own this.
                high_watermark: log_end_offset,
                log_start_offset,
                epochs,
                failed: false,
                producers,
                gaps,
            }),
            commit: GroupCommit::new(log_end_offset),
            open_report: report,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied append visible (offsets
        // are published last), so a poisoned mutex is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Append a produce request's `records` blob for this partition, stamped with
    /// `leader_epoch`. Every batch is validated before anything is written, so the blob is
    /// stored entirely or not at all. Offsets (and, for LogAppendTime topics, timestamps) are
    /// written into `records` in place. Returns once the bytes are in the page cache
    /// (acks=1); call [`PartitionLog::sync`] for acks=all.
    pub fn append(&self, records: &mut [u8], leader_epoch: i32) -> Result<AppendInfo, LogError> {
        self.append_at(records, leader_epoch, now_ms())
    }

    /// [`PartitionLog::append`] with an explicit clock, for LogAppendTime and tests.
    pub fn append_at(
        &self,
        records: &mut [u8],
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        if records.len() > i32::MAX as usize {
            return Err(BatchError::TooLarge {
                size: records.len(),
                max: i32::MAX as usize,
            }
            .into());
        }
        // Validation needs no lock: it only reads the caller's bytes.
        let (max_message_bytes, timestamp_type) = {
            let c = self.settings();
            (c.max_message_bytes, c.message_timestamp_type)
        };
        let spans = batch::split_client_batches(records, max_message_bytes)?;
        let log_append = timestamp_type == TimestampType::LogAppendTime;

        let mut inner = self.lock();
        if inner.failed {
            self.write_failed(&LogError::Offline);
            return Err(LogError::Offline);
        }
        if let Some(&(latest, _)) = inner.epochs.last() {
            if leader_epoch < latest {
                return Err(LogError::FencedLeaderEpoch {
                    epoch: leader_epoch,
                    latest,
                });
            }
        }

        // Idempotent producers: a retry of batches already stored is answered with their
        // offsets; anything out of sequence is refused before a byte is written.
        if let Some(duplicate) = check_sequences(&inner.producers, &spans)? {
            return Ok(AppendInfo {
                base_offset: duplicate.first_offset,
                last_offset: duplicate.last_offset,
                log_append_time: log_append.then_some(now_ms),
                max_timestamp: duplicate.timestamp,
                log_start_offset: inner.log_start_offset,
                batch_count: spans.len(),
                record_count: duplicate.last_offset - duplicate.first_offset + 1,
                bytes: 0,
                duplicate: true,
            });
        }

        let max_ts_in = spans
            .iter()
            .map(|s| s.header.max_timestamp)
            .max()
            .unwrap_or(-1);
        let incoming_ts = if log_append { now_ms } else { max_ts_in };
        let total_records: i64 = spans
            .iter()
            .map(|s| s.header.last_offset_delta as i64 + 1)
            .sum();
        if self.should_roll(&inner, records.len() as u64, incoming_ts, total_records) {
            if let Err(e) = self.roll(&mut inner) {
                self.write_failed(&e);
                return Err(e);
            }
        }

        let base_offset = inner.log_end_offset;
        let mut next = base_offset;
        let mut placements = Vec::with_capacity(spans.len());
        let mut max_timestamp = -1;
        for span in &spans {
            let size = span.header.total_size();
            let bytes = &mut records[span.position..span.position + size];
            batch::stamp_offset_and_epoch(bytes, next, leader_epoch)?;
            let ts = if log_append {
                batch::stamp_log_append_time(bytes, now_ms)?;
                now_ms
            } else {
                span.header.max_timestamp
            };
            max_timestamp = max_timestamp.max(ts);
            let last = next + span.header.last_offset_delta as i64;
            placements.push(BatchPlacement {
                base_offset: next,
                last_offset: last,
                max_timestamp: ts,
                leader_epoch,
                blob_position: span.position,
                size,
            });
            next = last + 1;
        }

        if let Err(failure) = inner.active_mut().append(records, &placements) {
            // If the partial write could not be undone the log must not take more writes
            // behind possible garbage; reopening recovers it.
            if !failure.undone {
                inner.failed = true;
            }
            let e = LogError::from(failure.error);
            self.write_failed(&e);
            return Err(e);
        }

        if inner.epochs.last().is_none_or(|&(e, _)| leader_epoch > e) {
            inner.epochs.push((leader_epoch, base_offset));
            checkpoint::write_leader_epochs(&self.dir, &inner.epochs)?;
        }
        for (span, placement) in spans.iter().zip(&placements) {
            if span.header.producer_id >= 0 {
                inner
                    .producers
                    .record(&span.header, placement.base_offset, placement.last_offset);
            }
        }
        inner.log_end_offset = next;
        inner.high_watermark = next;

        Ok(AppendInfo {
            base_offset,
            last_offset: next - 1,
            log_append_time: log_append.then_some(now_ms),
            max_timestamp,
            log_start_offset: inner.log_start_offset,
            batch_count: spans.len(),
            record_count: total_records,
            bytes: records.len(),
            duplicate: false,
        })
    }

    /// A produce the disk refused (full, read-only, failing): producers get the retriable
    /// KAFKA_STORAGE_ERROR and retry, so without a limit this would log once per attempt.
    fn write_failed(&self, e: &LogError) {
        if let Some(n) = WRITE_FAILED.hit() {
            tracing::error!(
                dir = %self.dir.display(),
                error = %e,
                failures = n,
                "append failed; producers are answered KAFKA_STORAGE_ERROR (disk full?)"
            );
        }
    }

    fn should_roll(&self, inner: &Inner, blob_len: u64, incoming_ts: i64, records: i64) -> bool {
        let active = inner.active();
        if active.is_empty() {
            return false;
        }
        let (segment_bytes, segment_ms) = {
            let c = self.settings();
            (c.segment_bytes, c.segment_ms)
        };
        let by_size = active.size() + blob_len > segment_bytes;
        let by_time = active
            .rolling_timestamp()
            .is_some_and(|first| incoming_ts.saturating_sub(first) >= segment_ms);
        // Index entries store offsets relative to the base as u32 (Kafka: int).
        let by_offset = inner.log_end_offset + records - active.base_offset() > i32::MAX as i64;
        by_size || by_time || by_offset
    }

    /// Seal the active segment (durably) and start a new one at the log end. Because sealed
    /// segments are fully synced here, a group-commit flush only ever needs the active file.
    fn roll(&self, inner: &mut Inner) -> Result<(), LogError> {
        let end = inner.log_end_offset;
        inner.active_mut().seal()?;
        let interval = self.settings().index_interval_bytes;
        let seg = Segment::create(&self.dir, end, interval)?;
        inner.segments.insert(end, seg);
        checkpoint::sync_dir(&self.dir)?;
        // Everything below the new segment is flushed and was verified on append.
        checkpoint::write_recovery_point(&self.dir, end)?;
        self.commit.advance(end);
        // Producer state as of the new segment, so open scans only the active segment.
        inner.producers.expire(now_ms());
        inner.producers.write_snapshot(&self.dir, end)?;
        prune_snapshots(&self.dir, end)?;
        Ok(())
    }

    /// fdatasync everything appended so far, without coordinating with other callers; returns
    /// the offset now durable. Blocking; async code should use [`PartitionLog::sync`].
    pub fn flush(&self) -> Result<i64, LogError> {
        let (end, file) = {
            let inner = self.lock();
            (inner.log_end_offset, inner.active().file()?)
        };
        file.sync_data()?;
        self.commit.advance(end);
        Ok(end)
    }

    /// Block until every offset below `offset` is on disk.
    pub fn flush_to(&self, offset: i64) -> Result<(), LogError> {
        if self.commit.durable() < offset {
            self.flush()?;
        }
        Ok(())
    }

    /// Wait until everything appended before this call is on disk (acks=all). Concurrent
    /// callers share fsyncs: at most one is in flight, on a blocking thread.
    pub async fn sync(self: &Arc<Self>) -> Result<(), LogError> {
        let target = self.log_end_offset();
        self.commit
            .wait_for(target, || {
                let log = Arc::clone(self);
                async move {
                    tokio::task::spawn_blocking(move || log.flush())
                        .await
                        .map_err(io::Error::other)?
                        .map_err(io::Error::other)
                }
            })
            .await?;
        Ok(())
    }

    /// Offset below which everything is known to be durable.
    pub fn durable_offset(&self) -> i64 {
        self.commit.durable()
    }

    /// Offset the next appended record will get.
    pub fn log_end_offset(&self) -> i64 {
        self.lock().log_end_offset
    }

    /// Offset up to which consumers may read. Equal to the log end on one node; replication
    /// will move it separately.
    pub fn high_watermark(&self) -> i64 {
        self.lock().high_watermark
    }

    /// Set the high watermark (for the replication layer); clamped to [log start, log end].
    pub fn set_high_watermark(&self, offset: i64) {
        let mut inner = self.lock();
        inner.high_watermark = offset.clamp(inner.log_start_offset, inner.log_end_offset);
    }

    /// First offset still in the log.
    pub fn log_start_offset(&self) -> i64 {
        self.lock().log_start_offset
    }

    /// (leader epoch, start offset) entries, as in `leader-epoch-checkpoint`.
    pub fn leader_epochs(&self) -> Vec<(i32, i64)> {
        self.lock().epochs.clone()
    }

    /// OffsetsForLeaderEpoch: the end offset of `epoch` (start of the next larger epoch, or the
    /// log end for the latest) and the largest known epoch ≤ `epoch`; `None` if unknown.
    pub fn end_offset_for_epoch(&self, epoch: i32) -> Option<(i32, i64)> {
        let inner = self.lock();
        let i = inner.epochs.partition_point(|&(e, _)| e <= epoch);
        if i == 0 {
            return None;
        }
        let found = inner.epochs[i - 1].0;
        let end = inner
            .epochs
            .get(i)
            .map_or(inner.log_end_offset, |&(_, start)| start);
        Some((found, end))
    }

    /// Consumer read: whole batches from the one containing `fetch_offset`, up to `max_bytes`
    /// but always at least one batch, never past the high watermark.
    pub fn read(&self, fetch_offset: i64, max_bytes: usize) -> Result<Vec<u8>, LogError> {
        let hw = self.high_watermark();
        self.read_up_to(fetch_offset, max_bytes, hw)
    }

    /// Read whole batches starting at the batch containing `fetch_offset`, within one segment,
    /// stopping before `max_bytes` (but returning at least one complete batch) and before any
    /// batch starting at or after `upper` (a follower passes the log end offset).
    pub fn read_up_to(
        &self,
        fetch_offset: i64,
        max_bytes: usize,
        upper: i64,
    ) -> Result<Vec<u8>, LogError> {
        self.read_batches(fetch_offset, max_bytes, upper, true)
    }

    /// Consumer read without the one-batch guarantee: only whole batches that fit in
    /// `max_bytes`, so possibly none. A Fetch uses it for every partition after the first
    /// non-empty one (KIP-74: only that partition's first batch may exceed the limits).
    pub fn read_at_most(&self, fetch_offset: i64, max_bytes: usize) -> Result<Vec<u8>, LogError> {
        let hw = self.high_watermark();
        self.read_batches(fetch_offset, max_bytes, hw, false)
    }

    fn read_batches(
        &self,
        mut fetch_offset: i64,
        max_bytes: usize,
        upper: i64,
        at_least_one: bool,
    ) -> Result<Vec<u8>, LogError> {
        let (file, start, end) = {
            let inner = self.lock();
            if let Some((&gap_start, gap)) = inner.gaps.range(..=fetch_offset).next_back() {
                if fetch_offset < gap.end && fetch_offset >= inner.log_start_offset {
                    if !gap.lost {
                        return Err(LogError::Damaged {
                            offset: fetch_offset,
                            start: gap_start,
                            end: gap.end,
                        });
                    }
                    // The operator accepted the loss: continue after it, as Kafka serves
                    // across a gap in offsets.
                    fetch_offset = gap.end;
                }
            }
            if fetch_offset < inner.log_start_offset || fetch_offset > inner.log_end_offset {
                return Err(LogError::OffsetOutOfRange {
                    offset: fetch_offset,
                    log_start_offset: inner.log_start_offset,
                    log_end_offset: inner.log_end_offset,
                });
            }
            if fetch_offset >= upper.min(inner.log_end_offset) {
                return Ok(Vec::new());
            }
            let mut found = None;
            for seg in inner
                .segments
                .range(..=fetch_offset)
                .next_back()
                .into_iter()
                .map(|(_, s)| s)
                .chain(inner.segments.range(fetch_offset + 1..).map(|(_, s)| s))
            {
                if let Some(pos) = seg.find_position(fetch_offset) {
                    found = Some((seg.file()?, pos, seg.size()));
                    break;
                }
            }
            match found {
                Some(f) => f,
                // Inside the log but no batch can be found: the segment's bytes are not what
                // its checks promised. Silence would stall consumers without a word.
                None => {
                    return Err(LogError::Corrupt {
                        offset: fetch_offset,
                        reason: "no batch found for an offset inside the log".into(),
                    })
                }
            }
        };
        // The file is read outside the lock; `end` was captured under it, so a concurrent
        // append can never expose a half-written batch.
        let first = {
            let mut h = [0u8; batch::HEADER_LEN];
            file.read_exact_at(&mut h, start)?;
            batch::BatchHeader::parse(&h)
                .map_err(|e| LogError::Corrupt {
                    offset: fetch_offset,
                    reason: e.to_string(),
                })?
                .total_size()
        };
        if !at_least_one && first > max_bytes {
            return Ok(Vec::new());
        }
        let want = (max_bytes.max(first) as u64).min(end - start) as usize;
        let mut buf = vec![0u8; want];
        file.read_exact_at(&mut buf, start)?;
        // Every batch handed out is checked whole (CRC32C is cheap next to the copy): damage
        // is answered with CORRUPT_MESSAGE at its offset instead of being served or skipped.
        let mut keep = 0;
        while keep < buf.len() {
            let Ok(h) = batch::BatchHeader::parse(&buf[keep..]) else {
                break;
            };
            if h.base_offset >= upper || keep + h.total_size() > buf.len() {
                break;
            }
            if let Err(e) = batch::validate_batch(&buf[keep..], usize::MAX) {
                if keep == 0 {
                    return Err(LogError::Corrupt {
                        offset: h.base_offset,
                        reason: e.to_string(),
                    });
                }
                break;
            }
            keep += h.total_size();
        }
        if keep == 0 && !buf.is_empty() {
            return Err(LogError::Corrupt {
                offset: fetch_offset,
                reason: "the batch at this offset is unreadable".into(),
            });
        }
        buf.truncate(keep);
        Ok(buf)
    }

    /// ListOffsets by timestamp: the offset and timestamp of the first record whose timestamp
    /// is at least `timestamp` (Kafka's `fetchOffsetByTimestamp`): the time index finds the
    /// first batch whose max timestamp reaches it, and that batch's records are read. `None` if
    /// every record is older.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Result<Option<(i64, i64)>, LogError> {
        let found = {
            let inner = self.lock();
            inner.segments.values().find_map(|seg| {
                seg.find_timestamp(timestamp)
                    .map(|(pos, h)| (seg.file(), pos, h))
            })
        };
        let Some((file, pos, header)) = found else {
            return Ok(None);
        };
        let batch = read_batch(&*(file?), pos, &header)?;
        records::first_record_where(&header, batch, |ts| ts >= timestamp)
    }

    /// ListOffsets MAX_TIMESTAMP (KIP-734): the offset and timestamp of the first record with
    /// the largest timestamp in the log; `None` when no record has a timestamp.
    pub fn max_timestamp_offset(&self) -> Result<Option<(i64, i64)>, LogError> {
        let found = {
            let inner = self.lock();
            // The first segment holding the largest timestamp, as Kafka's `maxBy`.
            let mut best: Option<&Segment> = None;
            for seg in inner.segments.values() {
                if best.is_none_or(|b| seg.max_timestamp() > b.max_timestamp()) {
                    best = Some(seg);
                }
            }
            best.and_then(|seg| {
                seg.find_max_timestamp()
                    .map(|(pos, h)| (seg.file(), pos, h))
            })
        };
        let Some((file, pos, header)) = found else {
            return Ok(None);
        };
        let max = header.max_timestamp;
        let batch = read_batch(&*(file?), pos, &header)?;
        records::first_record_where(&header, batch, |ts| ts == max)
    }

    /// ListOffsets EARLIEST.
    pub fn earliest_offset(&self) -> i64 {
        self.log_start_offset()
    }

    /// ListOffsets LATEST (for read_uncommitted consumers: the high watermark).
    pub fn latest_offset(&self) -> i64 {
        self.high_watermark()
    }

    /// Delete whole closed segments that exceed `retention.ms` (by their largest timestamp) or
    /// `retention.bytes`, oldest first, advancing the log start offset. The active segment is
    /// never deleted, so data can outlive retention by up to one segment.
    pub fn enforce_retention(&self, now_ms: i64) -> Result<RetentionOutcome, LogError> {
        let (retention_ms, retention_bytes) = {
            let c = self.settings();
            (c.retention_ms, c.retention_bytes)
        };
        let mut inner = self.lock();
        let mut deleted = Vec::new();
        let closed: Vec<i64> = inner.segments.keys().copied().collect();
        let closed = &closed[..closed.len().saturating_sub(1)];
        let mut total: i64 = inner.segments.values().map(|s| s.size() as i64).sum();
        for &base in closed {
            let seg = &inner.segments[&base];
            let by_time =
                retention_ms >= 0 && now_ms.saturating_sub(seg.largest_timestamp()) > retention_ms;
            let by_size = retention_bytes >= 0 && total - seg.size() as i64 >= retention_bytes;
            if !(by_time || by_size) {
                break;
            }
            total -= seg.size() as i64;
            let seg = inner.segments.remove(&base).expect("segment listed above");
            inner.log_start_offset = inner.segments.keys().next().copied().unwrap_or(base);
            seg.delete()?;
            deleted.push(base);
        }
        if !deleted.is_empty() {
            let start = inner.log_start_offset;
            inner.high_watermark = inner.high_watermark.max(start);
            // Damaged ranges wholly before the new start are gone with the data around them.
            let expired: Vec<(i64, bool)> = inner
                .gaps
                .iter()
                .filter(|(_, g)| g.end <= start)
                .map(|(&s, g)| (s, g.lost))
                .collect();
            for (gap_start, lost) in expired {
                inner.gaps.remove(&gap_start);
                let ext = if lost {
                    segment::LOST_EXT
                } else {
                    segment::DAMAGED_EXT
                };
                match fs::remove_file(self.dir.join(segment::file_name(gap_start, ext))) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
            // Keep epoch entries meaningful: the first covers the new start.
            let keep_from = inner
                .epochs
                .partition_point(|&(_, s)| s <= start)
                .saturating_sub(1);
            if keep_from > 0 {
                inner.epochs.drain(..keep_from);
                checkpoint::write_leader_epochs(&self.dir, &inner.epochs)?;
            }
            checkpoint::sync_dir(&self.dir)?;
        }
        Ok(RetentionOutcome {
            deleted_segments: deleted,
            log_start_offset: inner.log_start_offset,
        })
    }

    /// Flush everything and record the log end as the recovery point, so the next open scans
    /// only the active segment. Call on clean shutdown.
    pub fn close(&self) -> Result<(), LogError> {
        let inner = self.lock();
        inner.active().sync_all()?;
        checkpoint::write_recovery_point(&self.dir, inner.log_end_offset)?;
        self.commit.advance(inner.log_end_offset);
        Ok(())
    }

    /// Close the files of sealed segments unused for `idle` (the active segment keeps its
    /// descriptor). Returns how many were closed.
    pub fn release_idle_files(&self, idle: Duration) -> usize {
        let inner = self.lock();
        inner
            .segments
            .values()
            .rev()
            .skip(1)
            .filter(|seg| seg.release_file_if_idle(idle))
            .count()
    }

    /// Segments whose log file holds a descriptor now (for tests and metrics).
    pub fn open_segment_files(&self) -> usize {
        self.lock()
            .segments
            .values()
            .filter(|s| s.file_is_open())
            .count()
    }

    /// Base offsets of the segments, oldest first.
    pub fn segment_bases(&self) -> Vec<i64> {
        self.lock().segments.keys().copied().collect()
    }

    /// (offset index entries, time index entries) of the segment starting at `base`.
    pub fn index_sizes(&self, base: i64) -> Option<(usize, usize)> {
        self.lock()
            .segments
            .get(&base)
            .map(|s| (s.offset_index_len(), s.time_index_len()))
    }

    /// What recovery did when this log was opened.
    pub fn open_report(&self) -> &OpenReport {
        &self.open_report
    }

    /// The partition directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The configuration in force.
    pub fn config(&self) -> LogConfig {
        self.settings().clone()
    }

    /// Replaces the settings (IncrementalAlterConfigs): appends, rolls and retention use the
    /// new values from the next call on; `index.interval.bytes` applies to new segments.
    pub fn set_config(&self, config: LogConfig) -> Result<(), LogError> {
        config.validate()?;
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = config;
        Ok(())
    }

    fn settings(&self) -> RwLockReadGuard<'_, LogConfig> {
        self.config.read().unwrap_or_else(|p| p.into_inner())
    }
}

/// Checks every idempotent batch of a blob against the producers' sequences. `Some` when the
/// blob is a retry of batches already in the log (Kafka answers the whole append with the
/// first duplicate's metadata).
fn check_sequences(
    producers: &ProducerStates,
    spans: &[batch::BatchSpan],
) -> Result<Option<producer_state::BatchMeta>, LogError> {
    // Later batches of one blob continue the earlier ones: check against a scratch copy only
    // in that (rare) multi-batch case.
    let mut scratch: Option<ProducerStates> = None;
    for (i, span) in spans.iter().enumerate() {
        let h = &span.header;
        if h.producer_id < 0 {
            continue;
        }
        match scratch.as_ref().unwrap_or(producers).check(h)? {
            Sequenced::Duplicate(meta) => return Ok(Some(meta)),
            Sequenced::Append if i + 1 < spans.len() => {
                let s = scratch.get_or_insert_with(|| producers.clone());
                let first = i64::from(h.base_sequence);
                s.record(h, first, first + i64::from(h.last_offset_delta));
            }
            Sequenced::Append => {}
        }
    }
    Ok(None)
}

/// Rebuilds the producer states on open: the newest usable snapshot, then every batch header
/// after it. Snapshots past the log end (their batches were truncated) are deleted.
fn rebuild_producer_states(
    dir: &Path,
    segments: &BTreeMap<i64, Segment>,
    mut snapshots: Vec<i64>,
    log_end_offset: i64,
) -> Result<ProducerStates, LogError> {
    snapshots.sort_unstable();
    let mut start = (ProducerStates::default(), i64::MIN);
    for &offset in snapshots.iter().rev() {
        let path = dir.join(producer_state::snapshot_name(offset));
        if offset > log_end_offset {
            fs::remove_file(&path)?;
            continue;
        }
        if let Some(states) = ProducerStates::read_snapshot(&path) {
            start = (states, offset);
            break;
        }
    }
    let (mut states, from) = start;
    for seg in segments.values() {
        if seg.next_offset() <= from {
            continue;
        }
        let mut position = 0;
        while let Some(h) = seg.header_at(position) {
            if h.producer_id >= 0 && h.base_offset >= from {
                states.record(&h, h.base_offset, h.last_offset());
            }
            position += h.total_size() as u64;
        }
    }
    states.expire(now_ms());
    Ok(states)
}

/// Keeps the two newest producer snapshots (up to `newest`), deleting older ones.
fn prune_snapshots(dir: &Path, newest: i64) -> std::io::Result<()> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if let Some((base, "snapshot")) = entry.file_name().to_str().and_then(parse_segment_name) {
            if base <= newest {
                found.push(base);
            }
        }
    }
    found.sort_unstable();
    let keep = found.len().saturating_sub(2);
    for base in &found[..keep] {
        fs::remove_file(dir.join(producer_state::snapshot_name(*base)))?;
    }
    Ok(())
}
