//! Kafka's topic configs, one table for every API that names them: CreateTopics,
//! IncrementalAlterConfigs, AlterConfigs and DescribeConfigs all accept, reject and describe
//! exactly what is here, with Kafka's names, types, defaults and validators (Kafka 3.9/4.x
//! `LogConfig`), plus the schema-validation configs of Confluent Server and Charter.
//!
//! Some configs have no effect in Charter (no compaction, one replica, no tiered storage,
//! batches stored as sent). They are still accepted, stored and described, because tools that
//! sync topic configs (Terraform providers, GitOps operators) set them, and Kafka accepts them.
//! Their defaults describe what Charter does, and `effect` says why they do nothing.

use std::sync::OnceLock;

use crate::log::{LogConfig, TimestampType};
use crate::topics::{log_config, TopicConfigs, TopicError};
use crate::validate::TopicRules;

/// The value type, as DescribeConfigs v3+ reports it (`ConfigType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Boolean,
    String,
    Int,
    Long,
    Double,
    List,
}

impl Kind {
    /// `ConfigType` on the wire.
    pub fn wire(self) -> i8 {
        match self {
            Kind::Boolean => 1,
            Kind::String => 2,
            Kind::Int => 3,
            Kind::Long => 5,
            Kind::Double => 6,
            Kind::List => 7,
        }
    }
}

/// What a value must satisfy beyond its type (Kafka's `ConfigDef` validators).
#[derive(Debug, Clone, Copy)]
pub enum Validator {
    Any,
    AtLeast(i64),
    Between(i64, i64),
    /// A double in [0, 1].
    Ratio,
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// A non-empty comma-separated list of these strings.
    ListOf(&'static [&'static str]),
    /// -1 (the codec's default) or 1–9: `compression.gzip.level`.
    GzipLevel,
    /// Empty, `*`, or `partition:broker` pairs: the replication throttle lists.
    ThrottledReplicas,
    /// Only this value: a feature Charter does not have may only be off, as a Kafka cluster
    /// without it answers.
    Only(&'static str, &'static str),
}

/// One topic config.
#[derive(Debug, Clone)]
pub struct TopicConfigDef {
    pub name: &'static str,
    pub kind: Kind,
    pub default: String,
    pub validator: Validator,
    pub doc: &'static str,
    /// `None` when Charter honours the config; otherwise why it is stored without effect.
    pub no_effect: Option<&'static str>,
}

impl TopicConfigDef {
    /// The documentation DescribeConfigs returns: Kafka's meaning, and whether Charter acts
    /// on it.
    pub fn documentation(&self) -> String {
        match self.no_effect {
            None => self.doc.to_string(),
            Some(why) => format!("{} (stored; no effect in Charter: {why})", self.doc),
        }
    }

    /// Checks `value` against the type and validator; `Err` is Kafka's message.
    pub fn check(&self, value: &str) -> Result<(), String> {
        let bad = |why: &str| {
            Err(format!(
                "Invalid value {value} for configuration {}: {why}",
                self.name
            ))
        };
        let v = value.trim();
        let number = match self.kind {
            Kind::Boolean => {
                if !(v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false")) {
                    return bad("Expected value to be either true or false");
                }
                None
            }
            Kind::Int => match v.parse::<i32>() {
                Ok(n) => Some(n as i64),
                Err(_) => return bad("Not a number of type INT"),
            },
            Kind::Long => match v.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => return bad("Not a number of type LONG"),
            },
            Kind::Double => {
                if !v.parse::<f64>().is_ok_and(f64::is_finite) {
                    return bad("Not a number of type DOUBLE");
                }
                None
            }
            Kind::String | Kind::List => None,
        };
        let ok = match (self.validator, number) {
            (Validator::Any, _) => true,
            (Validator::AtLeast(min), Some(n)) => n >= min,
            (Validator::Between(lo, hi), Some(n)) => (lo..=hi).contains(&n),
            (Validator::GzipLevel, Some(n)) => n == -1 || (1..=9).contains(&n),
            (Validator::Ratio, _) => v.parse::<f64>().is_ok_and(|r| (0.0..=1.0).contains(&r)),
            (Validator::OneOf(allowed), _) => allowed.contains(&v),
            (Validator::ListOf(allowed), _) => {
                !v.is_empty() && v.split(',').all(|p| allowed.contains(&p.trim()))
            }
            (Validator::ThrottledReplicas, _) => {
                v.is_empty() || v == "*" || v.split(',').all(|pair| {
                    let mut it = pair.trim().split(':');
                    matches!(
                        (it.next(), it.next(), it.next()),
                        (Some(p), Some(b), None)
                            if p.trim().parse::<u32>().is_ok() && b.trim().parse::<u32>().is_ok()
                    )
                })
            }
            (Validator::Only(allowed, _), _) => v.eq_ignore_ascii_case(allowed),
            // Numeric validators on non-numeric kinds cannot happen in the table.
            (_, None) => false,
        };
        if ok {
            return Ok(());
        }
        match self.validator {
            Validator::AtLeast(min) => bad(&format!("Value must be at least {min}")),
            Validator::Between(lo, hi) => bad(&format!("Value must be in [{lo}, {hi}]")),
            Validator::Ratio => bad("Value must be in [0, 1]"),
            Validator::GzipLevel => bad("Value must be -1 or in [1, 9]"),
            Validator::OneOf(allowed) | Validator::ListOf(allowed) => {
                bad(&format!("String must be one of: {}", allowed.join(", ")))
            }
            Validator::ThrottledReplicas => {
                bad("Value should be '*' or a list of [partitionId]:[brokerId] pairs")
            }
            Validator::Only(_, why) => bad(why),
            Validator::Any => bad("invalid value"),
        }
    }
}

