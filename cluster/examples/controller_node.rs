//! One controller node as a process, driven by a line protocol on stdin/stdout.
//!
//! ```text
//! cargo run -p charter-cluster --example controller_node -- \
//!     --node-id 1 --data-dir /tmp/c1 --cluster-listen 127.0.0.1:19201 \
//!     --voters 1@127.0.0.1:19201,2@127.0.0.1:19202,3@127.0.0.1:19203 [--existing]
//! ```
//!
//! `--existing` says the node is a voter of a cluster that already exists (a restart): a wiped
//! data dir is then refused. Every answer is one stdout line starting with `@@ ` (the test
//! harness, which also runs this code, prints its own lines around it):
//!
//! - on start: `@@ ready <addr>`, or `@@ error <message>` and exit status 2;
//! - `propose <word>` → `@@ ok <index>` | `@@ notleader <id|none>` | `@@ err <message>`
//!   (the word is proposed as a `Topic` command);
//! - `metrics` → `@@ metrics <leader|none> <term> <applied|none> <leader?>`;
//! - `commands` → `@@ commands <word,word,...>`: the applied `Topic` commands in log order;
//! - `clusterid` → `@@ clusterid <id|none>`.
//!
//! End of stdin shuts the node down cleanly.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use charter_cluster::{Controller, ControllerConfig, Expect, MetadataCommand, ProposeError};

#[allow(dead_code)] // The process test includes this file and calls `run` itself.
fn main() {
    std::process::exit(run(std::env::args().skip(1).collect()));
}

fn parse(args: Vec<String>) -> Result<ControllerConfig, String> {
    let (mut node_id, mut data_dir, mut listen, mut voters) = (None, None, None, None);
    let mut expect = Expect::NewOrExisting;
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        if flag == "--existing" {
            expect = Expect::Existing;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--node-id" => {
                node_id = Some(value.parse().map_err(|_| format!("--node-id {value:?}"))?)
            }
            "--data-dir" => data_dir = Some(PathBuf::from(value)),
            "--cluster-listen" => listen = Some(value),
            "--voters" => voters = Some(value.parse().map_err(|e| format!("--voters: {e}"))?),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(ControllerConfig {
        node_id: node_id.ok_or("--node-id is required")?,
        data_dir: data_dir.ok_or("--data-dir is required")?,
        cluster_listen: listen.ok_or("--cluster-listen is required")?,
        voters: voters.ok_or("--voters is required")?,
        expect,
        bootstrap_cluster_id: None,
        recovery: Default::default(),
        tuning: Default::default(),
    })
}

/// Runs the node until stdin ends; returns the exit status.
pub fn run(args: Vec<String>) -> i32 {
    let mut out = std::io::stdout();
    let mut say = |line: String| {
        // One line, one write: the parent reads line by line.
        let _ = out.write_all(format!("@@ {line}\n").as_bytes());
        let _ = out.flush();
    };
    let controller = match parse(args)
        .map_err(|e| e.to_string())
        .and_then(|c| Controller::start(c).map_err(|e| e.to_string()))
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("controller_node: {e}");
            say(format!("error {}", e.replace('\n', " ")));
            return 2;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say(format!("error runtime: {e}"));
            return 2;
        }
    };
    say(format!("ready {}", controller.local_addr()));
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let mut words = line.split_whitespace();
        let answer = match (words.next(), words.next()) {
            (Some("propose"), Some(word)) => {
                let cmd = MetadataCommand::Topic(word.as_bytes().to_vec());
                match rt.block_on(controller.propose(cmd)) {
                    Ok(index) => format!("ok {index}"),
                    Err(ProposeError::NotLeader { leader_id, .. }) => format!(
                        "notleader {}",
                        leader_id.map_or("none".to_string(), |l| l.to_string())
                    ),
                    Err(e) => format!("err {e}"),
                }
            }
            (Some("metrics"), None) => {
                let m = controller.metrics();
                let opt = |v: Option<u64>| v.map_or("none".to_string(), |v| v.to_string());
                format!(
                    "metrics {} {} {} {}",
                    opt(m.leader),
                    m.term,
                    opt(m.applied_index),
                    m.is_leader
                )
            }
            (Some("commands"), None) => {
                let state = controller.applied();
                let st = state.read().unwrap_or_else(|p| p.into_inner());
                let words: Vec<String> = st
                    .commands
                    .values()
                    .filter_map(|c| match c {
                        MetadataCommand::Topic(b) => Some(String::from_utf8_lossy(b).into_owned()),
                        _ => None,
                    })
                    .collect();
                format!("commands {}", words.join(","))
            }
            (Some("clusterid"), None) => {
                let state = controller.applied();
                let st = state.read().unwrap_or_else(|p| p.into_inner());
                format!("clusterid {}", st.cluster_id.as_deref().unwrap_or("none"))
            }
            _ => format!("err unknown request {line:?}"),
        };
        say(answer);
    }
    controller.shutdown();
    0
}
