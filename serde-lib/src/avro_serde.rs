//! Typed Avro: [`AvroSerializer`] writes `serde::Serialize` values and [`AvroDeserializer`]
//! reads `serde::Deserialize` values, framed for Kafka, with the registry's schema ids.
//!
//! The schema is given as text or derived with apache-avro's `AvroSchema` derive (crate
//! feature `derive`). Values are written with the *registered* writer schema's apache-avro
//! codec, built once per schema id; reading uses the writer schema named by the record and,
//! when a reader schema is set (given, derived or `use_latest_version`) and differs from the
//! writer's, Avro schema resolution (apache-avro's `from_avro_datum(writer, reader)`): fields
//! matched by name, defaults for missing ones, promotions.
//!
//! ```no_run
//! use charter_serde::avro_serde::{AvroDeserializer, AvroSerializer};
//! use charter_serde::client::{ClientConfig, SchemaRegistryClient};
//! use charter_serde::deserializer::DeserializerConfig;
//! use charter_serde::serializer::SerializerConfig;
//!
//! #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
//! struct User { name: String, age: i32 }
//!
//! # async fn run() -> Result<(), charter_serde::SerdeError> {
//! let client = SchemaRegistryClient::new(ClientConfig::new("http://localhost:8081"))?;
//! let schema = r#"{"type":"record","name":"User","fields":[
//!     {"name":"name","type":"string"},{"name":"age","type":"int"}]}"#;
//! let ser = AvroSerializer::<User>::new(client.clone(), schema, SerializerConfig::default())?;
//! let user = User { name: "ada".into(), age: 36 };
//! let record = ser.serialize("users", false, &user).await?; // registers users-value once
//!
//! let de = AvroDeserializer::<User>::new(client, DeserializerConfig::default());
//! let back = de.deserialize("users", false, &record.payload, &record.headers).await?;
//! assert_eq!(back, user);
//! # Ok(())
//! # }
//! ```

/// The apache-avro crate, re-exported so that `#[derive(AvroSchema)]` (feature `derive`) and
/// generic `Value`s come from the version used here.
pub use apache_avro;

use std::collections::HashSet;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use apache_avro::types::Value as AvroValue;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::avro::codec::Codec;
use crate::avro::{AvroSchema, ParseOptions};
use crate::client::{Schema, SchemaRegistryClient};
use crate::deserializer::{DeserializerConfig, DeserializerCore};
use crate::error::{Result, SerdeError};
use crate::record::{self, RecordHeaders, SerializedRecord};
use crate::schemas::CompiledSchema;
use crate::serializer::{Resolved, SerializerConfig, SerializerCore, SizeHint};
use crate::SchemaType;

/// Writes `T` as Avro. `Send + Sync`; share it (or an `Arc` of it) between tasks.
pub struct AvroSerializer<T: ?Sized> {
    core: SerializerCore,
    local: Schema,
    record_name: Option<String>,
    _t: PhantomData<fn(&T)>,
}

impl<T: ?Sized> std::fmt::Debug for AvroSerializer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AvroSerializer")
            .field("record_name", &self.record_name)
            .field("config", &self.core.config)
            .finish_non_exhaustive()
    }
}

impl<T: ?Sized> AvroSerializer<T> {
    /// A serializer for the Avro schema `schema` (JSON text). The schema must parse.
    pub fn new(
        client: SchemaRegistryClient,
        schema: &str,
        config: SerializerConfig,
    ) -> Result<Self> {
        Self::with_schema(client, Schema::avro(schema), config)
    }

    /// A serializer for a schema with references (registered under other subjects).
    pub fn with_schema(
        client: SchemaRegistryClient,
        schema: Schema,
        config: SerializerConfig,
    ) -> Result<Self> {
        if schema.schema_type != SchemaType::Avro {
            return Err(SerdeError::Config(format!(
                "an Avro serializer needs an Avro schema, not {}",
                schema.schema_type
            )));
        }
        // References are resolved by the registry; parse alone only when there are none.
        let record_name = if schema.references.is_empty() {
            let parsed = AvroSchema::parse(&schema.schema, &[], ParseOptions { validate: false })
                .map_err(|e| SerdeError::schema("given", e))?;
            parsed.full_name()
        } else {
            record_name_of_text(&schema.schema)
        };
        Ok(AvroSerializer {
            core: SerializerCore::new(client, config),
            local: schema,
            record_name,
            _t: PhantomData,
        })
    }

    /// The schema this serializer registers or looks up.
    pub fn schema(&self) -> &Schema {
        &self.local
    }

