//! `charter produce` and `charter consume` end to end: JSON lines encoded with the registered
//! schema into a validated topic, per-record failures reported without stopping, records
//! decoded back through the registry, unframed bytes shown as strings or base64.

use std::time::Duration;

use crate::common::{charter, run, run_with_input, schemas_dir, write_files, Server};
use serde_json::Value;

fn setup(server: &Server, dir: &std::path::Path) {
    std::fs::copy(schemas_dir().join("user.avsc"), dir.join("user.avsc")).unwrap();
    write_files(
        dir,
        &[(
            "charter.toml",
            "[[subject]]\nsubject = \"users-value\"\nfile = \"user.avsc\"\n",
        )],
    );
    let r = run(server.charter(dir), &["schema", "register"]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = run(
        server.charter(dir),
        &[
            "topic",
            "create",
            "users",
            "--partitions",
            "2",
            "--config",
            "confluent.value.schema.validation=true",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
}

fn lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn produce_reports_each_bad_line_and_consume_decodes() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    setup(&server, dir.path());

    let input = [
        r#"{"key": "u1", "value": {"id": 1, "name": "Ann", "email": {"string": "ann@example.com"}, "created_at": 1700000000000}, "headers": {"source": "test"}}"#,
        r#"{"key": "u2", "value": {"id": 2, "name": "Bob"#,
        r#"{"key": "u3", "value": {"id": "three", "name": "Cy", "created_at": 1}}"#,
        r#"{"value": {"id": 4, "name": "Di", "created_at": 1}}"#,
        r#"[1, 2]"#,
        r#"{"key": "u5"}"#,
    ]
    .join("\n");
    let r = run_with_input(
        server.charter(dir.path()),
        &["produce", "--topic", "users"],
        &input,
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("line 2: malformed JSON"), "{r:?}");
    assert!(r.stdout.contains("line 3: value:"), "{r:?}");
    assert!(r.stdout.contains("line 5: expected an object"), "{r:?}");
    assert!(r.stdout.contains("line 6: no \"value\""), "{r:?}");
    assert!(r.stdout.contains("produced 2 record(s) to users"), "{r:?}");
    assert!(r.stderr.contains("4 of 6 record(s) failed"), "{r:?}");

    // Unframed values are rejected by the validating broker, record by record.
    let r = run_with_input(
        server.charter(dir.path()),
        &[
            "produce",
            "--topic",
            "users",
            "--value-format",
            "json",
            "--output",
            "json",
        ],
        "{\"value\": {\"id\": 9}}\n{\"value\": {\"id\": 10}}\n",
    );
    assert_eq!(r.code, 1, "{r:?}");
    let v = r.json();
    assert_eq!(v["produced"], 0);
    let failed = v["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 2);
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("InvalidRecord"),
        "{v}"
    );

    // A file works like stdin.
    write_files(
        dir.path(),
        &[(
            "more.jsonl",
            "{\"key\": \"u7\", \"value\": {\"id\": 7, \"name\": \"Ed\", \"email\": null, \"created_at\": 7}}\n",
        )],
    );
    let r = run(
        server.charter(dir.path()),
        &["produce", "--topic", "users", "--file", "more.jsonl"],
    );
    assert_eq!(r.code, 0, "{r:?}");

    let r = run(
        server.charter(dir.path()),
        &[
            "consume",
            "--topic",
            "users",
            "--from-beginning",
            "--max",
            "3",
            "--timeout-ms",
            "10000",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let recs = lines(&r.stdout);
    assert_eq!(recs.len(), 3, "{r:?}");
    let ann = recs.iter().find(|r| r["key"] == "u1").expect("u1");
    assert_eq!(ann["value"]["name"], "Ann");
    assert_eq!(ann["value"]["email"]["string"], "ann@example.com");
    assert_eq!(ann["headers"]["source"], "test");
    assert_eq!(ann["key_encoding"], "string");
    assert!(ann.get("value_encoding").is_none());
    assert!(ann["offset"].is_i64() && ann["timestamp"].is_i64());
    let keyless = recs.iter().find(|r| r["key"].is_null()).expect("keyless");
    assert_eq!(keyless["value"]["id"], 4);

    // Idle timeout: nothing more to read ends the command.
    let r = run(
        server.charter(dir.path()),
        &["consume", "--topic", "users", "--timeout-ms", "300"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.is_empty(), "{r:?}");
}

#[test]
fn unframed_bytes_are_shown_as_string_or_base64() {
    use rdkafka::config::ClientConfig;
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let r = run(server.charter(dir.path()), &["topic", "create", "raw"]);
    assert_eq!(r.code, 0, "{r:?}");
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &server.bootstrap)
        .create()
        .expect("producer");
    producer
        .send(
            BaseRecord::to("raw")
                .key("k1")
                .payload(&[0xffu8, 0xfe, 0x00][..]),
        )
        .expect("send");
    producer.flush(Duration::from_secs(10)).expect("flush");
    let r = run_with_input(
        server.charter(dir.path()),
        &["produce", "--topic", "raw", "--value-format", "string"],
        "{\"key\": \"k2\", \"value\": \"plain text\"}\n",
    );
    assert_eq!(r.code, 0, "{r:?}");

    let r = run(
        server.charter(dir.path()),
        &[
            "consume",
            "--topic",
            "raw",
            "--from-beginning",
            "--max",
            "2",
            "--timeout-ms",
            "10000",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let recs = lines(&r.stdout);
    assert_eq!(recs[0]["value"], "//4A");
    assert_eq!(recs[0]["value_encoding"], "base64");
    assert_eq!(recs[1]["value"], "plain text");
    assert_eq!(recs[1]["value_encoding"], "string");
}

#[test]
fn produce_and_consume_error_paths() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    setup(&server, dir.path());
    // Unknown topic: 4.
    let r = run_with_input(
        server.charter(dir.path()),
        &["produce", "--topic", "nope", "--value-format", "json"],
        "{\"value\": 1}\n",
    );
    assert_eq!(r.code, 4, "{r:?}");
    let r = run(
        server.charter(dir.path()),
        &["consume", "--topic", "nope", "--timeout-ms", "100"],
    );
    assert_eq!(r.code, 4, "{r:?}");
    let r = run_with_input(
        server.charter(dir.path()),
        &["produce", "--topic", "users", "--partition", "7"],
        "{\"value\": 1}\n",
    );
    assert_eq!(r.code, 4, "{r:?}");
    let r = run(
        server.charter(dir.path()),
        &[
            "consume",
            "--topic",
            "users",
            "--partition",
            "7",
            "--timeout-ms",
            "100",
        ],
    );
    assert_eq!(r.code, 4, "{r:?}");
    // No schema under the topic's subject: 4, before reading any input.
    let r = run(server.charter(dir.path()), &["topic", "create", "plain"]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = run_with_input(
        server.charter(dir.path()),
        &["produce", "--topic", "plain"],
        "{\"value\": 1}\n",
    );
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("plain-value"), "{r:?}");
    // Unreadable input file: 2.
    let r = run(
        server.charter(dir.path()),
        &["produce", "--topic", "users", "--file", "missing.jsonl"],
    );
    assert_eq!(r.code, 2, "{r:?}");
    // Unreachable broker and registry: 3.
    let r = run_with_input(
        charter(dir.path()),
        &[
            "produce",
            "--topic",
            "users",
            "--value-format",
            "json",
            "--bootstrap-server",
            "127.0.0.1:9",
        ],
        "{\"value\": 1}\n",
    );
    assert_eq!(r.code, 3, "{r:?}");
    let r = run_with_input(
        charter(dir.path()),
        &[
            "produce",
            "--topic",
            "users",
            "--registry",
            "http://127.0.0.1:9",
        ],
        "{\"value\": 1}\n",
    );
    assert_eq!(r.code, 3, "{r:?}");
    let r = run(
        charter(dir.path()),
        &[
            "consume",
            "--topic",
            "users",
            "--bootstrap-server",
            "127.0.0.1:9",
        ],
    );
    assert_eq!(r.code, 3, "{r:?}");
}

#[test]
fn protobuf_and_json_schema_values_round_trip() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    for f in ["payment.proto", "shipment.json"] {
        std::fs::copy(schemas_dir().join(f), dir.path().join(f)).unwrap();
    }
    write_files(
        dir.path(),
        &[(
            "charter.toml",
            "[[subject]]\nsubject = \"payments-value\"\nfile = \"payment.proto\"\n\n\
             [[subject]]\nsubject = \"shipments-value\"\nfile = \"shipment.json\"\n",
        )],
    );
    assert_eq!(
        run(server.charter(dir.path()), &["schema", "register"]).code,
        0
    );
    for t in ["payments", "shipments"] {
        let r = run(
            server.charter(dir.path()),
            &[
                "topic",
                "create",
                t,
                "--config",
                "confluent.value.schema.validation=true",
            ],
        );
        assert_eq!(r.code, 0, "{r:?}");
    }
    let r = run_with_input(
        server.charter(dir.path()),
        &["produce", "--topic", "payments"],
        "{\"value\": {\"paymentId\": \"p1\", \"amountCents\": \"1250\", \"method\": \"CARD\"}}\n",
    );
    assert_eq!(r.code, 0, "{r:?}");
    let r = run_with_input(
        server.charter(dir.path()),
        &["produce", "--topic", "shipments"],
        "{\"value\": {\"shipment_id\": \"s1\", \"order_id\": \"o1\", \"carrier\": \"DHL\"}}\n\
         {\"value\": {\"shipment_id\": \"s2\", \"carrier\": \"FEDEX\"}}\n",
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("line 2: value"), "{r:?}");
    let r = run(
        server.charter(dir.path()),
        &[
            "consume",
            "--topic",
            "payments",
            "--from-beginning",
            "--max",
            "1",
            "--timeout-ms",
            "10000",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let v = &lines(&r.stdout)[0]["value"];
    assert_eq!(v["paymentId"], "p1", "{v}");
    assert_eq!(v["amountCents"], "1250", "{v}");
    assert_eq!(v["method"], "CARD", "{v}");
    let r = run(
        server.charter(dir.path()),
        &[
            "consume",
            "--topic",
            "shipments",
            "--from-beginning",
            "--max",
            "1",
            "--timeout-ms",
            "10000",
        ],
    );
    assert_eq!(lines(&r.stdout)[0]["value"]["carrier"], "DHL", "{r:?}");
}
