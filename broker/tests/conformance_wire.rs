//! Kafka conformance on the wire, one test per difference issue #13 found between Charter
//! and Kafka (each reproduced with a real client first): requests are encoded with the
//! kafka-protocol codecs and sent to a real listener.

use charter_broker::log::batch::BatchBuilder;
use charter_broker::topics::TopicConfigs;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    ApiKey, FetchRequest, FetchResponse, FindCoordinatorRequest, FindCoordinatorResponse,
    InitProducerIdRequest, InitProducerIdResponse, ListOffsetsRequest, ListOffsetsResponse,
    TopicName, TransactionalId,
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