const LONG_MAX: i64 = i64::MAX;
const COMPRESSION_TYPES: &[&str] = &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];

fn build() -> Vec<TopicConfigDef> {
    let log = LogConfig::default();
    let ts = match log.message_timestamp_type {
        TimestampType::CreateTime => "CreateTime",
        TimestampType::LogAppendTime => "LogAppendTime",
    };
    let def =
        |name, kind, default: std::string::String, validator, doc, no_effect| TopicConfigDef {
            name,
            kind,
            default,
            validator,
            doc,
            no_effect,
        };
    use Kind::*;
    use Validator::*;
    const NO_COMPACTION: Option<&str> = Some("logs are never compacted");
    const ONE_REPLICA: Option<&str> = Some("every partition has one replica");
    const NO_TIERING: Option<&str> = Some("no tiered storage");
    const FLUSH: Option<&str> =
        Some("acks=all is answered after an fsync; other writes are flushed by the OS");
    const AS_SENT: Option<&str> = Some("batches are stored as the producer sent them");
    const NO_TS_CHECK: Option<&str> = Some("record timestamps are not checked");
    let mut all = vec![
        def(
            "cleanup.policy",
            List,
            "delete".into(),
            ListOf(&["compact", "delete"]),
            "delete and/or compact old segments",
            Some("old segments are deleted; compaction is not performed"),
        ),
        def(
            "compression.type",
            String,
            "producer".into(),
            OneOf(COMPRESSION_TYPES),
            "final compression type of the topic's batches",
            AS_SENT,
        ),
        def(
            "compression.gzip.level",
            Int,
            "-1".into(),
            GzipLevel,
            "gzip level when compression.type is gzip",
            AS_SENT,
        ),
        def(
            "compression.lz4.level",
            Int,
            "9".into(),
            Between(1, 17),
            "lz4 level when compression.type is lz4",
            AS_SENT,
        ),
        def(
            "compression.zstd.level",
            Int,
            "3".into(),
            Between(-131072, 22),
            "zstd level when compression.type is zstd",
            AS_SENT,
        ),
        def(
            "delete.retention.ms",
            Long,
            "86400000".into(),
            AtLeast(0),
            "how long delete tombstones are kept in compacted topics",
            NO_COMPACTION,
        ),
        def(
            "file.delete.delay.ms",
            Long,
            "60000".into(),
            AtLeast(0),
            "delay before a deleted segment's files are removed",
            Some("segment files are removed at once"),
        ),
        def(
            "flush.messages",
            Long,
            LONG_MAX.to_string(),
            AtLeast(1),
            "messages written before the log is forced to disk",
            FLUSH,
        ),
        def(
            "flush.ms",
            Long,
            LONG_MAX.to_string(),
            AtLeast(0),
            "time after which the log is forced to disk",
            FLUSH,
        ),
        def(
            "follower.replication.throttled.replicas",
            List,
            std::string::String::new(),
            ThrottledReplicas,
            "replicas throttled on the follower side",
            ONE_REPLICA,
        ),
        def(
            "index.interval.bytes",
            Int,
            log.index_interval_bytes.to_string(),
            AtLeast(0),
            "log bytes between offset index entries",
            None,
        ),
        def(
            "leader.replication.throttled.replicas",
            List,
            std::string::String::new(),
            ThrottledReplicas,
            "replicas throttled on the leader side",
            ONE_REPLICA,
        ),
        def(
            "local.retention.bytes",
            Long,
            "-2".into(),
            AtLeast(-2),
            "local bytes kept before tiering; -2 = retention.bytes",
            NO_TIERING,
        ),
        def(
            "local.retention.ms",
            Long,
            "-2".into(),
            AtLeast(-2),
            "local time kept before tiering; -2 = retention.ms",
            NO_TIERING,
        ),
        def(
            "max.compaction.lag.ms",
            Long,
            LONG_MAX.to_string(),
            AtLeast(1),
            "maximum time a record stays ineligible for compaction",
            NO_COMPACTION,
        ),
        def(
            "max.message.bytes",
            Int,
            log.max_message_bytes.to_string(),
            AtLeast(0),
            "largest record batch size allowed",
            None,
        ),
        // Kafka 3.x topic configs removed in 4.0; 3.x brokers still accept them, and clients
        // written for 3.x (librdkafka's test 0092) set them.
        def(
            "message.downconversion.enable",
            Boolean,
            "true".into(),
            Any,
            "down-convert fetched batches for old consumers (Kafka 3.x)",
            Some("batches are served as stored; no down-conversion (removed in Kafka 4.0)"),
        ),
        def(
            "message.format.version",
            String,
            "3.0-IV1".into(),
            Any,
            "record format version (Kafka 3.x; ignored from inter.broker.protocol.version 3.0)",
            Some("batches are stored as sent (v2); deprecated and ignored by Kafka 3.x, removed in 4.0"),
        ),
        def(
            "message.timestamp.after.max.ms",
            Long,
            LONG_MAX.to_string(),
            AtLeast(0),
            "how far a record timestamp may be ahead of the broker's clock",
            NO_TS_CHECK,
        ),
        def(
            "message.timestamp.before.max.ms",
            Long,
            LONG_MAX.to_string(),
            AtLeast(0),
            "how far a record timestamp may be behind the broker's clock",
            NO_TS_CHECK,
        ),
        def(
            "message.timestamp.type",
            String,
            ts.into(),
            OneOf(&["CreateTime", "LogAppendTime"]),
            "CreateTime or LogAppendTime",
            None,
        ),
        def(
            "min.cleanable.dirty.ratio",
            Double,
            "0.5".into(),
            Ratio,
            "dirty log ratio that triggers compaction",
            NO_COMPACTION,
        ),
        def(
            "min.compaction.lag.ms",
            Long,
            "0".into(),
            AtLeast(0),
            "minimum time a record stays uncompacted",
            NO_COMPACTION,
        ),
        def(
            "min.insync.replicas",
            Int,
            "1".into(),
            AtLeast(1),
            "minimum in-sync replicas for acks=all",
            ONE_REPLICA,
        ),
        def(
            "preallocate",
            Boolean,
            "false".into(),
            Any,
            "preallocate segment files",
            Some("segment files grow as written"),
        ),
        def(
            "remote.log.copy.disable",
            Boolean,
            "false".into(),
            Any,
            "stop copying segments to tiered storage",
            NO_TIERING,
        ),
        def(
            "remote.log.delete.on.disable",
            Boolean,
            "false".into(),
            Any,
            "delete tiered data when tiering is turned off",
            NO_TIERING,
        ),
        def(
            "remote.storage.enable",
            Boolean,
            "false".into(),
            Only(
                "false",
                "Tiered Storage functionality is disabled in the broker",
            ),
            "tiered storage for the topic",
            NO_TIERING,
        ),
        def(
            "retention.bytes",
            Long,
            log.retention_bytes.to_string(),
            Any,
            "maximum partition size before old segments are deleted; -1 = no limit",
            None,
        ),
        def(
            "retention.ms",
            Long,
            log.retention_ms.to_string(),
            AtLeast(-1),
            "maximum age of a segment before it is deleted; -1 = forever",
            None,
        ),
        def(
            "segment.bytes",
            Int,
            log.segment_bytes.to_string(),
            // Kafka 3.x's bound (4.x asks for 1 MiB); the log also needs 100 bytes.
            AtLeast(14),
            "segment file size",
            None,
        ),
        def(
            "segment.index.bytes",
            Int,
            "10485760".into(),
            AtLeast(4),
            "maximum size of a segment's offset index",
            Some("indexes grow as needed"),
        ),
        def(
            "segment.jitter.ms",
            Long,
            "0".into(),
            AtLeast(0),
            "random jitter subtracted from segment.ms",
            Some("segments roll exactly at segment.ms"),
        ),
        def(
            "segment.ms",
            Long,
            log.segment_ms.to_string(),
            AtLeast(1),
            "time after which a segment is rolled",
            None,
        ),
        def(
            "unclean.leader.election.enable",
            Boolean,
            "false".into(),
            Any,
            "elect an out-of-sync replica as leader as a last resort",
            ONE_REPLICA,
        ),
        def(
            "confluent.value.schema.validation",
            Boolean,
            "false".into(),
            Any,
            "validate record values against the schema registry",
            None,
        ),
        def(
            "confluent.key.schema.validation",
            Boolean,
            "false".into(),
            Any,
            "validate record keys against the schema registry",
            None,
        ),
        def(
            "confluent.value.subject.name.strategy",
            String,
            "TopicNameStrategy".into(),
            Any,
            "subject name strategy for values",
            None,
        ),
        def(
            "confluent.key.subject.name.strategy",
            String,
            "TopicNameStrategy".into(),
            Any,
            "subject name strategy for keys",
            None,
        ),
        def(
            "charter.value.schema.validation.level",
            String,
            "payload".into(),
            Any,
            "id (framing and registration) or payload (also decode the value)",
            None,
        ),
        def(
            "charter.key.schema.validation.level",
            String,
            "payload".into(),
            Any,
            "id (framing and registration) or payload (also decode the key)",
            None,
        ),
    ];
    all.sort_by_key(|d| d.name);
    all
}

