//! The HTTP transport: base URLs with fail-over, retries with back-off, authentication.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine as _;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::error::{Error, Result};
use super::types::ErrorBody;
use super::ClientConfig;

/// The content type Confluent clients send.
pub const CONTENT_TYPE_V1: &str = "application/vnd.schemaregistry.v1+json";
/// The `Accept` header confluent-kafka-python sends.
pub const ACCEPT_ALL: &str =
    "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json";

/// A boxed future returned by a [`TokenProvider`].
pub type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = std::result::Result<String, String>> + Send + 'a>>;

/// Supplies bearer tokens. The client asks for a token before its first request and again
/// whenever the registry answers 401, then retries that request once with the new token.
///
/// Any `Fn() -> String + Send + Sync` closure is a provider; implement the trait for an async
/// source (an OAuth client-credentials flow, say).
///
/// ```
/// use std::sync::Arc;
/// use charter_serde::client::{ClientConfig, TokenProvider};
///
/// let config = ClientConfig::new("https://sr.example.com")
///     .bearer_provider(Arc::new(|| std::env::var("SR_TOKEN").unwrap_or_default()));
/// # let _ = config;
/// ```
pub trait TokenProvider: Send + Sync {
    /// A fresh token.
    fn token(&self) -> TokenFuture<'_>;
}

impl<F> TokenProvider for F
where
    F: Fn() -> String + Send + Sync,
{
    fn token(&self) -> TokenFuture<'_> {
        let t = self();
        Box::pin(async move { Ok(t) })
    }
}

pub(crate) enum Auth {
    None,
    Basic(HeaderValue),
    Bearer {
        provider: Arc<dyn TokenProvider>,
        current: RwLock<Option<HeaderValue>>,
    },
}

pub(crate) struct Transport {
    http: reqwest::Client,
    bases: Vec<String>,
    /// Index of the last base URL that answered; calls start there.
    preferred: AtomicUsize,
    auth: Auth,
    max_retries: u32,
    retries_wait: Duration,
    retries_max_wait: Duration,
}

/// A request body and query; `body` is JSON text.
pub(crate) struct Req<'a> {
    pub method: Method,
    pub path: String,
    pub query: Vec<(&'a str, String)>,
    pub body: Option<String>,
}

