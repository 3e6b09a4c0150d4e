//! A full disk, kills and restarts never make the platform unopenable or lose an
//! acknowledged write (issue #12's sequence): a real `charter serve` on a real, small tmpfs.
//! Registrations are acknowledged; the disk fills; further registrations fail with 500;
//! `kill -9`; a start while the disk is still full works and serves everything; SIGTERM on the
//! full disk finishes within a bound; space is freed; the next start has every acknowledged
//! schema under its id, and ids continue where they stopped.
//!
//! Needs root for `mount` (CI runs as root); without it the test fails, it does not pass.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

#[path = "support/serve.rs"]
mod serve;
use serve::Server;

struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "mounting a tmpfs failed: this test needs root (CI runs as root)"
        );
        Tmpfs(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0.path()).status();
    }
}

fn schema(i: usize) -> String {
    json!({"type": "record", "name": format!("R{i}"), "fields": [{"name": "f", "type": "int"}]})
        .to_string()
}

fn register(client: &reqwest::blocking::Client, base: &str, i: usize) -> (u16, Value) {
    let resp = client
        .post(format!("{base}/subjects/s{i}/versions"))
        .header("Content-Type", "application/vnd.schemaregistry.v1+json")
        .body(json!({ "schema": schema(i) }).to_string())
        .send()
        .expect("registry reachable");
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn id_of(client: &reqwest::blocking::Client, base: &str, i: usize) -> Option<i64> {
    let resp = client
        .get(format!("{base}/subjects/s{i}/versions/latest"))
        .send()
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json::<Value>().ok()?["id"].as_i64()
}

/// Fills the filesystem at `dir` with one file until it is full.
fn fill(path: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    // The last partial pages too.
    while f.write_all(&chunk[..512]).is_ok() {}
    let _ = f.sync_all();
}

#[test]
fn a_full_disk_kills_and_restarts_lose_nothing_acknowledged() {
    let fs = Tmpfs::mount("64m");
    let data = fs.0.path().join("data");
    let filler = fs.0.path().join("filler");
    let client = reqwest::blocking::Client::new();

    let server = Server::start(&data, &[]);
    let mut acked = Vec::new();
    for i in 0..300 {
        let (status, body) = register(&client, &server.base, i);
        assert_eq!(status, 200, "{body}");
        acked.push((i, body["id"].as_i64().unwrap()));
    }

    fill(&filler);
    let mut refused = 0;
    for i in 300..340 {
        let (status, body) = register(&client, &server.base, i);
        match status {
            200 => acked.push((i, body["id"].as_i64().unwrap())),
            500 => {
                refused += 1;
                assert_eq!(body["error_code"], 50001, "{body}");
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(refused > 0, "the disk never filled");
    server.kill9();

    // A start while the disk is still full: it opens, serves what was acknowledged, and a
    // SIGTERM ends it within the shutdown bound.
    let server = Server::start(&data, &[]);
    for &(i, id) in &acked {
        assert_eq!(id_of(&client, &server.base, i), Some(id), "subject s{i}");
    }
    let (status, _) = register(&client, &server.base, 1000);
    assert_eq!(status, 500, "still full");
    server.terminate_within(Duration::from_secs(25));

    // Another start on the full disk, killed again.
    Server::start(&data, &[]).kill9();

    // Space comes back.
    std::fs::remove_file(&filler).unwrap();
    let server = Server::start(&data, &[]);
    for &(i, id) in &acked {
        assert_eq!(id_of(&client, &server.base, i), Some(id), "subject s{i}");
    }
    let max = acked.iter().map(|(_, id)| *id).max().unwrap();
    let (status, body) = register(&client, &server.base, 2000);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["id"].as_i64(),
        Some(max + 1),
        "ids continue, never reused"
    );
    let status = server.terminate_within(Duration::from_secs(25));
    assert!(status.success(), "a clean shutdown exits 0: {status}");
}