/// Every topic config, in name order.
pub fn all() -> &'static [TopicConfigDef] {
    static TABLE: OnceLock<Vec<TopicConfigDef>> = OnceLock::new();
    TABLE.get_or_init(build)
}

/// The config called `name`.
pub fn find(name: &str) -> Option<&'static TopicConfigDef> {
    all().iter().find(|d| d.name == name)
}

/// Checks one config a request sets: the name must be a topic config and the value must fit
/// it. `Err` is the INVALID_CONFIG message.
pub fn check(name: &str, value: &str) -> Result<(), String> {
    match find(name) {
        Some(def) => def.check(value),
        None => Err(format!("Unknown topic config name: {name}")),
    }
}

/// Checks a topic's whole override map as it will be stored: every known config's value, the
/// log settings together, and the validation rules. Unknown names are not checked here: they
/// can only be overrides stored before this table existed, kept until deleted.
pub fn check_all(configs: &TopicConfigs) -> Result<(), TopicError> {
    for (k, v) in configs {
        if let Some(def) = find(k) {
            def.check(v).map_err(TopicError::InvalidConfig)?;
        }
    }
    log_config(configs)?;
    TopicRules::from_configs(configs).map_err(TopicError::InvalidConfig)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 13 standard configs issue #13 found rejected.
    const ISSUE_13: &[(&str, &str)] = &[
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

    #[test]
    fn every_default_passes_its_own_validator() {
        for d in all() {
            d.check(&d.default)
                .unwrap_or_else(|e| panic!("{}: {e}", d.name));
        }
        let defaults: TopicConfigs = all()
            .iter()
            .map(|d| (d.name.to_string(), d.default.clone()))
            .collect();
        check_all(&defaults).unwrap();
        assert_eq!(log_config(&defaults).unwrap(), LogConfig::default());
        assert_eq!(
            TopicRules::from_configs(&defaults).unwrap(),
            TopicRules::default()
        );
        for n in crate::validate::CONFIG_NAMES {
            assert!(find(n).is_some(), "{n}");
        }
    }

    #[test]
    fn standard_configs_are_known_and_checked() {
        for (name, value) in ISSUE_13 {
            assert_eq!(check(name, value), Ok(()), "{name}");
        }
        // Kafka 3.x configs clients still set (librdkafka's test 0092 alters the first).
        assert_eq!(check("message.format.version", "0.10.0"), Ok(()));
        assert_eq!(check("message.downconversion.enable", "false"), Ok(()));
        assert!(check("message.downconversion.enable", "maybe").is_err());
        for (name, value) in [
            ("flush.messages", "0"),
            ("min.cleanable.dirty.ratio", "1.5"),
            ("min.cleanable.dirty.ratio", "half"),
            ("preallocate", "yes"),
            ("segment.index.bytes", "3"),
            ("retention.ms", "-2"),
            ("max.compaction.lag.ms", "0"),
            ("compression.type", "brotli"),
            ("compression.gzip.level", "0"),
            ("compression.zstd.level", "23"),
            ("cleanup.policy", "delete,keep"),
            ("cleanup.policy", ""),
            ("remote.storage.enable", "true"),
            ("leader.replication.throttled.replicas", "0:x"),
            ("segment.bytes", "3000000000"),
        ] {
            let e = check(name, value).unwrap_err();
            assert!(e.contains(name) && e.contains(value), "{e}");
        }
        assert_eq!(check("cleanup.policy", "compact, delete"), Ok(()));
        assert_eq!(check("leader.replication.throttled.replicas", "*"), Ok(()));
        assert_eq!(
            check("follower.replication.throttled.replicas", "0:1,1:1"),
            Ok(())
        );
        assert_eq!(check("compression.gzip.level", "-1"), Ok(()));
        assert_eq!(
            check("dummy.doesntexist", "1"),
            Err("Unknown topic config name: dummy.doesntexist".into())
        );
    }
}
