//! Partition log tests against real files in temp directories.

use std::fs::{self, OpenOptions};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::batch::{simple_batch, validate_batch, BatchBuilder, BatchHeader};
use super::*;

fn small_config() -> LogConfig {
    LogConfig {
        segment_bytes: 4096,
        index_interval_bytes: 256,
        ..LogConfig::default()
    }
}

/// Append one batch of `n` records with timestamp `ts`; returns the stored (stamped) bytes.
fn append(log: &PartitionLog, n: usize, ts: i64) -> (AppendInfo, Vec<u8>) {
    let mut b = simple_batch(n, 200, ts);
    let info = log.append(&mut b, 0).unwrap();
    (info, b)
}

/// Parse a read result into (base offset, last offset) per batch, checking every CRC.
fn batches(bytes: &[u8]) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let h = validate_batch(&bytes[pos..], usize::MAX).expect("valid batch in read");
        out.push((h.base_offset, h.last_offset()));
        pos += h.total_size();
    }
    out
}

/// Read the whole log from its start, batch boundaries only.
fn read_all(log: &PartitionLog) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut next = log.log_start_offset();
    while next < log.high_watermark() {
        let got = batches(&log.read(next, 1 << 20).unwrap());
        assert!(!got.is_empty(), "no progress at {next}");
        next = got.last().unwrap().1 + 1;
        out.extend(got);
    }
    out
}

fn log_file(dir: &Path, base: i64) -> std::path::PathBuf {
    dir.join(segment::file_name(base, "log"))
}

#[test]
fn append_read_round_trip() {
    let d = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(d.path(), LogConfig::default()).unwrap();
    assert_eq!(
        (
            log.log_start_offset(),
            log.log_end_offset(),
            log.high_watermark()
        ),
        (0, 0, 0)
    );
    let (a, b1) = append(&log, 3, 10);
    let (b, b2) = append(&log, 2, 11);
    assert_eq!((a.base_offset, a.last_offset), (0, 2));
    assert_eq!((b.base_offset, b.last_offset), (3, 4));
    assert_eq!(b.log_append_time, None);
    assert_eq!(log.log_end_offset(), 5);
    assert_eq!(log.high_watermark(), 5);
    // The stored bytes are exactly the producer's bytes with offset and epoch stamped.
    let all = log.read(0, 1 << 20).unwrap();
    assert_eq!(all, [b1, b2].concat());
    assert!(d.path().join("00000000000000000000.log").exists());
    assert!(d.path().join("00000000000000000000.index").exists());
    assert!(d.path().join("00000000000000000000.timeindex").exists());
}

#[test]
fn multi_batch_blob_gets_consecutive_offsets() {
    let d = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(d.path(), LogConfig::default()).unwrap();
    append(&log, 1, 1);
    let mut blob = [simple_batch(2, 10, 5), simple_batch(3, 10, 6)].concat();
    let info = log.append(&mut blob, 0).unwrap();
    assert_eq!(
        (info.base_offset, info.last_offset, info.batch_count),
        (1, 5, 2)
    );
    assert_eq!(
        batches(&log.read(1, 1 << 20).unwrap()),
        vec![(1, 2), (3, 5)]
    );
}

#[test]
fn rejected_blob_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(d.path(), LogConfig::default()).unwrap();
    append(&log, 2, 1);
    let size = fs::metadata(log_file(d.path(), 0)).unwrap().len();
    let mut blob = [simple_batch(2, 10, 5), simple_batch(3, 10, 6)].concat();
    let last = blob.len() - 1;
    blob[last] ^= 1; // second batch corrupt
    let err = log.append(&mut blob, 0).unwrap_err();
    assert_eq!(err.kafka_error_code(), batch::CORRUPT_MESSAGE);
    // Truncated blob, oversize batch, empty blob: all rejected, all write nothing.
    let mut cut = simple_batch(2, 10, 5);
    cut.truncate(cut.len() - 3);
    assert!(log.append(&mut cut, 0).is_err());
    let mut empty = Vec::new();
    assert_eq!(
        log.append(&mut empty, 0).unwrap_err().kafka_error_code(),
        batch::INVALID_RECORD
    );
    let small = PartitionLog::open(
        d.path().join("small"),
        LogConfig {
            max_message_bytes: 100,
            ..LogConfig::default()
        },
    )
    .unwrap();
    let mut big = simple_batch(5, 100, 1);
    assert_eq!(
        small.append(&mut big, 0).unwrap_err().kafka_error_code(),
        batch::MESSAGE_TOO_LARGE
    );
    assert_eq!(log.log_end_offset(), 2);
    assert_eq!(fs::metadata(log_file(d.path(), 0)).unwrap().len(), size);
    assert_eq!(read_all(&log), vec![(0, 1)]);
}

