//! `charter produce`: JSON lines in (`{"key": ..., "value": ..., "headers": {...}}`), records
//! encoded with the subject's schema through `charter_serde::dynamic`, produced with acks=all
//! as record batches v2. Every failure (a malformed line, a value the schema rejects, a record
//! the broker rejects with INVALID_RECORD) is reported with its line number; the rest are
//! still produced.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use charter_serde::client::{SchemaRegistryClient, Version};
use charter_serde::dynamic::{DynamicSerializer, SchemaChoice};
use clap::{Args, ValueEnum};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use serde_json::{json, Value};

use super::kafka::{error_name, s, KafkaClient, INVALID_RECORD};
use super::output::Output;
use super::{CliError, KafkaOpts, Result};

/// How a key or value is turned into bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// With the subject's registered schema (TopicNameStrategy: `<topic>-key` / `<topic>-value`),
    /// framed with the schema id.
    Schema,
    /// The JSON text itself, unframed.
    Json,
    /// A JSON string's characters (other JSON as text), unframed.
    String,
}

/// Options of `charter produce`.
#[derive(Args, Debug)]
pub struct ProduceOpts {
    /// The topic.
    #[arg(long)]
    pub topic: String,
    /// Read JSON lines from this file instead of stdin.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// How values are encoded.
    #[arg(long, value_enum, default_value_t = Format::Schema)]
    pub value_format: Format,
    /// How keys are encoded.
    #[arg(long, value_enum, default_value_t = Format::String)]
    pub key_format: Format,
    /// The value subject's version to write with (default: latest).
    #[arg(long, conflicts_with = "value_schema_id")]
    pub value_version: Option<i32>,
    /// A schema id to write values with (need not be registered under the topic's subject).
    #[arg(long)]
    pub value_schema_id: Option<i32>,
    /// The key subject's version (default: latest; with --key-format schema).
    #[arg(long)]
    pub key_version: Option<i32>,
    /// Produce every record to this partition (default: by key hash, Kafka's murmur2; keyless
    /// records round-robin). A line's own `"partition"` wins.
    #[arg(long)]
    pub partition: Option<i32>,
    /// Records per produce request.
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
}

/// A record ready to send, with the input line it came from.
struct Pending {
    line: usize,
    partition: i32,
    key: Option<Bytes>,
    value: Option<Bytes>,
    headers: IndexMap<StrBytes, Option<Bytes>>,
}

/// What happened to each line.
#[derive(Default)]
struct Report {
    produced: Vec<(usize, i32, i64)>,
    failed: Vec<(usize, String)>,
}

