//! Client-side foundation of Charter: schema formats and the Confluent wire format.
//!
//! This crate is what a producer or consumer application links. It must never depend on
//! server crates (axum, sled): the registry depends on it, not the other way round.
//!
//! - [`schema_type`]: the `schemaType` values the registry speaks (`AVRO`, `JSON`, `PROTOBUF`).
//! - [`avro`]: Avro schema parsing (strict for new schemas, lenient for stored ones), resolution of
//!   named types across references, and the canonical and normalized text forms.
//! - [`wire`]: the Confluent wire format (magic byte and schema id, Protobuf message indexes,
//!   header GUIDs).
//! - [`client`]: the registry client (async, with a blocking facade): fail-over, retries, auth,
//!   and caches keyed the way Confluent's are.
//! - [`strategy`]: subject name strategies (TopicName, RecordName, TopicRecordName, custom).

pub mod avro;
pub mod client;
pub mod json_schema;
pub mod protobuf;
pub mod schema_type;
pub mod strategy;
pub mod wire;

pub use schema_type::SchemaType;
