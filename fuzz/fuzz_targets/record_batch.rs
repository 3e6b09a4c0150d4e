//! Any bytes as a produce `records` blob: the log's batch checks and the record decoding the
//! validator does must never panic or abort.
#![no_main]

use charter_broker::log::batch;
use kafka_protocol::records::RecordBatchDecoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = batch::split_client_batches(data, 1 << 20);
    let _ = batch::validate_batch(data, 1 << 20);
    let mut b = bytes::Bytes::copy_from_slice(data);
    let _ = RecordBatchDecoder::decode_all(&mut b);
});
