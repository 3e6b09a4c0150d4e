//! An async client for Confluent-compatible schema registries, with the caches a serializer
//! needs; [`blocking`] wraps it for programs without an async runtime.
//!
//! ```no_run
//! use charter_serde::client::{ClientConfig, Schema, SchemaRegistryClient};
//!
//! # async fn run() -> Result<(), charter_serde::client::Error> {
//! let client = SchemaRegistryClient::new(
//!     ClientConfig::new("http://sr1:8081,http://sr2:8081").basic_auth("key", "secret"),
//! )?;
//! let schema = Schema::avro(r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"}]}"#);
//! let registered = client.register("users-value", &schema, false).await?;
//! let fetched = client.schema_by_id(registered.id, None, None).await?; // served from cache from now on
//! let latest = client.latest_version("users-value").await?;
//! assert_eq!(latest.id, registered.id);
//! # let _ = fetched;
//! # Ok(())
//! # }
//! ```
//!
//! # Transport
//!
//! Several base URLs may be given (a comma-separated string or a list). A call tries them in
//! turn, starting with the one that answered last, and moves on after a connection error or a
//! retriable status (408, 429, 500, 502, 503, 504, as Confluent's Java and Python clients).
//! When every URL failed that way it sleeps — exponential back-off from
//! [`ClientConfig::retries_wait`] (default 1000 ms, doubled per round, capped at
//! [`ClientConfig::retries_max_wait`], full jitter) — and tries again, at most
//! [`ClientConfig::max_retries`] more times (default 2, as confluent-kafka-python). Other
//! statuses (404, 409, 422, 401, 403...) are returned at once as [`Error::Registry`].
//!
//! Requests carry `Content-Type: application/vnd.schemaregistry.v1+json`,
//! `Accept: application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json,
//! application/json` and `Confluent-Accept-Unknown-Properties: true`. Subjects are
//! percent-encoded as one path segment (`/` becomes `%2F`).
//!
//! Authentication: HTTP basic ([`ClientConfig::basic_auth`], or user info in a URL such as
//! `https://key:secret@host`), or a bearer token from a [`TokenProvider`], asked again when the
//! registry answers 401 (the request is then retried once). Confluent Cloud's
//! `target-sr-cluster` / `Confluent-Identity-Pool-Id` go in [`ClientConfig::header`]. TLS is
//! rustls with the webpki roots plus [`ClientConfig::ca_pem`] certificates, and optionally a
//! client certificate ([`ClientConfig::client_identity_pem`]).
//!
//! # Caches
//!
//! Keys follow Confluent's Java client (see the project's serde reference §1.6):
//!
//! | call | key | expiry |
//! |---|---|---|
//! | [`schema_by_id`](SchemaRegistryClient::schema_by_id) | id, subject hint, format | never (ids are immutable) |
//! | [`register`](SchemaRegistryClient::register) | subject, schema (text, type, references, metadata, rules), normalize | never |
//! | [`lookup`](SchemaRegistryClient::lookup) | subject, schema, normalize, deleted | never |
//! | [`version`](SchemaRegistryClient::version) | subject, version, deleted, format | never |
//! | [`latest_version`](SchemaRegistryClient::latest_version) | subject | [`ClientConfig::latest_ttl`], default 60 s |
//!
//! The subject is always part of the key: the same schema registered under two subjects has two
//! entries (a schema-only key handed out wrong ids in Confluent's client once, CSR #343).
//! Each cache holds at most [`ClientConfig::cache_capacity`] keys (default 1000), the oldest
//! being evicted. Concurrent misses on one key share a single request. Errors are never cached.
//! Lists, compatibility tests and config calls always go to the registry.
//!
//! The latest-version TTL: Confluent's Java serde (`latest.cache.ttl.sec`, default -1) and
//! confluent-kafka-python (`cache.latest.ttl.sec`, default unset) keep "latest" until evicted,
//! so a long-lived producer with `use.latest.version` never sees a new version. This client
//! defaults to 60 s; `latest_ttl(None)` restores their behaviour. When a refresh fails with a
//! retriable error (registry down) the expired answer is served instead
//! ([`ClientConfig::stale_on_error`], default on), so a registry outage does not fail reads
//! that were cached.
//!
//! Registering through this client forgets the subject's latest-version answer (Confluent's Java
//! client keeps it, CSR #4021). Deleting through this client forgets that subject's register, lookup, version and latest
//! entries. Deletions made by others are not seen by never-expiring entries (as in the
//! reference clients); [`SchemaRegistryClient::clear_caches`] forgets everything.