#[test]
fn reads_inside_a_batch_and_max_bytes() {
    let d = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(d.path(), LogConfig::default()).unwrap();
    let (_, first) = append(&log, 5, 1); // offsets 0..=4
    append(&log, 5, 2); // 5..=9
                        // A fetch in the middle of a batch returns the whole batch.
    assert_eq!(
        batches(&log.read(3, 1 << 20).unwrap()),
        vec![(0, 4), (5, 9)]
    );
    assert_eq!(batches(&log.read(7, 1 << 20).unwrap()), vec![(5, 9)]);
    // max_bytes smaller than one batch still returns that one batch, whole.
    assert_eq!(log.read(2, 1).unwrap(), first);
    // max_bytes covering 1.5 batches returns only the complete one.
    assert_eq!(
        batches(&log.read(0, first.len() * 3 / 2).unwrap()),
        vec![(0, 4)]
    );
    // At the end: empty; past it or below the start: OFFSET_OUT_OF_RANGE.
    assert!(log.read(10, 1 << 20).unwrap().is_empty());
    assert_eq!(
        log.read(11, 10).unwrap_err().kafka_error_code(),
        OFFSET_OUT_OF_RANGE
    );
    assert!(log.read(-1, 10).is_err());
    // The high watermark bounds consumer reads; followers read to the log end.
    log.set_high_watermark(5);
    assert_eq!(batches(&log.read(0, 1 << 20).unwrap()), vec![(0, 4)]);
    assert!(log.read(5, 1 << 20).unwrap().is_empty());
    assert_eq!(
        batches(&log.read_up_to(5, 1 << 20, log.log_end_offset()).unwrap()),
        vec![(5, 9)]
    );
}

#[test]
fn rolls_by_size_and_reads_across_segments() {
    let d = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(d.path(), small_config()).unwrap();
    let mut expected = Vec::new();
    for i in 0..40 {
        let (info, _) = append(&log, 3, i);
        expected.push((info.base_offset, info.last_offset));
    }
    let bases = log.segment_bases();
    assert!(bases.len() > 3, "{bases:?}");
    for &b in &bases {
        assert!(log_file(d.path(), b).exists());
        assert!(fs::metadata(log_file(d.path(), b)).unwrap().len() <= 4096);
    }
    // Segment bases are batch boundaries.
    assert!(bases.iter().all(|b| expected.iter().any(|&(s, _)| s == *b)));
    assert_eq!(read_all(&log), expected);
    // Rolling checkpoints the previous segments as flushed.
    assert_eq!(
        checkpoint::read_recovery_point(d.path()),
        *bases.last().unwrap()
    );
}

/// Descriptors of this process pointing at `path`.
fn fds_on(path: &Path) -> usize {
    let want = fs::canonicalize(path).unwrap();
    fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| fs::read_link(e.ok()?.path()).ok())
        .filter(|target| *target == want)
        .count()
}

#[test]
fn sealed_segment_files_open_on_demand_and_close_when_idle() {
    let d = tempfile::tempdir().unwrap();
    let mut expected = Vec::new();
    {
        let log = PartitionLog::open(d.path(), small_config()).unwrap();
        for i in 0..40 {
            let (info, _) = append(&log, 3, i);
            expected.push((info.base_offset, info.last_offset));
        }
    }
    let log = PartitionLog::open(d.path(), small_config()).unwrap();
    let bases = log.segment_bases();
    let (active, sealed) = bases.split_last().unwrap();
    assert!(sealed.len() >= 3, "{bases:?}");
    // After open only the active segment holds a descriptor.
    assert_eq!(log.open_segment_files(), 1);
    for &b in sealed {
        assert_eq!(fds_on(&log_file(d.path(), b)), 0, "segment {b}");
    }
    assert_eq!(fds_on(&log_file(d.path(), *active)), 1);
    // Reads reopen what they need, and see every batch.
    assert_eq!(read_all(&log), expected);
    assert_eq!(log.open_segment_files(), bases.len());
    // Recently used files stay open; idle ones close, except the active segment's.
    assert_eq!(log.release_idle_files(Duration::from_secs(3600)), 0);
    assert_eq!(log.release_idle_files(Duration::ZERO), sealed.len());
    assert_eq!(log.open_segment_files(), 1);
    for &b in sealed {
        assert_eq!(fds_on(&log_file(d.path(), b)), 0, "segment {b}");
    }
    // Time lookups reach sealed segments through reopened files too.
    assert_eq!(
        log.offset_for_timestamp(0).unwrap().map(|(o, _)| o),
        Some(0)
    );
    // Appends keep working, and rolls keep the new sealed segment readable.
    for i in 40..60 {
        let (info, _) = append(&log, 3, i);
        expected.push((info.base_offset, info.last_offset));
    }
    log.release_idle_files(Duration::ZERO);
    assert_eq!(read_all(&log), expected);
}

#[test]
fn rolls_by_time() {
    let d = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_ms: 1000,
        ..LogConfig::default()
    };
    let log = PartitionLog::open(d.path(), config).unwrap();
    append(&log, 1, 10_000);
    append(&log, 1, 10_999);
    assert_eq!(log.segment_bases(), vec![0]);
    append(&log, 1, 11_000); // 1000 ms after the segment's first batch
    assert_eq!(log.segment_bases(), vec![0, 2]);
}