/// Runs `charter produce`.
pub async fn run(
    opts: ProduceOpts,
    kafka: &KafkaOpts,
    client: &SchemaRegistryClient,
    out: &Output,
) -> Result<()> {
    if opts.batch_size == 0 {
        return Err(CliError::Usage("--batch-size must be at least 1".into()));
    }
    let reader: Box<dyn BufRead> = match &opts.file {
        Some(p) if p.as_os_str() != "-" => Box::new(std::io::BufReader::new(
            std::fs::File::open(p)
                .map_err(|e| CliError::Input(format!("cannot read {}: {e}", p.display())))?,
        )),
        _ => Box::new(std::io::BufReader::new(std::io::stdin())),
    };
    let value_choice = match (opts.value_schema_id, opts.value_version) {
        (Some(id), _) => SchemaChoice::Id(id),
        (None, Some(v)) => SchemaChoice::Version(v),
        (None, None) => SchemaChoice::Latest,
    };
    let key_choice = opts
        .key_version
        .map(SchemaChoice::Version)
        .unwrap_or(SchemaChoice::Latest);
    // Resolve the schema once: every record of the run is written with the same one, and a
    // subject without it fails fast (exit 4) instead of failing every line.
    let value_choice = if opts.value_format == Format::Schema {
        SchemaChoice::Id(resolve_schema(client, &opts.topic, false, value_choice).await?)
    } else {
        value_choice
    };
    let key_choice = if opts.key_format == Format::Schema {
        SchemaChoice::Id(resolve_schema(client, &opts.topic, true, key_choice).await?)
    } else {
        key_choice
    };
    let mut kc = kafka.connect().await?;
    let partitions = kc.partitions(&opts.topic).await.map_err(|e| match e {
        super::kafka::KafkaError::Broker { code, .. }
            if code == super::kafka::UNKNOWN_TOPIC_OR_PARTITION =>
        {
            CliError::NotFound(format!(
                "topic {} does not exist (create it with `charter topic create`)",
                opts.topic
            ))
        }
        other => CliError::kafka(format!("reading metadata of {}", opts.topic))(other),
    })?;
    if let Some(p) = opts.partition {
        if !partitions.contains(&p) {
            return Err(CliError::NotFound(format!(
                "topic {} has no partition {p}",
                opts.topic
            )));
        }
    }
    let serializer = DynamicSerializer::new(client.clone());
    let mut report = Report::default();
    let mut pending: Vec<Pending> = Vec::new();
    let mut round_robin = 0usize;
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| CliError::Input(format!("reading input line {n}: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        match encode_line(
            &line,
            &opts,
            &serializer,
            value_choice,
            key_choice,
            &partitions,
            &mut round_robin,
        )
        .await
        {
            Ok((partition, key, value, headers)) => pending.push(Pending {
                line: n,
                partition,
                key,
                value,
                headers,
            }),
            Err(e) => report.failed.push((n, e)),
        }
        if pending.len() >= opts.batch_size {
            send(
                &mut kc,
                &opts.topic,
                std::mem::take(&mut pending),
                &mut report,
            )
            .await?;
        }
    }
    if !pending.is_empty() {
        send(&mut kc, &opts.topic, pending, &mut report).await?;
    }
    report.failed.sort();
    print_report(&opts.topic, &report, out);
    if report.failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "{} of {} record(s) failed",
            report.failed.len(),
            report.failed.len() + report.produced.len()
        )))
    }
}

/// The id of the schema `choice` names for `topic`'s key or value subject (TopicNameStrategy).
async fn resolve_schema(
    client: &SchemaRegistryClient,
    topic: &str,
    is_key: bool,
    choice: SchemaChoice,
) -> Result<i32> {
    let subject = format!("{topic}-{}", if is_key { "key" } else { "value" });
    let r = match choice {
        SchemaChoice::Id(id) => client.schema_by_id(id, None, None).await.map(|_| id),
        SchemaChoice::Latest => client.latest_version(&subject).await.map(|m| m.id),
        SchemaChoice::Version(v) => client
            .version(&subject, Version::Number(v), false)
            .await
            .map(|m| m.id),
    };
    r.map_err(|e| {
        if e.is_not_found() {
            CliError::NotFound(format!(
                "no schema for {subject} ({choice:?}); register one or use --{}-format json",
                if is_key { "key" } else { "value" }
            ))
        } else {
            CliError::Registry {
                context: format!("reading the schema of {subject}"),
                source: e,
            }
        }
    })
}

type Encoded = (
    i32,
    Option<Bytes>,
    Option<Bytes>,
    IndexMap<StrBytes, Option<Bytes>>,
);

