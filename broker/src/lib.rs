//! `charter-broker`: the library behind the `charter` binary's Kafka-compatible broker.
//!
//! Its storage layer is [`log`], the per-partition segment log (Kafka file formats, in-place
//! offset assignment, CRC-verified recovery, group-committed fsync).

pub mod cli;
pub mod group;
pub mod kafka;
pub mod log;
pub mod meta;
mod migrate;
pub mod node;
pub mod rate_limit;
pub mod topics;
pub mod validate;