#[test]
fn retention_by_time_never_deletes_active() {
    let d = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_ms: 1000,
        retention_ms: 5000,
        ..LogConfig::default()
    };
    let log = PartitionLog::open(d.path(), config).unwrap();
    for ts in [0, 1000, 2000, 3000] {
        append(&log, 2, ts);
    }
    assert_eq!(log.segment_bases(), vec![0, 2, 4, 6]);
    // At 6500 the segments with max ts 0 and 1000 are older than 5000 ms.
    let out = log.enforce_retention(6500).unwrap();
    assert_eq!(out.deleted_segments, vec![0, 2]);
    assert_eq!(out.log_start_offset, 4);
    assert_eq!(log.log_start_offset(), 4);
    assert!(!log_file(d.path(), 0).exists());
    assert!(!d.path().join(segment::file_name(0, "index")).exists());
    assert_eq!(
        log.read(1, 100).unwrap_err().kafka_error_code(),
        OFFSET_OUT_OF_RANGE
    );
    assert_eq!(batches(&log.read(4, 1 << 20).unwrap())[0], (4, 5));
    // Far in the future everything is expired, but the active segment stays.
    let out = log.enforce_retention(1_000_000).unwrap();
    assert_eq!(out.deleted_segments, vec![4]);
    assert_eq!(log.segment_bases(), vec![6]);
    assert_eq!(log.log_end_offset(), 8);
    // Reopen: start offset survives.
    drop(log);
    let log = PartitionLog::open(d.path(), LogConfig::default()).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (6, 8));
}

#[test]
fn retention_by_bytes() {
    let d = tempfile::tempdir().unwrap();
    let config = LogConfig {
        retention_bytes: 8192,
        retention_ms: -1,
        ..small_config()
    };
    let log = PartitionLog::open(d.path(), config).unwrap();
    for i in 0..60 {
        append(&log, 3, i);
    }
    let before = log.segment_bases();
    let sizes: Vec<u64> = before
        .iter()
        .map(|&b| fs::metadata(log_file(d.path(), b)).unwrap().len())
        .collect();
    let out = log.enforce_retention(i64::MAX).unwrap();
    assert!(!out.deleted_segments.is_empty());
    let after = log.segment_bases();
    let total: u64 = after
        .iter()
        .map(|&b| fs::metadata(log_file(d.path(), b)).unwrap().len())
        .sum();
    // Kafka's rule: delete the oldest segment only while the rest still holds at least
    // retention.bytes, so the log ends between retention.bytes and one segment more.
    assert!(total >= 8192, "{total}");
    assert_eq!(&before[out.deleted_segments.len()..], &after[..]);
    let n = out.deleted_segments.len();
    assert!(
        total - sizes[n] < 8192,
        "could have deleted one more segment"
    );
    assert_eq!(log.log_start_offset(), after[0]);
}

#[test]
fn index_lookups_every_offset_before_and_after_reopen() {
    let d = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 64 * 1024,
        index_interval_bytes: 512,
        ..LogConfig::default()
    };
    let log = PartitionLog::open(d.path(), config.clone()).unwrap();
    let mut expected = Vec::new();
    for i in 0..300 {
        let (info, _) = append(&log, 1 + (i % 4) as usize, i);
        expected.push((info.base_offset, info.last_offset));
    }
    let check = |log: &PartitionLog| {
        for &(base, last) in &expected {
            for off in base..=last {
                let got = batches(&log.read(off, 1).unwrap());
                assert_eq!(got, vec![(base, last)], "fetch {off}");
            }
        }
    };
    check(&log);
    let bases = log.segment_bases();
    assert!(bases.len() >= 2);
    let sizes: Vec<_> = bases.iter().map(|&b| log.index_sizes(b).unwrap()).collect();
    assert!(sizes[0].0 > 10, "sparse index has entries: {sizes:?}");
    log.close().unwrap();
    drop(log);
    // Reopen: sealed segments load their index files, the active one is rebuilt by scanning;
    // both must give the same entries and the same answers.
    let log = PartitionLog::open(d.path(), config).unwrap();
    assert_eq!(log.open_report().segments_recovered, 1);
    let sizes2: Vec<_> = bases.iter().map(|&b| log.index_sizes(b).unwrap()).collect();
    assert_eq!(sizes, sizes2);
    check(&log);
}

#[test]
fn offset_for_timestamp_uses_time_index() {
    let d = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(d.path(), small_config()).unwrap();
    let mut at = Vec::new();
    for i in 0..50i64 {
        let (info, _) = append(&log, 2, 1000 + i * 100);
        at.push((info.base_offset, 1000 + i * 100));
    }
    assert!(log.segment_bases().len() > 2);
    assert_eq!(log.offset_for_timestamp(0).unwrap(), Some((0, 1000)));
    assert_eq!(log.offset_for_timestamp(1000).unwrap(), Some((0, 1000)));
    for (i, &(off, ts)) in at.iter().enumerate().skip(1) {
        assert_eq!(
            log.offset_for_timestamp(ts).unwrap(),
            Some((off, ts)),
            "{i}"
        );
        assert_eq!(
            log.offset_for_timestamp(ts - 50).unwrap(),
            Some((off, ts)),
            "{i}"
        );
    }
    assert_eq!(log.offset_for_timestamp(1000 + 50 * 100).unwrap(), None);
    assert_eq!(log.earliest_offset(), 0);
    assert_eq!(log.latest_offset(), 100);
    // Same answers from loaded (not rebuilt) time indexes.
    log.close().unwrap();
    drop(log);
    let log = PartitionLog::open(d.path(), small_config()).unwrap();
    for &(off, ts) in &at {
        assert_eq!(log.offset_for_timestamp(ts - 1).unwrap(), Some((off, ts)));
    }
}

