//! Damaged metadata is refused with a clear message, never accepted silently; an operator's
//! `--accept-damaged-stores` keeps the readable part, and schema ids still never go backwards
//! (issue #12, item 4). Real `charter serve` processes over real files.

use std::net::TcpListener;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

struct Server {
    child: Child,
    base: String,
    kafka: String,
}

fn command(dir: &Path, http: u16, kafka: u16, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_charter"));
    c.arg("serve")
        .arg("--data-dir")
        .arg(dir)
        .args(["--registry-listen", &format!("127.0.0.1:{http}")])
        .args(["--kafka-listen", &format!("127.0.0.1:{kafka}")])
        .args(extra)
        .env("RUST_LOG", "warn");
    c
}

impl Server {
    fn start(dir: &Path, extra: &[&str]) -> Server {
        let (http, kafka) = (free_port(), free_port());
        let child = command(dir, http, kafka, extra)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn charter");
        let mut s = Server {
            child,
            base: format!("http://127.0.0.1:{http}"),
            kafka: format!("127.0.0.1:{kafka}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = reqwest::blocking::Client::new();
        while Instant::now() < deadline {
            if let Ok(Some(status)) = s.child.try_wait() {
                panic!("charter serve exited during start: {status}");
            }
            if client
                .get(&s.base)
                .send()
                .is_ok_and(|r| r.status().is_success())
            {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("charter serve did not become ready");
    }

    fn stop(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "clean shutdown: {status}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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

    // The registry's log loses 70% of its bytes.
    let log = log_file(&dir.path().join("registry-journal"));
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
