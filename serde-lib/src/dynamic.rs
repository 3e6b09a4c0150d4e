//! JSON in, framed bytes out (and back) for tools that do not know the record types: the
//! `charter` CLI, console producers and consumers, bridges.
//!
//! [`DynamicSerializer::serialize_json`] looks up the subject's schema in the registry, converts
//! a JSON value to the schema's format and frames it; [`DynamicDeserializer::deserialize_json`]
//! reads the schema id (header or prefix), fetches the writer schema and turns the payload back
//! into JSON of the same shape:
//!
//! | format | JSON accepted and produced |
//! |---|---|
//! | Avro | Avro's JSON encoding, as `kafka-avro-console-producer`/`-consumer` use it: unions as `{"<branch>": value}` (a plain value is accepted when exactly one branch takes it), `bytes`/`fixed` as ISO-8859-1 strings, missing fields take their defaults ([`crate::avro`] has the details) |
//! | Protobuf | the proto3 JSON mapping (prost-reflect): camelCase names on output (either spelling on input), 64-bit ints as strings, enums by name, default values omitted on output |
//! | JSON Schema | the value itself, validated against the schema before it is written; output is the payload parsed (validated too when [`DynamicDeserializer::validate`] is on) |
//!
//! Schemas are compiled once per id ([`SchemaStore`]) and shared by every record.
//!
//! ```no_run
//! use charter_serde::client::{ClientConfig, SchemaRegistryClient};
//! use charter_serde::dynamic::{DynamicDeserializer, DynamicSerializer, SchemaChoice};
//!
//! # async fn run() -> Result<(), charter_serde::SerdeError> {
//! let client = SchemaRegistryClient::new(ClientConfig::new("http://localhost:8081"))?;
//! let ser = DynamicSerializer::new(client.clone());
//! let value = serde_json::json!({"id": 1, "note": {"string": "first"}});
//! let bytes = ser.serialize_json("orders", false, &value, SchemaChoice::Latest).await?;
//!
//! let de = DynamicDeserializer::new(client);
//! let back = de.deserialize_json("orders", false, &bytes, &[]).await?;
//! assert_eq!(back, value);
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use prost_reflect::{DynamicMessage, MessageDescriptor, SerializeOptions};
use serde_json::Value;

use crate::client::{SchemaRegistryClient, Version};
use crate::error::{Result, SerdeError};
use crate::record::{self, IdLocation, RecordHeaders, SerializedRecord};
use crate::schemas::{Compiled, CompiledSchema, SchemaStore};
use crate::strategy::{SubjectNameStrategy, TopicNameStrategy};
use crate::wire::SchemaIdentifier;
use crate::SchemaType;

/// Which registered schema to write with.
///
/// ```
/// use charter_serde::dynamic::SchemaChoice;
/// // What a CLI flag like `--schema latest|v3|id:42` maps to.
/// let parse = |s: &str| match s {
///     "latest" => Some(SchemaChoice::Latest),
///     _ if s.starts_with('v') => s[1..].parse().ok().map(SchemaChoice::Version),
///     _ => s.strip_prefix("id:")?.parse().ok().map(SchemaChoice::Id),
/// };
/// assert_eq!(parse("v3"), Some(SchemaChoice::Version(3)));
/// assert_eq!(parse("id:42"), Some(SchemaChoice::Id(42)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaChoice {
    /// The subject's latest version (cached for the client's `latest_ttl`).
    Latest,
    /// A version number of the subject.
    Version(i32),
    /// A schema id (need not be registered under the subject).
    Id(i32),
}

/// Per-call options of [`DynamicSerializer::serialize_json_with`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonWriteOptions {
    /// Prefix framing (default) or a GUID header.
    pub id_location: IdLocation,
    /// The Protobuf message to write (fully qualified); default: the schema's first message.
    pub protobuf_message: Option<String>,
}

/// Converts JSON values into framed records. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct DynamicSerializer {
    store: SchemaStore,
    strategy: Arc<dyn SubjectNameStrategy>,
}

