//! Kafka record batch v2 ("magic 2") headers: parse, validate, stamp in place.
//!
//! The broker treats the records inside a batch as opaque bytes (design invariant 4): it never
//! decompresses or re-encodes them here. Everything it needs — offsets, timestamps, the leader
//! epoch, the CRC — lives in the fixed 61-byte header:
//!
//! ```text
//! offset  size  field
//!      0     8  baseOffset             (stamped by the broker, outside the CRC)
//!      8     4  batchLength            (bytes after this field)
//!     12     4  partitionLeaderEpoch   (stamped by the broker, outside the CRC)
//!     16     1  magic (= 2)
//!     17     4  crc (CRC32C of bytes 21..end)
//!     21     2  attributes
//!     23     4  lastOffsetDelta
//!     27     8  baseTimestamp
//!     35     8  maxTimestamp
//!     43     8  producerId
//!     51     2  producerEpoch
//!     53     4  baseSequence
//!     57     4  records count
//!     61        records…
//! ```
//!
//! Because baseOffset and partitionLeaderEpoch lie before the CRC-covered range, assigning
//! offsets costs two small writes and no CRC recomputation.

use thiserror::Error;

/// Size of the fixed v2 batch header, up to and including the record count.
pub const HEADER_LEN: usize = 61;
/// baseOffset + batchLength: the bytes not counted by `batchLength`.
pub const LOG_OVERHEAD: usize = 12;
/// Smallest legal `batchLength` value (a header with zero record bytes).
pub const MIN_BATCH_LENGTH: usize = HEADER_LEN - LOG_OVERHEAD;
/// The only record format this broker accepts.
pub const MAGIC_V2: i8 = 2;

const PARTITION_LEADER_EPOCH_OFFSET: usize = 12;
const MAGIC_OFFSET: usize = 16;
const CRC_OFFSET: usize = 17;
const ATTRIBUTES_OFFSET: usize = 21;
const MAX_TIMESTAMP_OFFSET: usize = 35;

const COMPRESSION_MASK: i16 = 0x07;
const TIMESTAMP_TYPE_BIT: i16 = 0x08;
const TRANSACTIONAL_BIT: i16 = 0x10;
const CONTROL_BIT: i16 = 0x20;

/// Kafka error code CORRUPT_MESSAGE.
pub const CORRUPT_MESSAGE: i16 = 2;
/// Kafka error code MESSAGE_TOO_LARGE.
pub const MESSAGE_TOO_LARGE: i16 = 10;
/// Kafka error code INVALID_RECORD.
pub const INVALID_RECORD: i16 = 87;

/// Why a batch (or a blob of batches) was rejected. Every variant maps to a Kafka error code
/// through [`BatchError::kafka_error_code`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BatchError {
    /// Fewer bytes remain than the header or the declared batch length needs.
    #[error("record batch truncated: need {needed} bytes, {available} available")]
    Truncated {
        /// Bytes the batch claims to need.
        needed: usize,
        /// Bytes actually present.
        available: usize,
    },
    /// `batchLength` is negative or smaller than a header.
    #[error("invalid record batch length {0}")]
    InvalidLength(i32),
    /// The batch is larger than the configured maximum (`max.message.bytes`).
    #[error("record batch of {size} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// Total batch size including the 12-byte log overhead.
        size: usize,
        /// Configured maximum.
        max: usize,
    },
    /// Magic other than 2: v0/v1 message sets are not supported.
    #[error("unsupported record batch magic {0} (only v2 is supported)")]
    UnsupportedMagic(i8),
    /// The stored CRC does not match the CRC32C of attributes..end.
    #[error("record batch CRC mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch {
        /// CRC in the header.
        stored: u32,
        /// CRC computed over the bytes.
        computed: u32,
    },
    /// Header fields disagree with each other (record count vs lastOffsetDelta, negative count…).
    #[error("invalid record batch: {0}")]
    Inconsistent(&'static str),
    /// The produce request carried no batches at all.
    #[error("empty record set")]
    Empty,
    /// Clients may not write control batches (transaction markers are broker-written).
    #[error("clients may not produce control batches")]
    ControlBatchFromClient,
}

impl BatchError {
    /// The Kafka protocol error code a produce response should carry for this failure.
    pub fn kafka_error_code(&self) -> i16 {
        match self {
            BatchError::Truncated { .. }
            | BatchError::InvalidLength(_)
            | BatchError::UnsupportedMagic(_)
            | BatchError::CrcMismatch { .. } => CORRUPT_MESSAGE,
            BatchError::TooLarge { .. } => MESSAGE_TOO_LARGE,
            BatchError::Inconsistent(_)
            | BatchError::Empty
            | BatchError::ControlBatchFromClient => INVALID_RECORD,
        }
    }
}