pub mod blocking;
mod cache;
mod error;
mod http;
mod types;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;

use cache::Cache;
pub use error::{is_retriable_status, Error, Result};
use http::{encode_segment, Req, Transport};
pub use http::{TokenFuture, TokenProvider, ACCEPT_ALL, CONTENT_TYPE_V1};
pub use types::{
    CompatibilityLevel, CompatibilityResult, ConfigUpdate, RegisteredSchema, Schema, SchemaById,
    SchemaMetadata, SchemaReference, ServerConfig, Version,
};

/// How to reach the registry and how much to cache.
///
/// Fields are public; the methods are shorthands for chaining.
///
/// ```
/// use std::time::Duration;
/// use charter_serde::client::ClientConfig;
///
/// let config = ClientConfig::new("http://a:8081, http://b:8081")
///     .max_retries(5)
///     .retries_wait(Duration::from_millis(200))
///     .latest_ttl(Some(Duration::from_secs(30)))
///     .header("target-sr-cluster", "lsrc-1234");
/// assert_eq!(config.urls, ["http://a:8081", "http://b:8081"]);
/// ```
#[derive(Clone)]
pub struct ClientConfig {
    /// Base URLs, tried in turn. They may contain a path, and user info for basic auth.
    pub urls: Vec<String>,
    /// HTTP basic credentials (`user`, `password`); take precedence over URL user info.
    pub basic_auth: Option<(String, String)>,
    /// A bearer-token source; takes precedence over basic auth.
    pub bearer: Option<Arc<dyn TokenProvider>>,
    /// Extra headers sent with every request.
    pub headers: Vec<(String, String)>,
    /// Extra rounds over the URLs after a round where all failed retriably (default 2).
    pub max_retries: u32,
    /// Initial back-off between rounds (default 1000 ms); doubled each round.
    pub retries_wait: Duration,
    /// Back-off cap (default 20 s).
    pub retries_max_wait: Duration,
    /// Timeout of a whole request (default 30 s).
    pub request_timeout: Duration,
    /// Connection timeout (default 10 s).
    pub connect_timeout: Duration,
    /// PEM certificates (one or more per entry) trusted in addition to the webpki roots.
    pub ca_certs_pem: Vec<Vec<u8>>,
    /// A PEM bundle holding a client certificate chain and its private key (mutual TLS).
    pub client_identity_pem: Option<Vec<u8>>,
    /// Accept any server certificate. For tests only.
    pub danger_accept_invalid_certs: bool,
    /// Capacity of each cache, in keys (default 1000).
    pub cache_capacity: usize,
    /// How long a latest-version answer is reused (default 60 s; `None` = until evicted).
    pub latest_ttl: Option<Duration>,
    /// Serve an expired latest-version answer when refreshing it fails retriably (default
    /// `true`).
    pub stale_on_error: bool,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("urls", &self.urls)
            .field(
                "basic_auth",
                &self.basic_auth.as_ref().map(|(u, _)| (u, "***")),
            )
            .field("bearer", &self.bearer.is_some())
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("max_retries", &self.max_retries)
            .field("retries_wait", &self.retries_wait)
            .field("retries_max_wait", &self.retries_max_wait)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("ca_certs_pem", &self.ca_certs_pem.len())
            .field("client_identity_pem", &self.client_identity_pem.is_some())
            .field("cache_capacity", &self.cache_capacity)
            .field("latest_ttl", &self.latest_ttl)
            .field("stale_on_error", &self.stale_on_error)
            .finish()
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            urls: Vec::new(),
            basic_auth: None,
            bearer: None,
            headers: Vec::new(),
            max_retries: 2,
            retries_wait: Duration::from_millis(1000),
            retries_max_wait: Duration::from_secs(20),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            ca_certs_pem: Vec::new(),
            client_identity_pem: None,
            danger_accept_invalid_certs: false,
            cache_capacity: 1000,
            latest_ttl: Some(Duration::from_secs(60)),
            stale_on_error: true,
        }
    }
}

