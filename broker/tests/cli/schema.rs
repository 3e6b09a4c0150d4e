//! `charter schema ...` end to end: real `charter` processes against a real `charter serve`,
//! checking output and exit codes (0 ok, 1 incompatible, 2 usage, 3 unreachable, 4 not found).

use std::path::Path;

use crate::common::{charter, run, schemas_dir, write_files, Server};

fn copy_schemas(dir: &Path) {
    for f in [
        "user.avsc",
        "address.avsc",
        "order.avsc",
        "shipment.json",
        "payment.proto",
    ] {
        std::fs::copy(schemas_dir().join(f), dir.join(f)).expect("copy schema");
    }
}

const PROJECT: &str = r#"
[[subject]]
subject = "users-value"
file = "user.avsc"
compatibility = "FULL"

[[subject]]
subject = "address-value"
file = "address.avsc"

[[subject]]
subject = "orders-value"
file = "order.avsc"
references = [{ name = "com.example.shop.Address", subject = "address-value" }]
metadata = { properties = { owner = "shop-team" } }

[[subject]]
subject = "shipments-value"
file = "shipment.json"

[[subject]]
subject = "payments-value"
file = "payment.proto"
"#;

fn project(dir: &Path) {
    copy_schemas(dir);
    write_files(dir, &[("charter.toml", PROJECT)]);
}

#[test]
fn register_is_idempotent_writes_csv_and_test_passes() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());

    let first = run(server.charter(dir.path()), &["schema", "register"]);
    assert_eq!(first.code, 0, "{first:?}");
    for s in [
        "users-value",
        "address-value",
        "orders-value",
        "shipments-value",
        "payments-value",
    ] {
        assert!(first.stdout.contains(s), "{first:?}");
    }
    let csv = std::fs::read_to_string(dir.path().join("registered.csv")).unwrap();
    assert_eq!(csv.lines().count(), 6, "{csv}");
    assert!(csv.starts_with("subject, path, id"));

    // Idempotent: same ids, still version 1.
    let again = run(
        server.charter(dir.path()),
        &["schema", "register", "--output", "json"],
    );
    assert_eq!(again.code, 0, "{again:?}");
    let rows = again.json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r["version"] == 1), "{rows:?}");
    let orders = rows
        .iter()
        .find(|r| r["subject"] == "orders-value")
        .unwrap();
    assert!(csv.contains(&format!("orders-value, order.avsc, {}", orders["id"])));

    // Metadata and the resolved reference reached the registry.
    let got = run(
        server.charter(dir.path()),
        &["schema", "get", "orders-value", "--output", "json"],
    );
    assert_eq!(got.code, 0, "{got:?}");
    let v = got.json();
    assert_eq!(v["metadata"]["properties"]["owner"], "shop-team");
    assert_eq!(v["references"][0]["version"], 1);

    // Nothing changed: everything is compatible.
    let t = run(server.charter(dir.path()), &["schema", "test"]);
    assert_eq!(t.code, 0, "{t:?}");
    assert!(t.stdout.contains("compatible"), "{t:?}");
}

