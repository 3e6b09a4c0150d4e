//! Produce on a full disk, with a real `charter serve` whose data directory is a small tmpfs:
//! producers are answered the retriable KAFKA_STORAGE_ERROR, the broker says so in its log
//! once per interval (not once per attempt), keeps serving everything else, and takes writes
//! again as soon as space is freed.

use std::time::Duration;

use bytes::Bytes;
use charter_broker::cli::kafka::{s, KafkaClient};
use charter_broker::log::batch::simple_batch;
use kafka_protocol::messages::*;

mod common;

use common::child::{api_versions, Server};

const KAFKA_STORAGE_ERROR: i16 = 56;

async fn produce(kc: &mut KafkaClient, topic: &str, batch: Vec<u8>) -> i16 {
    let mut req = ProduceRequest::default();
    req.acks = -1;
    req.timeout_ms = 30_000;
    let mut pd = produce_request::PartitionProduceData::default();
    pd.index = 0;
    pd.records = Some(Bytes::from(batch));
    let mut td = produce_request::TopicProduceData::default();
    td.name = TopicName(s(topic));
    td.partition_data.push(pd);
    req.topic_data = vec![td];
    let (resp, _) = kc.send(&req, 3, 9).await.expect("produce answered");
    resp.responses[0].partition_responses[0].error_code
}

#[test]
fn produce_on_a_full_disk_is_a_logged_retriable_storage_error() {
    let server = Server::start_in(&[], None, Some("24m"));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (stored, refused) = rt.block_on(async {
        let mut kc = KafkaClient::connect(&server.kafka).await.expect("connect");
        let mut md = MetadataRequest::default();
        let mut t = metadata_request::MetadataRequestTopic::default();
        t.name = Some(TopicName(s("fill")));
        md.topics = Some(vec![t]);
        md.allow_auto_topic_creation = true;
        kc.send(&md, 4, 12).await.expect("metadata");
        let mut stored = 0;
        let mut first_error = None;
        // 256 KiB batches until the 24 MiB tmpfs is full (a bound, not an expectation).
        for i in 0..400 {
            match produce(&mut kc, "fill", simple_batch(64, 4096, i)).await {
                0 => stored += 1,
                code => {
                    first_error = Some(code);
                    break;
                }
            }
        }
        assert_eq!(
            first_error,
            Some(KAFKA_STORAGE_ERROR),
            "after {stored} stored batches"
        );
        // Producers retry: every attempt gets the same retriable answer.
        let mut refused = 0;
        for i in 0..50 {
            assert_eq!(
                produce(&mut kc, "fill", simple_batch(64, 4096, i)).await,
                KAFKA_STORAGE_ERROR
            );
            refused += 1;
        }
        // Space comes back: the next retry is stored, without a restart.
        server.free_filler();
        assert_eq!(produce(&mut kc, "fill", simple_batch(64, 4096, 0)).await, 0);
        (stored, refused)
    });
    assert!(stored > 10, "only {stored} batches fit");
    // The broker still answers other requests.
    assert!(api_versions(&server.kafka));
    std::thread::sleep(Duration::from_millis(200));
    let log = server.stderr_text();
    let lines = log
        .lines()
        .filter(|l| l.contains("append failed") && l.contains("KAFKA_STORAGE_ERROR"))
        .count();
    assert!(
        (1..=3).contains(&lines),
        "{lines} lines for {} refused appends:\n{log}",
        refused + 1
    );
}
