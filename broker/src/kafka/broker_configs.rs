//! The broker's own configs as DescribeConfigs shows them (BROKER and BROKER_LOGGER
//! resources): Kafka's names for every setting Charter really has, with its value.
//!
//! A value given at start-up (flag or environment variable) is STATIC_BROKER_CONFIG, as a
//! `server.properties` entry is in Kafka; one left at its default is DEFAULT_CONFIG. Which is
//! which is told by comparing with the defaults, so a flag set to the default value shows as
//! DEFAULT_CONFIG. Nothing can be changed at runtime, so every entry is read-only.

use super::BrokerConfig;
use crate::group::GroupConfig;
use crate::kafka::topic_configs::Kind;
use crate::log::{LogConfig, TimestampType};

/// `ConfigSource`.
pub const SOURCE_STATIC_BROKER: i8 = 4;
pub const SOURCE_DYNAMIC_BROKER_LOGGER: i8 = 6;

/// One broker config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerConfigEntry {
    pub name: &'static str,
    pub value: String,
    /// The default when it differs from `value` (the value was set at start-up).
    pub default: Option<String>,
    pub kind: Kind,
    pub doc: &'static str,
}

/// Every broker config Charter has, in name order.
pub fn entries(c: &BrokerConfig) -> Vec<BrokerConfigEntry> {
    let d = BrokerConfig::default();
    let (g, gd) = (&c.group, GroupConfig::default());
    let log = LogConfig::default();
    let mut out = Vec::new();
    let mut add = |name, value: std::string::String, default: std::string::String, kind, doc| {
        out.push(BrokerConfigEntry {
            name,
            default: (value != default).then_some(default),
            value,
            kind,
            doc,
        })
    };
    let ts = |t| match t {
        TimestampType::CreateTime => "CreateTime".to_string(),
        TimestampType::LogAppendTime => "LogAppendTime".to_string(),
    };
    use Kind::*;
    // The ids and addresses.
    for name in ["broker.id", "node.id"] {
        add(
            name,
            c.node_id.to_string(),
            d.node_id.to_string(),
            Int,
            "this broker's id",
        );
    }
    let advertised = format!("PLAINTEXT://{}:{}", c.advertised_host, c.advertised_port);
    let advertised_default = format!("PLAINTEXT://{}:{}", d.advertised_host, d.advertised_port);
    add(
        "advertised.listeners",
        advertised,
        advertised_default,
        List,
        "the address clients are told to connect to",
    );
    if let Some(dir) = &c.log_dirs {
        let dir = dir.display().to_string();
        // No default: the data directory is always given (or defaulted) by the CLI.
        add(
            "log.dirs",
            dir.clone(),
            dir,
            List,
            "where partition logs live",
        );
    }
    add(
        "auto.create.topics.enable",
        c.auto_create_topics.to_string(),
        d.auto_create_topics.to_string(),
        Boolean,
        "create unknown topics on Metadata requests",
    );
    add(
        "num.partitions",
        c.default_partitions.to_string(),
        d.default_partitions.to_string(),
        Int,
        "partitions of auto-created topics and CreateTopics with -1",
    );
    add(
        "default.replication.factor",
        "1".into(),
        "1".into(),
        Int,
        "replicas per partition (one node)",
    );
    add(
        "socket.request.max.bytes",
        c.max_request_bytes.to_string(),
        d.max_request_bytes.to_string(),
        Int,
        "largest request frame; larger ones close the connection",
    );
    // Group coordinator.
    add(
        "group.initial.rebalance.delay.ms",
        g.initial_rebalance_delay.as_millis().to_string(),
        gd.initial_rebalance_delay.as_millis().to_string(),
        Int,
        "how long a new group waits for more members",
    );
    add(
        "group.min.session.timeout.ms",
        g.min_session_timeout_ms.to_string(),
        gd.min_session_timeout_ms.to_string(),
        Int,
        "smallest session timeout a member may ask for",
    );
    add(
        "group.max.session.timeout.ms",
        g.max_session_timeout_ms.to_string(),
        gd.max_session_timeout_ms.to_string(),
        Int,
        "largest session timeout a member may ask for",
    );
    add(
        "offsets.retention.minutes",
        (g.offsets_retention_ms / 60_000).to_string(),
        (gd.offsets_retention_ms / 60_000).to_string(),
        Int,
        "how long committed offsets of an empty group are kept",
    );
    add(
        "offset.metadata.max.bytes",
        g.max_metadata_bytes.to_string(),
        gd.max_metadata_bytes.to_string(),
        Int,
        "largest metadata string of a committed offset",
    );
    // Log defaults every topic starts from (topic configs override them).
    add(
        "message.max.bytes",
        log.max_message_bytes.to_string(),
        log.max_message_bytes.to_string(),
        Int,
        "largest record batch (topic config max.message.bytes)",
    );
    for (name, value, kind, doc) in [
        (
            "log.segment.bytes",
            log.segment_bytes.to_string(),
            Int,
            "segment file size (topic config segment.bytes)",
        ),
        (
            "log.roll.ms",
            log.segment_ms.to_string(),
            Long,
            "time after which a segment is rolled (topic config segment.ms)",
        ),
        (
            "log.retention.ms",
            log.retention_ms.to_string(),
            Long,
            "age at which segments are deleted (topic config retention.ms)",
        ),
        (
            "log.retention.bytes",
            log.retention_bytes.to_string(),
            Long,
            "partition size beyond which old segments are deleted (topic config retention.bytes)",
        ),
        (
            "log.index.interval.bytes",
            log.index_interval_bytes.to_string(),
            Int,
            "bytes between offset index entries (topic config index.interval.bytes)",
        ),
        (
            "log.message.timestamp.type",
            ts(log.message_timestamp_type),
            String,
            "CreateTime or LogAppendTime (topic config message.timestamp.type)",
        ),
        (
            "log.retention.check.interval.ms",
            super::RETENTION_CHECK_INTERVAL.as_millis().to_string(),
            Long,
            "how often retention deletes old segments",
        ),
        (
            "min.insync.replicas",
            "1".to_string(),
            Int,
            "minimum in-sync replicas for acks=all (one node)",
        ),
        (
            "compression.type",
            "producer".to_string(),
            String,
            "batches are stored as the producer sent them",
        ),
    ] {
        add(name, value.clone(), value, kind, doc);
    }
    out.sort_by_key(|e| e.name);
    out
}