#[test]
fn test_reports_incompatible_changes_with_exit_1_and_compatible_ones_with_0() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    assert_eq!(
        run(server.charter(dir.path()), &["schema", "register"]).code,
        0
    );

    // A new subject is compatible (nothing to compare with).
    write_files(
        dir.path(),
        &[(
            "extra.toml",
            "[[subject]]\nsubject = \"new-value\"\nfile = \"user.avsc\"\n",
        )],
    );
    let t = run(
        server.charter(dir.path()),
        &["schema", "test", "--project", "extra.toml"],
    );
    assert_eq!(t.code, 0, "{t:?}");
    assert!(t.stdout.contains("new subject"), "{t:?}");

    // Compatible evolution: an optional field with a default.
    let user = std::fs::read_to_string(dir.path().join("user.avsc")).unwrap();
    let compatible = user.replace(
        r#"{"name": "id", "type": "long"},"#,
        r#"{"name": "id", "type": "long"}, {"name": "nickname", "type": ["null", "string"], "default": null},"#,
    );
    assert_ne!(compatible, user);
    std::fs::write(dir.path().join("user.avsc"), &compatible).unwrap();
    let t = run(
        server.charter(dir.path()),
        &["schema", "test", "--subject", "users-value"],
    );
    assert_eq!(t.code, 0, "{t:?}");

    // Incompatible: a new required field, and a JSON property type change.
    let incompatible = user.replace(
        r#"{"name": "id", "type": "long"},"#,
        r#"{"name": "id", "type": "long"}, {"name": "age", "type": "int"},"#,
    );
    std::fs::write(dir.path().join("user.avsc"), &incompatible).unwrap();
    let shipment = std::fs::read_to_string(dir.path().join("shipment.json")).unwrap();
    std::fs::write(
        dir.path().join("shipment.json"),
        shipment.replace(
            r#""weight_grams": {"type": "integer", "minimum": 0}"#,
            r#""weight_grams": {"type": "string"}"#,
        ),
    )
    .unwrap();
    let t = run(server.charter(dir.path()), &["schema", "test"]);
    assert_eq!(t.code, 1, "{t:?}");
    assert!(t.stdout.contains("INCOMPATIBLE"), "{t:?}");
    assert!(
        t.stdout.contains("age"),
        "the message names the field: {t:?}"
    );
    assert!(t.stderr.contains("2 of 5 schema(s) incompatible"), "{t:?}");
    let j = run(
        server.charter(dir.path()),
        &["schema", "test", "--output", "json"],
    );
    assert_eq!(j.code, 1);
    let v = j.json();
    assert_eq!(v["compatible"], false);
    let users = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["subject"] == "users-value")
        .unwrap()
        .clone();
    assert_eq!(users["compatible"], false);
    assert!(!users["messages"].as_array().unwrap().is_empty());

    // Registering the incompatible schema fails with exit 1, too.
    let r = run(
        server.charter(dir.path()),
        &["schema", "register", "--subject", "users-value"],
    );
    assert_eq!(r.code, 1, "{r:?}");
}

