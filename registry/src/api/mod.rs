//! The Confluent Schema Registry REST API over axum.
//!
//! Routing is plain axum; what makes it Confluent-compatible sits around it:
//! - trailing slashes are stripped before routing (the Java client posts to `…/versions/`);
//! - `Accept` is negotiated among Confluent's three JSON media types (406 if none fits), and
//!   every response carries the chosen type;
//! - every error, including unknown routes, wrong methods and framework rejections, is a
//!   `{"error_code", "message"}` body;
//! - subjects are single path segments, percent-decoded by axum, so `a%2Fb` is subject `a/b`.

pub mod auth;
mod compatibility;
mod config;
mod entities;
mod error;
mod extract;
mod negotiate;
mod schemas;
mod subjects;

use std::sync::Arc;

use axum::extract::Request;
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;

use crate::error::RegistryError;
use crate::registry::Registry;

pub use extract::BodyLimit;

/// Default bound on request bodies.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Confluent's REST `idle.timeout.ms` default (Jetty's).
pub const DEFAULT_HTTP_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Options of the HTTP API.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    pub max_body_bytes: usize,
    /// HTTP Basic authentication for every request; `None` lets everyone in.
    pub basic_auth: Option<Arc<auth::BasicAuth>>,
    /// How long a connection may take to deliver a request head, counted from the accept or
    /// from the previous response: bounds slow headers (slowloris) and idle keep-alive
    /// connections alike.
    pub http_idle_timeout: std::time::Duration,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            basic_auth: None,
            http_idle_timeout: DEFAULT_HTTP_IDLE_TIMEOUT,
        }
    }
}

/// Shared handler state.
pub type AppState = Arc<Registry>;

/// The complete REST API for `registry`.
pub fn router(registry: Arc<Registry>, opts: ApiOptions) -> Router {
    let routes = Router::new()
        .route("/", get(schemas::root).post(schemas::root))
        .route("/v1/metadata/id", get(schemas::cluster_id))
        .route("/v1/metadata/version", get(schemas::server_version))
        .route("/schemas", get(schemas::list))
        .route("/schemas/types", get(schemas::types))
        .route("/schemas/ids/{id}", get(schemas::by_id))
        .route("/schemas/ids/{id}/schema", get(schemas::by_id_raw))
        .route("/schemas/ids/{id}/subjects", get(schemas::id_subjects))
        .route("/schemas/ids/{id}/versions", get(schemas::id_versions))
        .route("/schemas/guids/{guid}", get(schemas::by_guid))
        .route("/subjects", get(subjects::list))
        .route(
            "/subjects/{subject}",
            post(subjects::lookup).delete(subjects::delete),
        )
        .route(
            "/subjects/{subject}/versions",
            get(subjects::versions).post(subjects::register),
        )
        .route(
            "/subjects/{subject}/metadata",
            get(subjects::latest_with_metadata),
        )
        .route(
            "/subjects/{subject}/versions/{version}",
            get(subjects::get_version).delete(subjects::delete_version),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(subjects::version_raw),
        )
        .route(
            "/subjects/{subject}/versions/{version}/referencedby",
            get(subjects::referenced_by),
        )
        .route(
            "/compatibility/subjects/{subject}/versions",
            post(compatibility::against_all),
        )
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(compatibility::against_version),
        )
        .route(
            "/config",
            get(config::get_global)
                .put(config::put_global)
                .delete(config::delete_global),
        )
        .route(
            "/config/{subject}",
            get(config::get_subject)
                .put(config::put_subject)
                .delete(config::delete_subject),
        )
        .route(
            "/mode",
            get(config::get_global_mode)
                .put(config::put_global_mode)
                .delete(config::delete_global_mode),
        )
        .route(
            "/mode/{subject}",
            get(config::get_subject_mode)
                .put(config::put_subject_mode)
                .delete(config::delete_subject_mode),
        )
        .fallback(|| async { RegistryError::NotFound })
        .method_not_allowed_fallback(|| async { RegistryError::MethodNotAllowed })
        .with_state(registry);

    let limit = BodyLimit(opts.max_body_bytes);
    // The outer router has no routes, so its layers run before the inner router matches.
    let app = Router::new()
        .fallback_service(routes)
        .layer(middleware::from_fn(negotiate::negotiate))
        .layer(middleware::map_request(
            move |mut req: Request| async move {
                req.extensions_mut().insert(limit);
                strip_trailing_slash(req)
            },
        ));
    // Outermost: as in Jetty, nothing is looked at before the caller is known.
    match opts.basic_auth {
        Some(users) => app.layer(middleware::from_fn(move |req, next| {
            auth::require(users.clone(), req, next)
        })),
        None => app,
    }
}

/// `/config/` routes like `/config`, as in Jersey.
fn strip_trailing_slash(mut req: Request) -> Request {
    let path = req.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let new = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_string(),
        };
        if let Ok(uri) = new.parse() {
            *req.uri_mut() = uri;
        }
    }
    req
}
