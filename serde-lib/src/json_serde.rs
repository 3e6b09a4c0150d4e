//! Typed JSON Schema: [`JsonSerializer`] writes `serde::Serialize` values as JSON text after
//! validating them against the registered schema; [`JsonDeserializer`] reads them back,
//! validating too when asked (`DeserializerConfig::validate`).
//!
//! The schema is given as text, or derived from the type with schemars (crate feature
//! `schemars`: [`JsonSerializer::derived`]).
//!
//! ```no_run
//! use charter_serde::json_serde::{JsonDeserializer, JsonSerializer};
//! use charter_serde::client::{ClientConfig, SchemaRegistryClient};
//!
//! #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
//! struct Point { x: i64, y: i64 }
//!
//! # async fn run() -> Result<(), charter_serde::SerdeError> {
//! let client = SchemaRegistryClient::new(ClientConfig::new("http://localhost:8081"))?;
//! let schema = r#"{"type":"object","properties":{"x":{"type":"integer"},"y":{"type":"integer"}}}"#;
//! let ser = JsonSerializer::<Point>::new(client.clone(), schema, Default::default())?;
//! let record = ser.serialize("points", false, &Point { x: 1, y: 2 }).await?;
//! let de = JsonDeserializer::<Point>::new(client, Default::default());
//! let p = de.deserialize("points", false, &record.payload, &record.headers).await?;
//! assert_eq!(p, Point { x: 1, y: 2 });
//! # Ok(())
//! # }
//! ```

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::client::{Schema, SchemaRegistryClient};
use crate::deserializer::{DeserializerConfig, DeserializerCore};
use crate::error::{Result, SerdeError};
use crate::json_schema::JsonSchema;
use crate::record::{self, RecordHeaders, SerializedRecord};
use crate::schemas::Compiled;
use crate::serializer::{Resolved, SerializerConfig, SerializerCore, SizeHint};

/// Writes `T` as JSON validated against a JSON Schema. `Send + Sync`.
pub struct JsonSerializer<T: ?Sized> {
    core: SerializerCore,
    local: Schema,
    record_name: Option<String>,
    validate: bool,
    _t: PhantomData<fn(&T)>,
}

impl<T: ?Sized> std::fmt::Debug for JsonSerializer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonSerializer")
            .field("record_name", &self.record_name)
            .field("validate", &self.validate)
            .finish_non_exhaustive()
    }
}

impl<T: ?Sized> JsonSerializer<T> {
    /// A serializer for the JSON Schema `schema`. The schema must parse.
    pub fn new(
        client: SchemaRegistryClient,
        schema: &str,
        config: SerializerConfig,
    ) -> Result<Self> {
        Self::with_schema(client, Schema::json(schema), config)
    }

    /// A serializer for a schema with references.
    pub fn with_schema(
        client: SchemaRegistryClient,
        schema: Schema,
        config: SerializerConfig,
    ) -> Result<Self> {
        let record_name = if schema.references.is_empty() {
            let parsed = JsonSchema::parse(&schema.schema, &[], false)
                .map_err(|e| SerdeError::schema("given", e))?;
            crate::strategy::record_name::json(&parsed)
        } else {
            serde_json::from_str::<serde_json::Value>(&schema.schema)
                .ok()
                .and_then(|v| v.get("title")?.as_str().map(str::to_string))
        };
        Ok(JsonSerializer {
            core: SerializerCore::new(client, config),
            local: schema,
            record_name,
            validate: true,
            _t: PhantomData,
        })
    }

    /// Whether to validate values before writing them (default `true`; Confluent's Java
    /// serializer defaults to off with `json.fail.invalid.schema`).
    pub fn validate(mut self, on: bool) -> Self {
        self.validate = on;
        self
    }

    async fn resolved(&self, topic: &str, is_key: bool) -> Result<std::sync::Arc<Resolved>> {
        self.core
            .resolve(
                topic,
                is_key,
                &self.local,
                self.record_name.as_deref(),
                None,
            )
            .await
    }
}