/// Write `count` batches, drop the log without close (no final checkpoint), and return the
/// (base, last) list and the byte position where the last batch starts in the last segment.
fn crashed_log(dir: &Path, config: &LogConfig, count: i64) -> (Vec<(i64, i64)>, i64, u64) {
    let log = PartitionLog::open(dir, config.clone()).unwrap();
    let mut expected = Vec::new();
    for i in 0..count {
        let (info, _) = append(&log, 3, i);
        expected.push((info.base_offset, info.last_offset));
    }
    let last_base = *log.segment_bases().last().unwrap();
    let last_batch = expected.last().unwrap().0;
    let pos = {
        // Find the byte position of the last batch by walking the segment's headers.
        let bytes = fs::read(log_file(dir, last_base)).unwrap();
        let mut p = 0usize;
        loop {
            let h = BatchHeader::parse(&bytes[p..]).unwrap();
            if h.base_offset == last_batch {
                break p as u64;
            }
            p += h.total_size();
        }
    };
    (expected, last_base, pos)
}

#[test]
fn recovery_truncates_torn_tail() {
    let d = tempfile::tempdir().unwrap();
    let config = small_config();
    let (mut expected, seg, pos) = crashed_log(d.path(), &config, 30);
    let path = log_file(d.path(), seg);
    let len = fs::metadata(&path).unwrap().len();
    // Tear the last batch: keep only part of it.
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(pos + (len - pos) / 2)
        .unwrap();
    let log = PartitionLog::open(d.path(), config.clone()).unwrap();
    let torn = expected.pop().unwrap();
    assert_eq!(log.log_end_offset(), torn.0);
    assert_eq!(fs::metadata(&path).unwrap().len(), pos);
    assert!(log.open_report().bytes_truncated > 0);
    assert_eq!(read_all(&log), expected);
    // Appends continue at the truncation point.
    let (info, _) = append(&log, 1, 99);
    assert_eq!(info.base_offset, torn.0);
}

#[test]
fn recovery_truncates_at_corrupt_byte_and_rebuilds_indexes() {
    let d = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 1 << 20,
        index_interval_bytes: 300,
        ..LogConfig::default()
    };
    let (mut expected, seg, pos) = crashed_log(d.path(), &config, 40);
    let idx_before = {
        let log = PartitionLog::open(d.path(), config.clone()).unwrap();
        log.index_sizes(seg).unwrap()
    };
    // Flip one byte inside the last batch's records (CRC-covered).
    let path = log_file(d.path(), seg);
    let mut bytes = fs::read(&path).unwrap();
    let at = pos as usize + 70;
    bytes[at] ^= 0x40;
    fs::write(&path, &bytes).unwrap();
    // Also wreck the index files: recovery must rebuild, not trust, them.
    fs::write(d.path().join(segment::file_name(seg, "index")), b"junk").unwrap();
    fs::remove_file(d.path().join(segment::file_name(seg, "timeindex"))).unwrap();
    // Force a rescan of every segment past the (now stale) checkpoint.
    checkpoint::write_recovery_point(d.path(), 0).unwrap();

    let log = PartitionLog::open(d.path(), config).unwrap();
    expected.pop();
    assert_eq!(fs::metadata(&path).unwrap().len(), pos);
    assert_eq!(read_all(&log), expected);
    let idx_after = log.index_sizes(seg).unwrap();
    assert!(
        idx_after.0 > 0 && idx_after.0 + 1 >= idx_before.0,
        "{idx_before:?} {idx_after:?}"
    );
    for &(base, last) in &expected {
        assert_eq!(batches(&log.read(last, 1).unwrap()), vec![(base, last)]);
    }
    assert_eq!(
        log.offset_for_timestamp(10).unwrap(),
        Some((expected[10].0, 10))
    );
}

/// Position of the batch with base offset `base` in segment file `path`.
fn batch_position(path: &Path, base: i64) -> usize {
    let bytes = fs::read(path).unwrap();
    let mut p = 0usize;
    loop {
        let h = BatchHeader::parse(&bytes[p..]).unwrap();
        if h.base_offset == base {
            return p;
        }
        p += h.total_size();
    }
}

fn error_code(log: &PartitionLog, offset: i64) -> i16 {
    log.read(offset, 1 << 20).unwrap_err().kafka_error_code()
}

/// Reads every batch from `from` up to (not including) `to`.
fn read_range(log: &PartitionLog, from: i64, to: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut next = from;
    while next < to {
        let got = batches(&log.read(next, 1 << 20).unwrap());
        assert!(!got.is_empty(), "no progress at {next}");
        next = got.last().unwrap().1 + 1;
        out.extend(got.into_iter().filter(|b| b.0 < to));
    }
    out
}

