//! Schema validation on produce: every record of a batch is checked against the registry
//! before anything is appended, and a batch with one bad record is rejected whole.
//!
//! Per topic, with Confluent's config names: `confluent.value.schema.validation` /
//! `confluent.key.schema.validation` turn it on; `confluent.{value,key}.subject.name.strategy`
//! name the subject; `charter.{value,key}.schema.validation.level` chooses `id` (Confluent and
//! Redpanda semantics: framed, the id exists and is registered under the subject) or `payload`
//! (the default: additionally decode the payload against that schema, consuming exactly the
//! bytes given). Null values (tombstones) always pass.

use std::sync::Arc;

use charter_registry::schema::ParsedSchema;
use charter_registry::Registry;
use charter_serde::wire::{self, SchemaIdentifier};
use kafka_protocol::records::{Record, RecordBatchDecoder};

use crate::topics::TopicConfigs;

/// How a subject is named from a topic and a schema (Confluent's strategies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectStrategy {
    TopicName,
    RecordName,
    TopicRecordName,
}

/// How deep a record is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Id,
    Payload,
}

/// Validation settings for one side (key or value) of a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SideRule {
    pub strategy: SubjectStrategy,
    pub level: Level,
}

/// A topic's validation settings; `None` sides are not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TopicRules {
    pub key: Option<SideRule>,
    pub value: Option<SideRule>,
}

/// Config names this module reads, for validating topic configs.
pub const CONFIG_NAMES: &[&str] = &[
    "confluent.value.schema.validation",
    "confluent.key.schema.validation",
    "confluent.value.subject.name.strategy",
    "confluent.key.subject.name.strategy",
    "charter.value.schema.validation.level",
    "charter.key.schema.validation.level",
];

