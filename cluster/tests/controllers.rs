//! Three `Controller`s in one process, each on its own thread and runtime, talking over the
//! real HTTP transport on loopback: a node that was down while the leader snapshotted and
//! purged past its log catches up through `/raft/snapshot`, and proposals on a follower name
//! the leader.

use std::path::Path;
use std::time::{Duration, Instant};

use charter_cluster::{
    Controller, ControllerConfig, ControllerMetrics, Expect, MetadataCommand, ProposeError, Tuning,
};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config(root: &Path, id: u64, addrs: &[String], expect: Expect) -> ControllerConfig {
    let voters = addrs
        .iter()
        .enumerate()
        .map(|(i, a)| format!("{}@{a}", i + 1))
        .collect::<Vec<_>>()
        .join(",");
    ControllerConfig {
        node_id: id,
        data_dir: root.join(format!("n{id}")),
        cluster_listen: addrs[id as usize - 1].clone(),
        voters: voters.parse().unwrap(),
        expect,
        bootstrap_cluster_id: None,
        // Snapshot and purge often, so that a node that was down needs a snapshot.
        recovery: Default::default(),
        tuning: Tuning {
            snapshot_every: 8,
            keep_below_snapshot: 2,
        },
    }
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn leader_of(nodes: &[Option<Controller>]) -> Option<usize> {
    let views: Vec<ControllerMetrics> = nodes.iter().flatten().map(|c| c.metrics()).collect();
    let l = views.first()?.leader?;
    let agreed = views.iter().all(|m| m.leader == Some(l));
    let leads = views.iter().any(|m| m.node_id == l && m.is_leader);
    (agreed && leads).then_some(l as usize - 1)
}

fn topics(c: &Controller) -> Vec<Vec<u8>> {
    let state = c.applied();
    let st = state.read().unwrap();
    st.commands
        .values()
        .filter_map(|c| match c {
            MetadataCommand::Topic(b) => Some(b.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_node_that_missed_purged_entries_catches_up_by_snapshot_over_http() {
    let root = tempfile::tempdir().unwrap();
    let addrs: Vec<String> = (0..3)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let mut nodes: Vec<Option<Controller>> = (1..=3)
        .map(|id| {
            Some(Controller::start(config(root.path(), id, &addrs, Expect::NewOrExisting)).unwrap())
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut leader = None;
    wait_until("a leader", || {
        leader = leader_of(&nodes);
        leader.is_some()
    });
    let leader = leader.unwrap();

    // A follower refuses and names the leader.
    let follower = (leader + 1) % 3;
    let e = rt
        .block_on(
            nodes[follower]
                .as_ref()
                .unwrap()
                .propose(MetadataCommand::Noop),
        )
        .unwrap_err();
    assert_eq!(
        e,
        ProposeError::NotLeader {
            leader_id: Some(leader as u64 + 1),
            leader_addr: Some(addrs[leader].clone()),
        }
    );

    let mut want = Vec::new();
    let l = nodes[leader].as_ref().unwrap();
    for i in 0u32..5 {
        let cmd = i.to_le_bytes().to_vec();
        rt.block_on(l.propose(MetadataCommand::Topic(cmd.clone())))
            .unwrap();
        want.push(cmd);
    }
    let down = follower;
    wait_until("the follower applies", || {
        topics(nodes[down].as_ref().unwrap()) == want
    });
    let lost_at = nodes[down].as_ref().unwrap().metrics().last_log_index;
    nodes[down].take().unwrap().shutdown();

    // The other two commit enough for snapshots and purges past the stopped node's log.
    let l = nodes[leader].as_ref().unwrap();
    for i in 5u32..40 {
        let cmd = i.to_le_bytes().to_vec();
        rt.block_on(l.propose(MetadataCommand::Topic(cmd.clone())))
            .unwrap();
        want.push(cmd);
    }
    wait_until("a purge past the stopped node's log", || {
        l.metrics().purged_index > lost_at
    });

    // It restarts from its own disk and can only catch up through a snapshot.
    let c = Controller::start(config(
        root.path(),
        down as u64 + 1,
        &addrs,
        Expect::Existing,
    ))
    .unwrap();
    nodes[down] = Some(c);
    let c = nodes[down].as_ref().unwrap();
    wait_until("the restarted node catches up", || topics(c) == want);
    let m = c.metrics();
    assert!(
        m.snapshot_index > lost_at,
        "it holds a snapshot past what it had: {m:?}, had {lost_at:?}"
    );
    assert_eq!(m.leader, Some(leader as u64 + 1));
    for n in nodes.iter().flatten() {
        assert_eq!(topics(n), want, "node {}", n.metrics().node_id);
    }
    for n in nodes.into_iter().flatten() {
        n.shutdown();
    }
}

/// The controllers run on threads and runtimes of their own: blocking every worker of the
/// runtime that started them (a saturated data path) for longer than the election timeout
/// does not make a follower miss heartbeats, so the leader and term stay as they were.
#[test]
fn a_blocked_caller_runtime_does_not_starve_heartbeats() {
    let root = tempfile::tempdir().unwrap();
    let addrs: Vec<String> = (0..3)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let data_path = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Started from inside the busy runtime, as `charter serve` will start them.
    let nodes: Vec<Option<Controller>> = data_path.block_on(async {
        (1..=3)
            .map(|id| {
                Some(
                    Controller::start(config(root.path(), id, &addrs, Expect::NewOrExisting))
                        .unwrap(),
                )
            })
            .collect()
    });
    wait_until("a leader", || leader_of(&nodes).is_some());
    let before: Vec<(Option<u64>, u64)> = nodes
        .iter()
        .flatten()
        .map(|c| (c.metrics().leader, c.metrics().term))
        .collect();

    // Block both workers (and the caller) for 3 s: well over the 1–2 s election timeout.
    let blockers: Vec<_> = (0..2)
        .map(|_| data_path.spawn(async { std::thread::sleep(Duration::from_secs(3)) }))
        .collect();
    data_path.block_on(async {
        std::thread::sleep(Duration::from_secs(3));
        for b in blockers {
            b.await.unwrap();
        }
    });

    let after: Vec<(Option<u64>, u64)> = nodes
        .iter()
        .flatten()
        .map(|c| (c.metrics().leader, c.metrics().term))
        .collect();
    assert_eq!(
        before, after,
        "an election happened while the caller was blocked"
    );
    for n in nodes.into_iter().flatten() {
        n.shutdown();
    }
}