#[test]
fn download_config_list_get_diff_delete() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());
    assert_eq!(
        run(server.charter(dir.path()), &["schema", "register"]).code,
        0
    );

    // Download by pattern, with metadata files and references followed.
    let d = run(
        server.charter(dir.path()),
        &[
            "schema",
            "download",
            "--pattern",
            "orders-.*",
            "--output-dir",
            "dl",
            "--metadata",
        ],
    );
    assert_eq!(d.code, 0, "{d:?}");
    let order = std::fs::read_to_string(dir.path().join("dl/orders-value.avsc")).unwrap();
    assert!(order.contains("\n  \"name\": \"Order\""), "pretty: {order}");
    assert!(dir.path().join("dl/address-value.avsc").exists());
    let md: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("dl/orders-value-metadata.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(md["version"], 1);
    assert_eq!(md["references"][0]["subject"], "address-value");
    // The project's [[download]] blocks.
    write_files(
        dir.path(),
        &[(
            "dl.toml",
            "[[download]]\nsubject = \"payments-value\"\noutput_dir = \"dl2\"\n",
        )],
    );
    let d = run(
        server.charter(dir.path()),
        &["schema", "download", "--project", "dl.toml"],
    );
    assert_eq!(d.code, 0, "{d:?}");
    assert!(
        std::fs::read_to_string(dir.path().join("dl2/payments-value.proto"))
            .unwrap()
            .contains("message Payment")
    );
    let d = run(
        server.charter(dir.path()),
        &["schema", "download", "--pattern", "nothing-.*"],
    );
    assert_eq!(d.code, 4, "{d:?}");

    // Config: the project's levels, then one subject, then global.
    let c = run(server.charter(dir.path()), &["schema", "config"]);
    assert_eq!(c.code, 0, "{c:?}");
    assert!(c.stdout.contains("users-value") && c.stdout.contains("FULL"));
    let c = run(
        server.charter(dir.path()),
        &["schema", "config", "users-value", "--output", "json"],
    );
    assert_eq!(c.json()["compatibility"], "FULL");
    let c = run(
        server.charter(dir.path()),
        &["schema", "config", "orders-value", "backward_transitive"],
    );
    assert_eq!(c.code, 0, "{c:?}");
    let c = run(
        server.charter(dir.path()),
        &["schema", "config", "--global"],
    );
    assert!(c.stdout.contains("BACKWARD"), "{c:?}");
    let c = run(
        server.charter(dir.path()),
        &["schema", "config", "users-value", "SIDEWAYS"],
    );
    assert_eq!(c.code, 2, "{c:?}");

    // A second version of users-value, then list / get / diff.
    let user = std::fs::read_to_string(dir.path().join("user.avsc")).unwrap();
    std::fs::write(
        dir.path().join("user.avsc"),
        user.replace(
            r#"{"name": "name", "type": "string"},"#,
            r#"{"name": "name", "type": "string"}, {"name": "tier", "type": "string", "default": "basic"},"#,
        ),
    )
    .unwrap();
    assert_eq!(
        run(
            server.charter(dir.path()),
            &["schema", "register", "--subject", "users-value"]
        )
        .code,
        0
    );
    let l = run(
        server.charter(dir.path()),
        &["schema", "list", "--output", "json"],
    );
    assert_eq!(l.code, 0, "{l:?}");
    let list = l.json();
    let users = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["subject"] == "users-value")
        .unwrap()
        .clone();
    assert_eq!(users["version"], 2);
    let g = run(
        server.charter(dir.path()),
        &["schema", "get", "users-value", "--version", "1"],
    );
    assert_eq!(g.code, 0, "{g:?}");
    assert!(g.stdout.contains("users-value version 1"));
    assert!(!g.stdout.contains("tier"));
    let diff = run(
        server.charter(dir.path()),
        &["schema", "diff", "users-value"],
    );
    assert_eq!(diff.code, 0, "{diff:?}");
    assert!(
        diff.stdout
            .contains("added field User.tier: string (default \"basic\")"),
        "{diff:?}"
    );
    assert!(diff.stdout.contains("│"), "side by side: {diff:?}");
    let diff = run(
        server.charter(dir.path()),
        &[
            "schema",
            "diff",
            "users-value",
            "1",
            "2",
            "--output",
            "json",
        ],
    );
    let unified = diff.json()["unified_diff"].as_str().unwrap().to_string();
    assert!(
        unified
            .lines()
            .any(|l| l.starts_with('+') && l.contains("\"tier\"")),
        "{unified}"
    );

    // Transitive levels: `test` compares with every version, as registration would.
    // Version 3 drops the default of `tier`: fine against version 2, not against version 1.
    let v2 = std::fs::read_to_string(dir.path().join("user.avsc")).unwrap();
    std::fs::write(
        dir.path().join("user.avsc"),
        v2.replace(
            r#"{"name": "tier", "type": "string", "default": "basic"}"#,
            r#"{"name": "tier", "type": "string"}"#,
        ),
    )
    .unwrap();
    let c = run(
        server.charter(dir.path()),
        &["schema", "config", "users-value", "BACKWARD"],
    );
    assert_eq!(c.code, 0, "{c:?}");
    let t = run(
        server.charter(dir.path()),
        &["schema", "test", "--subject", "users-value"],
    );
    assert_eq!(t.code, 0, "{t:?}");
    let c = run(
        server.charter(dir.path()),
        &["schema", "config", "users-value", "BACKWARD_TRANSITIVE"],
    );
    assert_eq!(c.code, 0, "{c:?}");
    let t = run(
        server.charter(dir.path()),
        &["schema", "test", "--subject", "users-value"],
    );
    assert_eq!(t.code, 1, "{t:?}");
    assert!(
        t.stdout
            .contains("INCOMPATIBLE with version 1 (BACKWARD_TRANSITIVE)"),
        "{t:?}"
    );
    assert!(
        t.stdout.contains("READER_FIELD_MISSING_DEFAULT_VALUE"),
        "{t:?}"
    );

    // Delete a version, then the subject permanently.
    let del = run(
        server.charter(dir.path()),
        &["schema", "delete", "users-value", "--version", "2"],
    );
    assert_eq!(del.code, 0, "{del:?}");
    let del = run(
        server.charter(dir.path()),
        &["schema", "delete", "users-value", "--permanent"],
    );
    assert_eq!(del.code, 0, "{del:?}");
    let g = run(
        server.charter(dir.path()),
        &["schema", "get", "users-value"],
    );
    assert_eq!(g.code, 4, "{g:?}");
}