/// The log level of the `root` logger for BROKER_LOGGER (from `RUST_LOG`), in Kafka's names.
pub fn root_log_level() -> &'static str {
    use tracing::level_filters::LevelFilter;
    match LevelFilter::current() {
        LevelFilter::OFF => "OFF",
        LevelFilter::ERROR => "ERROR",
        LevelFilter::WARN => "WARN",
        LevelFilter::INFO => "INFO",
        LevelFilter::DEBUG => "DEBUG",
        _ => "TRACE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_up_values_are_static_and_the_rest_defaults() {
        let config = BrokerConfig {
            node_id: 7,
            default_partitions: 3,
            log_dirs: Some("/data/kafka".into()),
            ..BrokerConfig::default()
        };
        let all = entries(&config);
        let get = |n: &str| {
            all.iter()
                .find(|e| e.name == n)
                .unwrap_or_else(|| panic!("{n}"))
        };
        assert_eq!(get("broker.id").value, "7");
        assert_eq!(get("node.id").default.as_deref(), Some("1"));
        assert_eq!(get("num.partitions").value, "3");
        assert_eq!(get("log.dirs").value, "/data/kafka");
        assert_eq!(get("log.dirs").default, None);
        let d = get("auto.create.topics.enable");
        assert_eq!((d.value.as_str(), d.default.as_ref()), ("true", None));
        assert_eq!(get("offsets.retention.minutes").value, "10080");
        assert_eq!(get("group.min.session.timeout.ms").value, "6000");
        assert_eq!(get("message.max.bytes").value, "1048588");
        assert_eq!(get("log.retention.ms").value, "604800000");
        let mut names: Vec<_> = all.iter().map(|e| e.name).collect();
        names.dedup();
        assert_eq!(names.len(), all.len(), "no duplicates");
        assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted");
    }
}