/// Compression codec named by the low three attribute bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Uncompressed records.
    None,
    /// gzip.
    Gzip,
    /// snappy (xerial framing from Java clients).
    Snappy,
    /// lz4 frame.
    Lz4,
    /// zstd.
    Zstd,
    /// A codec id Kafka does not define; kept so parsing never fails on it.
    Unknown(u8),
}

/// The decoded fixed header of one v2 record batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record (as stored; producers send 0).
    pub base_offset: i64,
    /// Bytes after the batchLength field.
    pub batch_length: i32,
    /// Leader epoch stamped by the broker that appended the batch.
    pub partition_leader_epoch: i32,
    /// Record format version; always 2 after validation.
    pub magic: i8,
    /// CRC32C over attributes..end.
    pub crc: u32,
    /// Compression, timestamp type, transactional and control flags.
    pub attributes: i16,
    /// Offset of the last record relative to `base_offset`.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest record timestamp (or the log-append time).
    pub max_timestamp: i64,
    /// Idempotent/transactional producer id, -1 if none.
    pub producer_id: i64,
    /// Producer epoch, -1 if none.
    pub producer_epoch: i16,
    /// Sequence of the first record, -1 if none.
    pub base_sequence: i32,
    /// Number of records in the batch.
    pub records_count: i32,
}

fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

impl BatchHeader {
    /// Decode the fixed header at the start of `buf`. Checks only that 61 bytes exist and that
    /// `batchLength` is plausible; it does not check magic, sizes against `buf` or the CRC (see
    /// [`validate_batch`]). Never panics.
    pub fn parse(buf: &[u8]) -> Result<BatchHeader, BatchError> {
        if buf.len() < HEADER_LEN {
            return Err(BatchError::Truncated {
                needed: HEADER_LEN,
                available: buf.len(),
            });
        }
        let batch_length = be_i32(buf, 8);
        if batch_length < 0 || (batch_length as usize) < MIN_BATCH_LENGTH {
            return Err(BatchError::InvalidLength(batch_length));
        }
        Ok(BatchHeader {
            base_offset: be_i64(buf, 0),
            batch_length,
            partition_leader_epoch: be_i32(buf, PARTITION_LEADER_EPOCH_OFFSET),
            magic: buf[MAGIC_OFFSET] as i8,
            crc: u32::from_be_bytes([buf[17], buf[18], buf[19], buf[20]]),
            attributes: be_i16(buf, ATTRIBUTES_OFFSET),
            last_offset_delta: be_i32(buf, 23),
            base_timestamp: be_i64(buf, 27),
            max_timestamp: be_i64(buf, MAX_TIMESTAMP_OFFSET),
            producer_id: be_i64(buf, 43),
            producer_epoch: be_i16(buf, 51),
            base_sequence: be_i32(buf, 53),
            records_count: be_i32(buf, 57),
        })
    }

    /// Total size on disk: `batchLength` plus the 12 bytes before it.
    pub fn total_size(&self) -> usize {
        self.batch_length as usize + LOG_OVERHEAD
    }

    /// Offset of the last record, from the stored base offset.
    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .saturating_add(self.last_offset_delta as i64)
    }

    /// Offset after this batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().saturating_add(1)
    }

    /// Compression codec from the attributes.
    pub fn compression(&self) -> Compression {
        match (self.attributes & COMPRESSION_MASK) as u8 {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            n => Compression::Unknown(n),
        }
    }

    /// True when the timestamp type is LogAppendTime.
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & TIMESTAMP_TYPE_BIT != 0
    }

    /// True for transactional batches.
    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }

    /// True for control batches (transaction markers).
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }
}

/// CRC32C of the CRC-covered region of a complete batch (`batch[21..]`).
pub fn compute_crc(batch: &[u8]) -> u32 {
    crc32c::crc32c(batch.get(ATTRIBUTES_OFFSET..).unwrap_or(&[]))
}

