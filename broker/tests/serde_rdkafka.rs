//! charter-serde's `rdkafka` feature end to end: typed Avro keys and values produced with a
//! `FutureProducer` (prefix and header framing, a tombstone) into a topic the broker validates
//! against the same registry, then consumed and decoded from `BorrowedMessage`s.

mod common;

use std::sync::Arc;
use std::time::Duration;

use charter_registry::ApiOptions;
use charter_serde::avro_serde::{AvroDeserializer, AvroSerializer};
use charter_serde::client::{ClientConfig as SrConfig, SchemaRegistryClient};
use charter_serde::deserializer::DeserializerConfig;
use charter_serde::rdkafka::{produce, MessageExt};
use charter_serde::record::IdLocation;
use charter_serde::serializer::SerializerConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::FutureProducer;
use rdkafka::{Message, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Order {
    id: i64,
    note: Option<String>,
}

const ORDER: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[
  {"name":"id","type":"long"},{"name":"note","type":["null","string"],"default":null}]}"#;

#[test]
fn typed_values_through_rdkafka_and_a_validating_broker() {
    let b = common::TestBroker::start(10 * 1024 * 1024);
    let registry = b.registry.clone();
    let sr_url = b.rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(charter_registry::serve(
            listener,
            registry,
            ApiOptions::default(),
            std::future::pending(),
        ));
        url
    });
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &b.bootstrap)
        .create()
        .unwrap();
    let topic = NewTopic::new("orders", 1, TopicReplication::Fixed(1))
        .set("confluent.value.schema.validation", "true")
        .set("confluent.key.schema.validation", "true");
    let created =
        b.rt.block_on(admin.create_topics([&topic], &AdminOptions::new()))
            .unwrap();
    assert!(created[0].is_ok(), "{created:?}");

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &b.bootstrap)
        .set("message.timeout.ms", "10000")
        .create()
        .unwrap();
    let orders = [
        Order {
            id: 1,
            note: Some("first".into()),
        },
        Order { id: 2, note: None },
    ];
    b.rt.block_on(async {
        let sr = SchemaRegistryClient::new(SrConfig::new(&sr_url)).unwrap();
        let keys =
            AvroSerializer::<str>::new(sr.clone(), r#""string""#, SerializerConfig::default())
                .unwrap();
        let prefix =
            AvroSerializer::<Order>::new(sr.clone(), ORDER, SerializerConfig::default()).unwrap();
        let header = AvroSerializer::<Order>::new(
            sr.clone(),
            ORDER,
            SerializerConfig::default().id_location(IdLocation::Header),
        )
        .unwrap();
        let t = Duration::from_secs(10);
        let (p, o) = produce(
            &producer,
            "orders",
            Some((&keys, "k1")),
            Some((&prefix, &orders[0])),
            t,
        )
        .await
        .unwrap();
        assert_eq!((p, o), (0, 0));
        produce(
            &producer,
            "orders",
            Some((&keys, "k2")),
            Some((&header, &orders[1])),
            t,
        )
        .await
        .unwrap();
        // A tombstone: a key and no value.
        produce(
            &producer,
            "orders",
            Some((&keys, "k1")),
            None::<(&AvroSerializer<Order>, &Order)>,
            t,
        )
        .await
        .unwrap();
    });

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &b.bootstrap)
        .set("group.id", "unused")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("orders", 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let sr =
        b.rt.block_on(async { SchemaRegistryClient::new(SrConfig::new(&sr_url)) })
            .unwrap();
    let values = AvroDeserializer::<Order>::new(sr.clone(), DeserializerConfig::default());
    let keys = AvroDeserializer::<String>::new(sr, DeserializerConfig::default());
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while got.len() < 3 && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let header_names: Vec<String> = match m.headers() {
                Some(h) => {
                    use rdkafka::message::Headers;
                    h.iter().map(|x| x.key.to_string()).collect()
                }
                None => vec![],
            };
            let (k, v) = b.rt.block_on(async {
                (
                    m.key_as(&keys).await.unwrap(),
                    m.value_as(&values).await.unwrap(),
                )
            });
            got.push((k, v, header_names));
        }
    }
    assert_eq!(
        got,
        vec![
            (Some("k1".to_string()), Some(orders[0].clone()), vec![]),
            (
                Some("k2".to_string()),
                Some(orders[1].clone()),
                vec!["__value_schema_id".to_string()]
            ),
            (Some("k1".to_string()), None, vec![]),
        ]
    );
    let _ = Arc::strong_count(&b.broker);
}
