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
//! - [`avro_serde`], [`protobuf_serde`], [`json_serde`]: typed serializers and deserializers
//!   (serde types with Avro, `prost` messages, serde types with JSON Schema), configured by
//!   [`serializer::SerializerConfig`] and [`deserializer::DeserializerConfig`].
//! - [`dynamic`]: JSON in, framed bytes out and back, for tools that do not know the types.
//! - [`record`]: where a record carries its schema id (prefix or `__value_schema_id` header).
//! - [`schemas`]: writer schemas compiled once per id and GUID.
//! - [`error`]: [`SerdeError`], the one error type of the serializers.

pub mod avro;
pub mod avro_serde;
pub mod client;
pub mod deserializer;
pub mod dynamic;
pub mod error;
pub mod json_schema;
pub mod json_serde;
pub mod protobuf;
pub mod protobuf_serde;
#[cfg(feature = "rdkafka")]
pub mod rdkafka;
pub mod record;
pub mod schema_type;
pub mod schemas;
pub mod serializer;
pub mod strategy;
pub mod wire;

pub use error::SerdeError;
pub use schema_type::SchemaType;
