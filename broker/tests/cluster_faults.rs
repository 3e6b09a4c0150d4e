//! The registry of a three-node cluster under faults: registrars write through random nodes
//! while the controller leader and other nodes are `kill -9`ed, stopped with SIGSTOP and
//! resumed, and restarted after random delays. Afterwards a checker asserts, on every node:
//! every registration answered 2xx is there with the same id and version; no id has two
//! contents; no two acknowledged schemas share an id.
//!
//! Seeded and repeatable in its choices (timing is real): `CHARTER_FAULT_SEED` (default 1)
//! and `CHARTER_FAULT_SECS` (default 20, what CI runs). A long run:
//! `CHARTER_FAULT_SEED=7 CHARTER_FAULT_SECS=600 cargo test -p charter-broker --test
//! cluster_faults -- --nocapture`. It prints how long registrations stalled after each
//! `kill -9` of the leader (BENCHMARKS.md records a long run's figures).

#[path = "support/serve.rs"]
mod serve;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use serve::{free_port, Server};

/// A small deterministic generator (xorshift64*), so a seed names a run's choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi - lo))
    }
}

struct Node {
    id: u64,
    ports: (u16, u16),
    cluster: String,
    dir: PathBuf,
}

enum Down {
    Killed,
    Stopped,
}

fn start(node: &Node, voters: &str) -> Server {
    Server::spawn(
        &node.dir,
        node.ports,
        &["--node-id", &node.id.to_string(), "--voters", voters],
    )
}

