//! The registry client of `charter-serde` (`charter_serde::client`) against a real in-process
//! registry over real sockets, and against a tiny local HTTP stub for transport behaviour
//! (fail-over, retries, auth headers, request counts).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use charter_compat_tests::TestServer;
use charter_serde::client::{
    blocking, ClientConfig, CompatibilityLevel, ConfigUpdate, Error, Schema, SchemaRegistryClient,
    Version,
};
use charter_serde::strategy::{record_name, SubjectNameStrategy, TopicRecordNameStrategy};
use charter_serde::SchemaType;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const USER_V1: &str = r#"{"type":"record","name":"User","namespace":"acme","fields":[{"name":"name","type":"string"}]}"#;
const USER_V2: &str = r#"{"type":"record","name":"User","namespace":"acme","fields":[{"name":"name","type":"string"},{"name":"age","type":"int","default":0}]}"#;
/// Adds a field without a default: not BACKWARD compatible with v1.
const USER_BAD: &str = r#"{"type":"record","name":"User","namespace":"acme","fields":[{"name":"name","type":"string"},{"name":"email","type":"string"}]}"#;

/// A config for `urls` with fast retries (tests must not sleep for seconds).
fn fast(urls: &str) -> ClientConfig {
    ClientConfig::new(urls)
        .retries_wait(Duration::from_millis(5))
        .retries_max_wait(Duration::from_millis(20))
        .request_timeout(Duration::from_secs(5))
}

fn client(urls: &str) -> SchemaRegistryClient {
    SchemaRegistryClient::new(fast(urls)).expect("client")
}

// ------------------------------------------------------------------------------ HTTP stub

/// One request the stub received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Handler = Arc<dyn Fn(&Seen, usize) -> (u16, String) + Send + Sync>;

/// A local HTTP/1.1 server answering every request with `handler(request, index)`
/// (`Connection: close`), recording what it received.
struct Stub {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stub {
    async fn start(
        delay: Duration,
        handler: impl Fn(&Seen, usize) -> (u16, String) + Send + Sync + 'static,
    ) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let handler: Handler = Arc::new(handler);
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let (log, handler) = (log.clone(), handler.clone());
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut sock).await else {
                        return;
                    };
                    let index = {
                        let mut g = log.lock().unwrap();
                        g.push(req.clone());
                        g.len() - 1
                    };
                    tokio::time::sleep(delay).await;
                    let (status, body) = handler(&req, index);
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/vnd.schemaregistry.v1+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Stub { base, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    Some(Seen {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    })
}

/// A URL on which nothing listens.
async fn closed_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    base
}

const SCHEMA_1: &str = r#"{"schema":"\"string\""}"#;

// ------------------------------------------------------------------------- every call