#[cfg(feature = "schemars")]
impl<T: schemars::JsonSchema + ?Sized> JsonSerializer<T> {
    /// A serializer whose schema is generated from `T` with schemars (draft 2020-12).
    pub fn derived(client: SchemaRegistryClient, config: SerializerConfig) -> Result<Self> {
        let schema = schemars::schema_for!(T);
        let text = serde_json::to_string(&schema).map_err(|e| SerdeError::schema("derived", e))?;
        Self::new(client, &text, config)
    }
}

fn encode_into<T: Serialize + ?Sized>(
    r: &Resolved,
    value: &T,
    validate: bool,
    is_key: bool,
    location: record::IdLocation,
    hint: &SizeHint,
) -> Result<SerializedRecord> {
    let Compiled::Json(schema) = &r.schema.format else {
        return Err(SerdeError::WrongFormat {
            id: r.schema.id.unwrap_or(-1),
            expected: crate::SchemaType::Json,
            found: r.schema.schema_type(),
        });
    };
    let ser = |e: serde_json::Error| SerdeError::Serialize(e.to_string());
    let record = if validate && schema.certainly_valid(value) {
        // Known valid without building a Value: write the value directly.
        record::frame_resolved(r, is_key, location, hint.get(), |out| {
            serde_json::to_writer(out, value).map_err(ser)
        })?
    } else if validate {
        let v = serde_json::to_value(value).map_err(ser)?;
        schema.validate_value(&v).map_err(SerdeError::Validation)?;
        record::frame_resolved(r, is_key, location, hint.get(), |out| {
            serde_json::to_writer(out, &v).map_err(ser)
        })?
    } else {
        record::frame_resolved(r, is_key, location, hint.get(), |out| {
            serde_json::to_writer(out, value).map_err(ser)
        })?
    };
    hint.observe(record.payload.len());
    Ok(record)
}

impl<T: Serialize + ?Sized> JsonSerializer<T> {
    /// Serializes `value` as `topic`'s key or value.
    pub async fn serialize(
        &self,
        topic: &str,
        is_key: bool,
        value: &T,
    ) -> Result<SerializedRecord> {
        let loc = self.core.config.id_location;
        if let Some(r) = self.core.with_cached(topic, is_key, |r| {
            encode_into(r, value, self.validate, is_key, loc, &self.core.size_hint)
        }) {
            return r;
        }
        let r = self.resolved(topic, is_key).await?;
        encode_into(&r, value, self.validate, is_key, loc, &self.core.size_hint)
    }

    /// Serializes without awaiting once the topic's schema is known; `None` before.
    pub fn serialize_cached(
        &self,
        topic: &str,
        is_key: bool,
        value: &T,
    ) -> Option<Result<SerializedRecord>> {
        let loc = self.core.config.id_location;
        self.core.with_cached(topic, is_key, |r| {
            encode_into(r, value, self.validate, is_key, loc, &self.core.size_hint)
        })
    }
}

/// Reads `T` from JSON Schema records. `Send + Sync`.
#[derive(Debug)]
pub struct JsonDeserializer<T> {
    core: DeserializerCore,
    _t: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> JsonDeserializer<T> {
    /// A deserializer; `config.validate` turns on validation against the writer schema.
    pub fn new(client: SchemaRegistryClient, config: DeserializerConfig) -> Self {
        JsonDeserializer {
            core: DeserializerCore::new(client, config),
            _t: PhantomData,
        }
    }

    /// Reads a key or value of `topic`.
    pub async fn deserialize<H: RecordHeaders + ?Sized>(
        &self,
        _topic: &str,
        is_key: bool,
        bytes: &[u8],
        headers: &H,
    ) -> Result<T> {
        let (writer, loc) = self.core.writer(bytes, headers, is_key).await?;
        let Compiled::Json(schema) = &writer.format else {
            return Err(SerdeError::WrongFormat {
                id: writer.id.unwrap_or(-1),
                expected: crate::SchemaType::Json,
                found: writer.schema_type(),
            });
        };
        let de = |e: serde_json::Error| SerdeError::Deserialize(e.to_string());
        if self.core.config.validate {
            let v: serde_json::Value = serde_json::from_slice(loc.payload).map_err(de)?;
            schema.validate_value(&v).map_err(SerdeError::Validation)?;
            return serde_json::from_value(v).map_err(de);
        }
        serde_json::from_slice(loc.payload).map_err(de)
    }
}
