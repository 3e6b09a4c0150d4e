//! DescribeConfigs (v1–4) for topics, the broker and its loggers; IncrementalAlterConfigs
//! (v0–1) and AlterConfigs (v0–2) for topics.
//!
//! Every topic config these APIs accept, reject or describe comes from one table,
//! [`super::topic_configs`], which CreateTopics uses as well: an unknown name is
//! INVALID_CONFIG everywhere. A topic stores only its overrides (`Topic::configs`).
//! DescribeConfigs answers with every config of the table, overrides as DYNAMIC_TOPIC_CONFIG
//! and the rest as DEFAULT_CONFIG with the default — clients do read-modify-write over the
//! full list (librdkafka's test 0092), so defaults must be there.
//!
//! IncrementalAlterConfigs supports SET and DELETE on topics; AlterConfigs replaces a topic's
//! overrides with the given set. Each resource is applied as one replacement of its overrides
//! (all of its operations, or none); log settings reach the running partitions at once,
//! validation configs apply to the next produce.

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse as LegacyAlterResponse;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{
    AlterConfigsRequest, AlterConfigsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::broker_configs::{self, BrokerConfigEntry};
use super::topic_configs::{self, check_all};
use crate::topics::{TopicConfigs, Topics};

/// `ConfigResource.Type`.
const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
const RESOURCE_BROKER_LOGGER: i8 = 8;

/// `ConfigSource`.
const SOURCE_DYNAMIC_TOPIC: i8 = 1;
const SOURCE_DEFAULT: i8 = 5;

/// `ConfigType` (DescribeConfigs v3+) of overrides not in the table.
const TYPE_STRING: i8 = 2;

/// `AlterConfigOp.OpType`.
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_CONFIG: i16 = 40;
const INVALID_REQUEST: i16 = 42;

fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// The broker as DescribeConfigs shows it: its id and its configs.
pub struct BrokerView {
    pub node_id: i32,
    pub configs: Vec<BrokerConfigEntry>,
}

pub fn describe_configs(
    topics: &Topics,
    broker: &BrokerView,
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
                    for d in topic_configs::all() {
                        if !wanted(d.name) {
                            continue;
                        }
                        let set = topic.configs.get(d.name);
                        r.configs.push(entry(
                            version,
                            d.name,
                            set.map(|v| (v.as_str(), SOURCE_DYNAMIC_TOPIC)),
                            &d.default,
                            d.kind.wire(),
                            synonyms,
                            docs.then(|| d.documentation()).as_deref(),
                        ));
                    }
                    // Overrides with names we do not know (accepted by older CreateTopics):
                    // shown, so that read-modify-write keeps them.
                    for (k, v) in &topic.configs {
                        if topic_configs::find(k).is_none() && wanted(k) {
                            r.configs.push(entry(
                                version,
                                k,
                                Some((v, SOURCE_DYNAMIC_TOPIC)),
                                v,
                                TYPE_STRING,
                                synonyms,
                                None,
                            ));
                        }
                    }
                }
            },
            RESOURCE_BROKER | RESOURCE_BROKER_LOGGER => {
                match describe_broker(broker, &res, version, synonyms, docs) {
                    Ok(configs) => r.configs = configs,
                    Err(message) => {
                        r.error_code = INVALID_REQUEST;
                        r.error_message = Some(str_bytes(&message));
                    }
                }
            }
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