#[test]
fn a_flipped_byte_in_a_sealed_segment_loses_nothing() {
    let d = tempfile::tempdir().unwrap();
    let config = small_config();
    let (expected, _, _) = crashed_log(d.path(), &config, 40);
    let (bases, end) = {
        let log = PartitionLog::open(d.path(), config.clone()).unwrap();
        (log.segment_bases(), log.log_end_offset())
    };
    assert!(bases.len() >= 3);
    // A flipped byte in the first batch of the second segment, recovery point lost.
    let path = log_file(d.path(), bases[1]);
    let mut bytes = fs::read(&path).unwrap();
    bytes[65] ^= 0xff;
    fs::write(&path, &bytes).unwrap();
    fs::remove_file(d.path().join(checkpoint::RECOVERY_POINT_FILE)).unwrap();

    let log = PartitionLog::open(d.path(), config).unwrap();
    // Nothing truncated or deleted; no offset handed out again.
    assert_eq!(log.segment_bases(), bases);
    assert_eq!(log.log_end_offset(), end);
    assert_eq!(log.open_report().bytes_truncated, 0);
    // The damaged batch is answered with CORRUPT_MESSAGE, not served and not skipped.
    assert_eq!(error_code(&log, bases[1]), batch::CORRUPT_MESSAGE);
    // Everything else reads as before.
    let damaged = expected.iter().find(|b| b.0 == bases[1]).copied().unwrap();
    let others: Vec<_> = expected.iter().copied().filter(|&b| b != damaged).collect();
    let mut got = read_range(&log, 0, bases[1]);
    got.extend(read_range(&log, damaged.1 + 1, end));
    assert_eq!(got, others);
    assert_eq!(append(&log, 1, 99).0.base_offset, end);
}

#[test]
fn a_sealed_segment_cut_mid_batch_is_quarantined_until_an_operator_decides() {
    let d = tempfile::tempdir().unwrap();
    let config = small_config();
    let (expected, _, _) = crashed_log(d.path(), &config, 40);
    let (bases, end) = {
        let log = PartitionLog::open(d.path(), config.clone()).unwrap();
        (log.segment_bases(), log.log_end_offset())
    };
    assert!(bases.len() >= 3);
    let path = log_file(d.path(), bases[1]);
    let len = fs::metadata(&path).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - 30)
        .unwrap();

    let damaged_file = d
        .path()
        .join(segment::file_name(bases[1], segment::DAMAGED_EXT));
    for _ in 0..2 {
        // Twice: the quarantine holds across restarts.
        let log = PartitionLog::open(d.path(), config.clone()).unwrap();
        assert!(damaged_file.exists());
        assert!(!path.exists());
        assert_eq!(log.log_end_offset(), end);
        assert_eq!(log.open_report().gaps, vec![(bases[1], bases[2])]);
        // Reads inside the quarantined range are refused with a retriable storage error.
        assert_eq!(error_code(&log, bases[1]), KAFKA_STORAGE_ERROR);
        assert_eq!(error_code(&log, bases[2] - 1), KAFKA_STORAGE_ERROR);
        // Before it, reads stop at its start; after it, reads go on.
        let before: Vec<_> = expected
            .iter()
            .copied()
            .filter(|b| b.0 < bases[1])
            .collect();
        assert_eq!(read_range(&log, 0, bases[1]), before);
        let after: Vec<_> = expected
            .iter()
            .copied()
            .filter(|b| b.0 >= bases[2])
            .collect();
        assert_eq!(read_range(&log, bases[2], end), after);
        drop(log);
    }
    // The operator accepts the loss: reads now skip the range.
    fs::rename(
        &damaged_file,
        d.path()
            .join(segment::file_name(bases[1], segment::LOST_EXT)),
    )
    .unwrap();
    let log = PartitionLog::open(d.path(), config).unwrap();
    let got = batches(&log.read(bases[1], 1).unwrap());
    assert_eq!(got[0].0, bases[2]);
    assert_eq!(append(&log, 1, 99).0.base_offset, end);
}

#[test]
fn a_deleted_sealed_segment_is_a_refused_hole() {
    let d = tempfile::tempdir().unwrap();
    let config = small_config();
    crashed_log(d.path(), &config, 40);
    let (bases, end) = {
        let log = PartitionLog::open(d.path(), config.clone()).unwrap();
        (log.segment_bases(), log.log_end_offset())
    };
    assert!(bases.len() >= 3);
    for ext in ["log", "index", "timeindex"] {
        fs::remove_file(d.path().join(segment::file_name(bases[1], ext))).unwrap();
    }
    let log = PartitionLog::open(d.path(), config).unwrap();
    assert_eq!(log.log_end_offset(), end);
    assert_eq!(error_code(&log, bases[1]), KAFKA_STORAGE_ERROR);
    assert!(batches(&log.read(bases[2], 1).unwrap())[0].0 == bases[2]);
    // The hole is recorded, so it stays refused after the next restart.
    assert!(d
        .path()
        .join(segment::file_name(bases[1], segment::DAMAGED_EXT))
        .exists());
}

