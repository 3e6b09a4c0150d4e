//! HTTP Basic authentication, as Confluent Schema Registry's `authentication.method=BASIC`
//! does it: every request must carry `Authorization: Basic base64(user:password)` for a user
//! of the credentials file, or it is answered 401 with `WWW-Authenticate` and the JSON body
//! Confluent's error handler writes (`{"error_code":401,"message":"Unauthorized"}`).
//!
//! The file has Jetty's `PropertyFileLoginModule` shape, what Confluent deployments already
//! keep: `user: password[,role...]` per line, `#` comments. Roles are read and ignored (every
//! authenticated user may do everything); hashed (`MD5:`, `CRYPT:`) and obfuscated (`OBF:`)
//! passwords are refused at start-up rather than silently compared as text.

use axum::extract::Request;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;

/// The users allowed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    users: Vec<(String, String)>,
}

impl BasicAuth {
    /// Reads a Jetty-style credentials file (see the [module docs](self)).
    ///
    /// ```
    /// use charter_registry::api::auth::BasicAuth;
    /// let a = BasicAuth::parse("# ci users\nci: s3cret,admin\nreader: r\n").unwrap();
    /// assert!(a.allows(Some("Basic Y2k6czNjcmV0"))); // ci:s3cret
    /// assert!(!a.allows(Some("Basic Y2k6d3Jvbmc="))); // ci:wrong
    /// assert!(!a.allows(None));
    /// assert!(BasicAuth::parse("ci: MD5:0123").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<BasicAuth, String> {
        let mut users = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let (user, rest) = line
                .split_once(':')
                .or_else(|| line.split_once('='))
                .ok_or_else(|| format!("line {}: expected 'user: password[,role...]'", n + 1))?;
            let password = rest.split(',').next().unwrap_or("").trim();
            let user = user.trim();
            if user.is_empty() || password.is_empty() {
                return Err(format!("line {}: empty user or password", n + 1));
            }
            if ["MD5:", "CRYPT:", "OBF:"]
                .iter()
                .any(|p| password.starts_with(p))
            {
                return Err(format!(
                    "line {}: hashed or obfuscated passwords are not supported",
                    n + 1
                ));
            }
            users.push((user.to_string(), password.to_string()));
        }
        if users.is_empty() {
            return Err("the credentials file names no user".into());
        }
        Ok(BasicAuth { users })
    }

    /// Whether an `Authorization` header value names a known user with its password.
    pub fn allows(&self, header: Option<&str>) -> bool {
        let Some(encoded) = header.and_then(|h| {
            let (scheme, rest) = h.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then_some(rest.trim())
        }) else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
            return false;
        };
        let Some((user, password)) = std::str::from_utf8(&decoded)
            .ok()
            .and_then(|s| s.split_once(':'))
        else {
            return false;
        };
        // Every entry is compared in full, so the time taken says nothing about which part
        // of which user matched.
        self.users.iter().fold(false, |found, (u, p)| {
            found | (same(u.as_bytes(), user.as_bytes()) & same(p.as_bytes(), password.as_bytes()))
        })
    }
}

/// Constant-time equality for equal lengths (lengths themselves are not secret here).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The middleware: lets authenticated requests through, answers the rest 401.
pub(crate) async fn require(auth: std::sync::Arc<BasicAuth>, req: Request, next: Next) -> Response {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if auth.allows(header) {
        return next.run(req).await;
    }
    let body = serde_json::json!({"error_code": 401, "message": "Unauthorized"});
    let mut resp = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    resp.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"SchemaRegistry\""),
    );
    resp
}
