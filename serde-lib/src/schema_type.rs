//! The schema formats a Confluent-compatible registry knows.

use std::fmt;
use std::str::FromStr;

/// A schema format, spelled on the wire as `AVRO`, `JSON` or `PROTOBUF`.
///
/// ```
/// use charter_serde::SchemaType;
/// assert_eq!("avro".parse::<SchemaType>().unwrap(), SchemaType::Avro);
/// assert_eq!(SchemaType::Protobuf.as_str(), "PROTOBUF");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub enum SchemaType {
    /// Apache Avro; the default when a request names no type.
    #[default]
    Avro,
    /// JSON Schema.
    Json,
    /// Protocol Buffers.
    Protobuf,
}

impl SchemaType {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaType::Avro => "AVRO",
            SchemaType::Json => "JSON",
            SchemaType::Protobuf => "PROTOBUF",
        }
    }
}

impl fmt::Display for SchemaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a `schemaType` that is not one of the three known names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid schema type {0}")]
pub struct UnknownSchemaType(pub String);

impl FromStr for SchemaType {
    type Err = UnknownSchemaType;

    /// Parses case-insensitively, as Confluent does.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "AVRO" => Ok(SchemaType::Avro),
            "JSON" => Ok(SchemaType::Json),
            "PROTOBUF" => Ok(SchemaType::Protobuf),
            _ => Err(UnknownSchemaType(s.to_string())),
        }
    }
}
