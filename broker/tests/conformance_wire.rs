//! Kafka conformance on the wire, one test per difference issue #13 found between Charter
//! and Kafka (each reproduced with a real client first): requests are encoded with the
//! kafka-protocol codecs and sent to a real listener.

use charter_broker::log::batch::BatchBuilder;
use charter_broker::topics::TopicConfigs;
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    ApiKey, BrokerId, CreateTopicsRequest, CreateTopicsResponse, DescribeClusterRequest,
    DescribeClusterResponse, DescribeGroupsRequest, DescribeGroupsResponse, FetchRequest,
    FetchResponse, FindCoordinatorRequest, FindCoordinatorResponse, GroupId, InitProducerIdRequest,
    InitProducerIdResponse, ListOffsetsRequest, ListOffsetsResponse, MetadataRequest,
    MetadataResponse, TopicName, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;

mod common;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// Appends one batch of `records` values of `size` bytes each to `topic`/`partition`.
fn append(b: &common::TestBroker, topic: &str, partition: i32, records: usize, size: usize) {
    let t = b.broker.topics.get(topic).expect("topic");
    let value = vec![b'x'; size];
    let mut batch = BatchBuilder::new(1_000);
    for i in 0..records {
        batch = batch.record(None, Some(&value), 1_000 + i as i64);
    }
    let mut bytes = batch.build();
    t.partition(partition)
        .expect("partition")
        .append(&mut bytes, 0)
        .expect("append");
}

/// Fetch v12 of every partition of `topic` from offset 0.
fn fetch(
    wire: &mut common::Wire,
    topic: &str,
    partitions: i32,
    max_bytes: usize,
    partition_max_bytes: usize,
) -> Vec<usize> {
    let mut req = FetchRequest::default();
    req.replica_id = kafka_protocol::messages::BrokerId(-1);
    req.max_wait_ms = 0;
    req.min_bytes = 1;
    req.max_bytes = max_bytes as i32;
    let mut ft = FetchTopic::default();
    ft.topic = name(topic);
    ft.partitions = (0..partitions)
        .map(|p| {
            let mut fp = FetchPartition::default();
            fp.partition = p;
            fp.fetch_offset = 0;
            fp.partition_max_bytes = partition_max_bytes as i32;
            fp
        })
        .collect();
    req.topics = vec![ft];
    let resp: FetchResponse = wire.call(ApiKey::Fetch, 12, &req);
    let t = &resp.responses[0];
    t.partitions
        .iter()
        .map(|p| {
            assert_eq!(p.error_code, 0);
            p.records.as_ref().map_or(0, |r| r.len())
        })
        .collect()
}

/// Issue #13 bug 1 (librdkafka test 0082): the request's MaxBytes caps the whole response;
/// only the first batch of the first non-empty partition may exceed it (KIP-74), and each
/// partition's own limit holds as well.
#[test]
fn fetch_honours_max_bytes_across_partitions() {
    let b = common::TestBroker::start(1 << 20);
    b.broker
        .topics
        .create("big", 3, TopicConfigs::new())
        .expect("create");
    // Two batches of ~10 KB in each partition.
    for p in 0..3 {
        append(&b, "big", p, 1, 10_000);
        append(&b, "big", p, 1, 10_000);
    }
    let one = b.broker.topics.get("big").unwrap().partitions[0]
        .read(0, 1)
        .unwrap()
        .len();
    assert!(one > 10_000 && one < 10_200, "{one}");
    let mut wire = common::Wire::connect(&b.bootstrap);

    // Everything fits.
    assert_eq!(fetch(&mut wire, "big", 3, 1 << 20, 1 << 20), [2 * one; 3]);
    // MaxBytes smaller than one batch: only the first partition's first batch.
    assert_eq!(fetch(&mut wire, "big", 3, 5_000, 1 << 20), [one, 0, 0]);
    // Room for one and a half batches: one batch, and nothing that would pass the limit.
    assert_eq!(
        fetch(&mut wire, "big", 3, one * 3 / 2, 1 << 20),
        [one, 0, 0]
    );
    // Room for three batches: two from the first partition, one from the second.
    assert_eq!(
        fetch(&mut wire, "big", 3, one * 3, 1 << 20),
        [2 * one, one, 0]
    );
    // Partition limit of one and a half batches: one batch from each.
    assert_eq!(fetch(&mut wire, "big", 3, 1 << 20, one * 3 / 2), [one; 3]);
    // Partition limit below one batch: only the first non-empty partition may exceed it.
    assert_eq!(fetch(&mut wire, "big", 3, 1 << 20, 5_000), [one, 0, 0]);
}

