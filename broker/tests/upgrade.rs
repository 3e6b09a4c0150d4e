//! A data directory written by the release before the journal (sled stores) upgrades in
//! place: schemas keep their ids, configs, topics (with ids, configs and records), committed
//! offsets and the cluster id survive, and the next schema id continues after them. See
//! `fixtures/README.md` for how the fixture was made.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

#[path = "support/serve.rs"]
mod serve;
use serve::Server;

/// A client command against `server`.
fn cli(server: &Server, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(args)
        .env("CHARTER_REGISTRY_URL", &server.base)
        .env("CHARTER_BOOTSTRAP_SERVER", &server.kafka)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn get(base: &str, path: &str) -> Option<Value> {
    let resp = reqwest::blocking::get(format!("{base}{path}")).ok()?;
    resp.status()
        .is_success()
        .then(|| resp.json().ok())
        .flatten()
}

fn check(server: &Server) {
    let subjects = get(&server.base, "/subjects").unwrap();
    assert_eq!(
        subjects,
        json!([
            "address-value",
            "orders-value",
            "payments-value",
            "shipments-value",
            "users-value"
        ])
    );
    for (subject, id) in [
        ("users-value", 1),
        ("address-value", 2),
        ("orders-value", 3),
        ("shipments-value", 4),
        ("payments-value", 5),
    ] {
        let v = get(
            &server.base,
            &format!("/subjects/{subject}/versions/latest"),
        )
        .unwrap();
        assert_eq!(v["id"], id, "{subject}");
    }
    let config = get(&server.base, "/config/users-value").unwrap();
    assert_eq!(config["compatibilityLevel"], "FULL");
    // The Kafka cluster id the 0.1.0 broker kept stays the cluster's id, and the registry
    // names it as Confluent's does (0.1.0's registry reported an id of its own here).
    let meta = get(&server.base, "/v1/metadata/id").unwrap();
    assert_eq!(
        meta["scope"]["clusters"]["kafka-cluster"],
        "3445fab621584c51bebe30"
    );

    let topic: Value = serde_json::from_str(&cli(
        server,
        &["topic", "describe", "users", "--output", "json"],
    ))
    .unwrap();
    assert_eq!(topic["topic_id"], "698d1d0f-dd69-41a1-ab9c-3711b5a23957");
    assert_eq!(topic["partitions"].as_array().unwrap().len(), 2);
    let configs = topic["configs"].to_string();
    assert!(
        configs.contains("confluent.value.schema.validation"),
        "{configs}"
    );
    let topics = cli(server, &["topic", "list", "--output", "json"]);
    assert!(
        topics.contains("plain") && !topics.contains("gone"),
        "{topics}"
    );

    let group: Value = serde_json::from_str(&cli(
        server,
        &["group", "describe", "audit", "--output", "json"],
    ))
    .unwrap();
    let committed: Vec<(i64, Value)> = group["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["partition"].as_i64().unwrap(),
                o["committed_offset"].clone(),
            )
        })
        .collect();
    assert!(committed.contains(&(0, json!(3))), "{group}");

    let records = cli(
        server,
        &[
            "consume",
            "--topic",
            "users",
            "--from-beginning",
            "--max",
            "3",
            "--timeout-ms",
            "5000",
        ],
    );
    assert_eq!(records.lines().count(), 3, "{records}");
    assert!(records.contains("\"name\":\"Ann\""), "{records}");
}

#[test]
fn a_sled_data_dir_upgrades_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/datadir-0.1.0-sled.tar.gz");
    let ok = Command::new("tar")
        .arg("xzf")
        .arg(&fixture)
        .arg("-C")
        .arg(dir.path())
        .status()
        .unwrap()
        .success();
    assert!(ok, "unpacking the fixture");
    let data = dir.path().join("data");

    let server = Server::start(&data, &[]);
    check(&server);
    assert!(data.join("registry.sled-imported").exists());
    assert!(data.join("broker-meta.sled-imported").exists());
    // The registry now lives in the controller's log; its journal was imported once.
    assert!(data.join("registry-journal.imported").exists());
    assert!(!data.join("registry-journal").exists());
    server.stop();

    // The second start reads the journals only, and new ids continue after the old ones.
    let server = Server::start(&data, &[]);
    check(&server);
    let schema = json!({"type": "record", "name": "New", "fields": []}).to_string();
    let resp: Value = reqwest::blocking::Client::new()
        .post(format!("{}/subjects/new-value/versions", server.base))
        .header("Content-Type", "application/vnd.schemaregistry.v1+json")
        .body(json!({ "schema": schema }).to_string())
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(resp["id"], 6, "{resp}");
    server.stop();
}
