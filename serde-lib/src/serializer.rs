//! What every typed serializer shares: its configuration (Confluent's option names and
//! meanings) and how it finds the schema id to write with, once per topic.
//!
//! The decision order is Confluent's (`AbstractKafkaSchemaSerDe`):
//!
//! 1. `auto_register_schemas` (default on): register the serializer's schema under the
//!    subject (`POST /subjects/{s}/versions`, with `normalize` when `normalize_schemas`) and
//!    use the id the registry answers (the same id when already registered);
//! 2. else `use_schema_id`: that id;
//! 3. else `use_latest_with_metadata`: the subject's latest version whose metadata
//!    properties carry the given pairs (`GET /subjects/{s}/metadata`), re-read after the
//!    client's `latest_ttl`;
//! 4. else `use_latest_version`: the subject's latest version, re-read after the client's
//!    `latest_ttl` (the value is then written with *that* schema, as in Confluent);
//! 5. else look the schema up (`POST /subjects/{s}`) and fail if it is not registered.
//!
//! The answer is remembered per topic and key/value side (except with the two "latest"
//! options, which ask the client's TTL cache each time), so the hot path is a map lookup, framing and
//! the codec; [`Resolved`] carries the compiled schema and, for Protobuf, the message indexes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use crate::client::{Schema, SchemaRegistryClient};
use crate::error::{Result, SerdeError};
use crate::record::IdLocation;
use crate::schemas::{Compiled, CompiledSchema, SchemaStore};
use crate::strategy::{SubjectNameStrategy, TopicNameStrategy};

/// Options of the typed serializers, named after Confluent's.
///
/// ```
/// use charter_serde::serializer::SerializerConfig;
/// use charter_serde::record::IdLocation;
/// let c = SerializerConfig::default();
/// assert!(c.auto_register_schemas && !c.use_latest_version && !c.normalize_schemas);
/// assert_eq!(c.id_location, IdLocation::Prefix);
/// let c = SerializerConfig::default().auto_register_schemas(false).use_latest_version(true);
/// assert!(c.use_latest_version);
/// ```
#[derive(Clone)]
pub struct SerializerConfig {
    /// `auto.register.schemas` (default `true`): register the schema if it is not there.
    pub auto_register_schemas: bool,
    /// `use.schema.id`: write with this id (when not auto-registering).
    pub use_schema_id: Option<i32>,
    /// `use.latest.with.metadata` (default none): write with the subject's latest version
    /// whose metadata properties carry all these `(key, value)` pairs (when not
    /// auto-registering and no `use_schema_id`).
    pub use_latest_with_metadata: Option<Vec<(String, String)>>,
    /// `use.latest.version` (default `false`): write with the subject's latest version (when
    /// not auto-registering).
    pub use_latest_version: bool,
    /// `normalize.schemas` (default `false`): ask the registry to normalize the schema when
    /// registering or looking it up.
    pub normalize_schemas: bool,
    /// `key/value.subject.name.strategy` (default TopicName).
    pub subject_name_strategy: Arc<dyn SubjectNameStrategy>,
    /// `key/value.schema.id.serializer`: prefix (default) or GUID header.
    pub id_location: IdLocation,
}

impl std::fmt::Debug for SerializerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerializerConfig")
            .field("auto_register_schemas", &self.auto_register_schemas)
            .field("use_schema_id", &self.use_schema_id)
            .field("use_latest_with_metadata", &self.use_latest_with_metadata)
            .field("use_latest_version", &self.use_latest_version)
            .field("normalize_schemas", &self.normalize_schemas)
            .field("id_location", &self.id_location)
            .finish_non_exhaustive()
    }
}

impl Default for SerializerConfig {
    fn default() -> Self {
        SerializerConfig {
            auto_register_schemas: true,
            use_schema_id: None,
            use_latest_with_metadata: None,
            use_latest_version: false,
            normalize_schemas: false,
            subject_name_strategy: Arc::new(TopicNameStrategy),
            id_location: IdLocation::Prefix,
        }
    }
}