impl std::fmt::Debug for DynamicSerializer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamicSerializer")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl DynamicSerializer {
    /// A serializer using `client` and the TopicName strategy.
    pub fn new(client: SchemaRegistryClient) -> Self {
        Self::with_store(SchemaStore::new(client))
    }

    /// A serializer sharing a store of compiled schemas (with a deserializer, say).
    pub fn with_store(store: SchemaStore) -> Self {
        DynamicSerializer {
            store,
            strategy: Arc::new(TopicNameStrategy),
        }
    }

    /// Uses another subject name strategy. Record-name strategies need the record name before
    /// the schema is known, so they work with [`SchemaChoice::Id`] only.
    pub fn strategy(mut self, strategy: Arc<dyn SubjectNameStrategy>) -> Self {
        self.strategy = strategy;
        self
    }

    /// The store of compiled schemas.
    pub fn store(&self) -> &SchemaStore {
        &self.store
    }

    /// The subject `topic`'s keys or values use (TopicName strategy unless changed).
    pub fn subject(&self, topic: &str, is_key: bool) -> Result<String> {
        self.strategy
            .subject(topic, is_key, None)
            .ok_or_else(|| SerdeError::Subject {
                topic: topic.to_string(),
                reason: "the subject name strategy needs a record name; pass a schema id".into(),
            })
    }

    /// Writes `value` with the chosen schema of `topic`'s key or value subject, prefix-framed
    /// (magic byte 0, id, Protobuf message indexes, payload).
    pub async fn serialize_json(
        &self,
        topic: &str,
        is_key: bool,
        value: &Value,
        schema: SchemaChoice,
    ) -> Result<Vec<u8>> {
        let r = self
            .serialize_json_with(topic, is_key, value, schema, &JsonWriteOptions::default())
            .await?;
        Ok(r.payload)
    }

    /// [`serialize_json`](Self::serialize_json) with options: header framing, the Protobuf
    /// message to write.
    pub async fn serialize_json_with(
        &self,
        topic: &str,
        is_key: bool,
        value: &Value,
        schema: SchemaChoice,
        opts: &JsonWriteOptions,
    ) -> Result<SerializedRecord> {
        let compiled = self.resolve(topic, is_key, schema).await?;
        let (indexes, body) = encode_json(&compiled, value, opts.protobuf_message.as_deref())?;
        record::frame(
            &compiled,
            is_key,
            opts.id_location,
            indexes.as_deref(),
            &body,
        )
    }

    async fn resolve(
        &self,
        topic: &str,
        is_key: bool,
        schema: SchemaChoice,
    ) -> Result<Arc<CompiledSchema>> {
        let client = self.store.client();
        let (id, guid) = match schema {
            SchemaChoice::Id(id) => (id, None),
            SchemaChoice::Latest => {
                let m = client.latest_version(&self.subject(topic, is_key)?).await?;
                (m.id, m.guid.clone())
            }
            SchemaChoice::Version(v) => {
                let subject = self.subject(topic, is_key)?;
                let m = client.version(&subject, Version::Number(v), false).await?;
                (m.id, m.guid.clone())
            }
        };
        let compiled = self.store.by_id(id).await?;
        if compiled.guid.is_none() {
            // Older id answers may lack the GUID that the subject version carries.
            if let Some(g) = guid.as_deref().and_then(crate::schemas::parse_guid) {
                let mut with_guid = (*compiled).clone();
                with_guid.guid = Some(g);
                return Ok(Arc::new(with_guid));
            }
        }
        Ok(compiled)
    }
}

/// Encodes `value` with `schema`: Protobuf message indexes (for Protobuf) and the body.
pub(crate) fn encode_json(
    schema: &CompiledSchema,
    value: &Value,
    message: Option<&str>,
) -> Result<(Option<Vec<i32>>, Vec<u8>)> {
    match &schema.format {
        Compiled::Avro(s) => {
            // Confluent writes a top-level "bytes" schema's value raw, without a length.
            if s.root().avro_type() == crate::avro::AvroType::Bytes {
                let b = s.encode_json(value).map_err(SerdeError::Serialize)?;
                return Ok((None, strip_length(&b)));
            }
            Ok((None, s.encode_json(value).map_err(SerdeError::Serialize)?))
        }
        Compiled::Protobuf(s) => {
            let name = match message {
                Some(m) => m.strip_prefix('.').unwrap_or(m).to_string(),
                None => s
                    .first_message_name()
                    .ok_or_else(|| SerdeError::schema("protobuf", "the schema has no message"))?,
            };
            let desc = s.message_descriptor(&name).ok_or_else(|| {
                SerdeError::Serialize(format!("the schema has no message '{name}'"))
            })?;
            let indexes = s.message_indexes(&name).ok_or_else(|| {
                SerdeError::Serialize(format!(
                    "message '{name}' is not defined by the schema itself (imported?)"
                ))
            })?;
            let msg = DynamicMessage::deserialize(desc, value)
                .map_err(|e| SerdeError::Serialize(e.to_string()))?;
            Ok((Some(indexes), prost::Message::encode_to_vec(&msg)))
        }
        Compiled::Json(s) => {
            s.validate_value(value).map_err(SerdeError::Validation)?;
            let b = serde_json::to_vec(value).map_err(|e| SerdeError::Serialize(e.to_string()))?;
            Ok((None, b))
        }
    }
}

