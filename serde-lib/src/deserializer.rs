//! What every typed deserializer shares: its configuration and how it finds the writer schema
//! of a record (header, else prefix; compiled once per id).

use std::sync::{Arc, OnceLock};

use crate::client::SchemaRegistryClient;
use crate::error::{Result, SerdeError};
use crate::record::{self, Located, RecordHeaders};
use crate::schemas::{CompiledSchema, SchemaStore};
use crate::strategy::{SubjectNameStrategy, TopicNameStrategy};
use crate::wire::SchemaIdentifier;

/// Options of the typed deserializers, named after Confluent's.
#[derive(Clone)]
pub struct DeserializerConfig {
    /// `use.latest.version` (default `false`): read Avro records as the subject's latest
    /// version (the reader schema), whatever version wrote them.
    pub use_latest_version: bool,
    /// `use.latest.with.metadata` (default none): read Avro records as the subject's latest
    /// version whose metadata properties carry these `(key, value)` pairs; wins over
    /// `use_latest_version`.
    pub use_latest_with_metadata: Option<Vec<(String, String)>>,
    /// The subject name strategy (used with `use_latest_version`).
    pub subject_name_strategy: Arc<dyn SubjectNameStrategy>,
    /// Validate JSON Schema payloads against the writer schema (default `false`, as
    /// Confluent's deserializers).
    pub validate: bool,
}

impl std::fmt::Debug for DeserializerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeserializerConfig")
            .field("use_latest_version", &self.use_latest_version)
            .field("use_latest_with_metadata", &self.use_latest_with_metadata)
            .field("validate", &self.validate)
            .finish_non_exhaustive()
    }
}

impl Default for DeserializerConfig {
    fn default() -> Self {
        DeserializerConfig {
            use_latest_version: false,
            use_latest_with_metadata: None,
            subject_name_strategy: Arc::new(TopicNameStrategy),
            validate: false,
        }
    }
}

impl DeserializerConfig {
    /// Sets `use_latest_version`.
    pub fn use_latest_version(mut self, on: bool) -> Self {
        self.use_latest_version = on;
        self
    }
    /// Sets `use_latest_with_metadata`.
    pub fn use_latest_with_metadata(mut self, pairs: Option<Vec<(String, String)>>) -> Self {
        self.use_latest_with_metadata = pairs;
        self
    }
    /// Sets the subject name strategy.
    pub fn subject_name_strategy(mut self, s: Arc<dyn SubjectNameStrategy>) -> Self {
        self.subject_name_strategy = s;
        self
    }
    /// Sets `validate`.
    pub fn validate(mut self, on: bool) -> Self {
        self.validate = on;
        self
    }
}

/// The shared part of the typed deserializers.
#[derive(Debug)]
pub(crate) struct DeserializerCore {
    pub store: SchemaStore,
    pub config: DeserializerConfig,
    /// The first schema id this deserializer met, readable without a lock or a reference
    /// count: a topic's records mostly share one writer schema, and the store's lookup (a
    /// read lock, a hash, an `Arc` clone) was a measurable share of a Protobuf decode.
    first: OnceLock<(i32, Arc<CompiledSchema>)>,
}

/// A writer schema, borrowed from the deserializer's first-id slot or shared from the store.
pub(crate) enum WriterSchema<'a> {
    Borrowed(&'a CompiledSchema),
    Shared(Arc<CompiledSchema>),
}

impl std::ops::Deref for WriterSchema<'_> {
    type Target = CompiledSchema;
    fn deref(&self) -> &CompiledSchema {
        match self {
            WriterSchema::Borrowed(s) => s,
            WriterSchema::Shared(s) => s,
        }
    }
}

impl DeserializerCore {
    pub fn new(client: SchemaRegistryClient, config: DeserializerConfig) -> Self {
        DeserializerCore {
            store: SchemaStore::new(client),
            config,
            first: OnceLock::new(),
        }
    }

    /// The writer schema of a record and where its payload is.
    pub async fn writer<'a, H: RecordHeaders + ?Sized>(
        &self,
        bytes: &'a [u8],
        headers: &'a H,
        is_key: bool,
    ) -> Result<(WriterSchema<'_>, Located<'a>)> {
        let loc = record::locate(bytes, headers, is_key)?;
        let schema = match loc.ident {
            SchemaIdentifier::Id(id) => {
                if let Some((first, s)) = self.first.get() {
                    if *first == id {
                        return Ok((WriterSchema::Borrowed(s), loc));
                    }
                }
                let s = match self.store.cached(id) {
                    Some(s) => s,
                    None => self.store.by_id(id).await?,
                };
                let _ = self.first.set((id, s.clone()));
                s
            }
            SchemaIdentifier::Guid(g) => self.store.by_guid(&g).await?,
        };
        Ok((WriterSchema::Shared(schema), loc))
    }

    /// The subject's latest version as a reader schema (`use_latest_version`).
    pub async fn latest(
        &self,
        topic: &str,
        is_key: bool,
        record_name: Option<&str>,
    ) -> Result<Arc<CompiledSchema>> {
        let subject = self
            .config
            .subject_name_strategy
            .subject(topic, is_key, record_name)
            .ok_or_else(|| SerdeError::Subject {
                topic: topic.to_string(),
                reason: "the strategy needs a record name and the writer schema has none".into(),
            })?;
        let store = &self.store;
        Box::pin(async move {
            let client = store.client();
            let m = match &self.config.use_latest_with_metadata {
                Some(pairs) => client.latest_with_metadata(&subject, pairs).await?,
                None => client.latest_version(&subject).await?,
            };
            store.by_id(m.id).await
        })
        .await
    }
}