#[test]
fn damage_below_the_recovery_point_is_kept_and_its_offsets_never_reused() {
    let d = tempfile::tempdir().unwrap();
    let config = LogConfig::default();
    let end = {
        let log = PartitionLog::open(d.path(), config.clone()).unwrap();
        for i in 0..20 {
            append(&log, 3, i);
        }
        // A clean shutdown: everything is below the recovery point.
        log.close().unwrap();
        log.log_end_offset()
    };
    let path = log_file(d.path(), 0);
    let at = batch_position(&path, 30) + 70;
    let mut bytes = fs::read(&path).unwrap();
    bytes[at] ^= 0x01;
    fs::write(&path, &bytes).unwrap();

    let log = PartitionLog::open(d.path(), config).unwrap();
    assert_eq!(log.log_end_offset(), end, "acknowledged offsets reused");
    assert_eq!(log.open_report().bytes_truncated, 0);
    assert!(d
        .path()
        .join(segment::file_name(0, segment::DAMAGED_EXT))
        .exists());
    assert_eq!(error_code(&log, 0), KAFKA_STORAGE_ERROR);
    assert_eq!(append(&log, 1, 99).0.base_offset, end);
}

#[test]
fn damage_followed_by_valid_batches_is_not_a_torn_tail() {
    let d = tempfile::tempdir().unwrap();
    let config = LogConfig::default();
    // No clean shutdown: the recovery point is 0, everything is "tail".
    let (expected, seg, _) = crashed_log(d.path(), &config, 20);
    let end = expected.last().unwrap().1 + 1;
    let path = log_file(d.path(), seg);
    let at = batch_position(&path, expected[5].0) + 70;
    let mut bytes = fs::read(&path).unwrap();
    bytes[at] ^= 0x01;
    fs::write(&path, &bytes).unwrap();

    let log = PartitionLog::open(d.path(), config).unwrap();
    // Fourteen acknowledged batches after the flipped byte are not cut, nor their offsets
    // reused.
    assert_eq!(log.log_end_offset(), end);
    assert_eq!(error_code(&log, expected[10].0), KAFKA_STORAGE_ERROR);
    assert_eq!(append(&log, 1, 99).0.base_offset, end);
}

#[test]
fn reopen_preserves_offsets_and_epochs() {
    let d = tempfile::tempdir().unwrap();
    {
        let log = PartitionLog::open(d.path(), small_config()).unwrap();
        for i in 0..10 {
            let mut b = simple_batch(2, 40, i);
            log.append(&mut b, 0).unwrap();
        }
        let mut b = simple_batch(2, 40, 10);
        assert_eq!(log.append(&mut b, 3).unwrap().base_offset, 20);
        let mut stale = simple_batch(1, 4, 10);
        assert_eq!(
            log.append(&mut stale, 2).unwrap_err().kafka_error_code(),
            FENCED_LEADER_EPOCH
        );
        assert_eq!(log.leader_epochs(), vec![(0, 0), (3, 20)]);
        log.flush().unwrap();
    }
    let log = PartitionLog::open(d.path(), small_config()).unwrap();
    assert_eq!(log.log_end_offset(), 22);
    assert_eq!(log.high_watermark(), 22);
    assert_eq!(log.leader_epochs(), vec![(0, 0), (3, 20)]);
    assert_eq!(log.end_offset_for_epoch(0), Some((0, 20)));
    assert_eq!(log.end_offset_for_epoch(2), Some((0, 20)));
    assert_eq!(log.end_offset_for_epoch(3), Some((3, 22)));
    assert_eq!(log.end_offset_for_epoch(-1), None);
    let h = BatchHeader::parse(&log.read(20, 1).unwrap()).unwrap();
    assert_eq!(h.partition_leader_epoch, 3);
    // The fence survives the reopen.
    assert!(log.append(&mut simple_batch(1, 4, 11), 0).is_err());
    assert_eq!(
        log.append(&mut simple_batch(1, 4, 11), 3)
            .unwrap()
            .base_offset,
        22
    );
}

#[test]
fn epochs_rebuilt_from_batches_when_checkpoint_lost() {
    let d = tempfile::tempdir().unwrap();
    {
        let log = PartitionLog::open(d.path(), LogConfig::default()).unwrap();
        log.append(&mut simple_batch(1, 4, 1), 1).unwrap();
        log.append(&mut simple_batch(1, 4, 2), 4).unwrap();
    }
    fs::remove_file(d.path().join(checkpoint::LEADER_EPOCH_FILE)).unwrap();
    fs::remove_file(d.path().join(checkpoint::RECOVERY_POINT_FILE)).unwrap();
    let log = PartitionLog::open(d.path(), LogConfig::default()).unwrap();
    assert_eq!(log.leader_epochs(), vec![(1, 0), (4, 1)]);
}

