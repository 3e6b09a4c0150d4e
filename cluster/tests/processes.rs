//! Controllers as real processes on loopback: a 3-voter cluster elects a leader, commits
//! through it, survives `kill -9` of the leader, takes the killed node back from its own disk
//! and converges; a wiped follower is refused while the others go on; a 1-voter cluster runs
//! the same code; wiped and foreign data dirs are refused.
//!
//! Each node is this test binary re-run as [`node_process`], which runs the
//! `controller_node` example's code (included below) with the flags in `$CHARTER_NODE_ARGS`.

#[path = "../examples/controller_node.rs"]
mod controller_node;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const NODE_ARGS: &str = "CHARTER_NODE_ARGS";

/// Not a test: the node process the tests start (see the module docs).
#[test]
#[ignore = "run by the process tests in child processes"]
fn node_process() {
    let args = std::env::var(NODE_ARGS).expect("CHARTER_NODE_ARGS");
    let code = controller_node::run(args.split_whitespace().map(String::from).collect());
    std::process::exit(code);
}

struct Node {
    id: u64,
    dir: PathBuf,
    listen: String,
    voters: String,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    lines: Option<mpsc::Receiver<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Metrics {
    leader: Option<u64>,
    applied: Option<u64>,
    is_leader: bool,
}

/// A free loopback port (bound, then released for the node to bind).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Node {
    fn new(id: u64, root: &Path, listen: String, voters: String) -> Node {
        Node {
            id,
            dir: root.join(format!("node{id}")),
            listen,
            voters,
            child: None,
            stdin: None,
            lines: None,
        }
    }

