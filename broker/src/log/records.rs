//! Records inside one stored batch, for the few reads that need more than batch headers:
//! ListOffsets by timestamp and MAX_TIMESTAMP answer a record's offset and timestamp, as Kafka
//! does. Compressed batches are decompressed here (kafka-protocol's decoder, whose
//! decompression is bounded); nothing read here is ever written back.

use bytes::Bytes;
use kafka_protocol::records::RecordBatchDecoder;

use super::batch::BatchHeader;
use super::LogError;

/// (offset, timestamp) of the first record of `batch` that `wanted` accepts, given the
/// record's timestamp. In a LogAppendTime batch every record has the batch's max timestamp,
/// as Kafka reports it.
pub fn first_record_where(
    header: &BatchHeader,
    batch: Vec<u8>,
    wanted: impl Fn(i64) -> bool,
) -> Result<Option<(i64, i64)>, LogError> {
    if header.is_log_append_time() {
        return Ok(
            wanted(header.max_timestamp).then_some((header.base_offset, header.max_timestamp))
        );
    }
    let mut buf = Bytes::from(batch);
    let set = RecordBatchDecoder::decode(&mut buf).map_err(|e| LogError::Corrupt {
        offset: header.base_offset,
        reason: format!("cannot decode a stored batch: {e:#}"),
    })?;
    Ok(set
        .records
        .iter()
        .find(|r| wanted(r.timestamp))
        .map(|r| (r.offset, r.timestamp)))
}
