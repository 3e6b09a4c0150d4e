//! Durability of the registry, proven with a real `charter registry` process and `kill -9`:
//! every write that was answered 2xx is there after a restart, and ids keep growing.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct Registry {
    child: Child,
    base: String,
}

impl Registry {
    fn start(dir: &std::path::Path) -> Registry {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_charter"))
            .args(["registry", "--data-dir"])
            .arg(dir)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn charter");
        let r = Registry {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = reqwest::blocking::Client::new();
        while Instant::now() < deadline {
            if client
                .get(&r.base)
                .send()
                .is_ok_and(|resp| resp.status().is_success())
            {
                return r;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("charter registry did not become ready");
    }

    fn kill9(mut self) {
        // SIGKILL: no shutdown hooks, no flush.
        self.child.kill().expect("kill -9");
        self.child.wait().expect("wait");
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn schema(i: usize) -> String {
    json!({"type": "record", "name": format!("R{i}"), "fields": [{"name": "f", "type": "int"}]})
        .to_string()
}

#[test]
fn acknowledged_registrations_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reg = Registry::start(dir.path());
    let base = reg.base.clone();

    // Writers register concurrently while the process is killed under them.
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, i64)>::new()));
    let mut writers = Vec::new();
    for w in 0..8 {
        let base = base.clone();
        let acked = acked.clone();
        writers.push(std::thread::spawn(move || {
            let client = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("client");
            for i in 0..10_000 {
                let n = w * 100_000 + i;
                let subject = format!("crash-{n}");
                let resp = client
                    .post(format!("{base}/subjects/{subject}/versions"))
                    .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                    .body(json!({"schema": schema(n)}).to_string())
                    .send();
                match resp {
                    Ok(r) if r.status().is_success() => {
                        let v: Value = r.json().expect("json");
                        let id = v["id"].as_i64().expect("id");
                        acked.lock().unwrap().push((subject, id));
                    }
                    _ => return,
                }
            }
        }));
    }
    // Let some registrations land, then pull the plug.
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 200 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    reg.kill9();
    for w in writers {
        w.join().expect("writer");
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 50,
        "only {} registrations were acknowledged",
        acked.len()
    );

    let reg = Registry::start(dir.path());
    let client = reqwest::blocking::Client::new();
    let mut max_id = 0;
    for (subject, id) in &acked {
        let v: Value = client
            .get(format!("{}/subjects/{subject}/versions/latest", reg.base))
            .send()
            .expect("get")
            .json()
            .expect("json");
        assert_eq!(
            v["id"].as_i64(),
            Some(*id),
            "{subject} lost after kill -9: {v}"
        );
        max_id = max_id.max(*id);
    }
    // The next id is larger than every id handed out before the crash.
    let resp: Value = client
        .post(format!("{}/subjects/after-crash/versions", reg.base))
        .header("Content-Type", "application/vnd.schemaregistry.v1+json")
        .body(json!({"schema": schema(9_999_999)}).to_string())
        .send()
        .expect("register")
        .json()
        .expect("json");
    assert!(
        resp["id"].as_i64().expect("id") > max_id,
        "{resp} vs max {max_id}"
    );
}