impl ClientConfig {
    /// A configuration for `urls`, comma-separated (`"http://a:8081,http://b:8081"`).
    pub fn new(urls: &str) -> Self {
        Self::with_urls(urls.split(',').map(str::trim).filter(|s| !s.is_empty()))
    }

    /// A configuration for a list of URLs.
    pub fn with_urls<I, S>(urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ClientConfig {
            urls: urls.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }

    /// HTTP basic authentication (Confluent Cloud: API key and secret).
    pub fn basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.basic_auth = Some((user.into(), password.into()));
        self
    }

    /// Java's `basic.auth.user.info` form, `user:password`.
    pub fn basic_auth_user_info(self, user_info: &str) -> Self {
        let (u, p) = user_info.split_once(':').unwrap_or((user_info, ""));
        self.basic_auth(u, p)
    }

    /// A fixed bearer token.
    pub fn bearer_token(self, token: impl Into<String>) -> Self {
        let token = token.into();
        self.bearer_provider(Arc::new(move || token.clone()))
    }

    /// A bearer-token provider, asked at the first request and after every 401.
    pub fn bearer_provider(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.bearer = Some(provider);
        self
    }

    /// An extra header for every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// See [`ClientConfig::max_retries`](struct.ClientConfig.html#structfield.max_retries).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// See [`ClientConfig::retries_wait`](struct.ClientConfig.html#structfield.retries_wait).
    pub fn retries_wait(mut self, d: Duration) -> Self {
        self.retries_wait = d;
        self
    }

    /// See [`ClientConfig::retries_max_wait`](struct.ClientConfig.html#structfield.retries_max_wait).
    pub fn retries_max_wait(mut self, d: Duration) -> Self {
        self.retries_max_wait = d;
        self
    }

    /// Whole-request timeout.
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = d;
        self
    }

    /// Connection timeout.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Trusts the PEM certificate(s) in `pem`.
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_certs_pem.push(pem.into());
        self
    }

    /// Trusts the PEM certificate(s) in the file at `path`.
    pub fn ca_pem_file(self, path: impl AsRef<std::path::Path>) -> std::io::Result<Self> {
        Ok(self.ca_pem(std::fs::read(path)?))
    }

    /// A client certificate and key (PEM) for mutual TLS.
    pub fn client_identity_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.client_identity_pem = Some(pem.into());
        self
    }

    /// Cache capacity per cache, in keys.
    pub fn cache_capacity(mut self, n: usize) -> Self {
        self.cache_capacity = n;
        self
    }

    /// Latest-version TTL (`None`: until evicted).
    pub fn latest_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.latest_ttl = ttl;
        self
    }

    /// Whether to serve an expired latest version when the registry is unreachable.
    pub fn stale_on_error(mut self, on: bool) -> Self {
        self.stale_on_error = on;
        self
    }
}

type IdKey = (i32, Option<String>, Option<String>);
type SchemaKey = (String, bool, String);
type LookupKey = (String, bool, bool, String);
type VersionKey = (String, i32, bool, Option<String>);