fn strip_length(encoded: &[u8]) -> Vec<u8> {
    // The zigzag length prefix is at most 10 bytes; find where it ends.
    let n = encoded
        .iter()
        .position(|b| b & 0x80 == 0)
        .map_or(encoded.len(), |p| p + 1);
    encoded[n..].to_vec()
}

/// A record decoded to JSON, with what it was written with.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedJson {
    /// The value.
    pub value: Value,
    /// The writer schema's id (when the record named it by GUID and the registry did not
    /// say, `None`).
    pub schema_id: Option<i32>,
    /// The writer schema's format.
    pub schema_type: SchemaType,
    /// The Protobuf message the indexes named.
    pub protobuf_message: Option<String>,
}

/// Converts framed records back into JSON. Cheap to clone; `Send + Sync`.
#[derive(Debug, Clone)]
pub struct DynamicDeserializer {
    store: SchemaStore,
    validate: bool,
}

impl DynamicDeserializer {
    /// A deserializer using `client`.
    pub fn new(client: SchemaRegistryClient) -> Self {
        Self::with_store(SchemaStore::new(client))
    }

    /// A deserializer sharing a store of compiled schemas.
    pub fn with_store(store: SchemaStore) -> Self {
        DynamicDeserializer {
            store,
            validate: false,
        }
    }

    /// Also validates JSON Schema payloads (default off, as Confluent's deserializers).
    pub fn validate(mut self, on: bool) -> Self {
        self.validate = on;
        self
    }

    /// The store of compiled schemas.
    pub fn store(&self) -> &SchemaStore {
        &self.store
    }

    /// Decodes a key (`is_key`) or value of `topic` to JSON. `headers` are the record's
    /// headers: a `__value_schema_id` / `__key_schema_id` header (the last one) names the
    /// schema by GUID, else the payload's prefix does.
    pub async fn deserialize_json(
        &self,
        topic: &str,
        is_key: bool,
        bytes: &[u8],
        headers: &[(String, Vec<u8>)],
    ) -> Result<Value> {
        Ok(self
            .deserialize_json_with(topic, is_key, bytes, headers)
            .await?
            .value)
    }

    /// [`deserialize_json`](Self::deserialize_json), also telling which schema wrote it.
    pub async fn deserialize_json_with<H: RecordHeaders + ?Sized>(
        &self,
        _topic: &str,
        is_key: bool,
        bytes: &[u8],
        headers: &H,
    ) -> Result<DecodedJson> {
        let loc = record::locate(bytes, headers, is_key)?;
        let schema = self.store.by_identifier(loc.ident).await?;
        let schema_id = match loc.ident {
            SchemaIdentifier::Id(id) => Some(id),
            SchemaIdentifier::Guid(_) => schema.id,
        };
        let mut protobuf_message = None;
        let value = match &schema.format {
            Compiled::Avro(s) => {
                if s.root().avro_type() == crate::avro::AvroType::Bytes {
                    Value::String(loc.payload.iter().map(|&b| char::from(b)).collect())
                } else {
                    s.decode_to_json(loc.payload)
                        .map_err(SerdeError::Deserialize)?
                }
            }
            Compiled::Protobuf(s) => {
                let (indexes, body) = record::protobuf_indexes(&loc)?;
                let name = s.message_name(&indexes).ok_or_else(|| {
                    SerdeError::Deserialize(format!(
                        "message indexes {indexes:?} name no message of the schema"
                    ))
                })?;
                let desc = s.message_descriptor(&name).ok_or_else(|| {
                    SerdeError::Deserialize(format!("no descriptor for '{name}'"))
                })?;
                let v = protobuf_to_json(desc, body)?;
                protobuf_message = Some(name);
                v
            }
            Compiled::Json(s) => {
                let v: Value = serde_json::from_slice(loc.payload)
                    .map_err(|e| SerdeError::Deserialize(format!("not JSON: {e}")))?;
                if self.validate {
                    s.validate_value(&v).map_err(SerdeError::Validation)?;
                }
                v
            }
        };
        Ok(DecodedJson {
            value,
            schema_id,
            schema_type: schema.schema_type(),
            protobuf_message,
        })
    }
}

