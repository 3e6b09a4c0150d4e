//! The partition log: Kafka-format segment files holding record batches as producers sent them.
//!
//! * [`batch`] parses and validates v2 batch headers and stamps offsets in place.
//! * [`segment`] is one `.log` file with its sparse [`index`]es.
//! * [`partition::PartitionLog`] strings segments together: append, read, roll, retention,
//!   recovery on open, leader epochs.
//! * [`records`] decodes the records of one stored batch (ListOffsets by time).
//! * [`sync::GroupCommit`] lets many acks=all producers share one fdatasync.
//!
//! Layout of a partition directory (Kafka's names):
//!
//! ```text
//! 00000000000000000000.log        batches, offsets 0..
//! 00000000000000000000.index      sparse offset -> position
//! 00000000000000000000.timeindex  sparse max timestamp -> offset
//! 00000000000000004096.log        next segment, base offset 4096
//! recovery-point-checkpoint       everything below this offset was flushed and verified
//! leader-epoch-checkpoint         (epoch, start offset) lines
//! ```
//!
//! Durability model: an append returns once the bytes are in the page cache (acks=1). An
//! acks=all producer then awaits [`PartitionLog::sync`], which returns once a flush covering
//! its append has completed. On open, every segment from the recovery point on is scanned and
//! cut at the first byte that is not a valid batch, so a crash can lose only unsynced appends and
//! never exposes a torn batch.

pub mod batch;
pub mod checkpoint;
pub mod index;
pub mod open_many;
pub mod partition;
pub mod producer_state;
pub mod records;
pub mod recovery;
pub mod segment;
pub mod segment_file;
pub mod sync;

pub use batch::BatchError;
pub use partition::{OpenReport, PartitionLog, RetentionOutcome};
pub use producer_state::SequenceError;

use thiserror::Error;

/// How batch timestamps are treated (`message.timestamp.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampType {
    /// Keep the producer's timestamps (Kafka's default).
    #[default]
    CreateTime,
    /// Overwrite each batch's max timestamp with the broker's clock (re-CRCs the batch).
    LogAppendTime,
}

/// Per-partition log settings, named after Kafka's topic configs, with Kafka's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `segment.bytes`: roll when the active segment would grow past this.
    pub segment_bytes: u64,
    /// `segment.ms`: roll when a batch is this much newer than the segment's first batch.
    pub segment_ms: i64,
    /// `retention.ms`: delete closed segments whose newest record is older; -1 = forever.
    pub retention_ms: i64,
    /// `retention.bytes`: delete the oldest closed segment while the remaining segments still
    /// hold at least this many bytes (Kafka's rule); -1 = no limit.
    pub retention_bytes: i64,
    /// `index.interval.bytes`: log bytes between offset index entries.
    pub index_interval_bytes: u64,
    /// `max.message.bytes`: largest accepted batch, including its 12-byte log overhead.
    pub max_message_bytes: usize,
    /// `message.timestamp.type`.
    pub message_timestamp_type: TimestampType,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: 7 * 24 * 60 * 60 * 1000,
            retention_ms: 7 * 24 * 60 * 60 * 1000,
            retention_bytes: -1,
            index_interval_bytes: 4096,
            max_message_bytes: 1_048_588,
            message_timestamp_type: TimestampType::CreateTime,
        }
    }
}

impl LogConfig {
    /// Reject settings the on-disk format cannot represent.
    pub fn validate(&self) -> Result<(), LogError> {
        // Index positions are 32-bit (Kafka: segment.bytes is an int).
        if self.segment_bytes < 100 || self.segment_bytes > i32::MAX as u64 {
            return Err(LogError::InvalidConfig(format!(
                "segment.bytes {} must be within [100, {}]",
                self.segment_bytes,
                i32::MAX
            )));
        }
        if self.segment_ms < 1 {
            return Err(LogError::InvalidConfig(
                "segment.ms must be positive".into(),
            ));
        }
        if self.max_message_bytes < batch::HEADER_LEN {
            return Err(LogError::InvalidConfig(
                "max.message.bytes is smaller than a batch header".into(),
            ));
        }
        Ok(())
    }
}