struct Inner {
    transport: Transport,
    ids: Cache<IdKey, SchemaById>,
    guids: Cache<String, SchemaById>,
    registered: Cache<SchemaKey, RegisteredSchema>,
    lookups: Cache<LookupKey, SchemaMetadata>,
    versions: Cache<VersionKey, SchemaMetadata>,
    latest: Cache<String, SchemaMetadata>,
    latest_with_metadata: Cache<(String, Vec<(String, String)>), SchemaMetadata>,
}

/// The async registry client. Cheap to clone (clones share the connection pool and caches);
/// `Send + Sync`. Needs a Tokio runtime with the time driver.
#[derive(Clone)]
pub struct SchemaRegistryClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for SchemaRegistryClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemaRegistryClient")
            .field("urls", &self.inner.transport.base_urls())
            .finish_non_exhaustive()
    }
}

fn bool_str(b: bool) -> String {
    if b { "true" } else { "false" }.to_string()
}

fn subject_path(subject: &str) -> String {
    format!("/subjects/{}", encode_segment(subject))
}

impl SchemaRegistryClient {
    /// A client for `config`. Fails on an unusable configuration (no URL, a URL that does not
    /// parse, a bad certificate); does not contact the registry.
    pub fn new(config: ClientConfig) -> Result<Self> {
        let transport = Transport::new(&config)?;
        let cap = config.cache_capacity;
        let stale = config.stale_on_error;
        Ok(SchemaRegistryClient {
            inner: Arc::new(Inner {
                transport,
                ids: Cache::new(cap, None, stale),
                guids: Cache::new(cap, None, stale),
                registered: Cache::new(cap, None, stale),
                lookups: Cache::new(cap, None, stale),
                versions: Cache::new(cap, None, stale),
                latest: Cache::new(cap, config.latest_ttl, stale),
                latest_with_metadata: Cache::new(cap, config.latest_ttl, stale),
            }),
        })
    }

    /// The base URLs, normalized (user info and trailing `/` removed).
    pub fn base_urls(&self) -> &[String] {
        self.inner.transport.base_urls()
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: String,
        query: Vec<(&str, String)>,
        body: Option<String>,
    ) -> Result<T> {
        self.inner
            .transport
            .call(Req {
                method,
                path,
                query,
                body,
            })
            .await
    }

    fn body(schema: &Schema) -> String {
        // Serializing plain strings and maps cannot fail.
        serde_json::to_string(schema).unwrap_or_default()
    }

    /// Registers `schema` under `subject` (`POST /subjects/{s}/versions?normalize=`), or finds
    /// its id if it is already there. Cached by (subject, schema, normalize) forever.
    pub async fn register(
        &self,
        subject: &str,
        schema: &Schema,
        normalize: bool,
    ) -> Result<Arc<RegisteredSchema>> {
        let body = Self::body(schema);
        let key = (subject.to_string(), normalize, body);
        let fetched = std::sync::atomic::AtomicBool::new(false);
        let r = self
            .inner
            .registered
            .get_or_fetch(&key, || {
                fetched.store(true, std::sync::atomic::Ordering::Relaxed);
                self.call(
                    Method::POST,
                    format!("{}/versions", subject_path(subject)),
                    vec![("normalize", bool_str(normalize))],
                    Some(key.2.clone()),
                )
            })
            .await;
        if fetched.load(std::sync::atomic::Ordering::Relaxed) && r.is_ok() {
            // The registration may have created a new latest version (Confluent's Java client
            // keeps the stale one, CSR #4021).
            self.inner.latest.remove(&key.0);
        }
        r
    }

