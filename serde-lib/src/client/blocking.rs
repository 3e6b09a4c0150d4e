//! A blocking facade over the async [`SchemaRegistryClient`](super::SchemaRegistryClient),
//! for programs without an async runtime.
//!
//! Calls run on a private single-worker Tokio runtime and the caller's thread waits on a
//! channel, so the facade also works when called from inside another Tokio runtime (it blocks
//! that thread, but does not panic as `reqwest::blocking` does there). The facade shares its
//! caches with [`client`](SchemaRegistryClient::client).
//!
//! ```no_run
//! use charter_serde::client::{blocking::SchemaRegistryClient, ClientConfig, Schema};
//!
//! let client = SchemaRegistryClient::new(ClientConfig::new("http://localhost:8081"))?;
//! let id = client.register("t-value", &Schema::avro(r#""string""#), false)?.id;
//! assert_eq!(client.schema_by_id(id, None, None)?.schema, r#""string""#);
//! # Ok::<(), charter_serde::client::Error>(())
//! ```

use std::future::Future;
use std::sync::Arc;

use super::{
    ClientConfig, CompatibilityLevel, CompatibilityResult, ConfigUpdate, Error, RegisteredSchema,
    Result, Schema, SchemaById, SchemaMetadata, ServerConfig, Version,
};

struct Rt(Option<tokio::runtime::Runtime>);

impl Drop for Rt {
    fn drop(&mut self) {
        // Dropping a runtime inside another runtime's context panics; this does not.
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// The blocking registry client. Cheap to clone; clones share the runtime and caches.
#[derive(Clone)]
pub struct SchemaRegistryClient {
    client: super::SchemaRegistryClient,
    rt: Arc<Rt>,
}

impl std::fmt::Debug for SchemaRegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("blocking::SchemaRegistryClient")
            .field(&self.client)
            .finish()
    }
}

