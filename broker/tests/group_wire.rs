//! The coordinator on the wire: a Fetch long-polling on one connection does not delay a
//! Heartbeat on another, group errors come back in the protocol's shape, and the newest
//! group API versions we advertise work end to end.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use charter_broker::group::JoinRequest;
use charter_broker::topics::TopicConfigs;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, FindCoordinatorRequest, FindCoordinatorResponse, GroupId, JoinGroupRequest,
    JoinGroupResponse, RequestHeader, ResponseHeader, SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};

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

/// Encodes a request of any version with kafka-protocol's own header (flexible versions get
/// the tagged-field header), framed with its size.
fn encoded<R>(api: ApiKey, version: i16, correlation: i32, body: &R) -> Vec<u8>
where
    R: Encodable + HeaderVersion,
{
    let mut header = RequestHeader::default();
    header.request_api_key = api as i16;
    header.request_api_version = version;
    header.correlation_id = correlation;
    header.client_id = Some(StrBytes::from_static_str("group-wire-test"));
    let mut buf = BytesMut::new();
    header
        .encode(&mut buf, R::header_version(version))
        .expect("header");
    body.encode(&mut buf, version).expect("body");
    let mut out = (buf.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(&buf);
    out
}

fn call<Q, A>(s: &mut TcpStream, api: ApiKey, version: i16, body: &Q) -> A
where
    Q: Encodable + HeaderVersion,
    A: Decodable + HeaderVersion,
{
    s.write_all(&encoded(api, version, 7, body)).expect("send");
    let mut r = Bytes::from(read_response(s));
    let h = ResponseHeader::decode(&mut r, A::header_version(version)).expect("header");
    assert_eq!(h.correlation_id, 7);
    let a = A::decode(&mut r, version).expect("response");
    assert!(r.is_empty(), "the whole response was read");
    a
}

/// The newest versions we advertise but no installed client sends (librdkafka stops at
/// JoinGroup v5 and FindCoordinator v2, kafkajs earlier): FindCoordinator v4 (batched keys),
/// JoinGroup v7 (KIP-394 member id round trip, protocol type and name in the answer) and
/// SyncGroup v5.
#[test]
fn newest_group_api_versions_on_the_wire() {
    let b = common::TestBroker::start(1 << 20);
    let mut s = TcpStream::connect(&b.bootstrap).expect("connect");

    let mut find = FindCoordinatorRequest::default();
    find.key_type = 0;
    find.coordinator_keys = vec![
        StrBytes::from_static_str("g7"),
        StrBytes::from_static_str("other"),
    ];
    let found: FindCoordinatorResponse = call(&mut s, ApiKey::FindCoordinator, 4, &find);
    let keys: Vec<_> = found
        .coordinators
        .iter()
        .map(|c| c.key.to_string())
        .collect();
    assert_eq!(keys, ["g7", "other"]);
    let port: i32 = b.bootstrap.rsplit(':').next().unwrap().parse().unwrap();
    for c in &found.coordinators {
        assert_eq!((c.error_code, c.port), (0, port), "{c:?}");
    }

    let mut protocol = JoinGroupRequestProtocol::default();
    protocol.name = StrBytes::from_static_str("range");
    protocol.metadata = Bytes::from_static(b"\x00\x01meta");
    let mut join = JoinGroupRequest::default();
    join.group_id = GroupId(StrBytes::from_static_str("g7"));
    join.session_timeout_ms = 10_000;
    join.rebalance_timeout_ms = 10_000;
    join.member_id = StrBytes::from_static_str("");
    join.protocol_type = StrBytes::from_static_str("consumer");
    join.protocols = vec![protocol];
    let first: JoinGroupResponse = call(&mut s, ApiKey::JoinGroup, 7, &join);
    assert_eq!(first.error_code, 79, "MEMBER_ID_REQUIRED");
    assert!(!first.member_id.is_empty());
    join.member_id = first.member_id.clone();
    let joined: JoinGroupResponse = call(&mut s, ApiKey::JoinGroup, 7, &join);
    assert_eq!(joined.error_code, 0);
    assert_eq!(joined.protocol_type.as_deref(), Some("consumer"));
    assert_eq!(joined.protocol_name.as_deref(), Some("range"));
    assert_eq!(joined.leader, first.member_id);
    assert_eq!(joined.members.len(), 1);
    assert_eq!(
        joined.members[0].metadata,
        Bytes::from_static(b"\x00\x01meta")
    );

    let mut assignment = SyncGroupRequestAssignment::default();
    assignment.member_id = first.member_id.clone();
    assignment.assignment = Bytes::from_static(b"assigned");
    let mut sync = SyncGroupRequest::default();
    sync.group_id = GroupId(StrBytes::from_static_str("g7"));
    sync.generation_id = joined.generation_id;
    sync.member_id = first.member_id.clone();
    sync.protocol_type = Some(StrBytes::from_static_str("consumer"));
    sync.protocol_name = Some(StrBytes::from_static_str("range"));
    sync.assignments = vec![assignment];
    let synced: SyncGroupResponse = call(&mut s, ApiKey::SyncGroup, 5, &sync);
    assert_eq!(synced.error_code, 0);
    assert_eq!(synced.assignment, Bytes::from_static(b"assigned"));
    assert_eq!(synced.protocol_name.as_deref(), Some("range"));
}
