//! `charter consume`: Fetch from every partition (or one) and print one JSON object per
//! record — partition, offset, timestamp, headers, key and value — decoding schema-framed keys
//! and values through the registry (`charter_serde::dynamic`). Bytes that are not framed are
//! shown as a string when they are UTF-8, as base64 otherwise, and say which.
//!
//! With `--group`, it is a "standalone consumer": it starts from the group's committed
//! offsets (OffsetFetch) and commits what it printed (OffsetCommit with generation -1 and no
//! member id, which Kafka accepts for a group without active members).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use charter_serde::client::SchemaRegistryClient;
use charter_serde::dynamic::DynamicDeserializer;
use clap::Args;
use kafka_protocol::messages::*;
use kafka_protocol::records::RecordBatchDecoder;
use serde_json::{json, Map, Value};

use super::kafka::{check, s, KafkaClient, KafkaError, UNKNOWN_TOPIC_OR_PARTITION};

/// OFFSET_OUT_OF_RANGE.
const OFFSET_OUT_OF_RANGE: i16 = 1;
use super::output::Output;
use super::{CliError, KafkaOpts, Result};

/// Options of `charter consume`.
#[derive(Args, Debug)]
pub struct ConsumeOpts {
    /// The topic.
    #[arg(long)]
    pub topic: String,
    /// Start at the earliest offset (default: the end, or the group's committed offsets).
    #[arg(long)]
    pub from_beginning: bool,
    /// Start from this consumer group's committed offsets and commit what was printed.
    #[arg(long)]
    pub group: Option<String>,
    /// Stop after this many records.
    #[arg(long)]
    pub max: Option<u64>,
    /// Only this partition.
    #[arg(long)]
    pub partition: Option<i32>,
    /// Stop after this many milliseconds without a new record (default: keep waiting).
    #[arg(long)]
    pub timeout_ms: Option<u64>,
}

/// Runs `charter consume`.
pub async fn run(
    opts: ConsumeOpts,
    kafka: &KafkaOpts,
    client: &SchemaRegistryClient,
    out: &Output,
) -> Result<()> {
    let mut kc = kafka.connect().await?;
    let topic = opts.topic.clone();
    let mut partitions = kc.partitions(&topic).await.map_err(|e| match e {
        KafkaError::Broker { code, .. } if code == UNKNOWN_TOPIC_OR_PARTITION => {
            CliError::NotFound(format!("topic {topic} does not exist"))
        }
        other => CliError::kafka(format!("reading metadata of {topic}"))(other),
    })?;
    if let Some(p) = opts.partition {
        if !partitions.contains(&p) {
            return Err(CliError::NotFound(format!(
                "topic {topic} has no partition {p}"
            )));
        }
        partitions = vec![p];
    }
    let ctx = || format!("consuming {topic}");
    let start_at = if opts.from_beginning { -2 } else { -1 };
    let mut positions: BTreeMap<i32, i64> = kc
        .list_offsets(&topic, &partitions, start_at)
        .await
        .map_err(CliError::kafka(ctx()))?
        .into_iter()
        .collect();
    if let Some(group) = &opts.group {
        let committed =
            kc.offset_fetch(group, &topic, &partitions)
                .await
                .map_err(CliError::kafka(format!(
                    "reading the offsets of group {group}"
                )))?;
        for (p, o) in committed {
            if o >= 0 {
                positions.insert(p, o);
            }
        }
    }
    let start = positions.clone();
    let deserializer = DynamicDeserializer::new(client.clone());
    let mut printed: u64 = 0;
    let mut last_record = Instant::now();
    let max = opts.max.unwrap_or(u64::MAX);
    'fetching: while printed < max {
        if let Some(t) = opts.timeout_ms {
            if last_record.elapsed() >= Duration::from_millis(t) {
                break;
            }
        }
        let wait_ms = opts
            .timeout_ms
            .map(|t| {
                t.saturating_sub(last_record.elapsed().as_millis() as u64)
                    .min(500)
            })
            .unwrap_or(500) as i32;
        let resp = fetch(&mut kc, &topic, &positions, wait_ms.max(1))
            .await
            .map_err(CliError::kafka(ctx()))?;
        for t in resp.responses {
            for pd in t.partitions {
                if pd.error_code == OFFSET_OUT_OF_RANGE {
                    // The position fell below the log start (retention) or past the end: go on
                    // from the earliest offset still there, as auto.offset.reset=earliest.
                    let p = pd.partition_index;
                    let earliest = kc
                        .list_offsets(&topic, &[p], -2)
                        .await
                        .map_err(CliError::kafka(ctx()))?;
                    if let Some(o) = earliest.get(&p) {
                        positions.insert(p, *o);
                    }
                    continue;
                }
                check(pd.error_code, None).map_err(CliError::kafka(ctx()))?;
                let Some(mut records) = pd.records else {
                    continue;
                };
                let p = pd.partition_index;
                let Some(&from) = positions.get(&p) else {
                    continue;
                };
                let sets = RecordBatchDecoder::decode_all(&mut records).map_err(|e| {
                    CliError::kafka(ctx())(KafkaError::Protocol(format!(
                        "partition {p}: undecodable record batch: {e}"
                    )))
                })?;
                for set in sets {
                    for r in set.records {
                        // A fetch answers whole batches; skip what is before the position.
                        if r.offset < from || r.control {
                            if r.offset >= from {
                                positions.insert(p, r.offset + 1);
                            }
                            continue;
                        }
                        let line = render(&deserializer, &topic, p, &r).await;
                        out.json_line(&line);
                        positions.insert(p, r.offset + 1);
                        printed += 1;
                        last_record = Instant::now();
                        if printed >= max {
                            break 'fetching;
                        }
                    }
                }
            }
        }
    }
    if let Some(group) = &opts.group {
        let moved: HashMap<i32, i64> = positions
            .iter()
            .filter(|(p, o)| start.get(p) != Some(o))
            .map(|(p, o)| (*p, *o))
            .collect();
        if !moved.is_empty() {
            kc.offset_commit(group, &topic, &moved)
                .await
                .map_err(CliError::kafka(format!(
                    "committing the offsets of group {group}"
                )))?;
        }
    }
    Ok(())
}