/// Parses and encodes one input line; the error is the line's report.
async fn encode_line(
    line: &str,
    opts: &ProduceOpts,
    serializer: &DynamicSerializer,
    value_choice: SchemaChoice,
    key_choice: SchemaChoice,
    partitions: &[i32],
    round_robin: &mut usize,
) -> std::result::Result<Encoded, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("malformed JSON: {e}"))?;
    let Value::Object(obj) = v else {
        return Err(
            "expected an object like {\"key\": ..., \"value\": ..., \"headers\": {...}}".into(),
        );
    };
    if let Some(k) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "key" | "value" | "headers" | "partition"))
    {
        return Err(format!(
            "unknown field {k:?} (expected key, value, headers, partition)"
        ));
    }
    let Some(value) = obj.get("value") else {
        return Err("no \"value\" (use null for a tombstone)".into());
    };
    let key = match obj.get("key") {
        None | Some(Value::Null) => None,
        Some(k) => Some(
            encode(
                serializer,
                &opts.topic,
                true,
                k,
                opts.key_format,
                key_choice,
            )
            .await?,
        ),
    };
    let value = match value {
        Value::Null => None,
        v => Some(
            encode(
                serializer,
                &opts.topic,
                false,
                v,
                opts.value_format,
                value_choice,
            )
            .await?,
        ),
    };
    let mut headers = IndexMap::new();
    match obj.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(h)) => {
            for (name, v) in h {
                let bytes = match v {
                    Value::Null => None,
                    Value::String(s) => Some(Bytes::from(s.clone().into_bytes())),
                    other => Some(Bytes::from(other.to_string().into_bytes())),
                };
                headers.insert(StrBytes::from_string(name.clone()), bytes);
            }
        }
        Some(_) => return Err("\"headers\" must be an object of strings".into()),
    }
    let partition = match obj.get("partition") {
        Some(p) => {
            let p = p
                .as_i64()
                .and_then(|p| i32::try_from(p).ok())
                .ok_or("\"partition\" must be an integer")?;
            if !partitions.contains(&p) {
                return Err(format!("partition {p} does not exist"));
            }
            p
        }
        None => match (opts.partition, &key) {
            (Some(p), _) => p,
            (None, Some(k)) => {
                let n = partitions.len().max(1) as i32;
                partitions
                    .get(((murmur2(k) & 0x7fff_ffff) % n) as usize)
                    .copied()
                    .unwrap_or(0)
            }
            (None, None) => {
                *round_robin = round_robin.wrapping_add(1);
                partitions
                    .get(*round_robin % partitions.len().max(1))
                    .copied()
                    .unwrap_or(0)
            }
        },
    };
    Ok((partition, key, value, headers))
}

async fn encode(
    serializer: &DynamicSerializer,
    topic: &str,
    is_key: bool,
    v: &Value,
    format: Format,
    choice: SchemaChoice,
) -> std::result::Result<Bytes, String> {
    let what = if is_key { "key" } else { "value" };
    match format {
        Format::Schema => serializer
            .serialize_json(topic, is_key, v, choice)
            .await
            .map(Bytes::from)
            .map_err(|e| format!("{what}: {e}")),
        Format::Json => Ok(Bytes::from(v.to_string().into_bytes())),
        Format::String => Ok(Bytes::from(match v {
            Value::String(s) => s.clone().into_bytes(),
            other => other.to_string().into_bytes(),
        })),
    }
}

