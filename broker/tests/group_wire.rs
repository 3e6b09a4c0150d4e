//! The coordinator on the wire, with hand-encoded requests: a Fetch long-polling on one
//! connection does not delay a Heartbeat on another, and group errors come back in the
//! protocol's shape.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::Bytes;
use charter_broker::group::JoinRequest;
use charter_broker::topics::TopicConfigs;

mod common;

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as i16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A request frame: size, api key, version, correlation id, client id, body.
fn frame(api: i16, version: i16, correlation: i32, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&api.to_be_bytes());
    f.extend_from_slice(&version.to_be_bytes());
    f.extend_from_slice(&correlation.to_be_bytes());
    put_str(&mut f, "group-wire-test");
    f.extend_from_slice(body);
    let mut out = (f.len() as i32).to_be_bytes().to_vec();
    out.extend(f);
    out
}

/// Fetch v4 of `topic`/0 at `offset`, waiting up to `max_wait_ms` for one byte.
fn fetch_v4(topic: &str, offset: i64, max_wait_ms: i32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&(-1i32).to_be_bytes()); // replica id
    b.extend_from_slice(&max_wait_ms.to_be_bytes());
    b.extend_from_slice(&1i32.to_be_bytes()); // min bytes
    b.extend_from_slice(&(1i32 << 20).to_be_bytes()); // max bytes
    b.push(0); // isolation level
    b.extend_from_slice(&1i32.to_be_bytes());
    put_str(&mut b, topic);
    b.extend_from_slice(&1i32.to_be_bytes());
    b.extend_from_slice(&0i32.to_be_bytes()); // partition
    b.extend_from_slice(&offset.to_be_bytes());
    b.extend_from_slice(&(1i32 << 20).to_be_bytes());
    frame(1, 4, 1, &b)
}

/// Heartbeat v0; the response is (correlation id, error code).
fn heartbeat_v0(group: &str, generation: i32, member: &str) -> Vec<u8> {
    let mut b = Vec::new();
    put_str(&mut b, group);
    b.extend_from_slice(&generation.to_be_bytes());
    put_str(&mut b, member);
    frame(12, 0, 2, &b)
}

fn read_response(s: &mut TcpStream) -> Vec<u8> {
    let mut size = [0u8; 4];
    s.read_exact(&mut size).expect("response size");
    let mut body = vec![0u8; i32::from_be_bytes(size) as usize];
    s.read_exact(&mut body).expect("response body");
    body
}

fn heartbeat_error(s: &mut TcpStream, group: &str, generation: i32, member: &str) -> i16 {
    s.write_all(&heartbeat_v0(group, generation, member))
        .expect("send");
    let r = read_response(s);
    assert_eq!(&r[0..4], &2i32.to_be_bytes(), "correlation id");
    i16::from_be_bytes([r[4], r[5]])
}

#[test]
fn a_long_polling_fetch_does_not_delay_heartbeats_elsewhere() {
    let b = common::TestBroker::start(1 << 20);
    b.broker
        .topics
        .create("quiet", 1, TopicConfigs::default())
        .expect("topic");
    let join = JoinRequest {
        group_id: "g".into(),
        member_id: String::new(),
        instance_id: None,
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: 30_000,
        rebalance_timeout_ms: 30_000,
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), Bytes::new())],
        require_known_member_id: false,
    };
    let joined =
        b.rt.block_on(b.broker.coordinator.join(join))
            .expect("join");
    b.rt.block_on(b.broker.coordinator.sync(
        "g",
        &joined.member_id,
        None,
        joined.generation,
        None,
        None,
        vec![],
    ))
    .expect("sync");

    // Connection 1: a Fetch at the log end that will wait 20 s for data.
    let mut fetcher = TcpStream::connect(&b.bootstrap).expect("connect");
    fetcher
        .write_all(&fetch_v4("quiet", 0, 20_000))
        .expect("send");
    std::thread::sleep(Duration::from_millis(100));

    // Connection 2: heartbeats are answered while that fetch is still parked.
    let mut member = TcpStream::connect(&b.bootstrap).expect("connect");
    for _ in 0..5 {
        assert_eq!(
            heartbeat_error(&mut member, "g", joined.generation, &joined.member_id),
            0
        );
    }
    assert_eq!(
        heartbeat_error(&mut member, "g", joined.generation + 1, &joined.member_id),
        22,
        "ILLEGAL_GENERATION"
    );
    assert_eq!(
        heartbeat_error(&mut member, "g", joined.generation, "stranger"),
        25,
        "UNKNOWN_MEMBER_ID"
    );
    fetcher.set_nonblocking(true).expect("nonblocking");
    let mut probe = [0u8; 1];
    assert!(
        matches!(fetcher.read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the fetch is still waiting for data"
    );
}