    /// Finds the version of `subject` holding `schema` (`POST /subjects/{s}`); 404/40403 if
    /// there is none. Cached by (subject, schema, normalize, deleted) forever.
    pub async fn lookup(
        &self,
        subject: &str,
        schema: &Schema,
        normalize: bool,
        deleted: bool,
    ) -> Result<Arc<SchemaMetadata>> {
        let body = Self::body(schema);
        let key = (subject.to_string(), normalize, deleted, body);
        self.inner
            .lookups
            .get_or_fetch(&key, || {
                self.call(
                    Method::POST,
                    subject_path(subject),
                    vec![
                        ("normalize", bool_str(normalize)),
                        ("deleted", bool_str(deleted)),
                    ],
                    Some(key.3.clone()),
                )
            })
            .await
    }

    /// The schema with id `id` (`GET /schemas/ids/{id}`). `subject` selects the context (and
    /// makes Confluent 8.x return subject and version); `format` asks for another text form
    /// (`serialized` for a Protobuf descriptor, `resolved` for Avro with references inlined).
    /// Cached forever: ids are immutable.
    pub async fn schema_by_id(
        &self,
        id: i32,
        subject: Option<&str>,
        format: Option<&str>,
    ) -> Result<Arc<SchemaById>> {
        let key = (id, subject.map(str::to_string), format.map(str::to_string));
        self.inner
            .ids
            .get_or_fetch(&key, || {
                let mut query = Vec::new();
                if let Some(s) = subject {
                    query.push(("subject", s.to_string()));
                }
                if let Some(f) = format {
                    query.push(("format", f.to_string()));
                }
                self.call(Method::GET, format!("/schemas/ids/{id}"), query, None)
            })
            .await
    }

    /// The schema with GUID `guid` (`GET /schemas/guids/{guid}`, Confluent 8.x; what header
    /// mode's `__value_schema_id` names). Cached forever: a GUID is a content hash.
    pub async fn schema_by_guid(&self, guid: &str) -> Result<Arc<SchemaById>> {
        let key = guid.to_ascii_lowercase();
        self.inner
            .guids
            .get_or_fetch(&key, || {
                self.call(
                    Method::GET,
                    format!("/schemas/guids/{}", encode_segment(&key)),
                    vec![],
                    None,
                )
            })
            .await
    }

    /// The latest (highest non-deleted) version of `subject`
    /// (`GET /subjects/{s}/versions/latest`), reused for [`ClientConfig::latest_ttl`].
    pub async fn latest_version(&self, subject: &str) -> Result<Arc<SchemaMetadata>> {
        let key = subject.to_string();
        let v = self
            .inner
            .latest
            .get_or_fetch(&key, || {
                self.call(
                    Method::GET,
                    format!("{}/versions/latest", subject_path(subject)),
                    vec![],
                    None,
                )
            })
            .await?;
        let vkey = (subject.to_string(), v.version, false, None);
        if self.inner.versions.peek(&vkey).is_none() {
            self.inner.versions.insert(vkey, v.clone());
        }
        Ok(v)
    }

    /// The latest version of `subject` whose metadata properties carry every `(key, value)`
    /// of `metadata` (`GET /subjects/{s}/metadata?key=..&value=..`, Confluent 7.4+), reused
    /// for [`ClientConfig::latest_ttl`] like [`latest_version`](Self::latest_version). No
    /// such version is a 404/40403 [`Error::Registry`].
    pub async fn latest_with_metadata(
        &self,
        subject: &str,
        metadata: &[(String, String)],
    ) -> Result<Arc<SchemaMetadata>> {
        let mut pairs = metadata.to_vec();
        pairs.sort();
        let key = (subject.to_string(), pairs);
        self.inner
            .latest_with_metadata
            .get_or_fetch(&key, || {
                let query = key
                    .1
                    .iter()
                    .flat_map(|(k, v)| [("key", k.clone()), ("value", v.clone())])
                    .collect();
                self.call(
                    Method::GET,
                    format!("{}/metadata", subject_path(subject)),
                    query,
                    None,
                )
            })
            .await
    }