#[test]
fn local_references_are_inlined_before_upload() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    copy_schemas(dir.path());
    write_files(
        dir.path(),
        &[
            (
                "charter.toml",
                r#"
[[subject]]
subject = "orders-local-value"
file = "order.avsc"
local_references = [{ name = "com.example.shop.Address", file = "address.avsc" }]

[[subject]]
subject = "parcel-value"
file = "parcel.json"
normalize = true
local_references = [{ name = "dims.json", file = "dims.json" }]
rule_set = { domainRules = [{ name = "positive", kind = "CONDITION", mode = "WRITE", type = "CEL", expr = "message.w > 0" }] }
"#,
            ),
            (
                "parcel.json",
                r#"{"type":"object","properties":{"size":{"$ref":"dims.json"}}}"#,
            ),
            (
                "dims.json",
                r#"{"type":"object","properties":{"w":{"type":"number"}}}"#,
            ),
        ],
    );
    let r = run(server.charter(dir.path()), &["schema", "register"]);
    assert_eq!(r.code, 0, "{r:?}");
    let g = run(
        server.charter(dir.path()),
        &["schema", "get", "orders-local-value", "--output", "json"],
    );
    let v = g.json();
    assert_eq!(v["references"].as_array().unwrap().len(), 0);
    assert!(v["schema"].as_str().unwrap().contains("\"street\""));
    let g = run(
        server.charter(dir.path()),
        &["schema", "get", "parcel-value", "--output", "json"],
    );
    let v = g.json();
    assert!(v["schema"].as_str().unwrap().contains("#/$defs/dims.json"));
    assert_eq!(v["ruleSet"]["domainRules"][0]["name"], "positive", "{v}");
    // Registering again (normalized) is idempotent.
    let r = run(
        server.charter(dir.path()),
        &["schema", "register", "--output", "json"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["version"] == 1));
}

#[test]
fn error_paths_have_documented_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    project(dir.path());

    // Unreachable registry: 3.
    let r = run(
        charter(dir.path()),
        &["schema", "register", "--registry", "http://127.0.0.1:9"],
    );
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("error"), "{r:?}");
    let r = run(
        charter(dir.path()),
        &["schema", "list", "--registry", "http://127.0.0.1:9"],
    );
    assert_eq!(r.code, 3, "{r:?}");

    // Usage and project-file errors: 2.
    assert_eq!(run(charter(dir.path()), &["schema", "frobnicate"]).code, 2);
    let r = run(
        charter(dir.path()),
        &["schema", "test", "--project", "missing.toml"],
    );
    assert_eq!(r.code, 2, "{r:?}");
    write_files(dir.path(), &[("bad.toml", "[[subject]]\nsubject = 1\n")]);
    let r = run(
        charter(dir.path()),
        &["schema", "test", "--project", "bad.toml"],
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("bad.toml"), "{r:?}");

    // Not found: 4.
    let server = Server::start();
    for args in [
        &["schema", "get", "no-such-subject"][..],
        &["schema", "diff", "no-such-subject"],
        &["schema", "delete", "no-such-subject"],
        &["schema", "download", "--subject", "no-such-subject"],
    ] {
        let r = run(server.charter(dir.path()), args);
        assert_eq!(r.code, 4, "{args:?}: {r:?}");
    }
    // A reference to a subject that does not exist: 4, naming it.
    let r = run(
        server.charter(dir.path()),
        &["schema", "register", "--subject", "orders-value"],
    );
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("address-value"), "{r:?}");
}

/// Serves one canned HTTP answer per connection on a free port and records the requests'
/// headers (the registry has no authentication yet; this checks what the CLI sends).
fn recording_registry() -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut head = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let body = "[]";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tx.send(head);
        }
    });
    (url, rx)
}

#[test]
fn basic_auth_and_bearer_token_are_sent() {
    let dir = tempfile::tempdir().unwrap();
    let (url, requests) = recording_registry();
    let r = run(
        charter(dir.path()),
        &[
            "schema",
            "list",
            "--registry",
            &url,
            "--basic-auth",
            "ci:s3cret",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let head = requests.recv().unwrap().to_ascii_lowercase();
    // base64("ci:s3cret")
    assert!(head.contains("authorization: basic y2k6cznjcmv0"), "{head}");

    let mut cmd = charter(dir.path());
    cmd.env("CHARTER_REGISTRY_URL", &url)
        .env("CHARTER_REGISTRY_BEARER_TOKEN", "tok-123");
    let r = run(cmd, &["schema", "list"]);
    assert_eq!(r.code, 0, "{r:?}");
    let head = requests.recv().unwrap();
    assert!(
        head.to_ascii_lowercase()
            .contains("authorization: bearer tok-123"),
        "{head}"
    );
}
