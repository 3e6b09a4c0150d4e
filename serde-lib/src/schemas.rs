//! Writer schemas by id and GUID, fetched from the registry with their references, parsed and
//! compiled once, then shared by every record that names them.
//!
//! The registry client already caches the schema *texts* by id; this store caches what is
//! expensive to build from a text (the Avro graph, the Protobuf descriptor pool, the JSON
//! Schema validator, the apache-avro codec), so that no message ever parses a schema. Ids and
//! GUIDs are immutable, so entries never expire; a full store forgets an arbitrary entry.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, RwLock};

use crate::avro::codec::Codec;
use crate::avro::{AvroSchema, ParseOptions};
use crate::client::{Schema, SchemaById, SchemaReference, SchemaRegistryClient, Version};
use crate::error::{Result, SerdeError};
use crate::json_schema::JsonSchema;
use crate::protobuf::ProtobufSchema;
use crate::wire::SchemaIdentifier;
use crate::SchemaType;

/// How deep reference chains may go (a guard against cycles the registry should not allow).
const MAX_REFERENCE_DEPTH: usize = 32;

/// A registered schema, parsed and ready to encode or decode with.
#[derive(Clone)]
pub struct CompiledSchema {
    /// The schema id (`None` only when a GUID lookup did not say).
    pub id: Option<i32>,
    /// The GUID, when the registry gave one.
    pub guid: Option<[u8; 16]>,
    /// The schema as registered (text, type, references).
    pub schema: Schema,
    /// The parsed form.
    pub format: Compiled,
    /// The apache-avro codec of an Avro schema, built on first typed use.
    avro_codec: Arc<OnceLock<std::result::Result<Codec, String>>>,
}

impl std::fmt::Debug for CompiledSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledSchema")
            .field("id", &self.id)
            .field("schema_type", &self.schema.schema_type)
            .finish_non_exhaustive()
    }
}

/// A parsed schema of one of the three formats.
#[derive(Debug, Clone)]
pub enum Compiled {
    /// Avro, with its references' named types.
    Avro(AvroSchema),
    /// Protobuf, compiled into a descriptor pool.
    Protobuf(ProtobufSchema),
    /// JSON Schema, with its validator built on first use.
    Json(JsonSchema),
}

impl CompiledSchema {
    /// Parses `schema` whose references' texts are `refs` (dependencies first).
    ///
    /// ```
    /// use charter_serde::client::Schema;
    /// use charter_serde::schemas::CompiledSchema;
    /// let s = CompiledSchema::compile(
    ///     Some(3),
    ///     None,
    ///     Schema::protobuf("syntax = \"proto3\"; package p; message A {} message B { message C {} }"),
    ///     &[],
    /// )?;
    /// assert_eq!(s.record_name(None).as_deref(), Some("p.A"));
    /// assert_eq!(s.record_name(Some("p.B.C")).as_deref(), Some("p.B.C"));
    /// assert!(CompiledSchema::compile(None, None, Schema::avro("{"), &[]).is_err());
    /// # Ok::<(), charter_serde::SerdeError>(())
    /// ```
    pub fn compile(
        id: Option<i32>,
        guid: Option<[u8; 16]>,
        schema: Schema,
        refs: &[(String, String)],
    ) -> Result<CompiledSchema> {
        let context = match id {
            Some(id) => format!("id {id}"),
            None => "given".to_string(),
        };
        let format = match schema.schema_type {
            SchemaType::Avro => {
                let texts: Vec<&str> = refs.iter().map(|(_, t)| t.as_str()).collect();
                let s = AvroSchema::parse(&schema.schema, &texts, ParseOptions { validate: false })
                    .map_err(|e| SerdeError::schema(&context, e))?;
                Compiled::Avro(s)
            }
            SchemaType::Protobuf => {
                let r: Vec<(&str, &str)> =
                    refs.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
                let s = ProtobufSchema::parse(&schema.schema, &r, false)
                    .map_err(|e| SerdeError::schema(&context, e))?;
                Compiled::Protobuf(s)
            }
            SchemaType::Json => {
                let r: Vec<(&str, &str)> =
                    refs.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
                let s = JsonSchema::parse(&schema.schema, &r, false)
                    .map_err(|e| SerdeError::schema(&context, e))?;
                Compiled::Json(s)
            }
        };
        Ok(CompiledSchema {
            id,
            guid,
            schema,
            format,
            avro_codec: Arc::default(),
        })
    }