fn signal(server: &Server, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &server.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

/// The leader as some node's controller reports it.
fn leader(nodes: &[Node], http: &reqwest::blocking::Client) -> Option<u64> {
    nodes.iter().find_map(|n| {
        let v: Value = http
            .get(format!("http://{}/controller/quorum", n.cluster))
            .timeout(Duration::from_millis(500))
            .send()
            .ok()?
            .json()
            .ok()?;
        v["leader"].as_u64()
    })
}

/// One acknowledged registration.
#[derive(Debug, Clone)]
struct Acked {
    subject: String,
    name: String,
    id: i64,
    version: i64,
    at: Instant,
}

fn schema(name: &str) -> String {
    json!({"type": "record", "name": name, "fields": []}).to_string()
}

#[test]
fn registrations_survive_kills_and_pauses_of_any_node() {
    let seed: u64 = std::env::var("CHARTER_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let secs: u64 = std::env::var("CHARTER_FAULT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    eprintln!("fault loop: seed {seed}, {secs} s");
    let root = tempfile::tempdir().unwrap();
    let nodes: Vec<Node> = (1..=3)
        .map(|id| Node {
            id,
            ports: (free_port(), free_port()),
            cluster: format!("127.0.0.1:{}", free_port()),
            dir: root.path().join(format!("n{id}")),
        })
        .collect();
    let voters = nodes
        .iter()
        .map(|n| format!("{}@{}", n.id, n.cluster))
        .collect::<Vec<_>>()
        .join(",");
    let servers: Arc<Mutex<Vec<Option<Server>>>> = Arc::new(Mutex::new(
        nodes.iter().map(|n| Some(start(n, &voters))).collect(),
    ));
    for s in servers.lock().unwrap().iter_mut().flatten() {
        s.wait_ready();
    }
    let bases: Vec<String> = nodes
        .iter()
        .map(|n| format!("http://127.0.0.1:{}", n.ports.0))
        .collect();

    // New versions of a subject are unrelated records: no compatibility check in the way.
    let resp = reqwest::blocking::Client::new()
        .put(format!("{}/config", bases[1]))
        .header("Content-Type", "application/vnd.schemaregistry.v1+json")
        .body(r#"{"compatibility": "NONE"}"#)
        .send()
        .unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text());

    // Registrars: each writes new schemas through random nodes and keeps what got a 2xx.
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..4u64 {
        let (stop, acked, bases) = (stop.clone(), acked.clone(), bases.clone());
        writers.push(std::thread::spawn(move || {
            let http = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            let mut rng = Rng(seed.wrapping_mul(31).wrapping_add(w + 1) | 1);
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let name = format!("W{w}N{i}");
                // A few subjects per writer, so versions grow too.
                let subject = format!("w{w}-s{}-value", rng.below(3));
                let base = &bases[rng.below(3) as usize];
                let resp = http
                    .post(format!("{base}/subjects/{subject}/versions"))
                    .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                    .body(json!({ "schema": schema(&name) }).to_string())
                    .send();
                let Ok(resp) = resp else { continue };
                if !resp.status().is_success() {
                    continue;
                }
                let Ok(v) = resp.json::<Value>() else {
                    continue;
                };
                let id = v["id"].as_i64().expect("id in a 2xx");
                // The version: asked of the same node, which has applied the write.
                let lookup = http
                    .post(format!("{base}/subjects/{subject}"))
                    .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                    .body(json!({ "schema": schema(&name) }).to_string())
                    .send()
                    .ok()
                    .filter(|r| r.status().is_success())
                    .and_then(|r| r.json::<Value>().ok());
                let Some(found) = lookup else { continue };
                assert_eq!(found["id"].as_i64(), Some(id), "read-your-write on {base}");
                acked.lock().unwrap().push(Acked {
                    subject,
                    name,
                    id,
                    version: found["version"].as_i64().expect("version"),
                    at: Instant::now(),
                });
            }
        }));
    }

    // Faults: one node down at a time (a majority stays up), often the leader.
    let http = reqwest::blocking::Client::new();
    let mut rng = Rng(seed | 1);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut leader_kills = Vec::new();
    let mut faults = 0;
    while Instant::now() < deadline {
        std::thread::sleep(rng.millis(1000, 3000));
        let target = if rng.below(2) == 0 {
            leader(&nodes, &http).unwrap_or(1)
        } else {
            1 + rng.below(3)
        };
        let idx = (target - 1) as usize;
        let was_leader = leader(&nodes, &http) == Some(target);
        let kill = rng.below(3) != 0;
        let down = {
            let mut s = servers.lock().unwrap();
            let server = s[idx].take().expect("every node is up between faults");
            if kill {
                server.kill9();
                Down::Killed
            } else {
                signal(&server, "-STOP");
                s[idx] = Some(server);
                Down::Stopped
            }
        };
        faults += 1;
        let t0 = Instant::now();
        std::thread::sleep(rng.millis(500, 2500));
        match down {
            Down::Killed => {
                let mut back = start(&nodes[idx], &voters);
                back.wait_ready();
                servers.lock().unwrap()[idx] = Some(back);
            }
            Down::Stopped => signal(servers.lock().unwrap()[idx].as_ref().unwrap(), "-CONT"),
        }
        if kill && was_leader {
            leader_kills.push(t0);
        }
    }
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    // How long after each kill -9 of the leader the next registration was acknowledged.
    let stalls: Vec<Duration> = leader_kills
        .iter()
        .filter_map(|&t0| {
            acked
                .iter()
                .map(|a| a.at)
                .filter(|&at| at >= t0)
                .min()
                .map(|at| at - t0)
        })
        .collect();
    eprintln!(
        "{faults} faults, {} registrations acknowledged; first ack after each leader kill: {stalls:?}",
        acked.len()
    );
    // Writes went on between the faults (each fault leaves a majority up).
    assert!(
        faults > 0 && acked.len() >= 20,
        "{} acknowledged",
        acked.len()
    );

    // Checker: every node agrees with every acknowledgement, and ids never repeat.
    let mut by_id: BTreeMap<i64, &str> = BTreeMap::new();
    for a in &acked {
        if let Some(prev) = by_id.insert(a.id, &a.name) {
            assert_eq!(prev, a.name, "id {} acknowledged for two schemas", a.id);
        }
    }
    let http = reqwest::blocking::Client::new();
    for base in &bases {
        // Every node catches up after the faults stop.
        let want = acked.len();
        let t = Instant::now();
        loop {
            let seen = acked
                .iter()
                .filter(|a| {
                    http.get(format!("{base}/schemas/ids/{}", a.id))
                        .send()
                        .is_ok_and(|r| r.status().is_success())
                })
                .count();
            if seen == want {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "{base}: {seen} of {want} acknowledged ids"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        for a in &acked {
            let v: Value = http
                .get(format!(
                    "{base}/subjects/{}/versions/{}",
                    a.subject, a.version
                ))
                .send()
                .unwrap()
                .json()
                .unwrap();
            assert_eq!(v["id"].as_i64(), Some(a.id), "{base} {a:?}: {v}");
            let text = v["schema"].as_str().unwrap();
            assert!(
                text.contains(&format!("\"{}\"", a.name)),
                "{base} {a:?}: {text}"
            );
        }
        // No id anywhere with two contents: the node's whole listing against the others'.
        let all: Vec<Value> = http
            .get(format!("{base}/schemas?deleted=true"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        for s in &all {
            let id = s["id"].as_i64().unwrap();
            let other: Value = http
                .get(format!("{}/schemas/ids/{id}", bases[0]))
                .send()
                .unwrap()
                .json()
                .unwrap();
            assert_eq!(
                other["schema"], s["schema"],
                "id {id} differs between nodes"
            );
        }
    }
    for s in servers.lock().unwrap().iter_mut() {
        if let Some(s) = s.take() {
            s.stop();
        }
    }
}