    /// A version of `subject` (`GET /subjects/{s}/versions/{v}?deleted=`); `deleted` also
    /// finds soft-deleted versions. [`Version::Latest`] is [`latest_version`](Self::latest_version).
    /// Numbered versions are cached forever.
    pub async fn version(
        &self,
        subject: &str,
        version: Version,
        deleted: bool,
    ) -> Result<Arc<SchemaMetadata>> {
        self.version_formatted(subject, version, deleted, None)
            .await
    }

    /// [`version`](Self::version) with a `format` (`serialized` for Protobuf descriptors, as
    /// confluent-kafka-python asks for references).
    pub async fn version_formatted(
        &self,
        subject: &str,
        version: Version,
        deleted: bool,
        format: Option<&str>,
    ) -> Result<Arc<SchemaMetadata>> {
        let n = match version {
            Version::Latest if format.is_none() => return self.latest_version(subject).await,
            Version::Latest => -1,
            Version::Number(n) => n,
        };
        let fetch = || {
            let mut query = vec![("deleted", bool_str(deleted))];
            if let Some(f) = format {
                query.push(("format", f.to_string()));
            }
            self.call(
                Method::GET,
                format!("{}/versions/{version}", subject_path(subject)),
                query,
                None,
            )
        };
        if n < 0 {
            return fetch().await.map(Arc::new);
        }
        let key = (subject.to_string(), n, deleted, format.map(str::to_string));
        self.inner.versions.get_or_fetch(&key, fetch).await
    }

    /// The version numbers of `subject`, ascending (`GET /subjects/{s}/versions`). Not cached.
    pub async fn versions(&self, subject: &str, deleted: bool) -> Result<Vec<i32>> {
        self.call(
            Method::GET,
            format!("{}/versions", subject_path(subject)),
            vec![("deleted", bool_str(deleted))],
            None,
        )
        .await
    }

    /// The subjects, sorted (`GET /subjects`), optionally those starting with `prefix` and
    /// including soft-deleted ones. Not cached.
    pub async fn subjects(&self, prefix: Option<&str>, deleted: bool) -> Result<Vec<String>> {
        let mut query = vec![("deleted", bool_str(deleted))];
        if let Some(p) = prefix {
            query.push(("subjectPrefix", p.to_string()));
        }
        self.call(Method::GET, "/subjects".to_string(), query, None)
            .await
    }

    /// Tests `schema` against `version` of `subject`
    /// (`POST /compatibility/subjects/{s}/versions/{v}`), or against every version the
    /// subject's compatibility level involves when `version` is `None`
    /// (`POST /compatibility/subjects/{s}/versions`). `verbose` asks for the reasons. Not
    /// cached.
    pub async fn test_compatibility(
        &self,
        subject: &str,
        version: Option<Version>,
        schema: &Schema,
        verbose: bool,
    ) -> Result<CompatibilityResult> {
        let mut path = format!("/compatibility{}/versions", subject_path(subject));
        if let Some(v) = version {
            path = format!("{path}/{v}");
        }
        self.call(
            Method::POST,
            path,
            vec![("verbose", bool_str(verbose))],
            Some(Self::body(schema)),
        )
        .await
    }

    fn config_path(subject: Option<&str>) -> String {
        match subject {
            Some(s) => format!("/config/{}", encode_segment(s)),
            None => "/config".to_string(),
        }
    }

    /// The configuration of `subject`, or the global one (`GET /config[/{s}]`). Without
    /// `default_to_global`, a subject with no configuration of its own is 404/40408.
    pub async fn get_config(
        &self,
        subject: Option<&str>,
        default_to_global: bool,
    ) -> Result<ServerConfig> {
        let query = if subject.is_some() {
            vec![("defaultToGlobal", bool_str(default_to_global))]
        } else {
            vec![]
        };
        self.call(Method::GET, Self::config_path(subject), query, None)
            .await
    }

