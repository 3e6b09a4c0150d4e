//! Any bytes as the JSON body of every registry endpoint that reads one, through the real
//! router (extractors, Confluent's leniency, schema parsing, compatibility checks and the
//! registry's operations) over a registry in a temporary directory.
//!
//! Beyond "no panic": invariant 4 says client mistakes are never 5xx, so any 5xx answer to a
//! body is a finding.
#![no_main]

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Method, Request};
use axum::Router;
use charter_registry::{ApiOptions, Registry};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

/// (method, path) of the endpoints with JSON request bodies; the input's first byte picks one.
const ENDPOINTS: &[(&str, &str)] = &[
    ("POST", "/subjects/fuzz-value/versions"),
    ("POST", "/subjects/fuzz-value/versions?normalize=true"),
    ("POST", "/subjects/fuzz-value"),
    ("POST", "/subjects/fuzz-value?deleted=true"),
    ("POST", "/compatibility/subjects/fuzz-value/versions/latest?verbose=true"),
    ("POST", "/compatibility/subjects/fuzz-value/versions"),
    ("PUT", "/config"),
    ("PUT", "/config/fuzz-value"),
    ("PUT", "/mode/fuzz-value"),
    ("POST", "/subjects/other-value/versions"),
];

struct Harness {
    rt: tokio::runtime::Runtime,
    app: Router,
    _dir: tempfile::TempDir,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        // The store starts its group-commit task on the current runtime.
        let registry = {
            let _guard = rt.enter();
            Arc::new(Registry::open(dir.path()).expect("registry"))
        };
        let app = charter_registry::api::router(registry, ApiOptions::default());
        Harness { rt, app, _dir: dir }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let (method, path) = ENDPOINTS[pick as usize % ENDPOINTS.len()];
    let h = harness();
    let req = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).expect("method"))
        .uri(path)
        .header("content-type", "application/vnd.schemaregistry.v1+json")
        .body(Body::from(body.to_vec()))
        .expect("request");
    let resp = h
        .rt
        .block_on(h.app.clone().oneshot(req))
        .expect("infallible");
    assert!(
        !resp.status().is_server_error(),
        "{method} {path} answered {} to a client's body",
        resp.status()
    );
});