/// What [`PartitionLog::append`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendInfo {
    /// Offset of the first record appended.
    pub base_offset: i64,
    /// Offset of the last record appended.
    pub last_offset: i64,
    /// The broker time stamped into the batches for LogAppendTime topics (Kafka answers -1
    /// for CreateTime, i.e. `None`).
    pub log_append_time: Option<i64>,
    /// Largest batch max timestamp appended.
    pub max_timestamp: i64,
    /// Log start offset at the time of the append (ProduceResponse.log_start_offset).
    pub log_start_offset: i64,
    /// Number of batches in the blob.
    pub batch_count: usize,
    /// Number of records (offsets) assigned.
    pub record_count: i64,
    /// Bytes written (0 for a duplicate).
    pub bytes: usize,
    /// The blob was an idempotent producer's retry of batches already in the log: nothing was
    /// written and the offsets are those of the original append.
    pub duplicate: bool,
}

/// Kafka error code OFFSET_OUT_OF_RANGE.
pub const OFFSET_OUT_OF_RANGE: i16 = 1;
/// Kafka error code KAFKA_STORAGE_ERROR.
pub const KAFKA_STORAGE_ERROR: i16 = 56;
/// Kafka error code FENCED_LEADER_EPOCH.
pub const FENCED_LEADER_EPOCH: i16 = 74;
/// Kafka error code INVALID_CONFIG.
pub const INVALID_CONFIG: i16 = 40;
/// Kafka error code OUT_OF_ORDER_SEQUENCE_NUMBER.
pub const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
/// Kafka error code DUPLICATE_SEQUENCE_NUMBER.
pub const DUPLICATE_SEQUENCE_NUMBER: i16 = 46;
/// Kafka error code INVALID_PRODUCER_EPOCH.
pub const INVALID_PRODUCER_EPOCH: i16 = 47;

/// Errors from the partition log.
#[derive(Debug, Error)]
pub enum LogError {
    /// The produced data was rejected; nothing was written.
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// A file operation failed.
    #[error("log I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A fetch outside [log start, log end].
    #[error("offset {offset} out of range [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange {
        /// Requested offset.
        offset: i64,
        /// First offset in the log.
        log_start_offset: i64,
        /// Log end offset.
        log_end_offset: i64,
    },
    /// An append from a leader epoch older than one already in the log.
    #[error("leader epoch {epoch} is older than the log's latest epoch {latest}")]
    FencedLeaderEpoch {
        /// Epoch of the append.
        epoch: i32,
        /// Latest epoch in the log.
        latest: i32,
    },
    /// An earlier write failed and could not be undone; the log takes no writes until reopened.
    #[error("log is offline after a failed write; reopen to recover")]
    Offline,
    /// The offset lies in a quarantined or missing range (see [`recovery`]); refused until an
    /// operator restores the data or accepts its loss.
    #[error("offset {offset} is in damaged range [{start}, {end}) of this partition; see the operator's recovery path")]
    Damaged {
        /// Requested offset.
        offset: i64,
        /// First offset of the damaged range.
        start: i64,
        /// One past its last offset.
        end: i64,
    },
    /// Stored bytes at this offset failed their checks when read.
    #[error("stored batch at offset {offset} is corrupt: {reason}")]
    Corrupt {
        /// Offset whose batch is damaged.
        offset: i64,
        /// What was wrong.
        reason: String,
    },
    /// Settings the log cannot honour.
    #[error("invalid log config: {0}")]
    InvalidConfig(String),
    /// An idempotent producer's batch out of sequence or from a fenced epoch; nothing written.
    #[error(transparent)]
    Sequence(#[from] SequenceError),
}

impl LogError {
    /// The Kafka protocol error code for this failure.
    pub fn kafka_error_code(&self) -> i16 {
        match self {
            LogError::Batch(e) => e.kafka_error_code(),
            LogError::Io(_) | LogError::Offline | LogError::Damaged { .. } => KAFKA_STORAGE_ERROR,
            LogError::Corrupt { .. } => batch::CORRUPT_MESSAGE,
            LogError::OffsetOutOfRange { .. } => OFFSET_OUT_OF_RANGE,
            LogError::FencedLeaderEpoch { .. } => FENCED_LEADER_EPOCH,
            LogError::InvalidConfig(_) => INVALID_CONFIG,
            LogError::Sequence(SequenceError::InvalidEpoch { .. }) => INVALID_PRODUCER_EPOCH,
            LogError::Sequence(SequenceError::OutOfOrder { .. }) => OUT_OF_ORDER_SEQUENCE_NUMBER,
            LogError::Sequence(SequenceError::Duplicate { .. }) => DUPLICATE_SEQUENCE_NUMBER,
        }
    }
}

#[cfg(test)]
mod tests;