fn protobuf_to_json(desc: MessageDescriptor, body: &[u8]) -> Result<Value> {
    let msg =
        DynamicMessage::decode(desc, body).map_err(|e| SerdeError::Deserialize(e.to_string()))?;
    msg.serialize_with_options(serde_json::value::Serializer, &SerializeOptions::new())
        .map_err(|e| SerdeError::Deserialize(e.to_string()))
}

/// Blocking forms of the dynamic API, for programs without an async runtime. They run on the
/// blocking registry client's private runtime (and so also work inside another runtime).
pub mod blocking {
    use serde_json::Value;

    use super::{DecodedJson, JsonWriteOptions, SchemaChoice};
    use crate::client::blocking::SchemaRegistryClient;
    use crate::error::{Result, SerdeError};
    use crate::record::SerializedRecord;
    use crate::schemas::SchemaStore;

    fn gone() -> SerdeError {
        SerdeError::Registry(crate::client::Error::Runtime(
            "the blocking runtime is gone".into(),
        ))
    }

    /// The blocking [`super::DynamicSerializer`].
    #[derive(Debug, Clone)]
    pub struct DynamicSerializer {
        client: SchemaRegistryClient,
        inner: super::DynamicSerializer,
    }

    impl DynamicSerializer {
        /// A serializer over a blocking client (TopicName strategy).
        pub fn new(client: SchemaRegistryClient) -> Self {
            let inner = super::DynamicSerializer::new(client.client().clone());
            DynamicSerializer { client, inner }
        }

        /// The async serializer underneath.
        pub fn inner(&self) -> &super::DynamicSerializer {
            &self.inner
        }

        /// See [`super::DynamicSerializer::serialize_json`].
        pub fn serialize_json(
            &self,
            topic: &str,
            is_key: bool,
            value: &Value,
            schema: SchemaChoice,
        ) -> Result<Vec<u8>> {
            self.serialize_json_with(topic, is_key, value, schema, &JsonWriteOptions::default())
                .map(|r| r.payload)
        }

        /// See [`super::DynamicSerializer::serialize_json_with`].
        pub fn serialize_json_with(
            &self,
            topic: &str,
            is_key: bool,
            value: &Value,
            schema: SchemaChoice,
            opts: &JsonWriteOptions,
        ) -> Result<SerializedRecord> {
            let (s, t, v, o) = (
                self.inner.clone(),
                topic.to_string(),
                value.clone(),
                opts.clone(),
            );
            self.client
                .block_on(async move { s.serialize_json_with(&t, is_key, &v, schema, &o).await })
                .ok_or_else(gone)?
        }
    }

    /// The blocking [`super::DynamicDeserializer`].
    #[derive(Debug, Clone)]
    pub struct DynamicDeserializer {
        client: SchemaRegistryClient,
        inner: super::DynamicDeserializer,
    }

    impl DynamicDeserializer {
        /// A deserializer over a blocking client.
        pub fn new(client: SchemaRegistryClient) -> Self {
            let inner =
                super::DynamicDeserializer::with_store(SchemaStore::new(client.client().clone()));
            DynamicDeserializer { client, inner }
        }

        /// Also validates JSON Schema payloads.
        pub fn validate(mut self, on: bool) -> Self {
            self.inner = self.inner.validate(on);
            self
        }

        /// See [`super::DynamicDeserializer::deserialize_json`].
        pub fn deserialize_json(
            &self,
            topic: &str,
            is_key: bool,
            bytes: &[u8],
            headers: &[(String, Vec<u8>)],
        ) -> Result<Value> {
            self.deserialize_json_with(topic, is_key, bytes, headers)
                .map(|d| d.value)
        }

        /// See [`super::DynamicDeserializer::deserialize_json_with`].
        pub fn deserialize_json_with(
            &self,
            topic: &str,
            is_key: bool,
            bytes: &[u8],
            headers: &[(String, Vec<u8>)],
        ) -> Result<DecodedJson> {
            let (d, t, b, h) = (
                self.inner.clone(),
                topic.to_string(),
                bytes.to_vec(),
                headers.to_vec(),
            );
            self.client
                .block_on(async move { d.deserialize_json_with(&t, is_key, &b, &h).await })
                .ok_or_else(gone)?
        }
    }
}
