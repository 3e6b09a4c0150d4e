//! DescribeConfigs (v1–4) and IncrementalAlterConfigs (v0–1) for topics.
//!
//! A topic's configs are Kafka's names; only overrides are stored (`Topic::configs`).
//! DescribeConfigs answers with every config this broker knows, overrides as
//! DYNAMIC_TOPIC_CONFIG and the rest as DEFAULT_CONFIG with Kafka's default — clients do
//! read-modify-write over the full list (librdkafka's test 0092), so defaults must be there.
//! The log defaults come from [`LogConfig::default`], so that what is shown is what the log does.
//!
//! IncrementalAlterConfigs supports SET and DELETE on topics; each resource is applied as one
//! replacement of its overrides (all of its operations, or none). Log-level configs change the
//! stored overrides at once but reach the running partition logs when the broker next opens
//! them (restart); validation configs apply to the next produce.

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{
    DescribeConfigsRequest, DescribeConfigsResponse, IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;

use crate::log::{LogConfig, TimestampType};
use crate::topics::{log_config, TopicConfigs, TopicError, Topics};
use crate::validate::TopicRules;

/// `ConfigResource.Type`.
const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;

/// `ConfigSource`.
const SOURCE_DYNAMIC_TOPIC: i8 = 1;
const SOURCE_DEFAULT: i8 = 5;

/// `ConfigType` (DescribeConfigs v3+).
const TYPE_BOOLEAN: i8 = 1;
const TYPE_STRING: i8 = 2;
const TYPE_INT: i8 = 3;
const TYPE_LONG: i8 = 5;
const TYPE_LIST: i8 = 7;

/// `AlterConfigOp.OpType`.
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_CONFIG: i16 = 40;
const INVALID_REQUEST: i16 = 42;

/// One topic config this broker knows.
struct ConfigDef {
    name: &'static str,
    default: String,
    config_type: i8,
    doc: &'static str,
}

/// Every topic config this broker knows, with Kafka's defaults, in name order.
fn catalogue() -> Vec<ConfigDef> {
    let log = LogConfig::default();
    let ts = match log.message_timestamp_type {
        TimestampType::CreateTime => "CreateTime",
        TimestampType::LogAppendTime => "LogAppendTime",
    };
    let def = |name, default: String, config_type, doc| ConfigDef {
        name,
        default,
        config_type,
        doc,
    };
    let mut all = vec![
        def(
            "cleanup.policy",
            "delete".into(),
            TYPE_LIST,
            "delete and/or compact (stored; compaction is not performed)",
        ),
        def(
            "compression.type",
            "producer".into(),
            TYPE_STRING,
            "final compression type (stored; batches are kept as the producer sent them)",
        ),
        def(
            "index.interval.bytes",
            log.index_interval_bytes.to_string(),
            TYPE_INT,
            "log bytes between offset index entries",
        ),
        def(
            "max.message.bytes",
            log.max_message_bytes.to_string(),
            TYPE_INT,
            "largest record batch size allowed",
        ),
        def(
            "message.timestamp.type",
            ts.into(),
            TYPE_STRING,
            "CreateTime or LogAppendTime",
        ),
        def(
            "min.insync.replicas",
            "1".into(),
            TYPE_INT,
            "minimum in-sync replicas for acks=all (single broker: always met)",
        ),
        def(
            "retention.bytes",
            log.retention_bytes.to_string(),
            TYPE_LONG,
            "maximum partition size before old segments are deleted; -1 = no limit",
        ),
        def(
            "retention.ms",
            log.retention_ms.to_string(),
            TYPE_LONG,
            "maximum age of a segment before it is deleted; -1 = forever",
        ),
        def(
            "segment.bytes",
            log.segment_bytes.to_string(),
            TYPE_INT,
            "segment file size",
        ),
        def(
            "segment.ms",
            log.segment_ms.to_string(),
            TYPE_LONG,
            "time after which a segment is rolled",
        ),
        def(
            "confluent.value.schema.validation",
            "false".into(),
            TYPE_BOOLEAN,
            "validate record values against the schema registry",
        ),
        def(
            "confluent.key.schema.validation",
            "false".into(),
            TYPE_BOOLEAN,
            "validate record keys against the schema registry",
        ),
        def(
            "confluent.value.subject.name.strategy",
            "TopicNameStrategy".into(),
            TYPE_STRING,
            "subject name strategy for values",
        ),
        def(
            "confluent.key.subject.name.strategy",
            "TopicNameStrategy".into(),
            TYPE_STRING,
            "subject name strategy for keys",
        ),
        def(
            "charter.value.schema.validation.level",
            "payload".into(),
            TYPE_STRING,
            "id (framing and registration) or payload (also decode the value)",
        ),
        def(
            "charter.key.schema.validation.level",
            "payload".into(),
            TYPE_STRING,
            "id (framing and registration) or payload (also decode the key)",
        ),
    ];
    all.sort_by_key(|d| d.name);
    all
}

fn is_known(name: &str) -> bool {
    catalogue().iter().any(|d| d.name == name)
}

fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// Checks values `log_config` and `TopicRules` do not look at. `Err` is the message.
fn check_value(name: &str, value: &str) -> Result<(), String> {
    let ok = match name {
        "cleanup.policy" => {
            !value.is_empty()
                && value
                    .split(',')
                    .all(|p| matches!(p.trim(), "delete" | "compact"))
        }
        "compression.type" => matches!(
            value,
            "producer" | "uncompressed" | "gzip" | "snappy" | "lz4" | "zstd"
        ),
        "message.timestamp.type" => matches!(value, "CreateTime" | "LogAppendTime"),
        "min.insync.replicas" => value.parse::<i32>().is_ok_and(|n| n >= 1),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("Invalid value {value} for configuration {name}"))
    }
}