/// Parse and fully validate the batch at the start of `buf`: header present, magic 2, declared
/// length within `buf` and within `max_batch_bytes`, header fields consistent, CRC correct.
/// Returns the header; the batch occupies `buf[..header.total_size()]`.
pub fn validate_batch(buf: &[u8], max_batch_bytes: usize) -> Result<BatchHeader, BatchError> {
    let h = BatchHeader::parse(buf)?;
    // Check magic before trusting anything else: a v0/v1 message set has another layout, and
    // its "batchLength" would be meaningless.
    if h.magic != MAGIC_V2 {
        return Err(BatchError::UnsupportedMagic(h.magic));
    }
    let size = h.total_size();
    if size > max_batch_bytes {
        return Err(BatchError::TooLarge {
            size,
            max: max_batch_bytes,
        });
    }
    if size > buf.len() {
        return Err(BatchError::Truncated {
            needed: size,
            available: buf.len(),
        });
    }
    if h.records_count < 0 {
        return Err(BatchError::Inconsistent("negative record count"));
    }
    if h.last_offset_delta < 0 {
        return Err(BatchError::Inconsistent("negative lastOffsetDelta"));
    }
    let computed = compute_crc(&buf[..size]);
    if computed != h.crc {
        return Err(BatchError::CrcMismatch {
            stored: h.crc,
            computed,
        });
    }
    Ok(h)
}

/// One validated batch inside a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSpan {
    /// Byte position of the batch within the blob.
    pub position: usize,
    /// The batch's header as received.
    pub header: BatchHeader,
}

/// Split a produce request's `records` blob into batches, validating every one of them for a
/// client append: no partial trailing bytes, at least one batch, each batch non-empty with
/// `lastOffsetDelta == count - 1` (what every producer writes, and what makes in-place offset
/// assignment correct), and no control batches. Nothing is modified; the caller writes only if
/// this returns `Ok`, which gives all-or-nothing appends.
pub fn split_client_batches(
    blob: &[u8],
    max_batch_bytes: usize,
) -> Result<Vec<BatchSpan>, BatchError> {
    let mut spans = Vec::new();
    let mut pos = 0;
    while pos < blob.len() {
        let rest = &blob[pos..];
        let header = validate_batch(rest, max_batch_bytes)?;
        if header.records_count == 0 {
            return Err(BatchError::Inconsistent("record batch has no records"));
        }
        if header.last_offset_delta as i64 != header.records_count as i64 - 1 {
            return Err(BatchError::Inconsistent(
                "lastOffsetDelta does not match the record count",
            ));
        }
        if header.is_control() {
            return Err(BatchError::ControlBatchFromClient);
        }
        spans.push(BatchSpan {
            position: pos,
            header,
        });
        pos += header.total_size();
    }
    if spans.is_empty() {
        return Err(BatchError::Empty);
    }
    Ok(spans)
}

/// Write baseOffset and partitionLeaderEpoch into a batch in place. Both fields precede the
/// CRC-covered range, so the stored CRC stays valid. `batch` must be at least [`HEADER_LEN`]
/// bytes; shorter input is left untouched and reported.
pub fn stamp_offset_and_epoch(
    batch: &mut [u8],
    base_offset: i64,
    leader_epoch: i32,
) -> Result<(), BatchError> {
    if batch.len() < HEADER_LEN {
        return Err(BatchError::Truncated {
            needed: HEADER_LEN,
            available: batch.len(),
        });
    }
    batch[0..8].copy_from_slice(&base_offset.to_be_bytes());
    batch[PARTITION_LEADER_EPOCH_OFFSET..PARTITION_LEADER_EPOCH_OFFSET + 4]
        .copy_from_slice(&leader_epoch.to_be_bytes());
    Ok(())
}

