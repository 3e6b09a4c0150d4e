//! Produce/consume load generator on librdkafka (the rdkafka crate) against an in-process
//! charter broker and registry: 1 KiB records, acks=1 and acks=all, validation off / id /
//! payload (Avro). Prints a Markdown table for BENCHMARKS.md.
//!
//! Run: `cargo run --release -p charter-broker --example produce_bench -- [records]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use charter_broker::kafka::{self, Broker, BrokerConfig};
use charter_broker::topics::TopicConfigs;
use charter_registry::registry::SchemaRequest;
use charter_registry::Registry;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

const SCHEMA: &str = r#"{"type":"record","name":"Event","fields":[{"name":"id","type":"long"},{"name":"data","type":"bytes"}]}"#;

fn zigzag(v: i64, out: &mut Vec<u8>) {
    charter_serde::wire::write_zigzag(out, v);
}

/// A framed Avro Event of exactly 1024 bytes.
fn record(schema_id: i32, i: i64) -> Vec<u8> {
    let mut datum = Vec::with_capacity(1024);
    zigzag(i, &mut datum);
    let data_len = 1024 - 5 - datum.len() - 2;
    zigzag(data_len as i64, &mut datum);
    datum.extend(std::iter::repeat_n(b'x', data_len));
    charter_serde::wire::frame(schema_id, &datum)
}

fn request() -> SchemaRequest {
    SchemaRequest {
        schema: SCHEMA.into(),
        ..SchemaRequest::default()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let (bootstrap, broker, schema_id) = rt.block_on(async {
        let registry = Arc::new(Registry::open(dir.path()).expect("registry"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let config = BrokerConfig {
            advertised_port: addr.port() as i32,
            ..BrokerConfig::default()
        };
        let broker = Arc::new(Broker::open(config, dir.path(), registry.clone()).expect("broker"));
        tokio::spawn(kafka::serve(
            listener,
            broker.clone(),
            std::future::pending(),
        ));
        // The same schema gets the same id under every subject registered below.
        let id = registry
            .register("bench-schema", request(), false)
            .await
            .expect("register")
            .id;
        (addr.to_string(), broker, id)
    });
    let records: Vec<Vec<u8>> = (0..n as i64).map(|i| record(schema_id, i)).collect();

    println!("| scenario | MB/s | records/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    for (validation, acks) in [
        ("off", "1"),
        ("id", "1"),
        ("payload", "1"),
        ("off", "all"),
        ("payload", "all"),
    ] {
        let topic = format!(
            "bench-{validation}-{}",
            if acks == "all" { "all" } else { "one" }
        );
        let mut configs = TopicConfigs::new();
        if validation != "off" {
            configs.insert("confluent.value.schema.validation".into(), "true".into());
            configs.insert(
                "charter.value.schema.validation.level".into(),
                validation.into(),
            );
            // TopicNameStrategy: the schema must be registered under `<topic>-value`.
            rt.block_on(
                broker
                    .registry
                    .register(&format!("{topic}-value"), request(), false),
            )
            .expect("register");
        }
        broker.topics.create(&topic, 1, configs).expect("topic");
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("acks", acks)
            .set("linger.ms", "5")
            .set("batch.size", "1000000")
            .set("queue.buffering.max.messages", "1000000")
            .set("queue.buffering.max.kbytes", "2000000")
            .create()
            .expect("producer");
        let start = Instant::now();
        let mut latencies = rt.block_on(async {
            let mut futures = Vec::with_capacity(n);
            for r in &records {
                let sent = Instant::now();
                let f = producer.send_result(FutureRecord::<(), _>::to(&topic).payload(r));
                futures.push((sent, f.expect("queued")));
            }
            let mut lat = Vec::with_capacity(n);
            for (sent, f) in futures {
                f.await.expect("delivery").expect("delivered");
                lat.push(sent.elapsed());
            }
            lat
        });
        let secs = start.elapsed().as_secs_f64();
        latencies.sort();
        println!(
            "| produce acks={acks}, validation {validation} | {:.1} | {:.0} | {:.1} | {:.1} |",
            (n * 1024) as f64 / secs / 1e6,
            n as f64 / secs,
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        );
    }

    // Consume the first topic back.
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "bench")
        .set("fetch.max.bytes", "52428800")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("bench-off-one", 0, Offset::Beginning)
        .expect("tpl");
    consumer.assign(&tpl).expect("assign");
    let start = Instant::now();
    let mut got = 0;
    while got < n {
        if let Some(Ok(_)) = consumer.poll(Duration::from_millis(100)) {
            got += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "| consume (one consumer) | {:.1} | {:.0} | – | – |",
        (n * 1024) as f64 / secs / 1e6,
        n as f64 / secs
    );
}