impl SerializerConfig {
    /// Sets `auto_register_schemas`.
    pub fn auto_register_schemas(mut self, on: bool) -> Self {
        self.auto_register_schemas = on;
        self
    }
    /// Sets `use_schema_id`.
    pub fn use_schema_id(mut self, id: Option<i32>) -> Self {
        self.use_schema_id = id;
        self
    }
    /// Sets `use_latest_with_metadata`.
    pub fn use_latest_with_metadata(mut self, pairs: Option<Vec<(String, String)>>) -> Self {
        self.use_latest_with_metadata = pairs;
        self
    }
    /// Sets `use_latest_version`.
    pub fn use_latest_version(mut self, on: bool) -> Self {
        self.use_latest_version = on;
        self
    }
    /// Sets `normalize_schemas`.
    pub fn normalize_schemas(mut self, on: bool) -> Self {
        self.normalize_schemas = on;
        self
    }
    /// Sets the subject name strategy.
    pub fn subject_name_strategy(mut self, s: Arc<dyn SubjectNameStrategy>) -> Self {
        self.subject_name_strategy = s;
        self
    }
    /// Sets where the schema identifier goes.
    pub fn id_location(mut self, l: IdLocation) -> Self {
        self.id_location = l;
        self
    }
}

/// The schema a serializer writes a topic's keys or values with.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The registered schema, compiled.
    pub schema: Arc<CompiledSchema>,
    /// The Protobuf message indexes of the serializer's message type in that schema.
    pub indexes: Option<Vec<i32>>,
    /// The identifier bytes, written once here rather than per record: for
    /// [`IdLocation::Prefix`] what precedes the body (magic byte, id, message indexes), for
    /// [`IdLocation::Header`] the id header's value. `None` when the schema lacks the id or
    /// GUID that location needs (framing then reports it per record).
    pub(crate) framing: Option<(IdLocation, Vec<u8>)>,
}

impl Resolved {
    fn new(schema: Arc<CompiledSchema>, indexes: Option<Vec<i32>>, location: IdLocation) -> Self {
        let mut bytes = Vec::with_capacity(crate::wire::PREFIX_LEN + 16 + 8);
        let known = match location {
            IdLocation::Prefix => schema
                .id
                .map(|id| crate::wire::write_prefix(&mut bytes, id)),
            IdLocation::Header => schema.guid.map(|g| crate::wire::write_guid(&mut bytes, &g)),
        };
        if let Some(ix) = &indexes {
            crate::wire::write_message_indexes(&mut bytes, ix);
        }
        Resolved {
            schema,
            indexes,
            framing: known.map(|()| (location, bytes)),
        }
    }
}

/// FNV-1a: topic names are chosen by the application, not by the network, so a fast
/// non-keyed hash is safe here (SipHash was a measurable share of a Protobuf encode).
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// How large a serializer's next payload will probably be: the size of the records it wrote
/// lately, so that the output buffer is allocated once instead of grown two or three times
/// (Avro and JSON cannot size a value without writing it).
///
/// Stored only when a record outgrows the hint or is under half of it, so a steady stream of
/// similar records never writes the shared word, and one huge record costs at most one
/// oversized allocation after it.
#[derive(Debug)]
pub(crate) struct SizeHint(AtomicUsize);

impl SizeHint {
    fn new() -> Self {
        SizeHint(AtomicUsize::new(64))
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    pub fn observe(&self, len: usize) {
        let hint = self.get();
        if len > hint || len < hint / 2 {
            self.0.store(len, Ordering::Relaxed);
        }
    }
}

type TopicMap = HashMap<String, Arc<Resolved>, std::hash::BuildHasherDefault<Fnv>>;

/// The shared part of the typed serializers.
pub(crate) struct SerializerCore {
    pub store: SchemaStore,
    pub config: SerializerConfig,
    /// The expected payload size (Avro and JSON).
    pub size_hint: SizeHint,
    /// Per side (value, key): topic → resolved schema.
    resolved: [RwLock<TopicMap>; 2],
    /// Per side: the first topic resolved, readable without a lock (most serializers write
    /// one topic; this keeps the lock and the hash off their per-record path).
    first: [OnceLock<(String, Arc<Resolved>)>; 2],
}

impl std::fmt::Debug for SerializerCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerializerCore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SerializerCore {
    pub fn new(client: SchemaRegistryClient, config: SerializerConfig) -> Self {
        Self::with_store(SchemaStore::new(client), config)
    }

    pub fn with_store(store: SchemaStore, config: SerializerConfig) -> Self {
        SerializerCore {
            store,
            config,
            size_hint: SizeHint::new(),
            resolved: [RwLock::default(), RwLock::default()],
            first: [OnceLock::new(), OnceLock::new()],
        }
    }

    /// Whether the decision order ends at one of the "latest" options (TTL-bound answers).
    fn uses_latest(&self) -> bool {
        let c = &self.config;
        !c.auto_register_schemas
            && c.use_schema_id.is_none()
            && (c.use_latest_with_metadata.is_some() || c.use_latest_version)
    }

