//! Any bytes as a Confluent-framed value: framing, identifiers and message indexes.
#![no_main]

use charter_serde::wire;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = wire::unframe(data);
    let _ = wire::read_identifier(data);
    let _ = wire::read_message_indexes(data);
});
