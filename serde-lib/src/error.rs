//! The one error type of the serializers and deserializers.

use crate::client;
use crate::wire::WireError;
use crate::SchemaType;

/// Why serializing or deserializing a record failed.
///
/// Framing problems ([`SerdeError::Wire`]) and unknown ids are about the bytes; registry
/// problems carry the client's error (check [`SerdeError::is_retriable`] before retrying);
/// the rest are about the value or the schema.
#[derive(Debug, thiserror::Error)]
pub enum SerdeError {
    /// The bytes are not framed as the Confluent wire format says: truncated, an unknown magic
    /// byte, or malformed Protobuf message indexes.
    #[error("bad framing: {0}")]
    Wire(#[from] WireError),
    /// The record names a schema id the registry does not know.
    #[error("unknown schema id {0}")]
    UnknownSchemaId(i32),
    /// The record's header names a schema GUID the registry does not know.
    #[error("unknown schema GUID {0}")]
    UnknownSchemaGuid(String),
    /// The registry could not be asked, or refused (subject or version not found, an
    /// incompatible schema when registering, ...).
    #[error("schema registry: {0}")]
    Registry(#[from] client::Error),
    /// The subject name strategy could not name a subject (a record-name strategy without a
    /// record name).
    #[error("no subject for topic '{topic}': {reason}")]
    Subject {
        /// The topic.
        topic: String,
        /// Why.
        reason: String,
    },
    /// A schema (from the registry or given) cannot be parsed or used.
    #[error("schema {context}: {message}")]
    Schema {
        /// Which schema (`id 7`, `given`).
        context: String,
        /// What is wrong.
        message: String,
    },
    /// The schema is of another format than the serializer handles.
    #[error("schema id {id} is {found}, expected {expected}")]
    WrongFormat {
        /// The schema id.
        id: i32,
        /// The format the (de)serializer handles.
        expected: SchemaType,
        /// The schema's format.
        found: SchemaType,
    },
    /// The value cannot be written with the schema.
    #[error("cannot serialize: {0}")]
    Serialize(String),
    /// The payload cannot be read with the schema.
    #[error("cannot deserialize: {0}")]
    Deserialize(String),
    /// The value does not satisfy the schema (JSON Schema validation).
    #[error("value does not match the schema: {0}")]
    Validation(String),
    /// Header mode needs the schema's GUID and the registry gave none (registries before
    /// Confluent 8, Karapace, Apicurio).
    #[error(
        "header mode needs the schema's GUID, but the registry returned none for schema id {0}"
    )]
    NoGuid(i32),
    /// The Kafka client failed to produce (feature `rdkafka`).
    #[cfg(feature = "rdkafka")]
    #[error("kafka: {0}")]
    Kafka(rdkafka::error::KafkaError),
    /// The configuration asks for something impossible.
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl SerdeError {
    /// Whether retrying may succeed (a registry transport error or retriable status).
    pub fn is_retriable(&self) -> bool {
        matches!(self, SerdeError::Registry(e) if e.is_retriable())
    }

    pub(crate) fn schema(context: impl Into<String>, message: impl ToString) -> Self {
        SerdeError::Schema {
            context: context.into(),
            message: message.to_string(),
        }
    }
}

/// The result type of the serializers.
pub type Result<T, E = SerdeError> = std::result::Result<T, E>;