    /// Runs `f` on the remembered schema of `topic`'s keys or values, without cloning it and
    /// without any registry call: the per-record path. `None` when not remembered.
    pub fn with_cached<R>(
        &self,
        topic: &str,
        is_key: bool,
        f: impl FnOnce(&Resolved) -> R,
    ) -> Option<R> {
        if self.uses_latest() {
            return None;
        }
        let side = usize::from(is_key);
        if let Some((t, r)) = self.first[side].get() {
            if t == topic {
                return Some(f(r));
            }
        }
        let m = self.resolved[side]
            .read()
            .unwrap_or_else(|p| p.into_inner());
        m.get(topic).map(|r| f(r))
    }

    /// The remembered schema of `topic`'s keys or values, without any registry call.
    pub fn cached(&self, topic: &str, is_key: bool) -> Option<Arc<Resolved>> {
        if self.uses_latest() {
            return None;
        }
        let m = self.resolved[usize::from(is_key)]
            .read()
            .unwrap_or_else(|p| p.into_inner());
        m.get(topic).cloned()
    }

    /// The schema to write `topic`'s keys or values with (see the [module docs](self)).
    /// `local` is the serializer's own schema, `record_name` its full name (for record-name
    /// strategies), `message` the Protobuf message whose indexes to find.
    pub async fn resolve(
        &self,
        topic: &str,
        is_key: bool,
        local: &Schema,
        record_name: Option<&str>,
        message: Option<&str>,
    ) -> Result<Arc<Resolved>> {
        if let Some(r) = self.cached(topic, is_key) {
            return Ok(r);
        }
        // Boxed: registry calls make a large future that the per-record path should not carry.
        Box::pin(self.resolve_uncached(topic, is_key, local, record_name, message)).await
    }

    async fn resolve_uncached(
        &self,
        topic: &str,
        is_key: bool,
        local: &Schema,
        record_name: Option<&str>,
        message: Option<&str>,
    ) -> Result<Arc<Resolved>> {
        let c = &self.config;
        let subject = c
            .subject_name_strategy
            .subject(topic, is_key, record_name)
            .ok_or_else(|| SerdeError::Subject {
                topic: topic.to_string(),
                reason: "the strategy needs the schema's record name and it has none".into(),
            })?;
        let client = self.store.client();
        let latest = self.uses_latest();
        let (id, guid) = if c.auto_register_schemas {
            let r = client
                .register(&subject, local, c.normalize_schemas)
                .await?;
            (r.id, r.guid.clone())
        } else if let Some(id) = c.use_schema_id {
            (id, None)
        } else if let Some(pairs) = &c.use_latest_with_metadata {
            let m = client.latest_with_metadata(&subject, pairs).await?;
            (m.id, m.guid.clone())
        } else if latest {
            let m = client.latest_version(&subject).await?;
            (m.id, m.guid.clone())
        } else {
            let m = client
                .lookup(&subject, local, c.normalize_schemas, false)
                .await?;
            (m.id, m.guid.clone())
        };
        let mut schema = self.store.by_id(id).await?;
        if schema.guid.is_none() {
            if let Some(g) = guid.as_deref().and_then(crate::schemas::parse_guid) {
                let mut with = (*schema).clone();
                with.guid = Some(g);
                schema = Arc::new(with);
            }
        }
        let indexes = match (&schema.format, message) {
            (Compiled::Protobuf(p), Some(m)) => Some(p.message_indexes(m).ok_or_else(|| {
                SerdeError::Serialize(format!(
                    "schema id {id} (subject {subject}) does not define message '{m}'"
                ))
            })?),
            (Compiled::Protobuf(_), None) => Some(vec![0]),
            _ => None,
        };
        let r = Arc::new(Resolved::new(schema, indexes, c.id_location));
        if !latest {
            let mut m = self.resolved[usize::from(is_key)]
                .write()
                .unwrap_or_else(|p| p.into_inner());
            m.insert(topic.to_string(), r.clone());
            // Only the first topic of a side gets the lock-free slot; later ones use the map.
            let _ = self.first[usize::from(is_key)].set((topic.to_string(), r.clone()));
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::SizeHint;

    #[test]
    fn the_size_hint_follows_records_without_churn() {
        let h = SizeHint::new();
        assert_eq!(h.get(), 64);
        h.observe(100);
        assert_eq!(h.get(), 100, "grows to a larger record");
        h.observe(80);
        assert_eq!(h.get(), 100, "similar records leave it alone");
        h.observe(10_000_000);
        assert_eq!(h.get(), 10_000_000);
        h.observe(100);
        assert_eq!(
            h.get(),
            100,
            "one huge record costs one oversized buffer, not more"
        );
    }
}
