//! rdkafka integration (crate feature `rdkafka`): produce typed keys and values with a
//! `FutureProducer`, and decode a consumed message's key or value into a typed value, with the
//! schema id in the payload prefix or in a `__key_schema_id` / `__value_schema_id` header.
//!
//! Any of the typed serializers works ([`RecordSerializer`] is implemented by
//! [`AvroSerializer`], [`ProtobufSerializer`] and [`JsonSerializer`]; [`RecordDeserializer`] by
//! their deserializers). A `None` value is produced as a tombstone (null payload, as Confluent
//! does), and a null payload decodes to `None`.
//!
//! ```no_run
//! use std::time::Duration;
//! use charter_serde::avro_serde::{AvroDeserializer, AvroSerializer};
//! use charter_serde::client::{ClientConfig, SchemaRegistryClient};
//! use charter_serde::rdkafka::{produce, MessageExt};
//! use rdkafka::consumer::{Consumer, StreamConsumer};
//! use rdkafka::producer::FutureProducer;
//! use rdkafka::ClientConfig as KafkaConfig;
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct User { name: String }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let sr = SchemaRegistryClient::new(ClientConfig::new("http://localhost:8081"))?;
//! let schema = r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"}]}"#;
//! let ser = AvroSerializer::<User>::new(sr.clone(), schema, Default::default())?;
//! let producer: FutureProducer = KafkaConfig::new().set("bootstrap.servers", "localhost:9092").create()?;
//! let user = User { name: "ada".into() };
//! let (partition, offset) = produce(&producer, "users", None::<(&AvroSerializer<str>, &str)>,
//!     Some((&ser, &user)), Duration::from_secs(5)).await?;
//!
//! let consumer: StreamConsumer = KafkaConfig::new()
//!     .set("bootstrap.servers", "localhost:9092").set("group.id", "g").create()?;
//! consumer.subscribe(&["users"])?;
//! let de = AvroDeserializer::<User>::new(sr, Default::default());
//! let msg = consumer.recv().await?;
//! let user: Option<User> = msg.value_as(&de).await?;
//! # let _ = (partition, offset, user);
//! # Ok(())
//! # }
//! ```

use std::future::Future;
use std::time::Duration;

use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::avro_serde::{AvroDeserializer, AvroSerializer};
use crate::error::{Result, SerdeError};
use crate::json_serde::{JsonDeserializer, JsonSerializer};
use crate::protobuf_serde::{ProtobufDeserializer, ProtobufSerializer};
use crate::record::{RecordHeaders, SerializedRecord};

/// Writes values of `T` as framed keys or values (any typed serializer).
pub trait RecordSerializer<T: ?Sized>: Sync {
    /// Serializes `value` as `topic`'s key (`is_key`) or value.
    fn serialize_record(
        &self,
        topic: &str,
        is_key: bool,
        value: &T,
    ) -> impl Future<Output = Result<SerializedRecord>> + Send;
}

/// Reads values of `T` from framed keys or values (any typed deserializer).
pub trait RecordDeserializer<T>: Sync {
    /// Deserializes a key (`is_key`) or value of `topic` with the record's headers.
    fn deserialize_record(
        &self,
        topic: &str,
        is_key: bool,
        bytes: &[u8],
        headers: &(dyn RecordHeaders + Sync),
    ) -> impl Future<Output = Result<T>> + Send;
}

impl<T: Serialize + Sync + ?Sized> RecordSerializer<T> for AvroSerializer<T> {
    fn serialize_record(
        &self,
        topic: &str,
        is_key: bool,
        value: &T,
    ) -> impl Future<Output = Result<SerializedRecord>> + Send {
        self.serialize(topic, is_key, value)
    }
}

impl<T: Serialize + Sync + ?Sized> RecordSerializer<T> for JsonSerializer<T> {
    fn serialize_record(
        &self,
        topic: &str,
        is_key: bool,
        value: &T,
    ) -> impl Future<Output = Result<SerializedRecord>> + Send {
        self.serialize(topic, is_key, value)
    }
}

impl<M: prost::Message + Sync> RecordSerializer<M> for ProtobufSerializer<M> {
    fn serialize_record(
        &self,
        topic: &str,
        is_key: bool,
        value: &M,
    ) -> impl Future<Output = Result<SerializedRecord>> + Send {
        self.serialize(topic, is_key, value)
    }
}

impl<T: DeserializeOwned + Send> RecordDeserializer<T> for AvroDeserializer<T> {
    fn deserialize_record(
        &self,
        topic: &str,
        is_key: bool,
        bytes: &[u8],
        headers: &(dyn RecordHeaders + Sync),
    ) -> impl Future<Output = Result<T>> + Send {
        self.deserialize(topic, is_key, bytes, headers)
    }
}

