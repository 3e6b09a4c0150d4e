//! Three real `charter serve` processes forming one controller quorum (`--voters`), and the
//! one-node start that needs no cluster flags: what `charter cluster status` (DescribeQuorum
//! and Metadata over the Kafka protocol) and `/v1/metadata/id` report, and a controller
//! leader killed with `kill -9` being replaced and then rejoining.

#[path = "support/serve.rs"]
mod serve;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use serve::{free_port, Server};

/// `charter cluster status --output json` against `kafka`; `None` while it fails.
fn status(kafka: &str) -> Option<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(["cluster", "status", "--output", "json"])
        .args(["--bootstrap-server", kafka])
        .output()
        .expect("run charter cluster status");
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// Polls `status(kafka)` until `ok` accepts it (20 s at most).
fn status_until(kafka: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = None;
    while Instant::now() < deadline {
        if let Some(s) = status(kafka) {
            if ok(&s) {
                return s;
            }
            last = Some(s);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{what}: not seen within 20 s; last status: {last:?}");
}

fn registry_cluster_id(base: &str) -> String {
    let v: Value = reqwest::blocking::get(format!("{base}/v1/metadata/id"))
        .expect("GET /v1/metadata/id")
        .json()
        .expect("json");
    v["scope"]["clusters"]["kafka-cluster"]
        .as_str()
        .expect("kafka-cluster")
        .to_string()
}

fn leader(s: &Value) -> Option<u64> {
    s["controller"]["leader"].as_u64()
}

/// Every voter's lag is known and zero (the leader sees them all caught up).
fn all_caught_up(s: &Value, voters: usize) -> bool {
    let vs = s["controller"]["voters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    vs.len() == voters && vs.iter().all(|v| v["lag"].as_i64() == Some(0))
}

struct Node {
    id: u64,
    ports: (u16, u16),
    dir: std::path::PathBuf,
    /// Its cluster listener's port.
    cluster: u16,
}

/// Three nodes under `root` on free ports, and their `--voters` list.
fn three_nodes(root: &Path) -> (Vec<Node>, String) {
    let nodes: Vec<Node> = (1..=3)
        .map(|id| Node {
            id,
            ports: (free_port(), free_port()),
            dir: root.join(format!("n{id}")),
            cluster: free_port(),
        })
        .collect();
    let voters = nodes
        .iter()
        .map(|n| format!("{}@127.0.0.1:{}", n.id, n.cluster))
        .collect::<Vec<_>>()
        .join(",");
    (nodes, voters)
}

fn start(node: &Node, voters: &str) -> Server {
    let id = node.id.to_string();
    Server::spawn(
        &node.dir,
        node.ports,
        &["--node-id", &id, "--voters", voters],
    )
}

#[test]
fn three_nodes_form_one_quorum_and_survive_the_loss_of_its_leader() {
    let root = tempfile::tempdir().unwrap();
    let (nodes, voters) = three_nodes(root.path());
    let mut servers: Vec<Option<Server>> = nodes.iter().map(|n| Some(start(n, &voters))).collect();
    for s in servers.iter_mut().flatten() {
        s.wait_ready();
    }

    // One cluster: the same id everywhere, in Kafka's Metadata and in the registry.
    let first = status_until(
        &servers[0].as_ref().unwrap().kafka,
        "all voters caught up",
        |s| all_caught_up(s, 3),
    );
    let cluster_id = first["cluster_id"]
        .as_str()
        .expect("cluster id")
        .to_string();
    assert_eq!(cluster_id.len(), 22, "Kafka's id shape: {cluster_id}");
    let old_leader = leader(&first).expect("a leader");
    for s in servers.iter().flatten() {
        let st = status_until(&s.kafka, "a leader", |s| leader(s).is_some());
        assert_eq!(st["cluster_id"], first["cluster_id"], "{st}");
        assert_eq!(leader(&st), Some(old_leader), "{st}");
        assert_eq!(registry_cluster_id(&s.base), cluster_id);
    }
    let term = first["controller"]["term"].as_i64().unwrap();

    // kill -9 the controller leader: the other two elect a new one in a later term.
    let idx = nodes.iter().position(|n| n.id == old_leader).unwrap();
    servers[idx].take().unwrap().kill9();
    let survivor = servers.iter().flatten().next().unwrap().kafka.clone();
    let after = status_until(&survivor, "a new leader", |s| {
        leader(s).is_some_and(|l| l != old_leader)
    });
    assert!(
        after["controller"]["term"].as_i64().unwrap() > term,
        "{after}"
    );

    // The killed node restarts on its data dir and catches up as a voter of the same cluster.
    let mut back = start(&nodes[idx], &voters);
    back.wait_ready();
    assert_eq!(registry_cluster_id(&back.base), cluster_id);
    let healed = status_until(&back.kafka, "all three caught up again", |s| {
        all_caught_up(s, 3)
    });
    assert_eq!(healed["cluster_id"].as_str(), Some(cluster_id.as_str()));
    servers[idx] = Some(back);
    for s in servers.into_iter().flatten() {
        s.stop();
    }
}

#[test]
fn a_voter_whose_data_dir_was_wiped_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let (nodes, voters) = three_nodes(root.path());
    let mut servers: Vec<Server> = nodes.iter().map(|n| start(n, &voters)).collect();
    for s in servers.iter_mut() {
        s.wait_ready();
    }
    // Every node has recorded its directory incarnation in the controller's log.
    let members = format!("http://127.0.0.1:{}/controller/members", nodes[0].cluster);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let m: Value = reqwest::blocking::get(&members).unwrap().json().unwrap();
        if m["incarnations"].as_object().is_some_and(|i| i.len() == 3) {
            break;
        }
        assert!(Instant::now() < deadline, "incarnations not recorded: {m}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Node 3 loses its disk and comes back empty: refused, with what to do.
    servers.pop().unwrap().kill9();
    std::fs::remove_dir_all(&nodes[2].dir).unwrap();
    let out = serve::command(
        &nodes[2].dir,
        nodes[2].ports.0,
        nodes[2].ports.1,
        &["--node-id", "3", "--voters", &voters],
    )
    .output()
    .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already took part in cluster"), "{err}");

    // The other two still commit registry writes.
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/subjects/after-value/versions", servers[1].base))
        .header("Content-Type", "application/vnd.schemaregistry.v1+json")
        .body(r#"{"schema": "{\"type\": \"string\"}"}"#)
        .send()
        .unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text());
    for s in servers {
        s.stop();
    }
}

#[test]
fn one_node_without_cluster_flags_is_its_own_quorum() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let st = status_until(&s.kafka, "the node leads itself", |s| {
        all_caught_up(s, 1) && leader(s) == Some(1)
    });
    let id = st["cluster_id"].as_str().unwrap().to_string();
    assert_eq!(registry_cluster_id(&s.base), id);
    assert_eq!(st["brokers"][0]["node_id"].as_u64(), Some(1), "{st}");
    s.stop();
    assert!(dir.path().join("controller/node.properties").exists());

    // A restart keeps the cluster id.
    let s = Server::start(dir.path(), &[]);
    assert_eq!(registry_cluster_id(&s.base), id);
    s.stop();
}

#[test]
fn a_node_outside_its_voters_list_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let voters = format!("1@127.0.0.1:{},2@127.0.0.1:{}", free_port(), free_port());
    let out = serve::command(
        Path::new(dir.path()),
        free_port(),
        free_port(),
        &["--node-id", "7", "--voters", &voters],
    )
    .output()
    .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not in --voters"), "{err}");
}