    /// The format.
    pub fn schema_type(&self) -> SchemaType {
        self.schema.schema_type
    }

    /// The full name Confluent's record-name strategies use: the Avro named type, the first
    /// Protobuf message (or `message` when given), the JSON Schema `title`.
    pub fn record_name(&self, message: Option<&str>) -> Option<String> {
        use crate::strategy::record_name;
        match &self.format {
            Compiled::Avro(s) => record_name::avro(s),
            Compiled::Protobuf(s) => record_name::protobuf(s, message),
            Compiled::Json(s) => record_name::json(s),
        }
    }

    /// The apache-avro codec of an Avro schema (built on the first call, then shared).
    pub fn avro_codec(&self) -> Result<&Codec> {
        let Compiled::Avro(s) = &self.format else {
            return Err(SerdeError::WrongFormat {
                id: self.id.unwrap_or(-1),
                expected: SchemaType::Avro,
                found: self.schema_type(),
            });
        };
        self.avro_codec
            .get_or_init(|| Codec::new(&s.resolved()))
            .as_ref()
            .map_err(|e| SerdeError::schema(format!("id {}", self.id.unwrap_or(-1)), e))
    }

    /// The id, or an error naming the schema by GUID.
    pub(crate) fn require_id(&self) -> Result<i32> {
        self.id.ok_or_else(|| {
            SerdeError::schema("by GUID", "the registry did not say which id it has")
        })
    }
}

/// Parses a GUID as the registry prints it (`8f3c…-…`).
///
/// ```
/// use charter_serde::schemas::{format_guid, parse_guid};
/// let g = parse_guid("0f8e5c7a-1b2c-4d3e-8f90-a1b2c3d4e5f6").unwrap();
/// assert_eq!(g[0], 0x0f);
/// assert_eq!(format_guid(&g), "0f8e5c7a-1b2c-4d3e-8f90-a1b2c3d4e5f6");
/// assert!(parse_guid("nope").is_none());
/// ```
pub fn parse_guid(text: &str) -> Option<[u8; 16]> {
    uuid::Uuid::parse_str(text.trim())
        .ok()
        .map(|u| *u.as_bytes())
}

/// Formats a GUID as the registry prints it.
pub fn format_guid(guid: &[u8; 16]) -> String {
    uuid::Uuid::from_bytes(*guid).to_string()
}

/// Compiled schemas by id and GUID, fetched through a registry client. Cheap to clone
/// (clones share the store); `Send + Sync`.
#[derive(Clone)]
pub struct SchemaStore {
    inner: Arc<StoreInner>,
}

struct StoreInner {
    client: SchemaRegistryClient,
    capacity: usize,
    by_id: RwLock<HashMap<i32, Arc<CompiledSchema>>>,
    by_guid: RwLock<HashMap<[u8; 16], Arc<CompiledSchema>>>,
}

impl std::fmt::Debug for SchemaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaStore")
            .field("client", &self.inner.client)
            .finish_non_exhaustive()
    }
}

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

fn bounded_insert<K: std::hash::Hash + Eq + Copy>(
    map: &RwLock<HashMap<K, Arc<CompiledSchema>>>,
    capacity: usize,
    key: K,
    value: Arc<CompiledSchema>,
) {
    let mut m = map.write().unwrap_or_else(|p| p.into_inner());
    if m.len() >= capacity.max(1) && !m.contains_key(&key) {
        if let Some(k) = m.keys().next().copied() {
            m.remove(&k);
        }
    }
    m.insert(key, value);
}

impl SchemaStore {
    /// A store over `client`, holding at most 1000 compiled schemas per key kind.
    pub fn new(client: SchemaRegistryClient) -> Self {
        Self::with_capacity(client, 1000)
    }

