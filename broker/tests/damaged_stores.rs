//! Damaged metadata is refused with a clear message, never accepted silently; an operator's
//! `--accept-damaged-stores` keeps the readable part, and schema ids still never go backwards
//! (issue #12, item 4). Real `charter serve` processes over real files.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

#[path = "support/serve.rs"]
mod serve;
use serve::{command, free_port, Server};

/// A start that must fail: its output, after at most 30 s.
fn refused_start(dir: &Path) -> Output {
    let out = command(dir, free_port(), free_port(), &[])
        .stdin(Stdio::null())
        .output()
        .expect("run charter");
    assert!(!out.status.success(), "a damaged store was opened");
    out
}

fn register(base: &str, i: usize) -> i64 {
    let schema = json!({"type": "record", "name": format!("R{i}"), "fields": [{"name": "f", "type": "int"}]});
    let resp: Value = reqwest::blocking::Client::new()
        .post(format!("{base}/subjects/s{i}/versions"))
        .header("Content-Type", "application/vnd.schemaregistry.v1+json")
        .body(json!({ "schema": schema.to_string() }).to_string())
        .send()
        .unwrap()
        .json()
        .unwrap();
    resp["id"].as_i64().unwrap_or_else(|| panic!("{resp}"))
}

fn log_file(journal: &Path) -> PathBuf {
    std::fs::read_dir(journal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "log"))
        .unwrap()
}

fn create_topic(bootstrap: &str, name: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_charter"))
        .args([
            "topic",
            "create",
            name,
            "--partitions",
            "2",
            "--bootstrap-server",
            bootstrap,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_truncated_registry_log_is_refused_and_ids_never_go_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    for i in 0..5 {
        assert_eq!(register(&server.base, i), i as i64 + 1);
    }
    server.stop();

    // The registry's log (the controller's, in `charter serve`) loses 70% of its bytes.
    let log = log_file(&dir.path().join("controller/log"));
    let len = std::fs::metadata(&log).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(len * 3 / 10)
        .unwrap();

    let out = refused_start(dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is damaged"), "{stderr}");
    assert!(stderr.contains("--accept-damaged-stores"), "{stderr}");
    // Refusing changed nothing: refused again.
    refused_start(dir.path());

    // The operator accepts the loss: the readable schemas stay, new ids continue past 5.
    let server = Server::start(dir.path(), &["--accept-damaged-stores"]);
    assert_eq!(register(&server.base, 100), 6, "ids never go backwards");
    server.stop();
    let server = Server::start(dir.path(), &[]);
    assert_eq!(register(&server.base, 101), 7);
    server.stop();
}

#[test]
fn damaged_topic_metadata_is_refused_not_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    create_topic(&server.kafka, "orders");
    create_topic(&server.kafka, "payments");
    server.stop();

    // Flip bytes in the middle of the metadata journal.
    let log = log_file(&dir.path().join("broker-journal"));
    let len = std::fs::metadata(&log).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
    f.write_all_at(&[0xA5; 8], len / 2).unwrap();

    let out = refused_start(dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("broker-journal") && stderr.contains("is damaged"),
        "{stderr}"
    );
    // The partition data is still there, untouched.
    assert!(dir.path().join("kafka/payments-1").exists());
}