#[tokio::test]
async fn every_call_against_the_registry() {
    let s = TestServer::start().await;
    let c = client(&s.base);
    let v1 = Schema::avro(USER_V1);

    // register: id, version and subject as Charter returns them.
    let r = c.register("users-value", &v1, false).await.unwrap();
    assert_eq!(r.id, 1);
    // Idempotent (and cached).
    assert_eq!(c.register("users-value", &v1, false).await.unwrap().id, 1);
    let r2 = c
        .register("users-value", &Schema::avro(USER_V2), false)
        .await
        .unwrap();
    assert_eq!(r2.id, 2);

    // lookup
    let l = c.lookup("users-value", &v1, false, false).await.unwrap();
    assert_eq!((l.subject.as_str(), l.version, l.id), ("users-value", 1, 1));
    assert_eq!(l.schema_type, SchemaType::Avro);
    let e = c
        .lookup("users-value", &Schema::avro(r#""int""#), false, false)
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), e.error_code()),
        (Some(404), Some(40403)),
        "{e}"
    );
    assert!(!e.is_retriable());

    // schema_by_id
    let by_id = c.schema_by_id(2, None, None).await.unwrap();
    assert!(by_id.schema.contains("age"), "{}", by_id.schema);
    assert_eq!(by_id.schema_type, SchemaType::Avro);
    let e = c.schema_by_id(999, None, None).await.unwrap_err();
    assert_eq!((e.status(), e.error_code()), (Some(404), Some(40403)));

    // latest / version / versions / subjects
    let latest = c.latest_version("users-value").await.unwrap();
    assert_eq!((latest.version, latest.id), (2, 2));
    let v = c
        .version("users-value", Version::Number(1), false)
        .await
        .unwrap();
    assert_eq!((v.version, v.id), (1, 1));
    assert_eq!(
        c.version("users-value", Version::Latest, false)
            .await
            .unwrap()
            .version,
        2
    );
    assert_eq!(c.versions("users-value", false).await.unwrap(), [1, 2]);
    let e = c.versions("nope", false).await.unwrap_err();
    assert_eq!((e.status(), e.error_code()), (Some(404), Some(40401)));
    assert_eq!(c.subjects(None, false).await.unwrap(), ["users-value"]);

    // Subjects with `/` are one percent-encoded path segment.
    let proto =
        Schema::protobuf("syntax = \"proto3\";\npackage acme;\nmessage Ts { int64 s = 1; }\n");
    let pr = c.register("path/to/ts.proto", &proto, false).await.unwrap();
    let pl = c.latest_version("path/to/ts.proto").await.unwrap();
    assert_eq!((pl.subject.as_str(), pl.id), ("path/to/ts.proto", pr.id));
    assert_eq!(pl.schema_type, SchemaType::Protobuf);
    let ser = c
        .schema_by_id(pr.id, None, Some("serialized"))
        .await
        .unwrap();
    assert_ne!(
        ser.schema, pl.schema,
        "format=serialized gives the base64 descriptor"
    );
    assert_eq!(
        c.subjects(Some("path/"), false).await.unwrap(),
        ["path/to/ts.proto"]
    );

    // test_compatibility: one version, all versions, verbose.
    let bad = Schema::avro(USER_BAD);
    let ok = c
        .test_compatibility(
            "users-value",
            Some(Version::Latest),
            &Schema::avro(USER_V2),
            false,
        )
        .await
        .unwrap();
    assert!(ok.is_compatible);
    let no = c
        .test_compatibility("users-value", Some(Version::Number(1)), &bad, true)
        .await
        .unwrap();
    assert!(!no.is_compatible);
    assert!(!no.messages.is_empty());
    assert!(
        !c.test_compatibility("users-value", None, &bad, false)
            .await
            .unwrap()
            .is_compatible
    );

    // register errors: 409 incompatible, 422 invalid; not retriable.
    let e = c.register("users-value", &bad, false).await.unwrap_err();
    assert_eq!(e.status(), Some(409), "{e}");
    assert!(!e.is_retriable());
    let e = c
        .register("users-value", &Schema::avro("{not json"), false)
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), e.error_code()),
        (Some(422), Some(42201)),
        "{e}"
    );

    // config: global and subject.
    assert_eq!(
        c.get_compatibility(None).await.unwrap(),
        CompatibilityLevel::Backward
    );
    let echo = c
        .set_compatibility(Some("users-value"), CompatibilityLevel::None)
        .await
        .unwrap();
    assert_eq!(echo.compatibility_level, Some(CompatibilityLevel::None));
    assert_eq!(
        c.get_config(Some("users-value"), false)
            .await
            .unwrap()
            .compatibility_level,
        Some(CompatibilityLevel::None)
    );
    let e = c.get_config(Some("other"), false).await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert_eq!(
        c.get_compatibility(Some("other")).await.unwrap(),
        CompatibilityLevel::Backward,
        "defaultToGlobal"
    );
    c.set_config(None, &ConfigUpdate::compatibility(CompatibilityLevel::Full))
        .await
        .unwrap();
    assert_eq!(
        c.get_compatibility(None).await.unwrap(),
        CompatibilityLevel::Full
    );
    let prev = c.delete_config(Some("users-value")).await.unwrap();
    assert_eq!(prev.compatibility_level, Some(CompatibilityLevel::None));
    assert_eq!(
        c.get_compatibility(Some("users-value")).await.unwrap(),
        CompatibilityLevel::Full
    );

    // Now NONE lets the incompatible schema in as version 3.
    c.set_compatibility(None, CompatibilityLevel::None)
        .await
        .unwrap();
    let bad_id = c.register("users-value", &bad, false).await.unwrap().id;
    assert!(bad_id > pr.id, "a new schema, a new id");

    // delete_version: soft, then permanent; caches of the subject are forgotten.
    assert_eq!(c.latest_version("users-value").await.unwrap().version, 3);
    assert_eq!(
        c.delete_version("users-value", Version::Number(3), false)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        c.latest_version("users-value").await.unwrap().version,
        2,
        "own delete invalidates the latest cache"
    );
    assert_eq!(c.versions("users-value", false).await.unwrap(), [1, 2]);
    assert_eq!(c.versions("users-value", true).await.unwrap(), [1, 2, 3]);
    assert!(c
        .version("users-value", Version::Number(3), false)
        .await
        .is_err());
    assert_eq!(
        c.version("users-value", Version::Number(3), true)
            .await
            .unwrap()
            .id,
        bad_id
    );
    assert_eq!(
        c.delete_version("users-value", Version::Number(3), true)
            .await
            .unwrap(),
        3
    );
    assert_eq!(c.versions("users-value", true).await.unwrap(), [1, 2]);

    // delete_subject: soft, then permanent.
    assert_eq!(
        c.delete_subject("users-value", false).await.unwrap(),
        [1, 2]
    );
    assert_eq!(c.subjects(None, false).await.unwrap(), ["path/to/ts.proto"]);
    assert_eq!(
        c.subjects(None, true).await.unwrap(),
        ["path/to/ts.proto", "users-value"]
    );
    assert!(c
        .latest_version("users-value")
        .await
        .unwrap_err()
        .is_not_found());
    assert_eq!(c.delete_subject("users-value", true).await.unwrap(), [1, 2]);
    assert_eq!(c.subjects(None, true).await.unwrap(), ["path/to/ts.proto"]);
    // The registry has forgotten ids 1 and 2, but id 2, fetched before, stays readable from
    // the cache: ids are immutable.
    assert!(c
        .schema_by_id(1, None, None)
        .await
        .unwrap_err()
        .is_not_found());
    assert!(c
        .schema_by_id(2, None, None)
        .await
        .unwrap()
        .schema
        .contains("age"));
}