/// ListOffsets v7 for `topic`/0 at `timestamp`: (error, offset, timestamp).
fn list_offset(wire: &mut common::Wire, topic: &str, timestamp: i64) -> (i16, i64, i64) {
    let mut req = ListOffsetsRequest::default();
    req.replica_id = kafka_protocol::messages::BrokerId(-1);
    let mut lt = ListOffsetsTopic::default();
    lt.name = name(topic);
    let mut lp = ListOffsetsPartition::default();
    lp.partition_index = 0;
    lp.timestamp = timestamp;
    lt.partitions = vec![lp];
    req.topics = vec![lt];
    let resp: ListOffsetsResponse = wire.call(ApiKey::ListOffsets, 7, &req);
    let p = &resp.topics[0].partitions[0];
    (p.error_code, p.offset, p.timestamp)
}

/// Issue #13 bug 2 (librdkafka tests 0054, 0081): one zstd batch of records at 1000, 2000,
/// 3000; lookups by time answer the first record at or after the target, MAX_TIMESTAMP (-3)
/// the record with the largest timestamp.
#[test]
fn list_offsets_by_time_is_per_record() {
    use kafka_protocol::records::{
        Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };
    let b = common::TestBroker::start(1 << 20);
    b.broker
        .topics
        .create("times", 1, TopicConfigs::new())
        .expect("create");
    let mut wire = common::Wire::connect(&b.bootstrap);
    assert_eq!(list_offset(&mut wire, "times", -3), (0, -1, -1), "empty");
    let records: Vec<Record> = [1000i64, 2000, 3000]
        .iter()
        .enumerate()
        .map(|(i, &ts)| Record {
            transactional: false,
            control: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: -1,
            timestamp: ts,
            key: None,
            value: Some(bytes::Bytes::from_static(b"value")),
            headers: Default::default(),
            delete_horizon: false,
        })
        .collect();
    let mut buf = bytes::BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::Zstd,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options).expect("encode");
    let mut batch = buf.to_vec();
    let t = b.broker.topics.get("times").expect("topic");
    t.partition(0)
        .unwrap()
        .append(&mut batch, 0)
        .expect("append");

    assert_eq!(list_offset(&mut wire, "times", 1500), (0, 1, 2000));
    assert_eq!(list_offset(&mut wire, "times", 2500), (0, 2, 3000));
    assert_eq!(list_offset(&mut wire, "times", 3000), (0, 2, 3000));
    assert_eq!(list_offset(&mut wire, "times", 3001), (0, -1, -1));
    assert_eq!(list_offset(&mut wire, "times", -3), (0, 2, 3000));
    assert_eq!(list_offset(&mut wire, "times", -2), (0, 0, -1));
    assert_eq!(list_offset(&mut wire, "times", -1), (0, 3, -1));
}

/// Issue #13 bug 8: transactions are not implemented, so a transactional producer is refused
/// at once — the transaction coordinator lookup and InitProducerId with a transactional id
/// answer TRANSACTIONAL_ID_AUTHORIZATION_FAILED (fatal in librdkafka and Java) — while
/// idempotent producers still get producer ids.
#[test]
fn transactional_producers_are_refused_at_once() {
    let b = common::TestBroker::start(1 << 20);
    let mut wire = common::Wire::connect(&b.bootstrap);

    for version in [1, 2, 3] {
        let mut find = FindCoordinatorRequest::default();
        find.key = StrBytes::from_static_str("my-txn");
        find.key_type = 1;
        let r: FindCoordinatorResponse = wire.call(ApiKey::FindCoordinator, version, &find);
        assert_eq!((r.error_code, r.node_id.0), (53, -1), "v{version}");
        assert!(r
            .error_message
            .as_deref()
            .is_some_and(|m| m.contains("Transactions are not supported")));
        find.key_type = 0;
        let r: FindCoordinatorResponse = wire.call(ApiKey::FindCoordinator, version, &find);
        assert_eq!(r.error_code, 0, "groups still have a coordinator");
    }
    let mut find = FindCoordinatorRequest::default();
    find.key_type = 1;
    find.coordinator_keys = vec![StrBytes::from_static_str("my-txn")];
    let r: FindCoordinatorResponse = wire.call(ApiKey::FindCoordinator, 4, &find);
    assert_eq!(r.coordinators[0].error_code, 53);

    for version in [0, 2, 4] {
        let mut init = InitProducerIdRequest::default();
        init.transactional_id = None;
        init.transaction_timeout_ms = 60_000;
        init.producer_id = kafka_protocol::messages::ProducerId(-1);
        init.producer_epoch = -1;
        let r: InitProducerIdResponse = wire.call(ApiKey::InitProducerId, version, &init);
        assert_eq!(r.error_code, 0, "idempotent producer, v{version}");
        assert!(r.producer_id.0 >= 0);
        init.transactional_id = Some(TransactionalId(StrBytes::from_static_str("my-txn")));
        let r: InitProducerIdResponse = wire.call(ApiKey::InitProducerId, version, &init);
        assert_eq!(
            (r.error_code, r.producer_id.0, r.producer_epoch),
            (53, -1, -1)
        );
        init.transactional_id = Some(TransactionalId(StrBytes::from_static_str("")));
        let r: InitProducerIdResponse = wire.call(ApiKey::InitProducerId, version, &init);
        assert_eq!(
            r.error_code, 42,
            "an empty transactional id is INVALID_REQUEST"
        );
    }
}

