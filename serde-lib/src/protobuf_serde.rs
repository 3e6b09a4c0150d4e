//! Typed Protobuf: [`ProtobufSerializer`] writes `prost::Message` values (generated types with
//! prost-reflect's `ReflectMessage`, or `DynamicMessage`s) and [`ProtobufDeserializer`] reads
//! them back; [`ProtobufDynamicDeserializer`] reads any record as a `DynamicMessage` of its
//! writer schema.
//!
//! The schema registered for a message type is its `.proto` file as a serialized
//! `FileDescriptorProto` (base64, what confluent-kafka-python registers). Imported files are
//! registered first under their import path as subject (Confluent's default reference subject
//! names) and referenced; the well-known `google/protobuf/*`, `google/type/*` and
//! `confluent/*` imports are built into registries and are not registered. The message index
//! path (`[1, 0]` for the first message nested in the second top-level one) is computed from
//! the registered schema, once per topic.
//!
//! ```no_run
//! use charter_serde::protobuf_serde::{ProtobufDeserializer, ProtobufSerializer};
//! use charter_serde::client::{ClientConfig, SchemaRegistryClient};
//! use charter_serde::protobuf::prost_reflect::{DescriptorPool, DynamicMessage, Value};
//!
//! # async fn run(pool: DescriptorPool) -> Result<(), charter_serde::SerdeError> {
//! let client = SchemaRegistryClient::new(ClientConfig::new("http://localhost:8081"))?;
//! let desc = pool.get_message_by_name("shop.Order").unwrap();
//! let ser = ProtobufSerializer::<DynamicMessage>::with_descriptor(
//!     client.clone(), desc.clone(), Default::default());
//! let mut order = DynamicMessage::new(desc);
//! order.set_field_by_name("id", Value::I64(7));
//! let record = ser.serialize("orders", false, &order).await?;
//! # Ok(())
//! # }
//! ```

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use base64::Engine as _;
use prost::Message;
use prost_reflect::{DynamicMessage, FileDescriptor, MessageDescriptor, ReflectMessage};
use tokio::sync::OnceCell;

use crate::client::{Schema, SchemaReference, SchemaRegistryClient};
use crate::deserializer::{DeserializerConfig, DeserializerCore};
use crate::error::{Result, SerdeError};
use crate::record::{self, RecordHeaders, SerializedRecord};
use crate::schemas::Compiled;
use crate::serializer::{Resolved, SerializerConfig, SerializerCore};

/// Imports every registry knows without a reference.
fn is_builtin(import: &str) -> bool {
    import.starts_with("google/protobuf/")
        || import.starts_with("google/type/")
        || import.starts_with("confluent/")
}

/// A file as the registry takes it: base64 of its serialized `FileDescriptorProto`.
fn file_schema_text(file: &FileDescriptor) -> String {
    base64::engine::general_purpose::STANDARD.encode(file.file_descriptor_proto().encode_to_vec())
}

/// Writes `M` as Protobuf. `Send + Sync`.
pub struct ProtobufSerializer<M> {
    core: SerializerCore,
    descriptor: MessageDescriptor,
    local: OnceCell<Schema>,
    _m: PhantomData<fn(&M)>,
}

impl<M> std::fmt::Debug for ProtobufSerializer<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProtobufSerializer")
            .field("message", &self.descriptor.full_name())
            .field("config", &self.core.config)
            .finish_non_exhaustive()
    }
}

impl<M: ReflectMessage + Default> ProtobufSerializer<M> {
    /// A serializer for a generated message type.
    pub fn new(client: SchemaRegistryClient, config: SerializerConfig) -> Self {
        Self::with_descriptor(client, M::default().descriptor(), config)
    }
}

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl<M> ProtobufSerializer<M> {
    /// A serializer for messages of `descriptor` (what `DynamicMessage` needs).
    pub fn with_descriptor(
        client: SchemaRegistryClient,
        descriptor: MessageDescriptor,
        config: SerializerConfig,
    ) -> Self {
        ProtobufSerializer {
            core: SerializerCore::new(client, config),
            descriptor,
            local: OnceCell::new(),
            _m: PhantomData,
        }
    }

    /// The message type written.
    pub fn descriptor(&self) -> &MessageDescriptor {
        &self.descriptor
    }

    /// The schema of `file`, with its imports registered (or looked up) as references.
    fn file_schema<'a>(&'a self, file: FileDescriptor, depth: usize) -> BoxFut<'a, Result<Schema>> {
        Box::pin(async move {
            if depth > 32 {
                return Err(SerdeError::schema("protobuf", "imports nested too deeply"));
            }
            let mut schema = Schema::protobuf(file_schema_text(&file));
            let c = &self.core.config;
            let client = self.core.store.client();
            for dep in file.dependencies() {
                let name = dep.name().to_string();
                if is_builtin(&name) {
                    continue;
                }
                let dep_schema = self.file_schema(dep, depth + 1).await?;
                let version = if c.auto_register_schemas {
                    let r = client
                        .register(&name, &dep_schema, c.normalize_schemas)
                        .await?;
                    match r.version {
                        Some(v) => v,
                        None => {
                            client
                                .lookup(&name, &dep_schema, c.normalize_schemas, false)
                                .await?
                                .version
                        }
                    }
                } else {
                    client
                        .lookup(&name, &dep_schema, c.normalize_schemas, false)
                        .await?
                        .version
                };
                schema = schema.with_reference(SchemaReference::new(&name, &name, version));
            }
            Ok(schema)
        })
    }

    async fn resolved(&self, topic: &str, is_key: bool) -> Result<Arc<Resolved>> {
        if let Some(r) = self.core.cached(topic, is_key) {
            return Ok(r);
        }
        Box::pin(async move {
            let local = self
                .local
                .get_or_try_init(|| self.file_schema(self.descriptor.parent_file(), 0))
                .await?;
            let name = self.descriptor.full_name();
            self.core
                .resolve(topic, is_key, local, Some(name), Some(name))
                .await
        })
        .await
    }
}