/// Validates a complete override map as `Topics::alter_configs` will.
fn check_all(configs: &TopicConfigs) -> Result<(), TopicError> {
    log_config(configs)?;
    TopicRules::from_configs(configs).map_err(TopicError::InvalidConfig)?;
    Ok(())
}

pub fn describe_configs(
    topics: &Topics,
    version: i16,
    req: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let synonyms = req.include_synonyms; // v1+, and we speak v1+
    let docs = version >= 3 && req.include_documentation;
    let mut resp = DescribeConfigsResponse::default();
    for res in req.resources {
        let mut r = DescribeConfigsResult::default();
        r.resource_type = res.resource_type;
        r.resource_name = res.resource_name.clone();
        r.error_message = None;
        match res.resource_type {
            RESOURCE_TOPIC => match topics.get(&res.resource_name) {
                None => {
                    r.error_code = UNKNOWN_TOPIC_OR_PARTITION;
                    r.error_message = Some(str_bytes(&format!(
                        "Topic '{}' does not exist.",
                        res.resource_name.as_str()
                    )));
                }
                Some(topic) => {
                    let wanted = |name: &str| {
                        res.configuration_keys
                            .as_ref()
                            .is_none_or(|keys| keys.iter().any(|k| k.as_str() == name))
                    };
                    for d in catalogue() {
                        if !wanted(d.name) {
                            continue;
                        }
                        let set = topic.configs.get(d.name);
                        r.configs.push(entry(
                            version,
                            d.name,
                            set.map(String::as_str),
                            &d.default,
                            d.config_type,
                            synonyms,
                            docs.then_some(d.doc),
                        ));
                    }
                    // Overrides with names we do not know (accepted by older CreateTopics):
                    // shown, so that read-modify-write keeps them.
                    for (k, v) in &topic.configs {
                        if !is_known(k) && wanted(k) {
                            r.configs.push(entry(
                                version,
                                k,
                                Some(v),
                                v,
                                TYPE_STRING,
                                synonyms,
                                None,
                            ));
                        }
                    }
                }
            },
            // Clients (librdkafka, kcat) may ask; no broker configs are exposed.
            RESOURCE_BROKER => {}
            other => {
                r.error_code = INVALID_REQUEST;
                r.error_message = Some(str_bytes(&format!(
                    "Unsupported resource type {other} for DescribeConfigs"
                )));
            }
        }
        resp.results.push(r);
    }
    resp
}