/// One CreateTopics v4 (librdkafka's version) of `topic` with manual assignments
/// (`(partition, brokers)`), or a partition count when `assignments` is empty; returns
/// (error, num_partitions) of the result, at v5 when `validate_only` (the count is in the
/// answer from v5 on).
fn create(
    wire: &mut common::Wire,
    topic: &str,
    num_partitions: i32,
    replication_factor: i16,
    assignments: &[(i32, &[i32])],
    configs: &[(&str, &str)],
    validate_only: bool,
) -> (i16, i32) {
    let mut ct = CreatableTopic::default();
    ct.name = name(topic);
    ct.num_partitions = num_partitions;
    ct.replication_factor = replication_factor;
    ct.assignments = assignments
        .iter()
        .map(|(p, brokers)| {
            let mut a = CreatableReplicaAssignment::default();
            a.partition_index = *p;
            a.broker_ids = brokers.iter().map(|b| BrokerId(*b)).collect();
            a
        })
        .collect();
    ct.configs = configs
        .iter()
        .map(|(k, v)| {
            let mut c = CreatableTopicConfig::default();
            c.name = StrBytes::from_string(k.to_string());
            c.value = Some(StrBytes::from_string(v.to_string()));
            c
        })
        .collect();
    let mut req = CreateTopicsRequest::default();
    req.topics = vec![ct];
    req.timeout_ms = 10_000;
    req.validate_only = validate_only;
    let version = if validate_only { 5 } else { 4 };
    let resp: CreateTopicsResponse = wire.call(ApiKey::CreateTopics, version, &req);
    let r = &resp.topics[0];
    (r.error_code, r.num_partitions)
}

/// Issue #13 bug 4: manual replica assignments (librdkafka sends NumPartitions =
/// ReplicationFactor = -1) create one partition per assignment; assignments naming a broker
/// that does not exist are INVALID_REPLICA_ASSIGNMENT, and malformed ones are refused as
/// Kafka's controller refuses them.
#[test]
fn create_topics_honours_replica_assignments() {
    let b = common::TestBroker::start(1 << 20);
    let node = b.broker.config.node_id;
    let mut wire = common::Wire::connect(&b.bootstrap);
    let me: &[i32] = &[node];

    assert_eq!(
        create(
            &mut wire,
            "manual",
            -1,
            -1,
            &[(0, me), (1, me), (2, me)],
            &[],
            false
        )
        .0,
        0
    );
    assert_eq!(b.broker.topics.get("manual").unwrap().partitions.len(), 3);

    let other: &[i32] = &[node + 1];
    let twice: &[i32] = &[node, node];
    let both: &[i32] = &[node, node + 1];
    let none: &[i32] = &[];
    for (topic, assignments, code) in [
        ("unknown-broker", vec![(0, me), (1, other)], 39),
        ("two-replicas", vec![(0, both)], 39),
        ("same-broker-twice", vec![(0, twice)], 39),
        ("empty-replicas", vec![(0, none)], 39),
        ("gap", vec![(0, me), (2, me)], 39),
        ("out-of-order", vec![(1, me), (0, me)], 39),
    ] {
        assert_eq!(
            create(&mut wire, topic, -1, -1, &assignments, &[], false).0,
            code,
            "{topic}"
        );
        assert!(b.broker.topics.get(topic).is_none(), "{topic}");
    }
    // Assignments together with a count or a replication factor: INVALID_REQUEST.
    assert_eq!(
        create(&mut wire, "both", 2, -1, &[(0, me)], &[], false).0,
        42
    );
    assert_eq!(
        create(&mut wire, "both", -1, 1, &[(0, me)], &[], false).0,
        42
    );
    // validate_only checks the assignment without creating anything.
    assert_eq!(
        create(&mut wire, "dry", -1, -1, &[(0, me), (1, me)], &[], true),
        (0, 2)
    );
    assert_eq!(
        create(&mut wire, "dry", -1, -1, &[(0, other)], &[], true).0,
        39
    );
    assert!(b.broker.topics.get("dry").is_none());
    // Without assignments: the count, or num.partitions for -1.
    assert_eq!(create(&mut wire, "counted", 4, 1, &[], &[], false).0, 0);
    assert_eq!(b.broker.topics.get("counted").unwrap().partitions.len(), 4);
    assert_eq!(create(&mut wire, "defaulted", -1, -1, &[], &[], false).0, 0);
    assert_eq!(
        b.broker.topics.get("defaulted").unwrap().partitions.len() as i32,
        b.broker.config.default_partitions
    );
    assert_eq!(create(&mut wire, "rf0", 1, 0, &[], &[], false).0, 38);
    assert_eq!(create(&mut wire, "rf2", 1, 2, &[], &[], false).0, 38);
}