    /// A store holding at most `capacity` compiled schemas per key kind.
    pub fn with_capacity(client: SchemaRegistryClient, capacity: usize) -> Self {
        SchemaStore {
            inner: Arc::new(StoreInner {
                client,
                capacity,
                by_id: RwLock::new(HashMap::new()),
                by_guid: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// The registry client.
    pub fn client(&self) -> &SchemaRegistryClient {
        &self.inner.client
    }

    /// The compiled schema with `id`, if already in the store (no registry call, no await).
    pub fn cached(&self, id: i32) -> Option<Arc<CompiledSchema>> {
        let m = self.inner.by_id.read().unwrap_or_else(|p| p.into_inner());
        m.get(&id).cloned()
    }

    /// The compiled schema with `id`: from the store, or fetched (with its references),
    /// compiled and kept. An id the registry does not know is [`SerdeError::UnknownSchemaId`].
    pub async fn by_id(&self, id: i32) -> Result<Arc<CompiledSchema>> {
        if let Some(c) = self.cached(id) {
            return Ok(c);
        }
        // Boxed: the HTTP future is large, and callers' futures (every record's) should not
        // carry it inline.
        Box::pin(self.fetch_by_id(id)).await
    }

    async fn fetch_by_id(&self, id: i32) -> Result<Arc<CompiledSchema>> {
        let fetched = match self.inner.client.schema_by_id(id, None, None).await {
            Ok(f) => f,
            Err(e) if e.is_not_found() => return Err(SerdeError::UnknownSchemaId(id)),
            Err(e) => return Err(e.into()),
        };
        let c = Arc::new(self.compile_fetched(Some(id), &fetched).await?);
        bounded_insert(&self.inner.by_id, self.inner.capacity, id, c.clone());
        Ok(c)
    }

    /// The compiled schema with `guid` (header mode).
    pub async fn by_guid(&self, guid: &[u8; 16]) -> Result<Arc<CompiledSchema>> {
        {
            let m = self.inner.by_guid.read().unwrap_or_else(|p| p.into_inner());
            if let Some(c) = m.get(guid) {
                return Ok(c.clone());
            }
        }
        Box::pin(self.fetch_by_guid(guid)).await
    }

    async fn fetch_by_guid(&self, guid: &[u8; 16]) -> Result<Arc<CompiledSchema>> {
        let text = format_guid(guid);
        let fetched = match self.inner.client.schema_by_guid(&text).await {
            Ok(f) => f,
            Err(e) if e.is_not_found() => return Err(SerdeError::UnknownSchemaGuid(text)),
            Err(e) => return Err(e.into()),
        };
        // Share the compiled form with the id entry when the registry says the id.
        if let Some(c) = fetched.id.and_then(|id| self.cached(id)) {
            bounded_insert(&self.inner.by_guid, self.inner.capacity, *guid, c.clone());
            return Ok(c);
        }
        let mut c = self.compile_fetched(fetched.id, &fetched).await?;
        c.guid = Some(*guid);
        let c = Arc::new(c);
        bounded_insert(&self.inner.by_guid, self.inner.capacity, *guid, c.clone());
        if let Some(id) = c.id {
            bounded_insert(&self.inner.by_id, self.inner.capacity, id, c.clone());
        }
        Ok(c)
    }

    /// The compiled schema an identifier (from a prefix or a header) names.
    pub async fn by_identifier(&self, ident: SchemaIdentifier) -> Result<Arc<CompiledSchema>> {
        match ident {
            SchemaIdentifier::Id(id) => self.by_id(id).await,
            SchemaIdentifier::Guid(g) => self.by_guid(&g).await,
        }
    }

    async fn compile_fetched(&self, id: Option<i32>, f: &SchemaById) -> Result<CompiledSchema> {
        let refs = self.reference_texts(&f.references).await?;
        let guid = f.guid.as_deref().and_then(parse_guid);
        CompiledSchema::compile(id, guid, f.to_schema(), &refs)
    }

    /// The texts of `refs` and everything they reference, dependencies first, each once:
    /// `(reference name, schema text)`.
    pub async fn reference_texts(&self, refs: &[SchemaReference]) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        self.collect(refs, 0, &mut seen, &mut out).await?;
        Ok(out)
    }

    fn collect<'a>(
        &'a self,
        refs: &'a [SchemaReference],
        depth: usize,
        seen: &'a mut HashSet<String>,
        out: &'a mut Vec<(String, String)>,
    ) -> BoxFut<'a, Result<()>> {
        Box::pin(async move {
            if depth > MAX_REFERENCE_DEPTH {
                return Err(SerdeError::schema(
                    "references",
                    "reference chain too deep (a cycle?)",
                ));
            }
            for r in refs {
                if !seen.insert(r.name.clone()) {
                    continue;
                }
                let version = if r.version < 0 {
                    Version::Latest
                } else {
                    Version::Number(r.version)
                };
                let meta = self.inner.client.version(&r.subject, version, true).await?;
                self.collect(&meta.references, depth + 1, seen, out).await?;
                out.push((r.name.clone(), meta.schema.clone()));
            }
            Ok(())
        })
    }
}