/// One described config: `set` is the override, if any.
fn entry(
    version: i16,
    name: &str,
    set: Option<&str>,
    default: &str,
    config_type: i8,
    synonyms: bool,
    doc: Option<&str>,
) -> DescribeConfigsResourceResult {
    let mut e = DescribeConfigsResourceResult::default();
    e.name = str_bytes(name);
    e.value = Some(str_bytes(set.unwrap_or(default)));
    e.read_only = false;
    e.is_sensitive = false;
    e.config_source = if set.is_some() {
        SOURCE_DYNAMIC_TOPIC
    } else {
        SOURCE_DEFAULT
    };
    if synonyms {
        // Kafka lists the config itself first, then what it would fall back to.
        let syn = |value: &str, source| {
            let mut s = DescribeConfigsSynonym::default();
            s.name = str_bytes(name);
            s.value = Some(str_bytes(value));
            s.source = source;
            s
        };
        if let Some(v) = set {
            e.synonyms.push(syn(v, SOURCE_DYNAMIC_TOPIC));
        }
        e.synonyms.push(syn(default, SOURCE_DEFAULT));
    }
    if version >= 3 {
        e.config_type = config_type;
        e.documentation = doc.map(str_bytes);
    } else {
        e.config_type = 0;
        e.documentation = None;
    }
    e
}

pub fn incremental_alter_configs(
    topics: &Topics,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let mut resp = IncrementalAlterConfigsResponse::default();
    for res in req.resources {
        let mut r = AlterConfigsResourceResponse::default();
        r.resource_type = res.resource_type;
        r.resource_name = res.resource_name.clone();
        r.error_message = None;
        let outcome = match res.resource_type {
            RESOURCE_TOPIC => alter_topic(topics, &res, req.validate_only),
            other => Err((
                INVALID_REQUEST,
                format!("Unsupported resource type {other} for IncrementalAlterConfigs"),
            )),
        };
        if let Err((code, message)) = outcome {
            r.error_code = code;
            r.error_message = Some(str_bytes(&message));
        }
        resp.responses.push(r);
    }
    resp
}