impl TopicRules {
    /// Reads the rules from topic configs; `Err` names a config with a bad value.
    pub fn from_configs(configs: &TopicConfigs) -> Result<TopicRules, String> {
        Ok(TopicRules {
            key: side(configs, "key")?,
            value: side(configs, "value")?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.key.is_none() && self.value.is_none()
    }
}

fn side(configs: &TopicConfigs, which: &str) -> Result<Option<SideRule>, String> {
    let on = match configs.get(&format!("confluent.{which}.schema.validation")) {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => return Err(format!("confluent.{which}.schema.validation={v}")),
    };
    let strategy_key = format!("confluent.{which}.subject.name.strategy");
    let strategy = match configs.get(&strategy_key).map(String::as_str) {
        None => SubjectStrategy::TopicName,
        // Accept the Java class names too (io.confluent.kafka.serializers.subject.…).
        Some(s) if s.ends_with("TopicRecordNameStrategy") => SubjectStrategy::TopicRecordName,
        Some(s) if s.ends_with("RecordNameStrategy") => SubjectStrategy::RecordName,
        Some(s) if s.ends_with("TopicNameStrategy") => SubjectStrategy::TopicName,
        Some(s) => return Err(format!("{strategy_key}={s}")),
    };
    let level_key = format!("charter.{which}.schema.validation.level");
    let level = match configs.get(&level_key).map(|s| s.to_ascii_lowercase()) {
        None => Level::Payload,
        Some(l) if l == "payload" => Level::Payload,
        Some(l) if l == "id" => Level::Id,
        Some(l) => return Err(format!("{level_key}={l}")),
    };
    Ok(on.then_some(SideRule { strategy, level }))
}

/// One rejected record: its index in the produce data of the partition and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub index: i32,
    pub message: String,
}

/// Checks every record of `records` (one partition's produce data). Compressed batches are
/// decompressed here, for validation only; what is stored is what was sent.
pub fn validate(
    registry: &Registry,
    topic: &str,
    rules: &TopicRules,
    records: &[u8],
) -> Result<(), Vec<RecordError>> {
    let mut buf = bytes::Bytes::copy_from_slice(records);
    let sets = RecordBatchDecoder::decode_all(&mut buf).map_err(|e| {
        vec![RecordError {
            index: 0,
            message: format!("cannot decode the record batch: {e:#}"),
        }]
    })?;
    let mut errors = Vec::new();
    let mut index = 0i32;
    for set in &sets {
        for record in &set.records {
            let checks = [
                (
                    rules.key,
                    record.key.as_deref(),
                    "key",
                    wire::KEY_SCHEMA_ID_HEADER,
                ),
                (
                    rules.value,
                    record.value.as_deref(),
                    "value",
                    wire::VALUE_SCHEMA_ID_HEADER,
                ),
            ];
            for (rule, data, what, header) in checks {
                let (Some(rule), Some(data)) = (rule, data) else {
                    continue; // not validated, or a null key/value (tombstone)
                };
                if let Err(message) = check_one(registry, topic, rule, record, data, what, header) {
                    errors.push(RecordError { index, message });
                    break;
                }
            }
            index += 1;
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn check_one(
    registry: &Registry,
    topic: &str,
    rule: SideRule,
    record: &Record,
    data: &[u8],
    what: &str,
    header: &str,
) -> Result<(), String> {
    // Header framing (Confluent 8.x) wins over the payload prefix, as Java's dual deserializer.
    let header_value = record
        .headers
        .iter()
        .find(|(k, _)| k.as_str() == header)
        .and_then(|(_, v)| v.as_deref());
    let (id, payload, indexes_from_header) = match header_value {
        Some(h) => {
            let (ident, rest) =
                wire::read_identifier(h).map_err(|e| format!("{what} header {header}: {e}"))?;
            let id = match ident {
                SchemaIdentifier::Id(id) => id,
                SchemaIdentifier::Guid(g) => {
                    let guid = uuid::Uuid::from_bytes(g).to_string();
                    registry
                        .id_for_guid(&guid)
                        .ok_or_else(|| format!("{what} schema guid {guid} is not registered"))?
                }
            };
            (id, data, Some(rest))
        }
        None => {
            let framed = wire::unframe(data)
                .map_err(|e| format!("{what} is not framed with a schema id: {e}"))?;
            (framed.schema_id, framed.payload, None)
        }
    };
    let parsed = registry
        .parsed_schema(id)
        .map_err(|_| format!("{what} schema id {id} is not registered"))?;

    let subject = match rule.strategy {
        SubjectStrategy::TopicName => format!("{topic}-{what}"),
        SubjectStrategy::RecordName | SubjectStrategy::TopicRecordName => {
            let name =
                record_name(&parsed, indexes_from_header.unwrap_or(payload)).ok_or_else(|| {
                    format!("{what} schema id {id} has no record name for the subject strategy")
                })?;
            if rule.strategy == SubjectStrategy::RecordName {
                name
            } else {
                format!("{topic}-{name}")
            }
        }
    };
    let registered = registry
        .id_usages(id)
        .map(|u| u.iter().any(|(s, _, deleted)| *s == subject && !deleted))
        .unwrap_or(false);
    if !registered {
        return Err(format!(
            "schema id {id} is not registered under subject {subject}"
        ));
    }
    if rule.level == Level::Payload {
        check_payload(&parsed, payload, indexes_from_header)
            .map_err(|e| format!("{what} does not match schema id {id}: {e}"))?;
    }
    Ok(())
}

/// The record name RecordNameStrategy uses: the Avro full name, the Protobuf message the
/// indexes point at, the JSON Schema `title`.
fn record_name(parsed: &ParsedSchema, after_id: &[u8]) -> Option<String> {
    match parsed {
        ParsedSchema::Avro(s) => s.full_name(),
        ParsedSchema::Protobuf(s) => {
            let (indexes, _) = wire::read_message_indexes(after_id).ok()?;
            s.message_name(&indexes)
        }
        ParsedSchema::Json(s) => serde_json::from_str::<serde_json::Value>(&s.canonical())
            .ok()?
            .get("title")?
            .as_str()
            .map(str::to_string),
    }
}

/// Decodes the payload against the schema, requiring it to consume exactly the bytes.
fn check_payload(
    parsed: &ParsedSchema,
    payload: &[u8],
    header_rest: Option<&[u8]>,
) -> Result<(), String> {
    match parsed {
        ParsedSchema::Avro(s) => s.validate_datum(payload),
        ParsedSchema::Json(s) => s.validate_json(payload),
        ParsedSchema::Protobuf(s) => {
            // Message indexes sit after the id in the payload, or in the header.
            let (indexes, body) = match header_rest {
                Some(h) => (
                    wire::read_message_indexes(h).map_err(|e| e.to_string())?.0,
                    payload,
                ),
                None => wire::read_message_indexes(payload).map_err(|e| e.to_string())?,
            };
            s.validate_message(&indexes, body)
        }
    }
}

/// Shared handle the produce path uses.
pub type SharedRegistry = Arc<Registry>;
