//! End to end with librdkafka (the rdkafka crate, bundled build): produce with every codec and
//! acks level, consume back in order; a validated topic accepts framed Avro and rejects the
//! rest with INVALID_RECORD, appending nothing of a rejected batch.

mod common;

use std::time::Duration;

use charter_registry::registry::SchemaRequest;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};

fn producer(bootstrap: &str, acks: &str, codec: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", acks)
        .set("compression.type", codec)
        .set("linger.ms", "5")
        .set("message.timeout.ms", "10000")
        .create()
        .expect("producer")
}

fn read(bootstrap: &str, topic: &str, n: usize) -> Vec<(i64, Vec<u8>)> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "unused")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .expect("tpl");
    c.assign(&tpl).expect("assign");
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while out.len() < n && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(200)) {
            out.push((m.offset(), m.payload().unwrap_or_default().to_vec()));
        }
    }
    out
}

#[test]
fn every_codec_and_acks_level_round_trips() {
    let b = common::TestBroker::start(100 * 1024 * 1024);
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        for acks in ["0", "1", "all"] {
            let topic = format!("e2e-{codec}-{acks}");
            let p = producer(&b.bootstrap, acks, codec);
            let values: Vec<Vec<u8>> = (0..100)
                .map(|i| format!("{codec}/{acks}/{i}").repeat(1 + i % 5).into_bytes())
                .collect();
            b.rt.block_on(async {
                for v in &values {
                    p.send(
                        FutureRecord::<(), _>::to(&topic).payload(v),
                        Duration::from_secs(10),
                    )
                    .await
                    .expect("delivered");
                }
            });
            let got = read(&b.bootstrap, &topic, values.len());
            assert_eq!(got.len(), values.len(), "{codec}/{acks}");
            for (i, (offset, v)) in got.iter().enumerate() {
                assert_eq!(*offset, i as i64);
                assert_eq!(v, &values[i], "{codec}/{acks} record {i}");
            }
        }
    }
}

#[test]
fn validated_topic_rejects_bad_records_whole() {
    let b = common::TestBroker::start(100 * 1024 * 1024);
    let schema = r#"{"type":"record","name":"U","fields":[{"name":"n","type":"long"}]}"#;
    let id =
        b.rt.block_on(b.registry.register(
            "v-value",
            SchemaRequest {
                schema: schema.into(),
                ..SchemaRequest::default()
            },
            false,
        ))
        .expect("register")
        .id;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &b.bootstrap)
        .create()
        .expect("admin");
    let topic = NewTopic::new("v", 1, TopicReplication::Fixed(1))
        .set("confluent.value.schema.validation", "true");
    let created =
        b.rt.block_on(admin.create_topics([&topic], &AdminOptions::new()))
            .expect("create");
    assert!(created[0].is_ok(), "{created:?}");

    // Avro long 21 is the zigzag byte 42.
    let good = charter_serde::wire::frame(id, &[42]);
    let p = producer(&b.bootstrap, "all", "lz4");
    b.rt.block_on(async {
        let ok = p
            .send(
                FutureRecord::<(), _>::to("v").payload(&good),
                Duration::from_secs(10),
            )
            .await;
        assert!(ok.is_ok(), "{ok:?}");
        for bad in [
            b"raw bytes".to_vec(),
            charter_serde::wire::frame(id, &[42, 0]),
        ] {
            let err = p
                .send(
                    FutureRecord::<(), _>::to("v").payload(&bad),
                    Duration::from_secs(10),
                )
                .await
                .expect_err("rejected");
            assert!(
                matches!(
                    err.0,
                    KafkaError::MessageProduction(RDKafkaErrorCode::InvalidRecord)
                ),
                "{err:?}"
            );
        }
    });
    let got = read(&b.bootstrap, "v", 1);
    assert_eq!(got, vec![(0, good)]);
    // Nothing of the rejected batches was appended.
    let log = &b.broker.topics.get("v").expect("topic").partitions[0];
    assert_eq!(log.log_end_offset(), 1);
}
