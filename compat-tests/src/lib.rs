//! Shared helpers for Charter's suites: an in-process registry on an ephemeral port with a
//! small JSON client, and the compatibility vectors.

use std::path::PathBuf;
use std::sync::Arc;

use charter_registry::{ApiOptions, Registry};
use serde_json::Value;
use tokio::sync::oneshot;

/// The content type Confluent clients send.
pub const CT: &str = "application/vnd.schemaregistry.v1+json";

/// A registry serving on `127.0.0.1:<ephemeral>` inside the test process, over a temporary
/// data directory.
pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    /// Starts a registry on a fresh data directory.
    pub async fn start() -> TestServer {
        Self::start_with(tempfile::tempdir().expect("tempdir"), ApiOptions::default()).await
    }

    /// Starts a registry on `dir` with `opts`.
    pub async fn start_with(dir: tempfile::TempDir, opts: ApiOptions) -> TestServer {
        let registry = Arc::new(Registry::open(dir.path()).expect("open registry"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            charter_registry::serve(listener, registry, opts, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        TestServer {
            base,
            client: reqwest::Client::new(),
            dir,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Stops the server and reopens the same data directory.
    pub async fn restart(mut self) -> TestServer {
        self.shutdown().await;
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"));
        TestServer::start_with(dir, ApiOptions::default()).await
    }

    /// Stops the server gracefully.
    pub async fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        // Let the store's flusher finish and release sled's lock.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    /// The data directory.
    pub fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Sends a request with an optional JSON body; returns the status and the body (JSON, or
    /// a JSON string when the body is not JSON).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut rb = self.client.request(m, format!("{}{}", self.base, path));
        if let Some(b) = body {
            rb = rb.header("Content-Type", CT).body(b.to_string());
        }
        let resp = rb.send().await.expect("send");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("PUT", path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.call("DELETE", path, None).await
    }

    /// Registers an Avro schema and returns its id, panicking on failure.
    pub async fn register(&self, subject: &str, schema: &str) -> i64 {
        let (s, v) = self
            .post(
                &format!("/subjects/{subject}/versions"),
                serde_json::json!({ "schema": schema }),
            )
            .await;
        assert_eq!(s, 200, "register {subject}: {v}");
        v["id"].as_i64().expect("id")
    }
}

/// Asserts a Confluent error body.
#[track_caller]
pub fn assert_error(got: (u16, Value), status: u16, code: i64) {
    assert_eq!(got.0, status, "status of {}", got.1);
    assert_eq!(
        got.1["error_code"].as_i64(),
        Some(code),
        "error_code of {}",
        got.1
    );
    assert!(got.1["message"].is_string(), "message in {}", got.1);
}

/// An Avro record schema with the given `(name, type)` fields.
pub fn record(name: &str, fields: &[(&str, &str)]) -> String {
    let fields: Vec<Value> = fields
        .iter()
        .map(|(n, t)| serde_json::json!({"name": n, "type": t}))
        .collect();
    serde_json::json!({"type": "record", "name": name, "fields": fields}).to_string()
}

/// The compatibility vectors (a copy of `../shared/compat-vectors/vectors.json`).
pub fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/vectors.json");
    let text = std::fs::read_to_string(path).expect("read compat-tests/vectors/vectors.json");
    serde_json::from_str(&text).expect("vectors.json is JSON")
}