/// Switch a complete, validated batch to LogAppendTime with `now_ms` as its max timestamp and
/// recompute the CRC. Unlike offset stamping this touches CRC-covered bytes, which is why Kafka
/// (and we) only do it for topics configured with `message.timestamp.type=LogAppendTime`.
pub fn stamp_log_append_time(batch: &mut [u8], now_ms: i64) -> Result<(), BatchError> {
    let h = BatchHeader::parse(batch)?;
    let size = h.total_size();
    if size > batch.len() {
        return Err(BatchError::Truncated {
            needed: size,
            available: batch.len(),
        });
    }
    let attrs = h.attributes | TIMESTAMP_TYPE_BIT;
    batch[ATTRIBUTES_OFFSET..ATTRIBUTES_OFFSET + 2].copy_from_slice(&attrs.to_be_bytes());
    batch[MAX_TIMESTAMP_OFFSET..MAX_TIMESTAMP_OFFSET + 8].copy_from_slice(&now_ms.to_be_bytes());
    let crc = compute_crc(&batch[..size]);
    batch[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    Ok(())
}

/// A minimal encoder for uncompressed v2 batches, for broker-written data (internal topics) and
/// for tests, benchmarks and examples. Producers' batches are never re-encoded with it.
#[derive(Debug, Clone)]
pub struct BatchBuilder {
    base_timestamp: i64,
    max_timestamp: i64,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    count: i32,
    records: Vec<u8>,
}

fn put_varlong(out: &mut Vec<u8>, v: i64) {
    charter_serde::wire::write_zigzag(out, v);
}

impl BatchBuilder {
    /// Start a batch whose first record has timestamp `base_timestamp` (ms).
    pub fn new(base_timestamp: i64) -> BatchBuilder {
        BatchBuilder {
            base_timestamp,
            max_timestamp: base_timestamp,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
            count: 0,
            records: Vec::new(),
        }
    }

    /// Set idempotent-producer fields.
    pub fn producer(mut self, id: i64, epoch: i16, base_sequence: i32) -> BatchBuilder {
        self.producer_id = id;
        self.producer_epoch = epoch;
        self.base_sequence = base_sequence;
        self
    }

    /// Append one record with no headers at `timestamp` (ms).
    pub fn record(mut self, key: Option<&[u8]>, value: Option<&[u8]>, timestamp: i64) -> Self {
        let mut body =
            Vec::with_capacity(16 + key.map_or(0, <[u8]>::len) + value.map_or(0, <[u8]>::len));
        body.push(0); // record attributes, unused
        put_varlong(&mut body, timestamp - self.base_timestamp);
        put_varlong(&mut body, self.count as i64);
        for field in [key, value] {
            match field {
                Some(b) => {
                    put_varlong(&mut body, b.len() as i64);
                    body.extend_from_slice(b);
                }
                None => put_varlong(&mut body, -1),
            }
        }
        put_varlong(&mut body, 0); // header count
        put_varlong(&mut self.records, body.len() as i64);
        self.records.extend_from_slice(&body);
        self.count += 1;
        self.max_timestamp = self.max_timestamp.max(timestamp);
        self
    }

    /// Encode the batch with base offset 0 and leader epoch -1, as a producer would.
    pub fn build(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(HEADER_LEN + self.records.len());
        b.extend_from_slice(&0i64.to_be_bytes());
        let len = (HEADER_LEN - LOG_OVERHEAD + self.records.len()) as i32;
        b.extend_from_slice(&len.to_be_bytes());
        b.extend_from_slice(&(-1i32).to_be_bytes());
        b.push(MAGIC_V2 as u8);
        b.extend_from_slice(&[0; 4]); // crc, filled below
        b.extend_from_slice(&0i16.to_be_bytes());
        b.extend_from_slice(&(self.count - 1).max(0).to_be_bytes());
        b.extend_from_slice(&self.base_timestamp.to_be_bytes());
        b.extend_from_slice(&self.max_timestamp.to_be_bytes());
        b.extend_from_slice(&self.producer_id.to_be_bytes());
        b.extend_from_slice(&self.producer_epoch.to_be_bytes());
        b.extend_from_slice(&self.base_sequence.to_be_bytes());
        b.extend_from_slice(&self.count.to_be_bytes());
        b.extend_from_slice(&self.records);
        let crc = compute_crc(&b);
        b[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
        b
    }
}

/// Convenience: an uncompressed batch of `n` records with `value_len`-byte values, all at
/// `timestamp`.
pub fn simple_batch(n: usize, value_len: usize, timestamp: i64) -> Vec<u8> {
    let value = vec![b'x'; value_len];
    let mut b = BatchBuilder::new(timestamp);
    for _ in 0..n {
        b = b.record(None, Some(&value), timestamp);
    }
    b.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_builder_output() {
        let b = BatchBuilder::new(1000)
            .record(Some(b"k"), Some(b"v1"), 1000)
            .record(None, Some(b"v2"), 1005)
            .producer(7, 1, 42)
            .build();
        let h = validate_batch(&b, usize::MAX).unwrap();
        assert_eq!(h.total_size(), b.len());
        assert_eq!(h.magic, 2);
        assert_eq!(h.records_count, 2);
        assert_eq!(h.last_offset_delta, 1);
        assert_eq!(h.base_timestamp, 1000);
        assert_eq!(h.max_timestamp, 1005);
        assert_eq!(h.producer_id, 7);
        assert_eq!(h.base_sequence, 42);
        assert_eq!(h.compression(), Compression::None);
        assert!(!h.is_control() && !h.is_transactional() && !h.is_log_append_time());
    }

    #[test]
    fn crc_matches_known_vector() {
        // CRC32C("123456789") = 0xE3069283 (RFC 3720 check value): guards against the
        // wrong polynomial (plain CRC32 would give 0xCBF43926).
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn every_covered_byte_flip_is_detected() {
        let b = simple_batch(3, 10, 5);
        for i in 21..b.len() {
            let mut c = b.clone();
            c[i] ^= 0x01;
            assert!(
                validate_batch(&c, usize::MAX).is_err(),
                "flip at {i} undetected"
            );
        }
    }

    #[test]
    fn stamping_keeps_crc_valid() {
        let mut b = simple_batch(4, 10, 5);
        stamp_offset_and_epoch(&mut b, 1234, 9).unwrap();
        let h = validate_batch(&b, usize::MAX).unwrap();
        assert_eq!(h.base_offset, 1234);
        assert_eq!(h.partition_leader_epoch, 9);
        assert_eq!(h.last_offset(), 1237);
        assert!(stamp_offset_and_epoch(&mut [0u8; 10], 1, 1).is_err());
    }

    #[test]
    fn log_append_time_restamps_crc() {
        let mut b = simple_batch(2, 10, 5);
        stamp_log_append_time(&mut b, 99_999).unwrap();
        let h = validate_batch(&b, usize::MAX).unwrap();
        assert!(h.is_log_append_time());
        assert_eq!(h.max_timestamp, 99_999);
    }

    #[test]
    fn rejects_bad_headers() {
        let b = simple_batch(1, 10, 5);
        // Truncated everywhere, never a panic.
        for n in 0..b.len() {
            let e = validate_batch(&b[..n], usize::MAX).unwrap_err();
            assert_eq!(e.kafka_error_code(), CORRUPT_MESSAGE, "{n}: {e}");
        }
        let mut m = b.clone();
        m[16] = 1;
        assert_eq!(
            validate_batch(&m, usize::MAX),
            Err(BatchError::UnsupportedMagic(1))
        );
        let mut l = b.clone();
        l[8..12].copy_from_slice(&(-5i32).to_be_bytes());
        assert_eq!(
            validate_batch(&l, usize::MAX),
            Err(BatchError::InvalidLength(-5))
        );
        let mut big = b.clone();
        big[8..12].copy_from_slice(&i32::MAX.to_be_bytes());
        assert!(matches!(
            validate_batch(&big, 1 << 20),
            Err(BatchError::TooLarge { .. })
        ));
        assert!(matches!(
            validate_batch(&big, usize::MAX),
            Err(BatchError::Truncated { .. })
        ));
        assert!(matches!(
            validate_batch(&b, b.len() - 1),
            Err(BatchError::TooLarge { .. })
        ));
    }

    #[test]
    fn split_multi_batch_blob() {
        let mut blob = simple_batch(2, 10, 5);
        let second = simple_batch(3, 20, 6);
        let first_len = blob.len();
        blob.extend_from_slice(&second);
        let spans = split_client_batches(&blob, usize::MAX).unwrap();
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[1].position, first_len);
        assert_eq!(spans[1].header.records_count, 3);

        // A trailing partial batch poisons the whole blob.
        let mut partial = blob.clone();
        partial.extend_from_slice(&second[..30]);
        assert!(split_client_batches(&partial, usize::MAX).is_err());
        // A corrupt second batch poisons the whole blob.
        let mut corrupt = blob.clone();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 0xff;
        assert!(matches!(
            split_client_batches(&corrupt, usize::MAX),
            Err(BatchError::CrcMismatch { .. })
        ));
        assert_eq!(
            split_client_batches(&[], usize::MAX),
            Err(BatchError::Empty)
        );
    }

    #[test]
    fn split_rejects_inconsistent_and_control() {
        // lastOffsetDelta 5 with 1 record: re-CRC so only the inconsistency is wrong.
        let mut b = simple_batch(1, 10, 5);
        b[23..27].copy_from_slice(&5i32.to_be_bytes());
        let crc = compute_crc(&b);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        let e = split_client_batches(&b, usize::MAX).unwrap_err();
        assert_eq!(e.kafka_error_code(), INVALID_RECORD);

        let mut c = simple_batch(1, 10, 5);
        c[21..23].copy_from_slice(&0x20i16.to_be_bytes());
        let crc = compute_crc(&c);
        c[17..21].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(
            split_client_batches(&c, usize::MAX),
            Err(BatchError::ControlBatchFromClient)
        );
    }

    #[test]
    fn garbage_never_panics() {
        // Cheap deterministic fuzz: random lengths and bytes, including valid-looking headers.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let base = simple_batch(2, 8, 1);
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut buf = base.clone();
            let i = (x as usize) % buf.len();
            buf[i] = (x >> 32) as u8;
            buf.truncate(((x >> 40) as usize) % (base.len() + 1));
            let _ = split_client_batches(&buf, 1 << 20);
            let _ = BatchHeader::parse(&buf);
        }
    }
}