// -------------------------------------------------------------- fail-over and retries

#[tokio::test]
async fn fails_over_from_a_closed_port_and_a_503_to_the_registry() {
    let s = TestServer::start().await;
    let dead = closed_port().await;
    let busy = Stub::start(Duration::ZERO, |_, _| {
        (503, r#"{"error_code":50301,"message":"busy"}"#.into())
    })
    .await;
    let c = SchemaRegistryClient::new(
        fast(&format!("{dead}, {}, {}/", busy.base, s.base)).max_retries(0),
    )
    .unwrap();
    assert_eq!(c.base_urls()[2], s.base, "trailing slash removed");
    let r = c
        .register("t-value", &Schema::avro(USER_V1), false)
        .await
        .unwrap();
    assert_eq!(r.id, 1);
    assert_eq!(busy.count(), 1, "the 503 URL was tried once, then the next");
    // The URL that answered is tried first next time.
    assert_eq!(c.latest_version("t-value").await.unwrap().id, 1);
    assert_eq!(busy.count(), 1);

    // All URLs down: a retriable transport/503 error after max_retries extra rounds.
    let c =
        SchemaRegistryClient::new(fast(&format!("{dead},{}", busy.base)).max_retries(2)).unwrap();
    let e = c.schema_by_id(1, None, None).await.unwrap_err();
    assert!(e.is_retriable(), "{e}");
    assert_eq!(busy.count(), 1 + 3, "one request per round, three rounds");
}

#[tokio::test]
async fn retries_retriable_statuses_with_backoff() {
    for status in [408u16, 429, 500, 502, 503, 504] {
        let stub = Stub::start(Duration::ZERO, move |_, i| {
            if i < 2 {
                (
                    status,
                    format!(r#"{{"error_code":{status}01,"message":"x"}}"#),
                )
            } else {
                (200, SCHEMA_1.into())
            }
        })
        .await;
        let c = SchemaRegistryClient::new(fast(&stub.base).max_retries(2)).unwrap();
        let got = c.schema_by_id(1, None, None).await.unwrap();
        assert_eq!(got.schema, "\"string\"");
        assert_eq!(stub.count(), 3, "status {status}: two retries then success");

        let stub2 = Stub::start(Duration::ZERO, move |_, _| (status, String::new())).await;
        let c = SchemaRegistryClient::new(fast(&stub2.base).max_retries(1)).unwrap();
        let e = c.schema_by_id(1, None, None).await.unwrap_err();
        assert_eq!(e.status(), Some(status));
        assert_eq!(e.error_code(), Some(50005), "unparsable error body");
        assert_eq!(
            stub2.count(),
            2,
            "status {status}: max_retries=1 means two requests"
        );
    }
}

#[tokio::test]
async fn back_off_grows_between_rounds() {
    let stub = Stub::start(Duration::ZERO, |_, _| (503, "{}".into())).await;
    let c = SchemaRegistryClient::new(
        ClientConfig::new(&stub.base)
            .max_retries(2)
            .retries_wait(Duration::from_millis(100))
            .retries_max_wait(Duration::from_millis(150)),
    )
    .unwrap();
    let t = std::time::Instant::now();
    assert!(c.schema_by_id(1, None, None).await.is_err());
    // Full jitter: each wait is in [0, min(100·2^k, 150)] ms; total under 250 ms plus slack.
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(stub.count(), 3);
}

#[tokio::test]
async fn no_retry_on_client_errors() {
    for (status, code) in [
        (404u16, 40403),
        (409, 409),
        (422, 42201),
        (401, 401),
        (403, 403),
    ] {
        let stub = Stub::start(Duration::ZERO, move |_, _| {
            (
                status,
                format!(r#"{{"error_code":{code},"message":"m{code}"}}"#),
            )
        })
        .await;
        // A second URL that would succeed must not be tried either.
        let good = Stub::start(Duration::ZERO, |_, _| (200, SCHEMA_1.into())).await;
        let c =
            SchemaRegistryClient::new(fast(&format!("{},{}", stub.base, good.base)).max_retries(3))
                .unwrap();
        let e = c.schema_by_id(1, None, None).await.unwrap_err();
        match &e {
            Error::Registry {
                status: s,
                error_code,
                message,
            } => {
                assert_eq!((*s, *error_code), (status, code));
                assert_eq!(message, &format!("m{code}"));
            }
            other => panic!("{other:?}"),
        }
        assert!(!e.is_retriable());
        assert_eq!((stub.count(), good.count()), (1, 0), "status {status}");
    }
}

// ------------------------------------------------------------------ headers and auth

#[tokio::test]
async fn sends_confluent_headers_and_basic_auth() {
    let stub = Stub::start(Duration::ZERO, |req, _| {
        if req.target.starts_with("/schemas/") {
            (200, SCHEMA_1.into())
        } else {
            (200, r#"{"id":5}"#.into())
        }
    })
    .await;
    let c = SchemaRegistryClient::new(
        fast(&stub.base)
            .basic_auth_user_info("key:sec:ret")
            .header("target-sr-cluster", "lsrc-1"),
    )
    .unwrap();
    let r = c
        .register("a/b c", &Schema::avro(r#""string""#), true)
        .await
        .unwrap();
    assert_eq!(
        (r.id, r.version),
        (5, None),
        "a bare {{\"id\"}} answer decodes"
    );
    let seen = &stub.seen()[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.target, "/subjects/a%2Fb%20c/versions?normalize=true");
    assert_eq!(
        seen.header("authorization"),
        Some("Basic a2V5OnNlYzpyZXQ="),
        "base64(key:sec:ret)"
    );
    assert_eq!(
        seen.header("content-type"),
        Some("application/vnd.schemaregistry.v1+json")
    );
    assert_eq!(
        seen.header("accept"),
        Some("application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json")
    );
    assert_eq!(seen.header("target-sr-cluster"), Some("lsrc-1"));
    assert_eq!(seen.body, r#"{"schema":"\"string\"","schemaType":"AVRO"}"#);

    // User info in the URL, percent-decoded.
    let url = stub.base.replace("http://", "http://us%40er:p%3Ass@");
    let c = client(&url);
    assert!(!c.base_urls()[0].contains('@'));
    c.schema_by_id(1, None, None).await.unwrap();
    let seen = &stub.seen()[1];
    assert_eq!(seen.target, "/schemas/ids/1");
    // base64("us@er:p:ss")
    assert_eq!(seen.header("authorization"), Some("Basic dXNAZXI6cDpzcw=="));
}

#[tokio::test]
async fn bearer_token_is_refreshed_on_401_then_retried_once() {
    let stub = Stub::start(Duration::ZERO, |req, _| {
        if req.header("authorization") == Some("Bearer t2") {
            (200, SCHEMA_1.into())
        } else {
            (401, r#"{"error_code":401,"message":"Unauthorized"}"#.into())
        }
    })
    .await;
    let calls = Arc::new(AtomicUsize::new(0));
    let provider = {
        let calls = calls.clone();
        move || format!("t{}", calls.fetch_add(1, Ordering::SeqCst) + 1)
    };
    let c =
        SchemaRegistryClient::new(fast(&stub.base).bearer_provider(Arc::new(provider))).unwrap();
    assert_eq!(
        c.schema_by_id(1, None, None).await.unwrap().schema,
        "\"string\""
    );
    let seen = stub.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].header("authorization"), Some("Bearer t1"));
    assert_eq!(seen[1].header("authorization"), Some("Bearer t2"));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // The refreshed token is kept.
    c.schema_by_id(2, None, None).await.unwrap();
    assert_eq!(stub.count(), 3);
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // A provider whose tokens are always refused: one refresh, then the 401 is returned.
    let refusing = Stub::start(Duration::ZERO, |_, _| {
        (401, r#"{"error_code":401,"message":"Unauthorized"}"#.into())
    })
    .await;
    let c = SchemaRegistryClient::new(fast(&refusing.base).bearer_token("bad")).unwrap();
    let e = c.schema_by_id(1, None, None).await.unwrap_err();
    assert_eq!(e.status(), Some(401));
    assert_eq!(refusing.count(), 2);
}

// ----------------------------------------------------------------------------- caches

#[tokio::test]
async fn ids_are_fetched_once_even_under_concurrency() {
    let stub = Stub::start(Duration::from_millis(50), |_, _| (200, SCHEMA_1.into())).await;
    let c = client(&stub.base);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.schema_by_id(7, None, None).await.unwrap() })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().schema, "\"string\"");
    }
    assert_eq!(stub.count(), 1, "single flight");
    for _ in 0..10 {
        c.schema_by_id(7, None, None).await.unwrap();
    }
    assert_eq!(stub.count(), 1, "never re-fetched");
    assert!(c.cached_schema_by_id(7, None, None).is_some());
    // Format and subject hint are part of the key.
    c.schema_by_id(7, None, Some("serialized")).await.unwrap();
    c.schema_by_id(7, Some("s"), None).await.unwrap();
    assert_eq!(stub.count(), 3);
    assert_eq!(stub.seen()[1].target, "/schemas/ids/7?format=serialized");
    assert_eq!(stub.seen()[2].target, "/schemas/ids/7?subject=s");
}

#[tokio::test]
async fn errors_are_not_cached() {
    let stub = Stub::start(Duration::ZERO, |_, i| {
        if i == 0 {
            (
                404,
                r#"{"error_code":40403,"message":"Schema 1 not found"}"#.into(),
            )
        } else {
            (200, SCHEMA_1.into())
        }
    })
    .await;
    let c = client(&stub.base);
    assert!(c
        .schema_by_id(1, None, None)
        .await
        .unwrap_err()
        .is_not_found());
    assert!(c.schema_by_id(1, None, None).await.is_ok());
}

#[tokio::test]
async fn a_new_latest_version_is_seen_after_the_ttl_and_not_before() {
    let s = TestServer::start().await;
    let c = SchemaRegistryClient::new(fast(&s.base).latest_ttl(Some(Duration::from_millis(400))))
        .unwrap();
    c.register("t-value", &Schema::avro(USER_V1), false)
        .await
        .unwrap();
    assert_eq!(c.latest_version("t-value").await.unwrap().version, 1);
    // Another producer registers v2 (not through this client).
    let other = client(&s.base);
    other
        .register("t-value", &Schema::avro(USER_V2), false)
        .await
        .unwrap();
    assert_eq!(
        c.latest_version("t-value").await.unwrap().version,
        1,
        "within the TTL"
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    let latest = c.latest_version("t-value").await.unwrap();
    assert_eq!((latest.version, latest.id), (2, 2), "after the TTL");
}

#[tokio::test]
async fn the_subject_is_part_of_the_cache_keys() {
    let s = TestServer::start().await;
    let c = client(&s.base);
    let v1 = Schema::avro(USER_V1);
    let v2 = Schema::avro(USER_V2);
    // a-value: v1 then v2; b-value: v2 only. Same schema v2, different versions per subject.
    c.register("a-value", &v1, false).await.unwrap();
    let ra = c.register("a-value", &v2, false).await.unwrap();
    let rb = c.register("b-value", &v2, false).await.unwrap();
    assert_eq!(ra.id, rb.id, "same schema, same id");
    // b's registration reached the registry rather than returning a's cached answer.
    assert_eq!(c.versions("b-value", false).await.unwrap(), [1]);
    let la = c.lookup("a-value", &v2, false, false).await.unwrap();
    let lb = c.lookup("b-value", &v2, false, false).await.unwrap();
    assert_eq!((la.subject.as_str(), la.version), ("a-value", 2));
    assert_eq!((lb.subject.as_str(), lb.version), ("b-value", 1));
    // normalize is part of the key too.
    assert!(c.cached_registration("a-value", &v2, false).is_some());
    assert!(c.cached_registration("a-value", &v2, true).is_none());
    assert!(c.cached_registration("c-value", &v2, false).is_none());
}

#[tokio::test]
async fn a_registry_outage_with_warm_caches_does_not_fail_reads() {
    let mut s = TestServer::start().await;
    let c = SchemaRegistryClient::new(
        fast(&s.base)
            .max_retries(1)
            .latest_ttl(Some(Duration::from_millis(200))),
    )
    .unwrap();
    let strict = SchemaRegistryClient::new(
        fast(&s.base)
            .max_retries(0)
            .latest_ttl(Some(Duration::from_millis(200)))
            .stale_on_error(false),
    )
    .unwrap();
    let v1 = Schema::avro(USER_V1);
    let id = c.register("t-value", &v1, false).await.unwrap().id;
    c.lookup("t-value", &v1, false, false).await.unwrap();
    c.schema_by_id(id, None, None).await.unwrap();
    c.version("t-value", Version::Number(1), false)
        .await
        .unwrap();
    c.latest_version("t-value").await.unwrap();
    strict.latest_version("t-value").await.unwrap();

    s.shutdown().await;

    // Everything cached still answers.
    assert_eq!(c.register("t-value", &v1, false).await.unwrap().id, id);
    assert_eq!(c.lookup("t-value", &v1, false, false).await.unwrap().id, id);
    assert!(c
        .schema_by_id(id, None, None)
        .await
        .unwrap()
        .schema
        .contains("User"));
    assert_eq!(
        c.version("t-value", Version::Number(1), false)
            .await
            .unwrap()
            .id,
        id
    );
    assert_eq!(c.latest_version("t-value").await.unwrap().id, id);
    // After the latest TTL: the expired answer is served while the registry is down...
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(c.latest_version("t-value").await.unwrap().id, id);
    // ...unless stale_on_error is off.
    let e = strict.latest_version("t-value").await.unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    // Cold reads fail with a retriable transport error.
    let e = c.schema_by_id(id + 1, None, None).await.unwrap_err();
    assert!(e.is_retriable(), "{e}");
}

// ------------------------------------------------------------------- blocking facade

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_facade() {
    let s = TestServer::start().await;
    let base = s.base.clone();
    // Used from a plain thread...
    let id = tokio::task::spawn_blocking(move || {
        let c = blocking::SchemaRegistryClient::new(fast(&base)).unwrap();
        let r = c
            .register("t-value", &Schema::avro(USER_V1), false)
            .unwrap();
        assert_eq!(
            c.schema_by_id(r.id, None, None).unwrap().schema,
            USER_V1.replace(' ', "")
        );
        assert_eq!(c.latest_version("t-value").unwrap().version, 1);
        assert_eq!(
            c.version("t-value", Version::Number(1), false).unwrap().id,
            r.id
        );
        assert_eq!(
            c.lookup("t-value", &Schema::avro(USER_V1), false, false)
                .unwrap()
                .id,
            r.id
        );
        assert_eq!(c.versions("t-value", false).unwrap(), [1]);
        assert_eq!(c.subjects(None, false).unwrap(), ["t-value"]);
        assert!(
            c.test_compatibility(
                "t-value",
                Some(Version::Latest),
                &Schema::avro(USER_V2),
                false
            )
            .unwrap()
            .is_compatible
        );
        c.set_compatibility(Some("t-value"), CompatibilityLevel::Full)
            .unwrap();
        assert_eq!(
            c.get_compatibility(Some("t-value")).unwrap(),
            CompatibilityLevel::Full
        );
        let e = c.versions("nope", false).unwrap_err();
        assert_eq!(e.error_code(), Some(40401));
        assert_eq!(c.delete_subject("t-value", false).unwrap(), [1]);
        r.id
    })
    .await
    .unwrap();
    // ...and from inside an async task (blocks the thread, does not panic), dropped there too.
    let c = blocking::SchemaRegistryClient::new(fast(&s.base)).unwrap();
    assert!(c.schema_by_id(id, None, None).is_ok());
    drop(c);
}

// ------------------------------------------------------------------------ strategies

#[tokio::test]
async fn strategies_choose_the_subject_registered_under() {
    use charter_serde::avro::{AvroSchema, ParseOptions};
    let s = TestServer::start().await;
    let c = client(&s.base);
    let parsed = AvroSchema::parse(USER_V1, &[], ParseOptions { validate: true }).unwrap();
    let name = record_name::avro(&parsed);
    assert_eq!(name.as_deref(), Some("acme.User"));
    let subject = TopicRecordNameStrategy
        .subject("events", false, name.as_deref())
        .unwrap();
    c.register(&subject, &Schema::avro(USER_V1), false)
        .await
        .unwrap();
    assert_eq!(c.subjects(None, false).await.unwrap(), ["events-acme.User"]);
}

// ------------------------------------------------ serializers on top of the client's caches

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct User {
    name: String,
}

#[tokio::test]
async fn a_use_latest_serializer_picks_up_a_new_version_after_the_ttl() {
    use charter_serde::avro_serde::AvroSerializer;
    use charter_serde::serializer::SerializerConfig;
    let s = TestServer::start().await;
    let c = SchemaRegistryClient::new(fast(&s.base).latest_ttl(Some(Duration::from_millis(400))))
        .unwrap();
    let id1 = c
        .register("t-value", &Schema::avro(USER_V1), false)
        .await
        .unwrap()
        .id;
    let ser = AvroSerializer::<User>::new(
        c.clone(),
        USER_V1,
        SerializerConfig::default()
            .auto_register_schemas(false)
            .use_latest_version(true),
    )
    .unwrap();
    let id_of = |b: &[u8]| i32::from_be_bytes(b[1..5].try_into().unwrap());
    let u = User { name: "a".into() };
    assert_eq!(
        id_of(&ser.serialize("t", false, &u).await.unwrap().payload),
        id1
    );
    // Another producer registers v2.
    let id2 = client(&s.base)
        .register("t-value", &Schema::avro(USER_V2), false)
        .await
        .unwrap()
        .id;
    assert_ne!(id1, id2);
    assert_eq!(
        id_of(&ser.serialize("t", false, &u).await.unwrap().payload),
        id1,
        "within the TTL"
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    let r = ser.serialize("t", false, &u).await.unwrap();
    assert_eq!(id_of(&r.payload), id2, "after the TTL");
    // Written with v2's schema: `User` has no `age`, so its default (0) is written.
    assert_eq!(&r.payload[5..], &[2, b'a', 0]);
}

#[tokio::test]
async fn deserializers_fetch_and_compile_each_id_once() {
    use charter_serde::avro_serde::AvroDeserializer;
    use charter_serde::deserializer::DeserializerConfig;
    use charter_serde::dynamic::DynamicDeserializer;
    let body = serde_json::json!({ "schema": USER_V1 }).to_string();
    let stub = Stub::start(Duration::from_millis(20), move |_, _| (200, body.clone())).await;
    let c = client(&stub.base);
    let typed = AvroDeserializer::<User>::new(c.clone(), DeserializerConfig::default());
    let dynamic = DynamicDeserializer::new(c.clone());
    let record = [0, 0, 0, 0, 7, 2, b'x'];
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move {
                AvroDeserializer::<User>::new(c, DeserializerConfig::default())
                    .deserialize("t", false, &[0, 0, 0, 0, 7, 2, b'x'], &())
                    .await
                    .unwrap()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().name, "x");
    }
    for _ in 0..100 {
        assert_eq!(
            typed
                .deserialize("t", false, &record, &())
                .await
                .unwrap()
                .name,
            "x"
        );
        let v = dynamic
            .deserialize_json("t", false, &record, &[])
            .await
            .unwrap();
        assert_eq!(v["name"], "x");
    }
    assert_eq!(
        stub.count(),
        1,
        "one GET /schemas/ids/7 for every deserializer and record"
    );
    assert_eq!(stub.seen()[0].target, "/schemas/ids/7");
    assert!(
        dynamic.store().cached(7).is_some(),
        "compiled once and kept"
    );
}

#[tokio::test]
async fn serde_survives_a_registry_outage_with_warm_caches() {
    use charter_serde::avro_serde::{AvroDeserializer, AvroSerializer};
    use charter_serde::deserializer::DeserializerConfig;
    use charter_serde::dynamic::{DynamicDeserializer, DynamicSerializer, SchemaChoice};
    use charter_serde::serializer::SerializerConfig;
    let mut s = TestServer::start().await;
    let c = SchemaRegistryClient::new(fast(&s.base).max_retries(0)).unwrap();
    let ser = AvroSerializer::<User>::new(c.clone(), USER_V1, SerializerConfig::default()).unwrap();
    let de = AvroDeserializer::<User>::new(c.clone(), DeserializerConfig::default());
    let dser = DynamicSerializer::new(c.clone());
    let dde = DynamicDeserializer::new(c.clone());
    let u = User { name: "w".into() };
    let r = ser.serialize("t", false, &u).await.unwrap();
    assert_eq!(
        de.deserialize("t", false, &r.payload, &()).await.unwrap(),
        u
    );
    let j = serde_json::json!({"name": "w"});
    let b = dser
        .serialize_json("t", false, &j, SchemaChoice::Latest)
        .await
        .unwrap();
    assert_eq!(dde.deserialize_json("t", false, &b, &[]).await.unwrap(), j);

    s.shutdown().await;

    for _ in 0..3 {
        assert_eq!(ser.serialize("t", false, &u).await.unwrap(), r);
        assert_eq!(
            de.deserialize("t", false, &r.payload, &()).await.unwrap(),
            u
        );
        assert_eq!(dde.deserialize_json("t", false, &b, &[]).await.unwrap(), j);
        assert_eq!(
            dser.serialize_json("t", false, &j, SchemaChoice::Latest)
                .await
                .unwrap(),
            b
        );
    }
    // A record naming an id never seen fails, retriably.
    let e = de
        .deserialize("t", false, &[0, 0, 0, 0, 99, 0], &())
        .await
        .unwrap_err();
    assert!(e.is_retriable(), "{e}");
}
