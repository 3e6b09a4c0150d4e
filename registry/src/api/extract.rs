//! Request parsing with Confluent's leniency: query parameters, JSON bodies, path segments.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::RegistryError;
use crate::registry::VersionSpec;

/// Request body types Confluent accepts (and no Content-Type at all).
const ACCEPTED_BODY_TYPES: &[&str] = &[
    "application/vnd.schemaregistry.v1+json",
    "application/vnd.schemaregistry+json",
    "application/json",
    "application/octet-stream",
];

/// Body size limit, set per server as a request extension by the router.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// Query parameters, with case-insensitive booleans (clients send `normalize=False`).
#[derive(Debug, Default)]
pub struct Params(HashMap<String, Vec<String>>);

impl Params {
    pub fn parse(query: Option<&str>) -> Params {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            map.entry(k.into_owned()).or_default().push(v.into_owned());
        }
        Params(map)
    }

    /// The first value of the first of `names` present.
    pub fn str(&self, names: &[&str]) -> Option<&str> {
        names
            .iter()
            .find_map(|n| self.0.get(*n).and_then(|v| v.first()))
            .map(String::as_str)
    }

    /// Every value of a repeatable parameter, in order.
    pub fn all(&self, name: &str) -> &[String] {
        self.0.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// `true` only for a case-insensitive `true`, as JAX-RS parses booleans.
    pub fn bool(&self, names: &[&str]) -> bool {
        self.str(names)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    /// An integer parameter; a malformed one is a 400 that says which.
    pub fn int(&self, name: &str) -> Result<Option<i64>, RegistryError> {
        match self.str(&[name]) {
            None => Ok(None),
            Some(v) if v.trim().is_empty() => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| {
                RegistryError::BadRequest(format!("Invalid value '{v}' for query parameter {name}"))
            }),
        }
    }

    /// Applies `offset`/`limit` to a list. `limit` ≤ 0 means `default_limit`; it is capped
    /// at `max_limit`.
    pub fn paginate<T>(
        &self,
        items: Vec<T>,
        default_limit: usize,
        max_limit: usize,
    ) -> Result<Vec<T>, RegistryError> {
        let offset = self.int("offset")?.unwrap_or(0).max(0) as usize;
        let limit = match self.int("limit")? {
            Some(l) if l > 0 => (l as usize).min(max_limit),
            _ => default_limit,
        };
        Ok(items.into_iter().skip(offset).take(limit).collect())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = RegistryError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Params::parse(parts.uri.query()))
    }
}

/// A JSON body checked the Confluent way: media type (415), size (413), syntax (400).
/// An empty body deserialises from `{}` where the target allows it.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = RegistryError;

    async fn from_request(req: Request<Body>, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(ct) = req.headers().get(CONTENT_TYPE) {
            let essence = ct
                .to_str()
                .unwrap_or("")
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if !ACCEPTED_BODY_TYPES.contains(&essence.as_str()) {
                return Err(RegistryError::UnsupportedMediaType);
            }
        }
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map_or(16 * 1024 * 1024, |l| l.0);
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| RegistryError::PayloadTooLarge(limit))?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(text)
            .map(JsonBody)
            .map_err(|e| RegistryError::BadRequest(format!("Unrecognized JSON: {e}")))
    }
}

/// Parses a `{version}` path segment.
pub fn parse_version(s: &str) -> Result<VersionSpec, RegistryError> {
    VersionSpec::parse(s)
}
