//! `charter topic ...` end to end over the Kafka protocol against a real `charter serve`.

use crate::common::{charter, run, Server};

#[test]
fn topic_lifecycle_with_validation_configs() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let c = || server.charter(dir.path());

    let r = run(
        c(),
        &[
            "topic",
            "create",
            "orders",
            "--partitions",
            "3",
            "--config",
            "confluent.value.schema.validation=true",
            "--config",
            "retention.ms=3600000",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("created topic orders"), "{r:?}");
    // Creating it again is a broker error (TOPIC_ALREADY_EXISTS), not success.
    let r = run(c(), &["topic", "create", "orders"]);
    assert_eq!(r.code, 5, "{r:?}");
    assert!(r.stderr.contains("TopicAlreadyExists"), "{r:?}");

    let r = run(c(), &["topic", "list", "--output", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["topic"] == "orders" && t["partitions"] == 3));

    let r = run(c(), &["topic", "describe", "orders", "--output", "json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let v = r.json();
    assert_eq!(v["partitions"].as_array().unwrap().len(), 3);
    assert_eq!(v["partitions"][0]["end_offset"], 0);
    assert_eq!(
        v["configs"]["confluent.value.schema.validation"]["value"],
        "true"
    );
    assert_eq!(v["configs"]["retention.ms"]["value"], "3600000");
    let r = run(c(), &["topic", "describe", "orders"]);
    assert!(
        r.stdout.contains("PARTITION") && r.stdout.contains("CONFIG"),
        "{r:?}"
    );

    let r = run(
        c(),
        &[
            "topic",
            "alter-config",
            "orders",
            "--set",
            "confluent.key.schema.validation=true",
            "--delete",
            "retention.ms",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let v = run(c(), &["topic", "describe", "orders", "--output", "json"]).json();
    assert_eq!(
        v["configs"]["confluent.key.schema.validation"]["value"],
        "true"
    );
    assert_eq!(v["configs"]["retention.ms"]["default"], true);

    let r = run(c(), &["topic", "delete", "orders"]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = run(c(), &["topic", "describe", "orders"]);
    assert_eq!(r.code, 4, "{r:?}");
    let r = run(c(), &["topic", "delete", "orders"]);
    assert_eq!(r.code, 4, "{r:?}");
    let r = run(c(), &["topic", "alter-config", "orders", "--set", "a=b"]);
    assert_eq!(r.code, 4, "{r:?}");
}

#[test]
fn topic_error_paths() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        charter(dir.path()),
        &["topic", "list", "--bootstrap-server", "127.0.0.1:9"],
    );
    assert_eq!(r.code, 3, "{r:?}");
    let r = run(
        charter(dir.path()),
        &["topic", "create", "t", "--config", "no-equals-sign"],
    );
    assert_eq!(r.code, 2, "{r:?}");
    let r = run(charter(dir.path()), &["topic", "alter-config", "t"]);
    assert_eq!(r.code, 2, "{r:?}");
}