/// Issue #13 bug 5 on the wire: CreateTopics checks config names against the same table as
/// the config APIs (an unknown name used to be accepted).
#[test]
fn create_topics_rejects_unknown_configs() {
    let b = common::TestBroker::start(1 << 20);
    let mut wire = common::Wire::connect(&b.bootstrap);
    let bad = [("dummy.doesntexist", "1")];
    assert_eq!(create(&mut wire, "t", 1, 1, &[], &bad, false).0, 40);
    assert_eq!(create(&mut wire, "t", 1, 1, &[], &bad, true).0, 40);
    assert!(b.broker.topics.get("t").is_none());
    let standard = [("flush.ms", "1000"), ("min.cleanable.dirty.ratio", "0.7")];
    assert_eq!(create(&mut wire, "t", 1, 1, &[], &standard, false).0, 0);
    assert_eq!(
        b.broker.topics.get("t").unwrap().configs["flush.ms"],
        "1000"
    );
    let wrong = [("min.cleanable.dirty.ratio", "2")];
    assert_eq!(create(&mut wire, "u", 1, 1, &[], &wrong, false).0, 40);
}

/// Issue #13 bug 10 (KIP-430): asked for authorized operations, Metadata (topics, and the
/// cluster in v8–10), DescribeCluster and DescribeGroups answer every operation Kafka
/// supports on the resource type, as a Kafka broker without an authorizer does; not asked,
/// they answer "omitted" (i32::MIN).
#[test]
fn authorized_operations_without_an_authorizer() {
    use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    // Kafka's bit fields: 1 << AclOperation code.
    let topic_ops =
        (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);
    let cluster_ops = (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);
    let group_ops = (1 << 3) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 11);
    let b = common::TestBroker::start(1 << 20);
    b.broker
        .topics
        .create("ops", 1, TopicConfigs::new())
        .expect("create");
    let mut wire = common::Wire::connect(&b.bootstrap);

    for version in [8, 10, 12] {
        for ask in [true, false] {
            let mut req = MetadataRequest::default();
            let mut t = MetadataRequestTopic::default();
            t.name = Some(name("ops"));
            req.topics = Some(vec![t]);
            req.include_topic_authorized_operations = ask;
            if version <= 10 {
                req.include_cluster_authorized_operations = ask;
            }
            let r: MetadataResponse = wire.call(ApiKey::Metadata, version, &req);
            let want = |ops: i32| if ask { ops } else { i32::MIN };
            assert_eq!(
                r.topics[0].topic_authorized_operations,
                want(topic_ops),
                "v{version}"
            );
            if version <= 10 {
                assert_eq!(
                    r.cluster_authorized_operations,
                    want(cluster_ops),
                    "v{version}"
                );
            }
        }
    }

    for version in [0, 1] {
        let mut req = DescribeClusterRequest::default();
        req.include_cluster_authorized_operations = true;
        let r: DescribeClusterResponse = wire.call(ApiKey::DescribeCluster, version, &req);
        assert_eq!(r.error_code, 0);
        assert_eq!(r.cluster_authorized_operations, cluster_ops);
        assert_eq!(r.cluster_id.as_str(), b.broker.cluster_id);
        assert_eq!(r.brokers.len(), 1);
        assert_eq!(r.brokers[0].broker_id.0, b.broker.config.node_id);
        assert_eq!(r.controller_id.0, b.broker.config.node_id);
    }
    let mut req = DescribeClusterRequest::default();
    req.endpoint_type = 2; // controllers: not served by a broker
    let r: DescribeClusterResponse = wire.call(ApiKey::DescribeCluster, 1, &req);
    assert_eq!(r.error_code, 119, "UNSUPPORTED_ENDPOINT_TYPE");

    for (version, ask, want) in [
        (3, true, group_ops),
        (5, true, group_ops),
        (5, false, i32::MIN),
    ] {
        let mut req = DescribeGroupsRequest::default();
        req.groups = vec![GroupId(StrBytes::from_static_str("any-group"))];
        req.include_authorized_operations = ask;
        let r: DescribeGroupsResponse = wire.call(ApiKey::DescribeGroups, version, &req);
        assert_eq!(r.groups[0].authorized_operations, want, "v{version}");
    }
}