#[test]
fn log_append_time_restamps_batches() {
    let d = tempfile::tempdir().unwrap();
    let config = LogConfig {
        message_timestamp_type: TimestampType::LogAppendTime,
        ..LogConfig::default()
    };
    let log = PartitionLog::open(d.path(), config).unwrap();
    let mut b = BatchBuilder::new(5).record(None, Some(b"v"), 5).build();
    let info = log.append_at(&mut b, 0, 777_000).unwrap();
    assert_eq!(info.log_append_time, Some(777_000));
    let h = validate_batch(&log.read(0, 1).unwrap(), usize::MAX).unwrap();
    assert!(h.is_log_append_time());
    assert_eq!(h.max_timestamp, 777_000);
    assert_eq!(
        log.offset_for_timestamp(700_000).unwrap(),
        Some((0, 777_000))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_sync_covers_every_append() {
    let d = tempfile::tempdir().unwrap();
    let log = Arc::new(PartitionLog::open(d.path(), LogConfig::default()).unwrap());
    let mut tasks = Vec::new();
    for t in 0..8 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut last = 0;
            for i in 0..20 {
                let mut b = simple_batch(2, 100, t * 100 + i);
                let info = log.append(&mut b, 0).unwrap();
                log.sync().await.unwrap();
                assert!(log.durable_offset() > info.last_offset);
                last = info.last_offset;
            }
            last
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(log.durable_offset(), 320);
    log.flush_to(320).unwrap();
}

/// An idempotent producer's batch of `n` records starting at sequence `seq`.
fn idempotent_batch(pid: i64, epoch: i16, seq: i32, n: usize) -> Vec<u8> {
    let ts = partition::now_ms();
    let mut b = BatchBuilder::new(ts).producer(pid, epoch, seq);
    for i in 0..n {
        b = b.record(None, Some(format!("v{}", seq as usize + i).as_bytes()), ts);
    }
    b.build()
}

#[test]
fn idempotent_retries_are_acknowledged_not_stored_and_survive_reopen_and_rolls() {
    let d = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 400,
        ..small_config()
    };
    let log = PartitionLog::open(d.path(), config.clone()).unwrap();
    let mut seq = 0;
    for _ in 0..12 {
        let info = log.append(&mut idempotent_batch(42, 0, seq, 3), 0).unwrap();
        assert!(!info.duplicate);
        seq += 3;
    }
    assert!(
        log.segment_bases().len() > 2,
        "the test needs segment rolls"
    );
    let end = log.log_end_offset();
    // A retry of the last batch: acknowledged with its original offsets, nothing written.
    let dup = log
        .append(&mut idempotent_batch(42, 0, seq - 3, 3), 0)
        .unwrap();
    assert!(dup.duplicate);
    assert_eq!((dup.base_offset, dup.last_offset), (end - 3, end - 1));
    assert_eq!(log.log_end_offset(), end);
    // A gap is refused, and so is an old epoch once a newer one wrote.
    let gap = log.append(&mut idempotent_batch(42, 0, seq + 1, 1), 0);
    assert_eq!(
        gap.unwrap_err().kafka_error_code(),
        OUT_OF_ORDER_SEQUENCE_NUMBER
    );
    drop(log);

    // After a reopen (snapshot at the last roll + scan of the active segment) the retry is
    // still recognised and the sequence continues where it stopped.
    let log = PartitionLog::open(d.path(), config).unwrap();
    let dup = log
        .append(&mut idempotent_batch(42, 0, seq - 3, 3), 0)
        .unwrap();
    assert!(dup.duplicate);
    assert_eq!(dup.base_offset, end - 3);
    let older = log
        .append(&mut idempotent_batch(42, 0, seq - 9, 3), 0)
        .unwrap();
    assert!(older.duplicate, "inside the 5-batch window");
    let below = log.append(&mut idempotent_batch(42, 0, 0, 3), 0);
    assert_eq!(
        below.unwrap_err().kafka_error_code(),
        DUPLICATE_SEQUENCE_NUMBER
    );
    let next = log.append(&mut idempotent_batch(42, 0, seq, 1), 0).unwrap();
    assert_eq!((next.duplicate, next.base_offset), (false, end));
    log.append(&mut idempotent_batch(42, 1, 0, 1), 0).unwrap();
    let fenced = log.append(&mut idempotent_batch(42, 0, seq + 1, 1), 0);
    assert_eq!(
        fenced.unwrap_err().kafka_error_code(),
        INVALID_PRODUCER_EPOCH
    );
    assert_eq!(read_all(&log).last().map(|b| b.1), Some(end + 1));
}

#[test]
fn producer_state_rebuilt_from_the_log_when_snapshots_are_lost() {
    let d = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 400,
        ..small_config()
    };
    let log = PartitionLog::open(d.path(), config.clone()).unwrap();
    for i in 0..10 {
        log.append(&mut idempotent_batch(7, 0, i * 2, 2), 0)
            .unwrap();
    }
    drop(log);
    for entry in fs::read_dir(d.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "snapshot") {
            fs::remove_file(p).unwrap();
        }
    }
    let log = PartitionLog::open(d.path(), config).unwrap();
    let dup = log.append(&mut idempotent_batch(7, 0, 18, 2), 0).unwrap();
    assert!(dup.duplicate);
    assert_eq!(dup.base_offset, 18);
}