impl SchemaRegistryClient {
    /// A client for `config` (see [`super::SchemaRegistryClient::new`]).
    pub fn new(config: ClientConfig) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("charter-sr-client")
            .enable_all()
            .build()
            .map_err(|e| Error::Runtime(e.to_string()))?;
        let client = {
            let _g = rt.enter();
            super::SchemaRegistryClient::new(config)?
        };
        Ok(SchemaRegistryClient {
            client,
            rt: Arc::new(Rt(Some(rt))),
        })
    }

    /// The async client underneath (same caches).
    pub fn client(&self) -> &super::SchemaRegistryClient {
        &self.client
    }

    fn run<T, F, Fut>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(super::SchemaRegistryClient) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let rt = self
            .rt
            .0
            .as_ref()
            .ok_or_else(|| Error::Runtime("runtime shut down".into()))?;
        let fut = f(self.client.clone());
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv()
            .map_err(|_| Error::Runtime("the call was abandoned".into()))?
    }

    /// Runs any future on the facade's runtime and waits for it: how the blocking wrappers of
    /// the serializers reuse this runtime. `None` if the runtime is gone or the task panicked.
    pub fn block_on<T, Fut>(&self, fut: Fut) -> Option<T>
    where
        T: Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
    {
        let rt = self.rt.0.as_ref()?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv().ok()
    }

    /// See [`super::SchemaRegistryClient::register`].
    pub fn register(
        &self,
        subject: &str,
        schema: &Schema,
        normalize: bool,
    ) -> Result<Arc<RegisteredSchema>> {
        let (s, sc) = (subject.to_string(), schema.clone());
        self.run(move |c| async move { c.register(&s, &sc, normalize).await })
    }

    /// See [`super::SchemaRegistryClient::lookup`].
    pub fn lookup(
        &self,
        subject: &str,
        schema: &Schema,
        normalize: bool,
        deleted: bool,
    ) -> Result<Arc<SchemaMetadata>> {
        let (s, sc) = (subject.to_string(), schema.clone());
        self.run(move |c| async move { c.lookup(&s, &sc, normalize, deleted).await })
    }

    /// See [`super::SchemaRegistryClient::schema_by_id`].
    pub fn schema_by_id(
        &self,
        id: i32,
        subject: Option<&str>,
        format: Option<&str>,
    ) -> Result<Arc<SchemaById>> {
        if let Some(v) = self.client.cached_schema_by_id(id, subject, format) {
            return Ok(v);
        }
        let (s, f) = (subject.map(str::to_string), format.map(str::to_string));
        self.run(move |c| async move { c.schema_by_id(id, s.as_deref(), f.as_deref()).await })
    }

    /// See [`super::SchemaRegistryClient::latest_version`].
    pub fn latest_version(&self, subject: &str) -> Result<Arc<SchemaMetadata>> {
        let s = subject.to_string();
        self.run(move |c| async move { c.latest_version(&s).await })
    }

    /// See [`super::SchemaRegistryClient::version`].
    pub fn version(
        &self,
        subject: &str,
        version: Version,
        deleted: bool,
    ) -> Result<Arc<SchemaMetadata>> {
        let s = subject.to_string();
        self.run(move |c| async move { c.version(&s, version, deleted).await })
    }

    /// See [`super::SchemaRegistryClient::version_formatted`].
    pub fn version_formatted(
        &self,
        subject: &str,
        version: Version,
        deleted: bool,
        format: Option<&str>,
    ) -> Result<Arc<SchemaMetadata>> {
        let (s, f) = (subject.to_string(), format.map(str::to_string));
        self.run(move |c| async move {
            c.version_formatted(&s, version, deleted, f.as_deref())
                .await
        })
    }

    /// See [`super::SchemaRegistryClient::versions`].
    pub fn versions(&self, subject: &str, deleted: bool) -> Result<Vec<i32>> {
        let s = subject.to_string();
        self.run(move |c| async move { c.versions(&s, deleted).await })
    }

    /// See [`super::SchemaRegistryClient::subjects`].
    pub fn subjects(&self, prefix: Option<&str>, deleted: bool) -> Result<Vec<String>> {
        let p = prefix.map(str::to_string);
        self.run(move |c| async move { c.subjects(p.as_deref(), deleted).await })
    }

    /// See [`super::SchemaRegistryClient::test_compatibility`].
    pub fn test_compatibility(
        &self,
        subject: &str,
        version: Option<Version>,
        schema: &Schema,
        verbose: bool,
    ) -> Result<CompatibilityResult> {
        let (s, sc) = (subject.to_string(), schema.clone());
        self.run(move |c| async move { c.test_compatibility(&s, version, &sc, verbose).await })
    }

    /// See [`super::SchemaRegistryClient::get_config`].
    pub fn get_config(
        &self,
        subject: Option<&str>,
        default_to_global: bool,
    ) -> Result<ServerConfig> {
        let s = subject.map(str::to_string);
        self.run(move |c| async move { c.get_config(s.as_deref(), default_to_global).await })
    }

    /// See [`super::SchemaRegistryClient::set_config`].
    pub fn set_config(&self, subject: Option<&str>, update: &ConfigUpdate) -> Result<ServerConfig> {
        let (s, u) = (subject.map(str::to_string), update.clone());
        self.run(move |c| async move { c.set_config(s.as_deref(), &u).await })
    }

    /// See [`super::SchemaRegistryClient::delete_config`].
    pub fn delete_config(&self, subject: Option<&str>) -> Result<ServerConfig> {
        let s = subject.map(str::to_string);
        self.run(move |c| async move { c.delete_config(s.as_deref()).await })
    }

    /// See [`super::SchemaRegistryClient::get_compatibility`].
    pub fn get_compatibility(&self, subject: Option<&str>) -> Result<CompatibilityLevel> {
        let s = subject.map(str::to_string);
        self.run(move |c| async move { c.get_compatibility(s.as_deref()).await })
    }

    /// See [`super::SchemaRegistryClient::set_compatibility`].
    pub fn set_compatibility(
        &self,
        subject: Option<&str>,
        level: CompatibilityLevel,
    ) -> Result<ServerConfig> {
        let s = subject.map(str::to_string);
        self.run(move |c| async move { c.set_compatibility(s.as_deref(), level).await })
    }

    /// See [`super::SchemaRegistryClient::delete_subject`].
    pub fn delete_subject(&self, subject: &str, permanent: bool) -> Result<Vec<i32>> {
        let s = subject.to_string();
        self.run(move |c| async move { c.delete_subject(&s, permanent).await })
    }

    /// See [`super::SchemaRegistryClient::delete_version`].
    pub fn delete_version(&self, subject: &str, version: Version, permanent: bool) -> Result<i32> {
        let s = subject.to_string();
        self.run(move |c| async move { c.delete_version(&s, version, permanent).await })
    }

    /// See [`super::SchemaRegistryClient::clear_caches`].
    pub fn clear_caches(&self) {
        self.client.clear_caches()
    }
}