impl<T: DeserializeOwned + Send> RecordDeserializer<T> for JsonDeserializer<T> {
    fn deserialize_record(
        &self,
        topic: &str,
        is_key: bool,
        bytes: &[u8],
        headers: &(dyn RecordHeaders + Sync),
    ) -> impl Future<Output = Result<T>> + Send {
        self.deserialize(topic, is_key, bytes, headers)
    }
}

impl<M: prost::Message + Default + Send> RecordDeserializer<M> for ProtobufDeserializer<M> {
    fn deserialize_record(
        &self,
        topic: &str,
        is_key: bool,
        bytes: &[u8],
        headers: &(dyn RecordHeaders + Sync),
    ) -> impl Future<Output = Result<M>> + Send {
        self.deserialize(topic, is_key, bytes, headers)
    }
}

/// The headers of a consumed message as [`RecordHeaders`].
pub struct MessageHeaders<'a, H: Headers>(pub Option<&'a H>);

impl<H: Headers + Sync> RecordHeaders for MessageHeaders<'_, H> {
    fn last_header(&self, name: &str) -> Option<&[u8]> {
        let h = self.0?;
        (0..h.count())
            .rev()
            .filter_map(|i| h.try_get(i))
            .find(|x| x.key == name)
            .and_then(|x| x.value)
    }
}

/// Serializes an optional key and an optional value (`None`: a tombstone) and produces them
/// to `topic` with `producer`, adding header-mode schema id headers. Returns the partition
/// and offset the broker acknowledged.
pub async fn produce<K, V, KS, VS>(
    producer: &FutureProducer,
    topic: &str,
    key: Option<(&KS, &K)>,
    value: Option<(&VS, &V)>,
    queue_timeout: Duration,
) -> Result<(i32, i64)>
where
    K: ?Sized,
    V: ?Sized,
    KS: RecordSerializer<K>,
    VS: RecordSerializer<V>,
{
    let key = match key {
        Some((s, k)) => Some(s.serialize_record(topic, true, k).await?),
        None => None,
    };
    let value = match value {
        Some((s, v)) => Some(s.serialize_record(topic, false, v).await?),
        None => None,
    };
    let mut headers = OwnedHeaders::new();
    for (name, bytes) in key
        .iter()
        .chain(value.iter())
        .flat_map(|r| r.headers.iter())
    {
        headers = headers.insert(Header {
            key: name,
            value: Some(bytes),
        });
    }
    let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).headers(headers);
    if let Some(k) = &key {
        record = record.key(&k.payload);
    }
    if let Some(v) = &value {
        record = record.payload(&v.payload);
    }
    // librdkafka copies key and payload when queueing, so they only live until `send` returns.
    producer
        .send(record, queue_timeout)
        .await
        .map(|d| (d.partition, d.offset))
        .map_err(|(e, _)| SerdeError::Kafka(e))
}

/// Decoding the key or value of a consumed message (`BorrowedMessage`, `OwnedMessage`).
pub trait MessageExt {
    /// The value, decoded by `de`; `None` for a tombstone (null payload).
    fn value_as<T, D: RecordDeserializer<T>>(
        &self,
        de: &D,
    ) -> impl Future<Output = Result<Option<T>>> + Send;

    /// The key, decoded by `de`; `None` for a null key.
    fn key_as<T, D: RecordDeserializer<T>>(
        &self,
        de: &D,
    ) -> impl Future<Output = Result<Option<T>>> + Send;
}

impl<M> MessageExt for M
where
    M: Message + Sync,
    M::Headers: Sync,
{
    fn value_as<T, D: RecordDeserializer<T>>(
        &self,
        de: &D,
    ) -> impl Future<Output = Result<Option<T>>> + Send {
        decode_part(self, de, false)
    }

    fn key_as<T, D: RecordDeserializer<T>>(
        &self,
        de: &D,
    ) -> impl Future<Output = Result<Option<T>>> + Send {
        decode_part(self, de, true)
    }
}

async fn decode_part<M, T, D>(msg: &M, de: &D, is_key: bool) -> Result<Option<T>>
where
    M: Message + Sync,
    M::Headers: Sync,
    D: RecordDeserializer<T>,
{
    let bytes = if is_key { msg.key() } else { msg.payload() };
    let Some(bytes) = bytes else {
        return Ok(None);
    };
    let headers = MessageHeaders(msg.headers());
    de.deserialize_record(msg.topic(), is_key, bytes, &headers)
        .await
        .map(Some)
}