impl Transport {
    pub(crate) fn new(config: &ClientConfig) -> Result<Transport> {
        if config.urls.is_empty() {
            return Err(Error::Config("no registry URL given".into()));
        }
        let mut basic = config.basic_auth.clone();
        let mut bases = Vec::new();
        for raw in &config.urls {
            let mut url = reqwest::Url::parse(raw.trim())
                .map_err(|e| Error::Config(format!("invalid URL {raw:?}: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(Error::Config(format!("unsupported URL scheme in {raw:?}")));
            }
            if !url.username().is_empty() {
                // URL user info (Java's `basic.auth.credentials.source=URL`); explicit
                // credentials win.
                if basic.is_none() {
                    basic = Some((
                        percent_decode(url.username()),
                        percent_decode(url.password().unwrap_or("")),
                    ));
                }
                let _ = url.set_username("");
                let _ = url.set_password(None);
            }
            url.set_query(None);
            url.set_fragment(None);
            let s = url.as_str().trim_end_matches('/').to_string();
            bases.push(s);
        }

        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_V1));
        headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_ALL));
        headers.insert(
            HeaderName::from_static("confluent-accept-unknown-properties"),
            HeaderValue::from_static("true"),
        );
        for (k, v) in &config.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|e| Error::Config(format!("invalid header name {k:?}: {e}")))?;
            let value = HeaderValue::from_str(v)
                .map_err(|e| Error::Config(format!("invalid header value for {k:?}: {e}")))?;
            headers.insert(name, value);
        }

        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("charter-serde/", env!("CARGO_PKG_VERSION")));
        for pem in &config.ca_certs_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Error::Config(format!("invalid CA certificate: {e}")))?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        if let Some(pem) = &config.client_identity_pem {
            let id = reqwest::Identity::from_pem(pem)
                .map_err(|e| Error::Config(format!("invalid client certificate/key: {e}")))?;
            builder = builder.identity(id);
        }
        if config.danger_accept_invalid_certs {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let http = builder
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;

        let auth = if let Some(provider) = &config.bearer {
            Auth::Bearer {
                provider: provider.clone(),
                current: RwLock::new(None),
            }
        } else if let Some((user, pass)) = basic {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            let mut v = HeaderValue::from_str(&format!("Basic {token}"))
                .map_err(|e| Error::Config(format!("invalid basic credentials: {e}")))?;
            v.set_sensitive(true);
            Auth::Basic(v)
        } else {
            Auth::None
        };

        Ok(Transport {
            http,
            bases,
            preferred: AtomicUsize::new(0),
            auth,
            max_retries: config.max_retries,
            retries_wait: config.retries_wait,
            retries_max_wait: config.retries_max_wait,
        })
    }

    pub(crate) fn base_urls(&self) -> &[String] {
        &self.bases
    }

    /// Sends `req` and decodes a 2xx body as `T`.
    ///
    /// Each round tries every base URL once, starting with the one that answered last; a
    /// connection error or retriable status moves on to the next URL. After a round without
    /// success the client sleeps (exponential back-off, full jitter) and starts another round,
    /// up to `max_retries` extra rounds. A 401 with a bearer provider refreshes the token and
    /// retries the same URL once. Any other status is returned at once.
    pub(crate) async fn call<T: DeserializeOwned>(&self, req: Req<'_>) -> Result<T> {
        let n = self.bases.len();
        let mut refreshed = false;
        let mut last_err: Option<Error> = None;
        for round in 0..=self.max_retries {
            if round > 0 {
                tokio::time::sleep(self.backoff(round - 1)).await;
            }
            let start = self.preferred.load(Ordering::Relaxed) % n;
            for k in 0..n {
                let i = (start + k) % n;
                let mut result = self.send_once(i, &req).await;
                if matches!(&result, Err(Error::Registry { status: 401, .. }))
                    && !refreshed
                    && matches!(self.auth, Auth::Bearer { .. })
                {
                    refreshed = true;
                    self.refresh_token().await?;
                    result = self.send_once(i, &req).await;
                }
                match result {
                    Ok(v) => {
                        self.preferred.store(i, Ordering::Relaxed);
                        return Ok(v);
                    }
                    Err(e) if e.is_retriable() => last_err = Some(e),
                    Err(e) => {
                        if !matches!(e, Error::Decode { .. }) {
                            // The URL answered, so it is alive.
                            self.preferred.store(i, Ordering::Relaxed);
                        }
                        return Err(e);
                    }
                }
            }
        }
        Err(last_err.unwrap_or_else(|| Error::Config("no registry URL given".into())))
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.retries_wait.as_millis() as u64;
        let cap = self.retries_max_wait.as_millis() as u64;
        let exp = base.saturating_mul(1u64 << attempt.min(20)).min(cap);
        Duration::from_millis(jitter(exp))
    }

    async fn auth_header(&self) -> Result<Option<HeaderValue>> {
        match &self.auth {
            Auth::None => Ok(None),
            Auth::Basic(v) => Ok(Some(v.clone())),
            Auth::Bearer { current, .. } => {
                let cur = current.read().unwrap_or_else(|e| e.into_inner()).clone();
                match cur {
                    Some(v) => Ok(Some(v)),
                    None => self.refresh_token().await.map(Some),
                }
            }
        }
    }

    async fn refresh_token(&self) -> Result<HeaderValue> {
        let Auth::Bearer { provider, current } = &self.auth else {
            return Err(Error::Token("no bearer provider".into()));
        };
        let token = provider.token().await.map_err(Error::Token)?;
        let mut v = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|e| Error::Token(format!("token is not a valid header value: {e}")))?;
        v.set_sensitive(true);
        *current.write().unwrap_or_else(|e| e.into_inner()) = Some(v.clone());
        Ok(v)
    }

    async fn send_once<T: DeserializeOwned>(&self, base: usize, req: &Req<'_>) -> Result<T> {
        let url = format!("{}{}", self.bases[base], req.path);
        let mut rb = self.http.request(req.method.clone(), &url);
        if !req.query.is_empty() {
            rb = rb.query(&req.query);
        }
        if let Some(auth) = self.auth_header().await? {
            rb = rb.header(AUTHORIZATION, auth);
        }
        if let Some(body) = &req.body {
            rb = rb.body(body.clone());
        }
        let transport = |source| Error::Transport {
            url: url.clone(),
            source,
        };
        let resp = rb.send().await.map_err(transport)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(transport)?;
        if status.is_success() {
            let bytes: &[u8] = if bytes.is_empty() || status == StatusCode::NO_CONTENT {
                b"null"
            } else {
                &bytes
            };
            return serde_json::from_slice(bytes).map_err(|e| Error::Decode {
                url: url.clone(),
                message: e.to_string(),
            });
        }
        let code = status.as_u16();
        match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(b) => Err(Error::Registry {
                status: code,
                error_code: b.error_code,
                message: b.message.unwrap_or_default(),
            }),
            Err(_) => Err(Error::Registry {
                status: code,
                error_code: 50005,
                message: {
                    let text = String::from_utf8_lossy(&bytes);
                    let text = text.trim();
                    if text.is_empty() {
                        status.canonical_reason().unwrap_or("error").to_string()
                    } else {
                        text.chars().take(500).collect()
                    }
                },
            }),
        }
    }
}

/// A uniformly distributed number in `[0, max]` ("full jitter"). Not cryptographic: hashes a
/// counter with the process's random hasher keys.
fn jitter(max: u64) -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::AtomicU64;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    if max == 0 {
        return 0;
    }
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish() % (max + 1)
}

/// Percent-encodes one path segment: everything but RFC 3986 unreserved characters, so `/`
/// becomes `%2F` (as Java's `UriBuilder` and Python's `quote(safe='')` do).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_subjects() {
        assert_eq!(encode_segment("a/b.proto"), "a%2Fb.proto");
        assert_eq!(encode_segment("t-value"), "t-value");
        assert_eq!(encode_segment(":.ctx:s x"), "%3A.ctx%3As%20x");
        assert_eq!(encode_segment("é"), "%C3%A9");
    }

    #[test]
    fn decodes_userinfo() {
        assert_eq!(percent_decode("us%40er"), "us@er");
        assert_eq!(percent_decode("p%3Ass%"), "p:ss%");
        assert_eq!(percent_decode("%4"), "%4");
    }

    #[test]
    fn jitter_in_range() {
        for _ in 0..100 {
            assert!(jitter(10) <= 10);
        }
        assert_eq!(jitter(0), 0);
        assert!(super::super::is_retriable_status(503) && !super::super::is_retriable_status(404));
    }
}
