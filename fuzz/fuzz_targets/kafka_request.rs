//! Any bytes as a Kafka request frame body: header and body decoding must never panic or
//! abort, for every API and version the broker speaks.
#![no_main]

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Decodable;
use libfuzzer_sys::fuzz_target;

fn body<T: Decodable>(mut b: Bytes, v: i16) {
    let _ = T::decode(&mut b, v);
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let key = i16::from_be_bytes([data[0], data[1]]);
    let version = i16::from_be_bytes([data[2], data[3]]);
    let Ok(api) = ApiKey::try_from(key) else { return };
    let range = api.valid_versions();
    if version < range.min || version > range.max {
        return;
    }
    let mut frame = Bytes::copy_from_slice(data);
    if RequestHeader::decode(&mut frame, api.request_header_version(version)).is_err() {
        return;
    }
    match api {
        ApiKey::Produce => body::<ProduceRequest>(frame, version),
        ApiKey::Fetch => body::<FetchRequest>(frame, version),
        ApiKey::ListOffsets => body::<ListOffsetsRequest>(frame, version),
        ApiKey::Metadata => body::<MetadataRequest>(frame, version),
        ApiKey::ApiVersions => body::<ApiVersionsRequest>(frame, version),
        ApiKey::CreateTopics => body::<CreateTopicsRequest>(frame, version),
        ApiKey::DeleteTopics => body::<DeleteTopicsRequest>(frame, version),
        ApiKey::InitProducerId => body::<InitProducerIdRequest>(frame, version),
        ApiKey::DescribeConfigs => body::<DescribeConfigsRequest>(frame, version),
        ApiKey::AlterConfigs => body::<AlterConfigsRequest>(frame, version),
        ApiKey::IncrementalAlterConfigs => body::<IncrementalAlterConfigsRequest>(frame, version),
        ApiKey::FindCoordinator => body::<FindCoordinatorRequest>(frame, version),
        ApiKey::JoinGroup => body::<JoinGroupRequest>(frame, version),
        ApiKey::SyncGroup => body::<SyncGroupRequest>(frame, version),
        ApiKey::Heartbeat => body::<HeartbeatRequest>(frame, version),
        ApiKey::LeaveGroup => body::<LeaveGroupRequest>(frame, version),
        ApiKey::OffsetCommit => body::<OffsetCommitRequest>(frame, version),
        ApiKey::OffsetFetch => body::<OffsetFetchRequest>(frame, version),
        ApiKey::ListGroups => body::<ListGroupsRequest>(frame, version),
        ApiKey::DescribeGroups => body::<DescribeGroupsRequest>(frame, version),
        ApiKey::DeleteGroups => body::<DeleteGroupsRequest>(frame, version),
        ApiKey::OffsetDelete => body::<OffsetDeleteRequest>(frame, version),
        ApiKey::DescribeCluster => body::<DescribeClusterRequest>(frame, version),
        _ => {}
    }
});