/// Kafka's default partitioner hash (murmur2, Java `Utils.murmur2`).
pub fn murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    let mut h: u32 = 0x9747_b28c ^ (data.len() as u32);
    let chunks = data.chunks_exact(4);
    let rem = chunks.remainder();
    for c in chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    if rem.len() >= 3 {
        h ^= (rem[2] as u32) << 16;
    }
    if rem.len() >= 2 {
        h ^= (rem[1] as u32) << 8;
    }
    if !rem.is_empty() {
        h ^= rem[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

fn batch(records: &[&Pending]) -> std::result::Result<Bytes, String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let recs: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, p)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: -1,
            timestamp: now,
            key: p.key.clone(),
            value: p.value.clone(),
            headers: p.headers.clone(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        recs.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(buf.freeze())
}

/// Produces `records`: one batch per partition, acks=all. A batch the broker rejects with
/// per-record errors is retried without the named records, so one bad record does not take
/// the good ones with it; without per-record errors, records are retried one by one.
async fn send(
    kc: &mut KafkaClient,
    topic: &str,
    records: Vec<Pending>,
    report: &mut Report,
) -> Result<()> {
    let mut by_partition: BTreeMap<i32, Vec<Pending>> = BTreeMap::new();
    for r in records {
        by_partition.entry(r.partition).or_default().push(r);
    }
    // Work list of (partition, records) still to send.
    let mut work: Vec<(i32, Vec<Pending>)> = by_partition.into_iter().collect();
    while !work.is_empty() {
        let mut req = ProduceRequest::default();
        req.acks = -1;
        req.timeout_ms = 30_000;
        let mut td = produce_request::TopicProduceData::default();
        td.name = TopicName(s(topic));
        for (p, recs) in &work {
            let refs: Vec<&Pending> = recs.iter().collect();
            let mut pd = produce_request::PartitionProduceData::default();
            pd.index = *p;
            pd.records = Some(
                batch(&refs)
                    .map_err(|e| CliError::Input(format!("cannot encode a record batch: {e}")))?,
            );
            td.partition_data.push(pd);
        }
        req.topic_data = vec![td];
        let (resp, _) = kc
            .send(&req, 3, 9)
            .await
            .map_err(CliError::kafka(format!("producing to {topic}")))?;
        let mut answers: BTreeMap<i32, produce_response::PartitionProduceResponse> =
            BTreeMap::new();
        for t in resp.responses {
            for p in t.partition_responses {
                answers.insert(p.index, p);
            }
        }
        let mut next = Vec::new();
        for (p, recs) in work {
            let Some(a) = answers.remove(&p) else {
                for r in recs {
                    report
                        .failed
                        .push((r.line, format!("no answer for partition {p}")));
                }
                continue;
            };
            if a.error_code == 0 {
                for (i, r) in recs.iter().enumerate() {
                    report.produced.push((r.line, p, a.base_offset + i as i64));
                }
                continue;
            }
            let message = a
                .error_message
                .as_ref()
                .map(|m| m.to_string())
                .unwrap_or_default();
            let reason = |extra: Option<String>| {
                let detail = extra
                    .filter(|e| !e.is_empty())
                    .unwrap_or_else(|| message.clone());
                if detail.is_empty() {
                    format!("rejected by the broker: {}", error_name(a.error_code))
                } else {
                    format!(
                        "rejected by the broker: {}: {detail}",
                        error_name(a.error_code)
                    )
                }
            };
            if a.error_code == INVALID_RECORD && !a.record_errors.is_empty() {
                let bad: BTreeMap<usize, Option<String>> = a
                    .record_errors
                    .iter()
                    .map(|e| {
                        (
                            e.batch_index.max(0) as usize,
                            e.batch_index_error_message.as_ref().map(|m| m.to_string()),
                        )
                    })
                    .collect();
                let mut rest = Vec::new();
                for (i, r) in recs.into_iter().enumerate() {
                    match bad.get(&i) {
                        Some(m) => report.failed.push((r.line, reason(m.clone()))),
                        None => rest.push(r),
                    }
                }
                if !rest.is_empty() {
                    next.push((p, rest));
                }
            } else if a.error_code == INVALID_RECORD && recs.len() > 1 {
                // No per-record errors (older Produce version): find the culprits one by one.
                for r in recs {
                    next.push((p, vec![r]));
                }
            } else {
                for r in recs {
                    report.failed.push((r.line, reason(None)));
                }
            }
        }
        work = next;
    }
    Ok(())
}

fn print_report(topic: &str, report: &Report, out: &Output) {
    if out.is_json() {
        out.json(&json!({
            "topic": topic,
            "produced": report.produced.len(),
            "failed": report.failed.iter().map(|(l, e)| json!({"line": l, "error": e})).collect::<Vec<_>>(),
            "records": report.produced.iter().map(|(l, p, o)| json!({"line": l, "partition": p, "offset": o})).collect::<Vec<_>>(),
        }));
        return;
    }
    for (line, e) in &report.failed {
        out.line(&format!("{} {e}", out.bad(&format!("line {line}:"))));
    }
    let summary = format!("produced {} record(s) to {topic}", report.produced.len());
    if report.failed.is_empty() {
        out.line(&out.ok(&summary));
    } else {
        out.line(&format!(
            "{summary}; {}",
            out.bad(&format!("{} failed", report.failed.len()))
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::murmur2;

    #[test]
    fn murmur2_matches_kafka() {
        // Values from Kafka's UtilsTest.testMurmur2.
        assert_eq!(murmur2(b"21"), -973932308);
        assert_eq!(murmur2(b"foobar"), -790332482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985981536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1486304829);
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
            -58897971
        );
        assert_eq!(murmur2(b"abc"), 479470107);
    }
}