async fn fetch(
    kc: &mut KafkaClient,
    topic: &str,
    positions: &BTreeMap<i32, i64>,
    max_wait_ms: i32,
) -> std::result::Result<FetchResponse, KafkaError> {
    let mut ft = fetch_request::FetchTopic::default();
    ft.topic = TopicName(s(topic));
    ft.partitions = positions
        .iter()
        .map(|(p, o)| {
            let mut fp = fetch_request::FetchPartition::default();
            fp.partition = *p;
            fp.fetch_offset = *o;
            fp.current_leader_epoch = -1;
            fp.last_fetched_epoch = -1;
            fp.log_start_offset = -1;
            fp.partition_max_bytes = 1024 * 1024;
            fp
        })
        .collect();
    let mut req = FetchRequest::default();
    req.replica_id = BrokerId(-1);
    req.max_wait_ms = max_wait_ms;
    req.min_bytes = 1;
    req.max_bytes = 8 * 1024 * 1024;
    req.isolation_level = 0;
    req.session_id = 0;
    req.session_epoch = -1;
    req.topics = vec![ft];
    Ok(kc.send(&req, 4, 12).await?.0)
}

/// A key or value for printing: `(json, encoding)`, where the encoding is `None` for a value
/// decoded through the registry, `"string"` or `"base64"` for unframed bytes.
async fn decode(
    de: &DynamicDeserializer,
    topic: &str,
    is_key: bool,
    bytes: &Option<Bytes>,
    headers: &[(String, Vec<u8>)],
) -> (Value, Option<String>, Option<String>) {
    let Some(b) = bytes else {
        return (Value::Null, None, None);
    };
    let header = if is_key {
        "__key_schema_id"
    } else {
        "__value_schema_id"
    };
    let framed =
        (b.len() >= 5 && (b[0] == 0 || b[0] == 1)) || headers.iter().any(|(k, _)| k == header);
    let mut error = None;
    if framed {
        match de.deserialize_json(topic, is_key, b, headers).await {
            Ok(v) => return (v, None, None),
            Err(e) => error = Some(e.to_string()),
        }
    }
    match std::str::from_utf8(b) {
        Ok(s) => (Value::String(s.to_string()), Some("string".into()), error),
        Err(_) => (
            Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
            Some("base64".into()),
            error,
        ),
    }
}

async fn render(
    de: &DynamicDeserializer,
    topic: &str,
    partition: i32,
    r: &kafka_protocol::records::Record,
) -> Value {
    let headers: Vec<(String, Vec<u8>)> = r
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                v.as_ref().map(|b| b.to_vec()).unwrap_or_default(),
            )
        })
        .collect();
    let mut hmap = Map::new();
    for (k, v) in &r.headers {
        let shown = match v {
            None => Value::Null,
            Some(b) => match std::str::from_utf8(b) {
                Ok(s) => Value::String(s.to_string()),
                Err(_) => Value::String(format!(
                    "base64:{}",
                    base64::engine::general_purpose::STANDARD.encode(b)
                )),
            },
        };
        hmap.insert(k.to_string(), shown);
    }
    let (key, key_enc, key_err) = decode(de, topic, true, &r.key, &headers).await;
    let (value, value_enc, value_err) = decode(de, topic, false, &r.value, &headers).await;
    let mut line = json!({
        "partition": partition,
        "offset": r.offset,
        "timestamp": r.timestamp,
        "headers": hmap,
        "key": key,
        "value": value,
    });
    if let Value::Object(o) = &mut line {
        if let Some(e) = key_enc {
            o.insert("key_encoding".into(), Value::String(e));
        }
        if let Some(e) = value_enc {
            o.insert("value_encoding".into(), Value::String(e));
        }
        if let Some(e) = key_err {
            o.insert("key_error".into(), Value::String(e));
        }
        if let Some(e) = value_err {
            o.insert("value_error".into(), Value::String(e));
        }
    }
    line
}