    /// Starts the process; answers its first line (`ready …` or `error …`).
    fn start(&mut self, existing: bool) -> String {
        let mut args = format!(
            "--node-id {} --data-dir {} --cluster-listen {} --voters {}",
            self.id,
            self.dir.display(),
            self.listen,
            self.voters
        );
        if existing {
            args.push_str(" --existing");
        }
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "node_process",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(NODE_ARGS, args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn a node");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // The harness may print "test node_process ... " before our first line.
                if let Some((_, answer)) = line.split_once("@@ ") {
                    if tx.send(answer.to_string()).is_err() {
                        break;
                    }
                }
            }
        });
        self.stdin = child.stdin.take();
        self.child = Some(child);
        self.lines = Some(rx);
        self.next_line()
    }

    fn next_line(&self) -> String {
        self.lines
            .as_ref()
            .expect("running")
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("node {} did not answer: {e}", self.id))
    }

    fn request(&mut self, line: &str) -> String {
        let stdin = self.stdin.as_mut().expect("running");
        writeln!(stdin, "{line}").expect("write to node");
        stdin.flush().unwrap();
        self.next_line()
    }

    fn metrics(&mut self) -> Metrics {
        let a = self.request("metrics");
        let w: Vec<&str> = a.split_whitespace().collect();
        assert_eq!(w.len(), 5, "{a}");
        assert_eq!(w[0], "metrics", "{a}");
        Metrics {
            leader: w[1].parse().ok(),
            applied: w[3].parse().ok(),
            is_leader: w[4] == "true",
        }
    }

    fn commands(&mut self) -> Vec<String> {
        let a = self.request("commands");
        let list = a.strip_prefix("commands").expect("commands").trim();
        list.split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    }

    fn cluster_id(&mut self) -> Option<String> {
        let a = self.request("clusterid");
        let id = a.strip_prefix("clusterid ").expect("clusterid").to_string();
        (id != "none").then_some(id)
    }

    fn running(&self) -> bool {
        self.child.is_some()
    }

    /// SIGKILL (`Child::kill` on Unix), then reap.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("SIGKILL");
            c.wait().expect("reap");
        }
        self.stdin = None;
        self.lines = None;
    }

    /// Closes stdin and waits: the node shuts down cleanly. Answers its exit status.
    fn wait_exit(&mut self) -> std::process::ExitStatus {
        self.stdin = None;
        let mut c = self.child.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = c.try_wait().unwrap() {
                return s;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!("node {} did not exit", self.id);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits (bounded) until the running nodes agree on a leader other than `not` that says it
/// leads.
fn wait_leader(nodes: &mut [Node], not: Option<u64>, within: Duration) -> u64 {
    let deadline = Instant::now() + within;
    loop {
        let views: Vec<(u64, Metrics)> = nodes
            .iter_mut()
            .filter(|n| n.running())
            .map(|n| (n.id, n.metrics()))
            .collect();
        if let Some(l) = views[0].1.leader {
            let agreed = views.iter().all(|(_, m)| m.leader == Some(l));
            let leads = views.iter().any(|(id, m)| *id == l && m.is_leader);
            if agreed && leads && Some(l) != not {
                return l;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no leader within {within:?}: {views:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn node_mut(nodes: &mut [Node], id: u64) -> &mut Node {
    nodes.iter_mut().find(|n| n.id == id).expect("node")
}

/// Proposes `word` through the leader, following `notleader` answers (which append nothing,
/// so retrying cannot duplicate). Answers the log index.
fn propose(nodes: &mut [Node], leader: &mut u64, word: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let a = node_mut(nodes, *leader).request(&format!("propose {word}"));
        if let Some(index) = a.strip_prefix("ok ") {
            return index.parse().expect("index");
        }
        assert!(a.starts_with("notleader"), "propose {word}: {a}");
        assert!(Instant::now() < deadline, "propose {word}: still {a}");
        std::thread::sleep(Duration::from_millis(100));
        *leader = wait_leader(nodes, None, Duration::from_secs(15));
    }
}

/// Waits until every running node applied exactly `acked` (every acknowledged command once, in
/// order, nothing else: no command in these tests is left unacknowledged).
fn wait_converged(nodes: &mut [Node], acked: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    for n in nodes.iter_mut().filter(|n| n.running()) {
        loop {
            let got = n.commands();
            if got == acked {
                break;
            }
            // Whatever it has so far must be a prefix: no reordering, no duplicates.
            assert!(
                acked.starts_with(&got),
                "node {} applied {got:?}, not a prefix of {acked:?}",
                n.id
            );
            assert!(
                Instant::now() < deadline,
                "node {} applied {got:?}, want {acked:?}",
                n.id
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn wait_cluster_id(n: &mut Node) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(c) = n.cluster_id() {
            return c;
        }
        assert!(Instant::now() < deadline, "node {} has no cluster id", n.id);
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn recorded_cluster_id(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join("node.properties"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("cluster.id=").map(String::from))
}

fn cluster(root: &Path, ids: &[u64]) -> Vec<Node> {
    let ports: Vec<(u64, String)> = ids
        .iter()
        .map(|id| (*id, format!("127.0.0.1:{}", free_port())))
        .collect();
    let voters = ports
        .iter()
        .map(|(id, a)| format!("{id}@{a}"))
        .collect::<Vec<_>>()
        .join(",");
    ports
        .into_iter()
        .map(|(id, a)| Node::new(id, root, a, voters.clone()))
        .collect()
}

#[test]
fn three_processes_survive_kill_9_of_the_leader_and_converge() {
    let root = tempfile::tempdir().unwrap();
    let mut nodes = cluster(root.path(), &[1, 2, 3]);
    for n in nodes.iter_mut() {
        let a = n.start(false);
        assert!(a.starts_with("ready"), "node {}: {a}", n.id);
    }
    let mut leader = wait_leader(&mut nodes, None, Duration::from_secs(15));
    let mut acked = Vec::new();
    let mut last = 0;
    for i in 0..10 {
        let w = format!("a{i}");
        let index = propose(&mut nodes, &mut leader, &w);
        assert!(index > last, "indexes grow: {index} after {last}");
        last = index;
        acked.push(w);
    }
    wait_converged(&mut nodes, &acked);
    let cluster_id = wait_cluster_id(&mut nodes[0]);
    for n in nodes.iter_mut() {
        assert_eq!(wait_cluster_id(n), cluster_id, "node {}", n.id);
    }

    // kill -9 the leader: the others elect a new one (bounded) and keep committing.
    let old = leader;
    node_mut(&mut nodes, old).kill();
    leader = wait_leader(&mut nodes, Some(old), Duration::from_secs(15));
    assert_ne!(leader, old);
    for i in 0..10 {
        let w = format!("b{i}");
        let index = propose(&mut nodes, &mut leader, &w);
        assert!(index > last, "indexes grow: {index} after {last}");
        last = index;
        acked.push(w);
    }

    // The killed node restarts from its own disk and catches up.
    let a = node_mut(&mut nodes, old).start(true);
    assert!(a.starts_with("ready"), "restart of node {old}: {a}");
    wait_converged(&mut nodes, &acked);
    let m = node_mut(&mut nodes, old).metrics();
    assert!(m.applied.is_some_and(|a| a >= last), "{m:?}");
    for n in nodes.iter_mut() {
        assert_eq!(n.cluster_id().as_deref(), Some(cluster_id.as_str()));
        assert_eq!(
            recorded_cluster_id(&n.dir).as_deref(),
            Some(cluster_id.as_str()),
            "node {}'s node.properties",
            n.id
        );
    }
    // Each acknowledged command exactly once, in order, on every node (checked again after
    // one more commit through whoever leads now).
    acked.push("c0".into());
    propose(&mut nodes, &mut leader, "c0");
    wait_converged(&mut nodes, &acked);

    // A follower's disk is wiped: it is refused as a voter, and the other two go on.
    let wiped = nodes.iter().map(|n| n.id).find(|id| *id != leader).unwrap();
    let n = node_mut(&mut nodes, wiped);
    n.kill();
    std::fs::remove_dir_all(&n.dir).unwrap();
    let a = n.start(true);
    assert!(
        a.starts_with("error") && a.contains("wiped") && a.contains("learner"),
        "{a}"
    );
    assert!(!n.wait_exit().success());
    acked.push("c1".into());
    propose(&mut nodes, &mut leader, "c1");
    wait_converged(&mut nodes, &acked);
    for n in nodes.iter_mut().filter(|n| n.running()) {
        assert!(n.wait_exit().success(), "node {} exits cleanly", n.id);
    }
}

#[test]
fn one_voter_runs_the_same_code_and_restarts_from_disk() {
    let root = tempfile::tempdir().unwrap();
    let mut nodes = cluster(root.path(), &[1]);
    assert!(nodes[0].start(false).starts_with("ready"));
    let mut leader = wait_leader(&mut nodes, None, Duration::from_secs(15));
    assert_eq!(leader, 1);
    let mut acked = Vec::new();
    for i in 0..5 {
        let w = format!("x{i}");
        propose(&mut nodes, &mut leader, &w);
        acked.push(w);
    }
    let cluster_id = wait_cluster_id(&mut nodes[0]);
    nodes[0].kill();

    assert!(nodes[0].start(true).starts_with("ready"));
    leader = wait_leader(&mut nodes, None, Duration::from_secs(15));
    wait_converged(&mut nodes, &acked);
    for i in 5..10 {
        let w = format!("x{i}");
        propose(&mut nodes, &mut leader, &w);
        acked.push(w);
    }
    wait_converged(&mut nodes, &acked);
    assert_eq!(nodes[0].cluster_id(), Some(cluster_id), "the same cluster");
    assert!(nodes[0].wait_exit().success());
}

#[test]
fn a_wiped_voter_is_refused_and_says_how_to_re_add_it() {
    let root = tempfile::tempdir().unwrap();
    let mut nodes = cluster(root.path(), &[1]);
    assert!(nodes[0].start(false).starts_with("ready"));
    let mut leader = wait_leader(&mut nodes, None, Duration::from_secs(15));
    propose(&mut nodes, &mut leader, "kept");
    nodes[0].kill();
    let dir = nodes[0].dir.clone();

    // Only the log wiped: the identity is there, the log is empty.
    std::fs::remove_dir_all(dir.join("log")).unwrap();
    let a = nodes[0].start(true);
    assert!(
        a.starts_with("error") && a.contains("wiped") && a.contains("learner"),
        "{a}"
    );
    assert!(!nodes[0].wait_exit().success());

    // The whole dir wiped.
    std::fs::remove_dir_all(&dir).unwrap();
    let a = nodes[0].start(true);
    assert!(
        a.starts_with("error") && a.contains("wiped") && a.contains("learner"),
        "{a}"
    );
    assert!(!nodes[0].wait_exit().success());
    assert!(
        !dir.join("node.properties").exists(),
        "a refused start creates no identity"
    );

    // Another node's dir.
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("node.properties"),
        "version=1\nnode.id=9\ndirectory.id=00000000-0000-0000-0000-000000000001\n",
    )
    .unwrap();
    let a = nodes[0].start(false);
    assert!(a.starts_with("error") && a.contains("--node-id 9"), "{a}");
    assert!(!nodes[0].wait_exit().success());
}