fn encode_into<M: Message>(
    r: &Resolved,
    value: &M,
    is_key: bool,
    location: record::IdLocation,
) -> Result<SerializedRecord> {
    let len = value.encoded_len();
    record::frame_resolved(r, is_key, location, len, |out| {
        // The buffer was sized with `encoded_len`; `encode` would compute it a second time.
        out.reserve(len);
        value.encode_raw(out);
        Ok(())
    })
}

impl<M: Message> ProtobufSerializer<M> {
    /// Serializes `value` as `topic`'s key or value: message indexes and the message bytes
    /// behind the prefix, or in a GUID header.
    pub async fn serialize(
        &self,
        topic: &str,
        is_key: bool,
        value: &M,
    ) -> Result<SerializedRecord> {
        let loc = self.core.config.id_location;
        if let Some(r) = self
            .core
            .with_cached(topic, is_key, |r| encode_into(r, value, is_key, loc))
        {
            return r;
        }
        let r = self.resolved(topic, is_key).await?;
        encode_into(&r, value, is_key, self.core.config.id_location)
    }

    /// Serializes without awaiting once the topic's schema is known; `None` before.
    pub fn serialize_cached(
        &self,
        topic: &str,
        is_key: bool,
        value: &M,
    ) -> Option<Result<SerializedRecord>> {
        let loc = self.core.config.id_location;
        self.core
            .with_cached(topic, is_key, |r| encode_into(r, value, is_key, loc))
    }
}

/// Reads `M` from Protobuf records. `Send + Sync`.
#[derive(Debug)]
pub struct ProtobufDeserializer<M> {
    core: DeserializerCore,
    _m: PhantomData<fn() -> M>,
}

impl<M: Message + Default> ProtobufDeserializer<M> {
    /// A deserializer for a generated message type.
    pub fn new(client: SchemaRegistryClient, config: DeserializerConfig) -> Self {
        ProtobufDeserializer {
            core: DeserializerCore::new(client, config),
            _m: PhantomData,
        }
    }

    /// Reads a key or value of `topic`: the message indexes must name a message of the writer
    /// schema; the bytes are then decoded as `M`.
    pub async fn deserialize<H: RecordHeaders + ?Sized>(
        &self,
        _topic: &str,
        is_key: bool,
        bytes: &[u8],
        headers: &H,
    ) -> Result<M> {
        let (writer, loc) = self.core.writer(bytes, headers, is_key).await?;
        let Compiled::Protobuf(p) = &writer.format else {
            return Err(wrong(&writer));
        };
        let (indexes, body) = record::protobuf_indexes(&loc)?;
        if !p.has_message_at(&indexes) {
            return Err(SerdeError::Deserialize(format!(
                "message indexes {indexes:?} name no message of schema id {}",
                writer.id.unwrap_or(-1)
            )));
        }
        M::decode(body).map_err(|e| SerdeError::Deserialize(e.to_string()))
    }
}

fn wrong(writer: &crate::schemas::CompiledSchema) -> SerdeError {
    SerdeError::WrongFormat {
        id: writer.id.unwrap_or(-1),
        expected: crate::SchemaType::Protobuf,
        found: writer.schema_type(),
    }
}

/// Reads any Protobuf record as a `DynamicMessage` of the message its indexes name in its
/// writer schema. `Send + Sync`.
#[derive(Debug)]
pub struct ProtobufDynamicDeserializer {
    core: DeserializerCore,
}

impl ProtobufDynamicDeserializer {
    /// A dynamic deserializer.
    pub fn new(client: SchemaRegistryClient, config: DeserializerConfig) -> Self {
        ProtobufDynamicDeserializer {
            core: DeserializerCore::new(client, config),
        }
    }

    /// Reads a key or value of `topic`.
    pub async fn deserialize<H: RecordHeaders + ?Sized>(
        &self,
        _topic: &str,
        is_key: bool,
        bytes: &[u8],
        headers: &H,
    ) -> Result<DynamicMessage> {
        let (writer, loc) = self.core.writer(bytes, headers, is_key).await?;
        let Compiled::Protobuf(p) = &writer.format else {
            return Err(wrong(&writer));
        };
        let (indexes, body) = record::protobuf_indexes(&loc)?;
        let desc = p
            .message_name(&indexes)
            .and_then(|n| p.message_descriptor(&n))
            .ok_or_else(|| {
                SerdeError::Deserialize(format!("message indexes {indexes:?} name no message"))
            })?;
        DynamicMessage::decode(desc, body).map_err(|e| SerdeError::Deserialize(e.to_string()))
    }
}