/// All operations of one topic resource, as one replacement of its overrides.
fn alter_topic(
    topics: &Topics,
    res: &kafka_protocol::messages::incremental_alter_configs_request::AlterConfigsResource,
    validate_only: bool,
) -> Result<(), (i16, String)> {
    let name = res.resource_name.as_str();
    let Some(topic) = topics.get(name) else {
        return Err((
            UNKNOWN_TOPIC_OR_PARTITION,
            format!("Topic '{name}' does not exist."),
        ));
    };
    let mut configs = topic.configs.clone();
    let mut seen = std::collections::BTreeSet::new();
    for op in &res.configs {
        let key = op.name.as_str();
        if !seen.insert(key) {
            return Err((
                INVALID_REQUEST,
                format!("Error due to duplicate config keys: {key}"),
            ));
        }
        match op.config_operation {
            OP_SET => {
                if !is_known(key) {
                    return Err((INVALID_CONFIG, format!("Unknown topic config name: {key}")));
                }
                let Some(value) = op.value.as_ref() else {
                    return Err((INVALID_CONFIG, format!("Null value for config {key}")));
                };
                check_value(key, value).map_err(|m| (INVALID_CONFIG, m))?;
                configs.insert(key.to_string(), value.to_string());
            }
            OP_DELETE => {
                // Deleting an unknown override that is stored (from an older CreateTopics) is
                // allowed, so that it can be cleaned up.
                if !is_known(key) && !configs.contains_key(key) {
                    return Err((INVALID_CONFIG, format!("Unknown topic config name: {key}")));
                }
                configs.remove(key);
            }
            OP_APPEND | OP_SUBTRACT => {
                return Err((
                    INVALID_REQUEST,
                    format!("APPEND and SUBTRACT are not supported (config {key})"),
                ));
            }
            other => {
                return Err((
                    INVALID_REQUEST,
                    format!("Unknown config operation {other} (config {key})"),
                ));
            }
        }
    }
    let done = if validate_only {
        check_all(&configs)
    } else {
        topics.alter_configs(name, configs)
    };
    done.map_err(|e| (e.kafka_error_code(), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
    use kafka_protocol::messages::incremental_alter_configs_request::{
        AlterConfigsResource, AlterableConfig,
    };
    use kafka_protocol::protocol::Encodable;

    fn open_topics(d: &std::path::Path) -> Topics {
        let (store, replay) =
            crate::meta::MetaStore::open(&d.join("meta"), Default::default()).unwrap();
        Topics::open(d, std::sync::Arc::new(store), &replay.topics).unwrap()
    }

    fn topics() -> (tempfile::TempDir, Topics) {
        let d = tempfile::tempdir().unwrap();
        let t = open_topics(d.path());
        (d, t)
    }

    fn describe(
        t: &Topics,
        version: i16,
        rtype: i8,
        name: &str,
        keys: Option<&[&str]>,
    ) -> DescribeConfigsResponse {
        let mut res = DescribeConfigsResource::default();
        res.resource_type = rtype;
        res.resource_name = str_bytes(name);
        res.configuration_keys = keys.map(|k| k.iter().map(|s| str_bytes(s)).collect());
        let mut req = DescribeConfigsRequest::default();
        req.resources = vec![res];
        req.include_synonyms = true;
        if version >= 3 {
            req.include_documentation = true;
        }
        let resp = describe_configs(t, version, req);
        let mut buf = bytes::BytesMut::new();
        resp.encode(&mut buf, version).expect("encodes");
        resp
    }

    fn alter(
        t: &Topics,
        name: &str,
        ops: &[(&str, i8, Option<&str>)],
        validate_only: bool,
    ) -> (i16, Option<String>) {
        let mut res = AlterConfigsResource::default();
        res.resource_type = RESOURCE_TOPIC;
        res.resource_name = str_bytes(name);
        res.configs = ops
            .iter()
            .map(|(k, op, v)| {
                let mut c = AlterableConfig::default();
                c.name = str_bytes(k);
                c.config_operation = *op;
                c.value = v.map(str_bytes);
                c
            })
            .collect();
        let mut req = IncrementalAlterConfigsRequest::default();
        req.resources = vec![res];
        req.validate_only = validate_only;
        let resp = incremental_alter_configs(t, req);
        for v in 0..=1 {
            let mut buf = bytes::BytesMut::new();
            resp.encode(&mut buf, v).expect("encodes");
        }
        let r = &resp.responses[0];
        (
            r.error_code,
            r.error_message.as_ref().map(|m| m.to_string()),
        )
    }

    fn value_of(resp: &DescribeConfigsResponse, name: &str) -> (String, i8) {
        let e = resp.results[0]
            .configs
            .iter()
            .find(|c| c.name.as_str() == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        (e.value.as_ref().unwrap().to_string(), e.config_source)
    }

    #[test]
    fn catalogue_covers_validation_configs() {
        for n in crate::validate::CONFIG_NAMES {
            assert!(is_known(n), "{n}");
        }
        assert!(catalogue()
            .iter()
            .all(|d| check_value(d.name, &d.default).is_ok()));
        let defaults: TopicConfigs = catalogue()
            .iter()
            .map(|d| (d.name.to_string(), d.default.clone()))
            .collect();
        check_all(&defaults).unwrap();
        assert_eq!(
            TopicRules::from_configs(&defaults).unwrap(),
            TopicRules::default()
        );
    }

    #[test]
    fn describe_defaults_and_overrides_every_version() {
        let (_d, t) = topics();
        let mut c = TopicConfigs::new();
        c.insert("retention.ms".into(), "1234".into());
        t.create("t", 1, c).unwrap();
        for v in 1..=4 {
            let resp = describe(&t, v, RESOURCE_TOPIC, "t", None);
            assert_eq!(resp.results[0].error_code, 0);
            assert_eq!(resp.results[0].configs.len(), catalogue().len());
            assert_eq!(value_of(&resp, "retention.ms"), ("1234".into(), 1));
            assert_eq!(value_of(&resp, "cleanup.policy"), ("delete".into(), 5));
            assert_eq!(value_of(&resp, "max.message.bytes"), ("1048588".into(), 5));
            assert_eq!(value_of(&resp, "segment.bytes"), ("1073741824".into(), 5));
            assert_eq!(value_of(&resp, "segment.ms"), ("604800000".into(), 5));
            assert_eq!(
                value_of(&resp, "confluent.value.subject.name.strategy"),
                ("TopicNameStrategy".into(), 5)
            );
        }
        let resp = describe(&t, 4, RESOURCE_TOPIC, "t", Some(&["retention.ms", "nope"]));
        assert_eq!(resp.results[0].configs.len(), 1);
        assert_eq!(resp.results[0].configs[0].synonyms.len(), 2);
        assert_eq!(resp.results[0].configs[0].config_type, TYPE_LONG);
    }

    #[test]
    fn describe_errors_per_resource() {
        let (_d, t) = topics();
        let resp = describe(&t, 4, RESOURCE_TOPIC, "missing", None);
        assert_eq!(resp.results[0].error_code, 3);
        let resp = describe(&t, 1, RESOURCE_BROKER, "1", None);
        assert_eq!(resp.results[0].error_code, 0);
        assert!(resp.results[0].configs.is_empty());
        let resp = describe(&t, 2, 8, "x", None);
        assert_eq!(resp.results[0].error_code, 42);
    }

    #[test]
    fn alter_set_delete_and_errors() {
        let (_d, t) = topics();
        t.create("t", 2, TopicConfigs::new()).unwrap();
        assert_eq!(
            alter(&t, "t", &[("retention.ms", OP_SET, Some("5000"))], false).0,
            0
        );
        assert_eq!(t.get("t").unwrap().configs["retention.ms"], "5000");
        assert_eq!(t.get("t").unwrap().partitions.len(), 2);
        assert_eq!(
            alter(&t, "t", &[("retention.ms", OP_DELETE, None)], false).0,
            0
        );
        assert!(t.get("t").unwrap().configs.is_empty());

        // Bad value: nothing of the resource is applied.
        let (code, msg) = alter(
            &t,
            "t",
            &[
                ("retention.ms", OP_SET, Some("1")),
                ("segment.bytes", OP_SET, Some("banana")),
            ],
            false,
        );
        assert_eq!(code, 40);
        assert!(msg.unwrap().contains("segment.bytes"));
        assert!(t.get("t").unwrap().configs.is_empty());

        for (k, v) in [
            ("confluent.value.schema.validation", "maybe"),
            ("message.timestamp.type", "Whenever"),
            ("cleanup.policy", "keep"),
            ("no.such.config", "1"),
        ] {
            assert_eq!(alter(&t, "t", &[(k, OP_SET, Some(v))], false).0, 40, "{k}");
        }
        assert_eq!(
            alter(
                &t,
                "t",
                &[("cleanup.policy", OP_APPEND, Some("compact"))],
                false
            )
            .0,
            42
        );
        assert_eq!(
            alter(&t, "nope", &[("retention.ms", OP_SET, Some("1"))], false).0,
            3
        );

        // validate_only: checked, not applied.
        let on = [("confluent.value.schema.validation", OP_SET, Some("true"))];
        assert_eq!(alter(&t, "t", &on, true).0, 0);
        assert!(t.get("t").unwrap().rules.is_empty());
        assert_eq!(alter(&t, "t", &on, false).0, 0);
        assert!(t.get("t").unwrap().rules.value.is_some());
    }

    #[test]
    fn altered_configs_survive_reopen() {
        let d = tempfile::tempdir().unwrap();
        {
            let t = open_topics(d.path());
            t.create("t", 3, TopicConfigs::new()).unwrap();
            let id = t.get("t").unwrap().id;
            assert_eq!(
                alter(&t, "t", &[("segment.bytes", OP_SET, Some("100000"))], false).0,
                0
            );
            assert_eq!(t.get("t").unwrap().id, id);
            // The running partitions take the new settings at once, not at the next restart.
            assert_eq!(
                t.get("t").unwrap().partitions[0].config().segment_bytes,
                100000
            );
            let ts = ("message.timestamp.type", OP_SET, Some("LogAppendTime"));
            assert_eq!(alter(&t, "t", &[ts], false).0, 0);
            let log = t.get("t").unwrap().partitions[2].config();
            assert_eq!(log.message_timestamp_type, TimestampType::LogAppendTime);
            // Incremental: the earlier override stays.
            assert_eq!(log.segment_bytes, 100000);
        }
        let t = open_topics(d.path());
        let topic = t.get("t").unwrap();
        assert_eq!(topic.partitions.len(), 3);
        assert_eq!(topic.configs["segment.bytes"], "100000");
        assert_eq!(topic.partitions[0].config().segment_bytes, 100000);
        assert_eq!(
            topic.partitions[0].config().message_timestamp_type,
            TimestampType::LogAppendTime
        );
    }
}