#[test]
fn set_config_applies_from_the_next_append() {
    let d = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(d.path(), LogConfig::default()).unwrap();
    let (first, _) = append(&log, 5, 1_000);
    assert_eq!(first.log_append_time, None);
    log.set_config(LogConfig {
        segment_bytes: 1000,
        message_timestamp_type: TimestampType::LogAppendTime,
        ..LogConfig::default()
    })
    .unwrap();
    let (second, _) = append(&log, 5, 1_000);
    assert!(second.log_append_time.is_some(), "LogAppendTime now");
    // The active segment would outgrow the new segment.bytes: the append rolled first.
    assert!(log_file(d.path(), second.base_offset).exists());
    // Settings the format cannot hold are refused and change nothing.
    let tiny = LogConfig {
        segment_bytes: 10,
        ..LogConfig::default()
    };
    assert!(log.set_config(tiny).is_err());
    assert_eq!(log.config().segment_bytes, 1000);
}

/// A batch as a producer would send it, with records at `timestamps`, compressed with
/// `compression` (kafka-protocol's encoder, as a client library would produce it).
fn client_batch(timestamps: &[i64], compression: kafka_protocol::records::Compression) -> Vec<u8> {
    use kafka_protocol::records::{Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
    let records: Vec<Record> = timestamps
        .iter()
        .enumerate()
        .map(|(i, &ts)| Record {
            transactional: false,
            control: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: -1,
            timestamp: ts,
            key: None,
            value: Some(bytes::Bytes::from(vec![b'v'; 100])),
            headers: Default::default(),
            delete_horizon: false,
        })
        .collect();
    let mut buf = bytes::BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options).unwrap();
    buf.to_vec()
}

/// Issue #13 bug 2: ListOffsets by timestamp answers the first *record* at or after the
/// target, inside its batch, with that record's timestamp; MAX_TIMESTAMP answers the record
/// with the largest timestamp (KIP-734), in plain and compressed batches alike.
#[test]
fn offset_for_timestamp_and_max_timestamp_are_per_record() {
    use kafka_protocol::records::Compression;
    for compression in [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let d = tempfile::tempdir().unwrap();
        let log = PartitionLog::open(d.path(), LogConfig::default()).unwrap();
        assert_eq!(log.max_timestamp_offset().unwrap(), None, "empty log");
        let mut b = client_batch(&[1000, 2000, 3000], compression);
        log.append(&mut b, 0).unwrap();
        let at = |ts| log.offset_for_timestamp(ts).unwrap();
        assert_eq!(at(500), Some((0, 1000)), "{compression:?}");
        assert_eq!(at(1000), Some((0, 1000)));
        assert_eq!(at(1500), Some((1, 2000)), "{compression:?}");
        assert_eq!(at(2500), Some((2, 3000)));
        assert_eq!(at(3000), Some((2, 3000)));
        assert_eq!(at(3001), None);
        assert_eq!(log.max_timestamp_offset().unwrap(), Some((2, 3000)));

        // Out-of-order timestamps: the largest sits in the middle of the second batch, and
        // a lookup takes the first record reaching the target, not the closest.
        let mut b = client_batch(&[2500, 9000, 4000, 9000], compression);
        log.append(&mut b, 0).unwrap();
        assert_eq!(log.max_timestamp_offset().unwrap(), Some((4, 9000)));
        assert_eq!(at(3500), Some((4, 9000)));
        assert_eq!(at(9000), Some((4, 9000)));
        // The first batch reaching 2400 is the first one: its last record.
        assert_eq!(at(2400), Some((2, 3000)));
        // A later batch with a smaller max does not move MAX_TIMESTAMP.
        let mut b = client_batch(&[5000], compression);
        log.append(&mut b, 0).unwrap();
        assert_eq!(log.max_timestamp_offset().unwrap(), Some((4, 9000)));
    }
}

/// MAX_TIMESTAMP and lookups by time after a reopen, when sealed segments load their time
/// index instead of scanning, and across segments.
#[test]
fn max_timestamp_survives_reopen_across_segments() {
    use kafka_protocol::records::Compression;
    let d = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 1024,
        index_interval_bytes: 128,
        ..LogConfig::default()
    };
    let log = PartitionLog::open(d.path(), config.clone()).unwrap();
    let mut expected_max = None;
    for i in 0..30i64 {
        // Batch 7 holds the largest timestamp, in its second record.
        let ts = if i == 7 {
            vec![10_000 + i, 99_999, 10_000 + i]
        } else {
            vec![10_000 + i, 10_000 + i, 10_000 + i]
        };
        let mut b = client_batch(&ts, Compression::Gzip);
        let info = log.append(&mut b, 0).unwrap();
        if i == 7 {
            expected_max = Some((info.base_offset + 1, 99_999));
        }
    }
    assert!(log.segment_bases().len() > 3);
    assert_eq!(log.max_timestamp_offset().unwrap(), expected_max);
    log.close().unwrap();
    drop(log);
    let log = PartitionLog::open(d.path(), config).unwrap();
    assert_eq!(log.max_timestamp_offset().unwrap(), expected_max);
    assert_eq!(
        log.offset_for_timestamp(10_005).unwrap(),
        Some((15, 10_005))
    );
    // Kafka's rule: the first record at or after the target, even if a later one is closer.
    assert_eq!(log.offset_for_timestamp(10_020).unwrap(), expected_max);
}
