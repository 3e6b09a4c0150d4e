//! `Accept` negotiation and the guarantee that every error body is Confluent-shaped.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::RegistryError;

/// Response types offered, with their server-side quality (Confluent `Versions`).
const OFFERS: &[(&str, f32)] = &[
    ("application/vnd.schemaregistry.v1+json", 1.0),
    ("application/vnd.schemaregistry+json", 0.9),
    ("application/json", 0.5),
];

/// Chooses the response type, answers 406 when none is acceptable, stamps the type on the
/// response, and turns any non-JSON error body (framework rejections) into a Confluent one.
pub async fn negotiate(req: Request, next: Next) -> Response {
    let accept = req
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(chosen) = choose(accept.as_deref()) else {
        return with_type(RegistryError::NotAcceptable.into_response(), OFFERS[0].0);
    };
    let resp = next.run(req).await;
    let resp = if resp.status().is_client_error() || resp.status().is_server_error() {
        ensure_error_shape(resp).await
    } else {
        resp
    };
    with_type(resp, chosen)
}

fn with_type(mut resp: Response, media: &'static str) -> Response {
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(media));
    resp
}

/// Picks the best offer for an `Accept` header; `None` if nothing matches.
pub fn choose(accept: Option<&str>) -> Option<&'static str> {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Some(OFFERS[0].0);
    };
    let ranges: Vec<(String, f32)> = accept
        .split(',')
        .filter_map(|r| {
            let mut parts = r.split(';');
            let media = parts.next()?.trim().to_ascii_lowercase();
            let mut q = 1.0f32;
            for p in parts {
                if let Some(v) = p.trim().strip_prefix("q=") {
                    q = v.trim().parse().unwrap_or(0.0);
                }
            }
            Some((media, q))
        })
        .collect();
    let mut best: Option<(&'static str, f32)> = None;
    for (offer, qs) in OFFERS {
        // The most specific matching range decides the client's quality for this offer.
        let mut q_for_offer: Option<(u8, f32)> = None;
        for (range, q) in &ranges {
            let specificity = if range == offer {
                3
            } else if range == "application/*" {
                2
            } else if range == "*/*" || range == "*" {
                1
            } else {
                continue;
            };
            if q_for_offer.is_none_or(|(s, _)| specificity > s) {
                q_for_offer = Some((specificity, *q));
            }
        }
        if let Some((_, q)) = q_for_offer {
            let score = q * qs;
            if score > 0.0 && best.is_none_or(|(_, b)| score > b) {
                best = Some((offer, score));
            }
        }
    }
    best.map(|(o, _)| o)
}

/// Error responses whose body is not already `{"error_code",…}` get one.
async fn ensure_error_shape(resp: Response) -> Response {
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let is_confluent = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .is_some_and(|v| v.get("error_code").is_some());
    if is_confluent {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let message = String::from_utf8_lossy(&bytes).trim().to_string();
    let message = if message.is_empty() {
        format!(
            "HTTP {} {}",
            parts.status.as_u16(),
            parts.status.canonical_reason().unwrap_or("")
        )
    } else {
        message
    };
    let body = serde_json::json!({"error_code": parts.status.as_u16(), "message": message});
    let mut out = Response::from_parts(parts, Body::from(body.to_string()));
    out.headers_mut().remove(axum::http::header::CONTENT_LENGTH);
    out
}

#[cfg(test)]
mod tests {
    use super::choose;

    #[test]
    fn negotiation_follows_confluent_offers() {
        assert_eq!(choose(None), Some("application/vnd.schemaregistry.v1+json"));
        assert_eq!(
            choose(Some("*/*")),
            Some("application/vnd.schemaregistry.v1+json")
        );
        assert_eq!(choose(Some("application/json")), Some("application/json"));
        assert_eq!(
            choose(Some("application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json")),
            Some("application/vnd.schemaregistry.v1+json")
        );
        assert_eq!(
            choose(Some(
                "application/vnd.schemaregistry.v1+json; q=0.1, application/json; q=1"
            )),
            Some("application/json")
        );
        assert_eq!(choose(Some("text/html")), None);
        assert_eq!(choose(Some("json")), None);
    }
}
