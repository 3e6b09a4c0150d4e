//! Parsed schemas of every format behind one type, and the parse cache.
//!
//! The registry stores schema text; whenever it must reason about a schema (canonical form,
//! compatibility) it parses it here. Stored schemas are parsed once per id and kept: ids are
//! immutable, so the cache never needs invalidating.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use charter_serde::avro::{AvroSchema, ParseOptions};
use charter_serde::json_schema::JsonSchema;
use charter_serde::protobuf::ProtobufSchema;
use charter_serde::SchemaType;

use crate::error::RegistryError;
use crate::model::SchemaId;

/// The schema formats this build of the registry accepts (`GET /schemas/types`).
pub const SUPPORTED_TYPES: &[SchemaType] =
    &[SchemaType::Avro, SchemaType::Json, SchemaType::Protobuf];

/// A schema parsed by its format's parser.
#[derive(Debug)]
pub enum ParsedSchema {
    Avro(AvroSchema),
    Json(JsonSchema),
    Protobuf(ProtobufSchema),
}

impl ParsedSchema {
    /// Parses `text` of type `ty`. `references` are `(name, text)` of the referenced schemas,
    /// dependencies first; the name is what the schema uses to refer (Avro full name, JSON
    /// Schema `$ref` URL, Protobuf import path). `validate` is strict parsing for new schemas; stored versions are
    /// parsed leniently, as Confluent does, so that old quirks never make a subject unusable.
    pub fn parse(
        ty: SchemaType,
        text: &str,
        references: &[(String, String)],
        validate: bool,
    ) -> Result<ParsedSchema, RegistryError> {
        match ty {
            SchemaType::Avro => {
                let refs: Vec<&str> = references.iter().map(|(_, t)| t.as_str()).collect();
                AvroSchema::parse(text, &refs, ParseOptions { validate })
                    .map(ParsedSchema::Avro)
                    .map_err(|e| {
                        RegistryError::InvalidSchema(format!(
                            "Invalid schema of type AVRO, details: {e}"
                        ))
                    })
            }
            SchemaType::Json => {
                let refs: Vec<(&str, &str)> = references
                    .iter()
                    .map(|(n, t)| (n.as_str(), t.as_str()))
                    .collect();
                JsonSchema::parse(text, &refs, validate)
                    .map(ParsedSchema::Json)
                    .map_err(|e| {
                        RegistryError::InvalidSchema(format!(
                            "Invalid schema of type JSON, details: {e}"
                        ))
                    })
            }
            SchemaType::Protobuf => {
                let refs: Vec<(&str, &str)> = references
                    .iter()
                    .map(|(n, t)| (n.as_str(), t.as_str()))
                    .collect();
                ProtobufSchema::parse(text, &refs, validate)
                    .map(ParsedSchema::Protobuf)
                    .map_err(|e| {
                        RegistryError::InvalidSchema(format!(
                            "Invalid schema of type PROTOBUF, details: {e}"
                        ))
                    })
            }
        }
    }

    pub fn schema_type(&self) -> SchemaType {
        match self {
            ParsedSchema::Avro(_) => SchemaType::Avro,
            ParsedSchema::Json(_) => SchemaType::Json,
            ParsedSchema::Protobuf(_) => SchemaType::Protobuf,
        }
    }

    /// The text the registry stores and returns (Confluent `canonicalString`).
    pub fn canonical(&self) -> String {
        match self {
            ParsedSchema::Avro(s) => s.canonical(),
            ParsedSchema::Json(s) => s.canonical(),
            ParsedSchema::Protobuf(s) => s.canonical(),
        }
    }

    /// The deeper normal form used with `normalize=true`.
    pub fn normalized(&self) -> String {
        match self {
            ParsedSchema::Avro(s) => s.normalized(),
            ParsedSchema::Json(s) => s.normalized(),
            ParsedSchema::Protobuf(s) => s.normalized(),
        }
    }

    /// The text for a `format=` query parameter, or `None` when the format does not apply to
    /// this schema type (Confluent then returns the canonical text).
    pub fn formatted(&self, format: &str) -> Option<String> {
        match (self, format.to_ascii_lowercase().as_str()) {
            (ParsedSchema::Avro(s), "resolved") => Some(s.resolved()),
            // confluent-kafka-python's Protobuf serdes always ask for this.
            (ParsedSchema::Protobuf(s), "serialized") => Some(s.serialized()),
            _ => None,
        }
    }
}

/// Parsed stored schemas by id.
#[derive(Default)]
pub struct ParseCache {
    by_id: Mutex<HashMap<SchemaId, Arc<ParsedSchema>>>,
}

impl ParseCache {
    /// The parsed schema for `id`, parsing it with `parse` on first use.
    pub fn get_or_parse(
        &self,
        id: SchemaId,
        parse: impl FnOnce() -> Result<ParsedSchema, RegistryError>,
    ) -> Result<Arc<ParsedSchema>, RegistryError> {
        if let Some(p) = self.lock().get(&id) {
            return Ok(p.clone());
        }
        // Parse outside the lock: a big schema must not stall other lookups.
        let parsed = Arc::new(parse()?);
        Ok(self.lock().entry(id).or_insert(parsed).clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SchemaId, Arc<ParsedSchema>>> {
        // A panic while holding this lock cannot leave the map inconsistent (single inserts).
        self.by_id.lock().unwrap_or_else(|p| p.into_inner())
    }
}