    async fn resolved(&self, topic: &str, is_key: bool) -> Result<Arc<Resolved>> {
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

/// The `name`/`namespace` of a top-level named type, read from the text.
fn record_name_of_text(text: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let name = v.get("name")?.as_str()?;
    if name.contains('.') {
        return Some(name.to_string());
    }
    match v.get("namespace").and_then(|n| n.as_str()) {
        Some(ns) if !ns.is_empty() => Some(format!("{ns}.{name}")),
        _ => Some(name.to_string()),
    }
}

impl<T: apache_avro::AvroSchema + ?Sized> AvroSerializer<T> {
    /// A serializer whose schema is derived from `T` (`#[derive(AvroSchema)]`, crate feature
    /// `derive`).
    pub fn derived(client: SchemaRegistryClient, config: SerializerConfig) -> Result<Self> {
        let text = serde_json::to_string(&T::get_schema())
            .map_err(|e| SerdeError::schema("derived", e))?;
        Self::new(client, &text, config)
    }
}

fn encode_into<T: Serialize + ?Sized>(
    r: &Resolved,
    value: &T,
    is_key: bool,
    location: record::IdLocation,
    hint: &SizeHint,
) -> Result<SerializedRecord> {
    let codec = r.schema.avro_codec()?;
    let record = record::frame_resolved(r, is_key, location, hint.get(), |out| {
        codec.encode(value, out).map_err(SerdeError::Serialize)
    })?;
    hint.observe(record.payload.len());
    Ok(record)
}

impl<T: Serialize + ?Sized> AvroSerializer<T> {
    /// Serializes `value` as `topic`'s key (`is_key`) or value: finds the schema id (once per
    /// topic, see [`crate::serializer`]), writes the Avro datum and frames it.
    pub async fn serialize(
        &self,
        topic: &str,
        is_key: bool,
        value: &T,
    ) -> Result<SerializedRecord> {
        let loc = self.core.config.id_location;
        if let Some(r) = self.core.with_cached(topic, is_key, |r| {
            encode_into(r, value, is_key, loc, &self.core.size_hint)
        }) {
            return r;
        }
        let r = self.resolved(topic, is_key).await?;
        encode_into(&r, value, is_key, loc, &self.core.size_hint)
    }

    /// Serializes without awaiting when the topic's schema is already known (after one
    /// [`serialize`](Self::serialize)); `None` otherwise. For synchronous producers.
    pub fn serialize_cached(
        &self,
        topic: &str,
        is_key: bool,
        value: &T,
    ) -> Option<Result<SerializedRecord>> {
        let loc = self.core.config.id_location;
        self.core.with_cached(topic, is_key, |r| {
            encode_into(r, value, is_key, loc, &self.core.size_hint)
        })
    }
}

impl AvroSerializer<AvroValue> {
    /// Serializes apache-avro's generic `Value` (validated against the writer schema).
    pub async fn serialize_value(
        &self,
        topic: &str,
        is_key: bool,
        value: &AvroValue,
    ) -> Result<SerializedRecord> {
        let r = self.resolved(topic, is_key).await?;
        let body = r
            .schema
            .avro_codec()?
            .encode_value(value)
            .map_err(SerdeError::Serialize)?;
        record::frame(&r.schema, is_key, self.core.config.id_location, None, &body)
    }
}

/// Reads `T` from Avro records. `Send + Sync`.
pub struct AvroDeserializer<T> {
    core: DeserializerCore,
    /// A fixed reader schema (given or derived).
    reader: Option<Arc<Codec>>,
    /// Writer schema ids whose records only the generic `Value` path reads into `T` (both
    /// direct readers rejected `T`, e.g. struct names apache-avro could not match).
    via_value: RwLock<HashSet<i32>>,
    /// Whether `via_value` holds anything (read without the lock on every record).
    learned: AtomicBool,
    _t: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for AvroDeserializer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AvroDeserializer")
            .field("reader", &self.reader)
            .field("config", &self.core.config)
            .finish_non_exhaustive()
    }
}

impl<T> AvroDeserializer<T> {
    /// A deserializer that reads records as their writer schema says (no reader schema,
    /// unless `use_latest_version`).
    pub fn new(client: SchemaRegistryClient, config: DeserializerConfig) -> Self {
        AvroDeserializer {
            core: DeserializerCore::new(client, config),
            reader: None,
            via_value: RwLock::default(),
            learned: AtomicBool::new(false),
            _t: PhantomData,
        }
    }

