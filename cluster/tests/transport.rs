//! The inter-node transport: bad input on the cluster port gets a 4xx and never a panic (the
//! controller keeps working), and the client maps failures onto openraft's error kinds.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use charter_cluster::transport::{Network, MAX_BODY, SNAPSHOT_CHUNK};
use charter_cluster::{
    ClusterNode, Controller, ControllerConfig, Expect, MetadataCommand, TypeConfig,
};
use openraft::error::RPCError;
use openraft::network::RPCOption;
use openraft::raft::{InstallSnapshotRequest, VoteRequest};
use openraft::{RaftNetwork, RaftNetworkFactory, SnapshotMeta, Vote};

fn one_voter(dir: &std::path::Path) -> Controller {
    let c = Controller::start(ControllerConfig {
        node_id: 1,
        data_dir: dir.to_path_buf(),
        cluster_listen: "127.0.0.1:0".into(),
        // A single voter never calls itself, so its advertised address does not matter here.
        voters: "1@127.0.0.1:1".parse().unwrap(),
        expect: Expect::NewOrExisting,
        bootstrap_cluster_id: None,
        recovery: Default::default(),
        tuning: Default::default(),
    })
    .expect("start");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !c.metrics().is_leader {
        assert!(Instant::now() < deadline, "no leader: {:?}", c.metrics());
        std::thread::sleep(Duration::from_millis(50));
    }
    c
}

fn snapshot_request(data_len: usize) -> Vec<u8> {
    let req = InstallSnapshotRequest::<TypeConfig> {
        vote: Vote::new(1, 1),
        meta: SnapshotMeta::default(),
        offset: 0,
        data: vec![0; data_len],
        done: true,
    };
    serde_json::to_vec(&req).unwrap()
}

#[test]
fn garbage_and_oversized_bodies_get_4xx_and_the_controller_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let c = one_voter(dir.path());
    let base = format!("http://{}", c.local_addr());
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let post = |path: &str, body: Vec<u8>| {
        http.post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .expect("an answer")
            .status()
            .as_u16()
    };
    for path in ["/raft/append", "/raft/vote", "/raft/snapshot"] {
        for body in [
            Vec::new(),
            b"\x00\xff garbage".to_vec(),
            b"{\"vote\":".to_vec(),
            b"{\"vote\":{\"leader_id\":\"x\"}}".to_vec(),
            b"[1,2,3]".to_vec(),
            vec![b'['; 100_000], // deep nesting: serde_json's recursion limit, not a stack overflow
        ] {
            assert_eq!(
                post(path, body.clone()),
                400,
                "{path} {:?}",
                &body[..body.len().min(20)]
            );
        }
        assert_eq!(
            post(path, vec![b' '; MAX_BODY + 1]),
            413,
            "{path} oversized"
        );
        let get = http.get(format!("{base}{path}")).send().unwrap().status();
        assert_eq!(get.as_u16(), 405, "GET {path}");
    }
    assert_eq!(post("/raft/other", b"{}".to_vec()), 404);
    assert_eq!(post("/", b"{}".to_vec()), 404);
    // A well-formed snapshot chunk larger than the chunk bound.
    let big = snapshot_request(SNAPSHOT_CHUNK as usize + 1);
    assert!(big.len() <= MAX_BODY, "the test must reach the chunk check");
    assert_eq!(post("/raft/snapshot", big), 413);

    // Still the leader, still committing.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let index = rt
        .block_on(c.propose(MetadataCommand::Noop))
        .expect("commit after the garbage");
    assert!(c.metrics().applied_index >= Some(index));
    assert!(c.metrics().is_leader);
    c.shutdown();
}

#[tokio::test]
async fn a_vote_round_trips_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let c = tokio::task::spawn_blocking({
        let d = dir.path().to_path_buf();
        move || one_voter(&d)
    })
    .await
    .unwrap();
    let mut net = Network::new(2).unwrap();
    let node = ClusterNode {
        addr: c.local_addr().to_string(),
    };
    let mut conn = net.new_client(1, &node).await;
    // A stale candidate (term 0): refused, with the leader's vote in the answer.
    let resp = conn
        .vote(
            VoteRequest::new(Vote::new(0, 2), None),
            RPCOption::new(Duration::from_secs(5)),
        )
        .await
        .expect("an answer");
    assert!(!resp.vote_granted);
    assert!(resp.vote.leader_id.term >= 1, "{resp:?}");
    tokio::task::spawn_blocking(move || c.shutdown())
        .await
        .unwrap();
}

/// A peer that accepts connections and answers each with `reply` (or nothing, forever).
fn fake_peer(reply: Option<&'static str>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut s) = conn else { return };
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                let _ = s.read(&mut buf);
                match reply {
                    Some(r) => {
                        let _ = s.write_all(r.as_bytes());
                    }
                    None => std::thread::sleep(Duration::from_secs(30)),
                }
            });
        }
    });
    addr
}

async fn vote_to(addr: String) -> RPCError<u64, ClusterNode, openraft::error::RaftError<u64>> {
    let mut net = Network::new(2).unwrap();
    let mut conn = net.new_client(1, &ClusterNode { addr }).await;
    conn.vote(
        VoteRequest::new(Vote::new(1, 2), None),
        RPCOption::new(Duration::from_millis(500)),
    )
    .await
    .expect_err("an error")
}

#[tokio::test]
async fn client_errors_map_to_openraft_kinds() {
    // Nothing listens: unreachable (openraft backs off).
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let e = vote_to(closed).await;
    assert!(matches!(e, RPCError::Unreachable(_)), "{e:?}");

    // Accepts, never answers: a timeout within the RPC's hard TTL.
    let started = Instant::now();
    let e = vote_to(fake_peer(None)).await;
    assert!(matches!(e, RPCError::Timeout(_)), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(10));

    // Answers an error status or a body that is not openraft's: a network error.
    let e = vote_to(fake_peer(Some(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\nconnection: close\r\n\r\nboom",
    )))
    .await;
    assert!(
        matches!(&e, RPCError::Network(n) if n.to_string().contains("500")),
        "{e:?}"
    );
    let e = vote_to(fake_peer(Some(
        "HTTP/1.1 200 OK\r\ncontent-length: 7\r\nconnection: close\r\n\r\ngarbage",
    )))
    .await;
    assert!(matches!(e, RPCError::Network(_)), "{e:?}");
    // An answer larger than the client accepts.
    let e = vote_to(fake_peer(Some(
        "HTTP/1.1 200 OK\r\ncontent-length: 99999999\r\nconnection: close\r\n\r\n{",
    )))
    .await;
    assert!(
        matches!(&e, RPCError::Network(n) if n.to_string().contains("too large")),
        "{e:?}"
    );
}