    /// Updates the configuration of `subject`, or the global one (`PUT /config[/{s}]`);
    /// returns the registry's echo.
    pub async fn set_config(
        &self,
        subject: Option<&str>,
        update: &ConfigUpdate,
    ) -> Result<ServerConfig> {
        let body = serde_json::to_string(update).unwrap_or_default();
        self.call(Method::PUT, Self::config_path(subject), vec![], Some(body))
            .await
    }

    /// Removes the configuration of `subject`, or resets the global one
    /// (`DELETE /config[/{s}]`); returns the previous configuration.
    pub async fn delete_config(&self, subject: Option<&str>) -> Result<ServerConfig> {
        self.call(Method::DELETE, Self::config_path(subject), vec![], None)
            .await
    }

    /// The effective compatibility level of `subject` (falling back to the global level), or
    /// the global level.
    pub async fn get_compatibility(&self, subject: Option<&str>) -> Result<CompatibilityLevel> {
        let c = self.get_config(subject, true).await?;
        c.compatibility_level.ok_or_else(|| Error::Decode {
            url: Self::config_path(subject),
            message: "no compatibilityLevel in the answer".into(),
        })
    }

    /// Sets the compatibility level of `subject`, or the global level.
    pub async fn set_compatibility(
        &self,
        subject: Option<&str>,
        level: CompatibilityLevel,
    ) -> Result<ServerConfig> {
        self.set_config(subject, &ConfigUpdate::compatibility(level))
            .await
    }

    /// Deletes `subject` (`DELETE /subjects/{s}[?permanent=true]`); a permanent delete needs a
    /// soft delete first. Returns the deleted versions and forgets the subject's cached
    /// entries.
    pub async fn delete_subject(&self, subject: &str, permanent: bool) -> Result<Vec<i32>> {
        let r = self
            .call(
                Method::DELETE,
                subject_path(subject),
                vec![("permanent", bool_str(permanent))],
                None,
            )
            .await;
        self.invalidate_subject(subject);
        r
    }

    /// Deletes a version of `subject` (`DELETE /subjects/{s}/versions/{v}[?permanent=true]`).
    /// Returns the deleted version number and forgets the subject's cached entries.
    pub async fn delete_version(
        &self,
        subject: &str,
        version: Version,
        permanent: bool,
    ) -> Result<i32> {
        let r = self
            .call(
                Method::DELETE,
                format!("{}/versions/{version}", subject_path(subject)),
                vec![("permanent", bool_str(permanent))],
                None,
            )
            .await;
        self.invalidate_subject(subject);
        r
    }

    /// Forgets the cached register, lookup, version and latest answers of `subject` (ids stay:
    /// they are immutable).
    pub fn invalidate_subject(&self, subject: &str) {
        self.inner.registered.retain(|k| k.0 != subject);
        self.inner.lookups.retain(|k| k.0 != subject);
        self.inner.versions.retain(|k| k.0 != subject);
        self.inner.latest.retain(|k| k != subject);
    }

    /// Forgets every cached answer.
    pub fn clear_caches(&self) {
        self.inner.ids.clear();
        self.inner.guids.clear();
        self.inner.registered.clear();
        self.inner.lookups.clear();
        self.inner.versions.clear();
        self.inner.latest.clear();
    }

    /// The id answer cached for (`id`, `subject`, `format`), without contacting the registry.
    /// For serializers that need a synchronous hot path after a first async call.
    pub fn cached_schema_by_id(
        &self,
        id: i32,
        subject: Option<&str>,
        format: Option<&str>,
    ) -> Option<Arc<SchemaById>> {
        self.inner
            .ids
            .peek(&(id, subject.map(str::to_string), format.map(str::to_string)))
    }

    /// The registration cached for (`subject`, `schema`, `normalize`), without contacting the
    /// registry.
    pub fn cached_registration(
        &self,
        subject: &str,
        schema: &Schema,
        normalize: bool,
    ) -> Option<Arc<RegisteredSchema>> {
        self.inner
            .registered
            .peek(&(subject.to_string(), normalize, Self::body(schema)))
    }
}