/// A BROKER or BROKER_LOGGER resource, answered as Kafka's `ConfigHelper` does: the resource
/// name must be this broker's id (an empty BROKER name means the cluster-wide dynamic
/// defaults, of which Charter has none); anything else is INVALID_REQUEST.
fn describe_broker(
    broker: &BrokerView,
    res: &kafka_protocol::messages::describe_configs_request::DescribeConfigsResource,
    version: i16,
    synonyms: bool,
    docs: bool,
) -> Result<Vec<DescribeConfigsResourceResult>, String> {
    let name = res.resource_name.as_str();
    let logger = res.resource_type == RESOURCE_BROKER_LOGGER;
    if name.is_empty() {
        return if logger {
            Err("Broker id must not be empty".into())
        } else {
            Ok(Vec::new())
        };
    }
    let Ok(id) = name.parse::<i32>() else {
        return Err(format!("Broker id must be an integer, but it is: {name}"));
    };
    if id != broker.node_id {
        return Err(format!(
            "Unexpected broker id, expected {} or empty string, but received {name}",
            broker.node_id
        ));
    }
    let wanted = |n: &str| {
        res.configuration_keys
            .as_ref()
            .is_none_or(|keys| keys.iter().any(|k| k.as_str() == n))
    };
    if logger {
        // Log levels come from RUST_LOG; `root` is the most verbose level enabled.
        if !wanted("root") {
            return Ok(Vec::new());
        }
        let mut e = DescribeConfigsResourceResult::default();
        e.name = str_bytes("root");
        e.value = Some(str_bytes(broker_configs::root_log_level()));
        e.config_source = broker_configs::SOURCE_DYNAMIC_BROKER_LOGGER;
        e.documentation = None;
        return Ok(vec![e]);
    }
    Ok(broker
        .configs
        .iter()
        .filter(|c| wanted(c.name))
        .map(|c| {
            let default = c.default.as_deref().unwrap_or(&c.value);
            let set = c.default.is_some().then_some(c.value.as_str());
            let mut e = entry(
                version,
                c.name,
                set.map(|v| (v, broker_configs::SOURCE_STATIC_BROKER)),
                default,
                c.kind.wire(),
                synonyms,
                docs.then_some(c.doc),
            );
            // Charter takes no broker config changes at runtime.
            e.read_only = true;
            e
        })
        .collect())
}