    /// A deserializer that resolves every record to the reader schema `schema` (self-contained
    /// Avro JSON text).
    pub fn with_reader_schema(
        client: SchemaRegistryClient,
        schema: &str,
        config: DeserializerConfig,
    ) -> Result<Self> {
        let codec = Codec::new(schema).map_err(|e| SerdeError::schema("reader", e))?;
        let mut d = Self::new(client, config);
        d.reader = Some(Arc::new(codec));
        Ok(d)
    }

    async fn reader_for(
        &self,
        topic: &str,
        is_key: bool,
        writer: &CompiledSchema,
    ) -> Result<Option<ReaderRef<'_>>> {
        if let Some(r) = &self.reader {
            return Ok(Some(ReaderRef::Fixed(r)));
        }
        let c = &self.core.config;
        if c.use_latest_version || c.use_latest_with_metadata.is_some() {
            let name = writer.record_name(None);
            let latest = self.core.latest(topic, is_key, name.as_deref()).await?;
            return Ok(Some(ReaderRef::Latest(latest)));
        }
        Ok(None)
    }
}

enum ReaderRef<'a> {
    Fixed(&'a Codec),
    Latest(Arc<CompiledSchema>),
}

impl ReaderRef<'_> {
    fn codec(&self) -> Result<&Codec> {
        match self {
            ReaderRef::Fixed(c) => Ok(c),
            ReaderRef::Latest(s) => s.avro_codec(),
        }
    }
}

impl<T: apache_avro::AvroSchema> AvroDeserializer<T> {
    /// A deserializer that resolves every record to `T`'s derived schema.
    pub fn derived(client: SchemaRegistryClient, config: DeserializerConfig) -> Result<Self> {
        let codec =
            Codec::from_schema(T::get_schema()).map_err(|e| SerdeError::schema("derived", e))?;
        let mut d = Self::new(client, config);
        d.reader = Some(Arc::new(codec));
        Ok(d)
    }
}

impl<T: DeserializeOwned> AvroDeserializer<T> {
    /// Reads a key (`is_key`) or value of `topic`. `headers` are the record's headers (`&[]`
    /// when there are none); a schema id header there wins over the payload prefix.
    pub async fn deserialize<H: RecordHeaders + ?Sized>(
        &self,
        topic: &str,
        is_key: bool,
        bytes: &[u8],
        headers: &H,
    ) -> Result<T> {
        let (writer, loc) = self.core.writer(bytes, headers, is_key).await?;
        let wcodec = writer.avro_codec()?;
        if let Some(reader) = self.reader_for(topic, is_key, &writer).await? {
            let rcodec = reader.codec()?;
            if rcodec.canonical_form() != wcodec.canonical_form() {
                return wcodec
                    .decode_resolving(rcodec, loc.payload)
                    .map_err(SerdeError::Deserialize);
            }
        }
        self.decode_direct(writer.id.unwrap_or(-1), wcodec, loc.payload)
    }

    fn decode_direct(&self, id: i32, codec: &Codec, payload: &[u8]) -> Result<T> {
        let via_value = self.learned.load(Ordering::Acquire) && {
            let ids = self.via_value.read().unwrap_or_else(|p| p.into_inner());
            ids.contains(&id)
        };
        if via_value {
            return codec
                .decode_via_value(payload)
                .map_err(SerdeError::Deserialize);
        }
        match codec.decode(payload) {
            Ok(v) => Ok(v),
            Err(direct) => match codec.decode_via_value(payload) {
                Ok(v) => {
                    let mut ids = self.via_value.write().unwrap_or_else(|p| p.into_inner());
                    ids.insert(id);
                    self.learned.store(true, Ordering::Release);
                    Ok(v)
                }
                // Both failed: the payload is bad; learn nothing.
                Err(_) => Err(SerdeError::Deserialize(direct)),
            },
        }
    }
}

impl AvroDeserializer<AvroValue> {
    /// Reads apache-avro's generic `Value` (resolved to the reader schema when one is set).
    pub async fn deserialize_value<H: RecordHeaders + ?Sized>(
        &self,
        topic: &str,
        is_key: bool,
        bytes: &[u8],
        headers: &H,
    ) -> Result<AvroValue> {
        let (writer, loc) = self.core.writer(bytes, headers, is_key).await?;
        let wcodec = writer.avro_codec()?;
        match self.reader_for(topic, is_key, &writer).await? {
            Some(r) => wcodec.decode_value_resolving(r.codec()?, loc.payload),
            None => wcodec.decode_value(loc.payload),
        }
        .map_err(SerdeError::Deserialize)
    }
}