/// One described config: `set` is the value that overrides the default, with its source.
fn entry(
    version: i16,
    name: &str,
    set: Option<(&str, i8)>,
    default: &str,
    config_type: i8,
    synonyms: bool,
    doc: Option<&str>,
) -> DescribeConfigsResourceResult {
    let mut e = DescribeConfigsResourceResult::default();
    e.name = str_bytes(name);
    e.value = Some(str_bytes(set.map_or(default, |(v, _)| v)));
    e.read_only = false;
    e.is_sensitive = false;
    e.config_source = set.map_or(SOURCE_DEFAULT, |(_, source)| source);
    if synonyms {
        // Kafka lists the config itself first, then what it would fall back to.
        let syn = |value: &str, source| {
            let mut s = DescribeConfigsSynonym::default();
            s.name = str_bytes(name);
            s.value = Some(str_bytes(value));
            s.source = source;
            s
        };
        if let Some((v, source)) = set {
            e.synonyms.push(syn(v, source));
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
            RESOURCE_BROKER => Err((
                INVALID_REQUEST,
                "Broker configs cannot be changed at runtime in Charter".to_string(),
            )),
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
                let Some(value) = op.value.as_ref() else {
                    return Err((INVALID_CONFIG, format!("Null value for config {key}")));
                };
                topic_configs::check(key, value).map_err(|m| (INVALID_CONFIG, m))?;
                configs.insert(key.to_string(), value.to_string());
            }
            OP_DELETE => {
                // Deleting an unknown override that is stored (from an older CreateTopics) is
                // allowed, so that it can be cleaned up.
                if topic_configs::find(key).is_none() && !configs.contains_key(key) {
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
    replace_overrides(topics, name, configs, validate_only)
}

/// Stores `configs` as topic `name`'s overrides, after checking them whole.
fn replace_overrides(
    topics: &Topics,
    name: &str,
    configs: TopicConfigs,
    validate_only: bool,
) -> Result<(), (i16, String)> {
    let done = check_all(&configs).and_then(|()| {
        if validate_only {
            Ok(())
        } else {
            topics.alter_configs(name, configs)
        }
    });
    done.map_err(|e| (e.kafka_error_code(), e.to_string()))
}

/// AlterConfigs (API 33, the pre-KIP-339 form): each topic resource's overrides become
/// exactly the given configs; those not given return to their defaults.
pub fn alter_configs(topics: &Topics, req: AlterConfigsRequest) -> AlterConfigsResponse {
    let mut resp = AlterConfigsResponse::default();
    for res in req.resources {
        let mut r = LegacyAlterResponse::default();
        r.resource_type = res.resource_type;
        r.resource_name = res.resource_name.clone();
        r.error_message = None;
        let outcome = match res.resource_type {
            RESOURCE_TOPIC => replace_topic(topics, &res, req.validate_only),
            RESOURCE_BROKER => Err((
                INVALID_REQUEST,
                "Broker configs cannot be changed at runtime in Charter".to_string(),
            )),
            other => Err((
                INVALID_REQUEST,
                format!("Unsupported resource type {other} for AlterConfigs"),
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

fn replace_topic(
    topics: &Topics,
    res: &kafka_protocol::messages::alter_configs_request::AlterConfigsResource,
    validate_only: bool,
) -> Result<(), (i16, String)> {
    let name = res.resource_name.as_str();
    if topics.get(name).is_none() {
        return Err((
            UNKNOWN_TOPIC_OR_PARTITION,
            format!("Topic '{name}' does not exist."),
        ));
    }
    let mut configs = TopicConfigs::new();
    for c in &res.configs {
        let key = c.name.as_str();
        // Kafka: a null value is a malformed request here, not a delete.
        let Some(value) = c.value.as_ref() else {
            return Err((
                INVALID_REQUEST,
                format!("Null value not supported for : {key}"),
            ));
        };
        topic_configs::check(key, value).map_err(|m| (INVALID_CONFIG, m))?;
        if configs.insert(key.to_string(), value.to_string()).is_some() {
            return Err((
                INVALID_REQUEST,
                format!("Error due to duplicate config keys: {key}"),
            ));
        }
    }
    replace_overrides(topics, name, configs, validate_only)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::TimestampType;
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
        let broker = BrokerView {
            node_id: 1,
            configs: vec![BrokerConfigEntry {
                name: "num.partitions",
                value: "3".into(),
                default: Some("1".into()),
                kind: topic_configs::Kind::Int,
                doc: "partitions",
            }],
        };
        let resp = describe_configs(t, &broker, version, req);
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
    fn describe_defaults_and_overrides_every_version() {
        let (_d, t) = topics();
        let mut c = TopicConfigs::new();
        c.insert("retention.ms".into(), "1234".into());
        t.create("t", 1, c).unwrap();
        for v in 1..=4 {
            let resp = describe(&t, v, RESOURCE_TOPIC, "t", None);
            assert_eq!(resp.results[0].error_code, 0);
            assert_eq!(resp.results[0].configs.len(), topic_configs::all().len());
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
        assert_eq!(resp.results[0].configs[0].config_type, 5);
    }

    #[test]
    fn describe_errors_per_resource() {
        let (_d, t) = topics();
        let resp = describe(&t, 4, RESOURCE_TOPIC, "missing", None);
        assert_eq!(resp.results[0].error_code, 3);
        let resp = describe(&t, 1, RESOURCE_BROKER, "1", None);
        assert_eq!(resp.results[0].error_code, 0);
        assert_eq!(value_of(&resp, "num.partitions"), ("3".into(), 4));
        assert!(resp.results[0].configs[0].read_only);
        let resp = describe(&t, 4, RESOURCE_BROKER, "", None);
        assert_eq!(resp.results[0].error_code, 0, "cluster defaults: none");
        assert!(resp.results[0].configs.is_empty());
        for (rtype, name) in [
            (RESOURCE_BROKER, "2"),
            (RESOURCE_BROKER, "one"),
            (RESOURCE_BROKER_LOGGER, "0"),
            (RESOURCE_BROKER_LOGGER, ""),
        ] {
            let resp = describe(&t, 4, rtype, name, None);
            assert_eq!(resp.results[0].error_code, 42, "{rtype} {name}");
        }
        let resp = describe(&t, 4, RESOURCE_BROKER_LOGGER, "1", None);
        assert_eq!(resp.results[0].error_code, 0);
        assert_eq!(resp.results[0].configs[0].name.as_str(), "root");
        assert_eq!(resp.results[0].configs[0].config_source, 6);
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

    fn legacy_alter(
        t: &Topics,
        name: &str,
        configs: &[(&str, Option<&str>)],
        validate_only: bool,
    ) -> (i16, Option<String>) {
        use kafka_protocol::messages::alter_configs_request::{
            AlterConfigsResource as LegacyResource, AlterableConfig as LegacyConfig,
        };
        let mut res = LegacyResource::default();
        res.resource_type = RESOURCE_TOPIC;
        res.resource_name = str_bytes(name);
        res.configs = configs
            .iter()
            .map(|(k, v)| {
                let mut c = LegacyConfig::default();
                c.name = str_bytes(k);
                c.value = v.map(str_bytes);
                c
            })
            .collect();
        let mut req = AlterConfigsRequest::default();
        req.resources = vec![res];
        req.validate_only = validate_only;
        let resp = alter_configs(t, req);
        for v in 0..=2 {
            let mut buf = bytes::BytesMut::new();
            resp.encode(&mut buf, v).expect("encodes");
        }
        let r = &resp.responses[0];
        (
            r.error_code,
            r.error_message.as_ref().map(|m| m.to_string()),
        )
    }

    /// Issue #13 bug 5: the 13 standard configs IncrementalAlterConfigs used to reject are
    /// accepted, stored and described; unknown names are INVALID_CONFIG.
    #[test]
    fn standard_topic_configs_round_trip() {
        let (_d, t) = topics();
        t.create("t", 1, TopicConfigs::new()).unwrap();
        let set: Vec<(&str, &str)> = vec![
            ("flush.ms", "1000"),
            ("flush.messages", "100"),
            ("delete.retention.ms", "1000"),
            ("file.delete.delay.ms", "1000"),
            ("preallocate", "true"),
            ("segment.index.bytes", "1000"),
            ("segment.jitter.ms", "10"),
            ("unclean.leader.election.enable", "true"),
            ("min.compaction.lag.ms", "10"),
            ("max.compaction.lag.ms", "100000"),
            ("min.cleanable.dirty.ratio", "0.7"),
            ("message.timestamp.before.max.ms", "1000"),
            ("message.timestamp.after.max.ms", "1000"),
        ];
        let ops: Vec<_> = set.iter().map(|(k, v)| (*k, OP_SET, Some(*v))).collect();
        assert_eq!(alter(&t, "t", &ops, false), (0, None));
        let resp = describe(&t, 4, RESOURCE_TOPIC, "t", None);
        for (k, v) in &set {
            assert_eq!(
                value_of(&resp, k),
                (v.to_string(), SOURCE_DYNAMIC_TOPIC),
                "{k}"
            );
        }
        let ratio = resp.results[0]
            .configs
            .iter()
            .find(|c| c.name.as_str() == "min.cleanable.dirty.ratio")
            .unwrap();
        assert_eq!(ratio.config_type, 6, "DOUBLE");
        assert!(ratio
            .documentation
            .as_deref()
            .is_some_and(|d| d.contains("no effect in Charter")));

        let (code, msg) = alter(&t, "t", &[("dummy.doesntexist", OP_SET, Some("1"))], false);
        assert_eq!(code, INVALID_CONFIG);
        assert!(msg.unwrap().contains("dummy.doesntexist"));
    }

    /// AlterConfigs (API 33) replaces the overrides; its errors are those of the other APIs.
    #[test]
    fn legacy_alter_configs_replaces_overrides() {
        let (_d, t) = topics();
        t.create("t", 2, TopicConfigs::new()).unwrap();
        assert_eq!(
            alter(&t, "t", &[("retention.ms", OP_SET, Some("5000"))], false).0,
            0
        );
        let set = [
            ("message.timestamp.type", Some("LogAppendTime")),
            ("flush.ms", Some("10")),
        ];
        assert_eq!(legacy_alter(&t, "t", &set, false), (0, None));
        let topic = t.get("t").unwrap();
        assert_eq!(
            topic.configs.keys().collect::<Vec<_>>(),
            ["flush.ms", "message.timestamp.type"],
            "retention.ms went back to its default"
        );
        assert_eq!(
            topic.partitions[1].config().message_timestamp_type,
            TimestampType::LogAppendTime
        );
        assert_eq!(
            legacy_alter(&t, "t", &[("no.such", Some("1"))], false).0,
            40
        );
        assert_eq!(
            legacy_alter(&t, "t", &[("flush.ms", Some("-5"))], false).0,
            40
        );
        assert_eq!(legacy_alter(&t, "t", &[("flush.ms", None)], false).0, 42);
        assert_eq!(
            legacy_alter(
                &t,
                "t",
                &[("flush.ms", Some("1")), ("flush.ms", Some("2"))],
                false
            )
            .0,
            42
        );
        assert_eq!(legacy_alter(&t, "nope", &[], false).0, 3);
        assert_eq!(legacy_alter(&t, "t", &[], true), (0, None));
        assert_eq!(
            t.get("t").unwrap().configs.len(),
            2,
            "validate_only changes nothing"
        );
        assert_eq!(legacy_alter(&t, "t", &[], false), (0, None));
        assert!(t.get("t").unwrap().configs.is_empty());
    }
}
