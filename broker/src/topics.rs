//! Topics and their partitions: the broker's metadata state machine and the partition logs.
//!
//! Metadata changes are [`TopicCommand`]s, persisted in the broker's metadata journal
//! (`meta.rs`) and then applied to an in-memory map — the same shape as the registry's log, so
//! that a replicated controller can later replicate the commands. Partition data lives in one [`PartitionLog`] directory per partition
//! (`<data>/kafka/<topic>-<n>/`, as Kafka lays it out).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use charter_journal::JournalError;

use crate::log::{LogConfig, LogError, PartitionLog, TimestampType};
use crate::meta::{MetaEntry, MetaStore};
use crate::validate::TopicRules;

/// Topic-level configs with Kafka's names; only overrides are stored.
pub type TopicConfigs = BTreeMap<String, String>;

/// A change to topic metadata.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op")]
pub enum TopicCommand {
    CreateTopic {
        name: String,
        id: Uuid,
        partitions: i32,
        configs: TopicConfigs,
    },
    DeleteTopic {
        name: String,
    },
    /// Replaces a topic's overrides (`configs` is the whole new map, not a delta); the running
    /// partition logs take the new log settings at once.
    AlterConfigs {
        name: String,
        configs: TopicConfigs,
    },
}

/// A topic: its stable id, configs and partition logs.
pub struct Topic {
    pub name: String,
    pub id: Uuid,
    pub configs: TopicConfigs,
    /// Schema validation on produce, read from `configs`.
    pub rules: TopicRules,
    pub partitions: Vec<Arc<PartitionLog>>,
}

impl Topic {
    /// Partition `index`, if the topic has it (indexes come from the network).
    pub fn partition(&self, index: i32) -> Option<&Arc<PartitionLog>> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.partitions.get(i))
    }
}

/// Failures of topic operations, each with its Kafka error code.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("Topic '{0}' already exists.")]
    AlreadyExists(String),
    #[error("Topic name '{0}' is illegal: use up to 249 of [a-zA-Z0-9._-]")]
    InvalidName(String),
    #[error("Number of partitions must be between 1 and {MAX_PARTITIONS}")]
    InvalidPartitions,
    #[error("Invalid config {0}")]
    InvalidConfig(String),
    #[error("This server does not host this topic-partition.")]
    UnknownTopic,
    #[error("storage error: {0}")]
    Storage(String),
}

impl TopicError {
    pub fn kafka_error_code(&self) -> i16 {
        match self {
            TopicError::AlreadyExists(_) => 36,
            TopicError::InvalidName(_) => 17,
            TopicError::InvalidPartitions => 37,
            TopicError::InvalidConfig(_) => 40,
            TopicError::UnknownTopic => 3,
            TopicError::Storage(_) => 56,
        }
    }
}

impl From<LogError> for TopicError {
    fn from(e: LogError) -> Self {
        TopicError::Storage(e.to_string())
    }
}

impl From<JournalError> for TopicError {
    fn from(e: JournalError) -> Self {
        if e.is_disk_full() {
            tracing::error!(error = %e, "topic metadata write failed: the disk is full");
        }
        TopicError::Storage(e.to_string())
    }
}

/// Bound on partitions per topic (every partition opens files).
pub const MAX_PARTITIONS: i32 = 1000;

/// Every topic of the broker.
pub struct Topics {
    dir: PathBuf,
    store: Arc<MetaStore>,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
}

impl Topics {
    /// The topics `commands` (replayed from `store`) describe, with every partition log
    /// opened under `data_dir/kafka`.
    pub fn open(
        data_dir: &Path,
        store: Arc<MetaStore>,
        commands: &[TopicCommand],
    ) -> Result<Topics, TopicError> {
        let dir = data_dir.join("kafka");
        std::fs::create_dir_all(&dir).map_err(|e| TopicError::Storage(e.to_string()))?;
        let topics = Topics {
            dir,
            store,
            topics: RwLock::new(BTreeMap::new()),
        };
        // Fold the history first, so a topic deleted later in the log is never opened.
        let mut live: BTreeMap<&str, TopicCommand> = BTreeMap::new();
        for cmd in commands {
            match cmd {
                TopicCommand::CreateTopic { name, .. } => {
                    live.insert(name, cmd.clone());
                }
                TopicCommand::DeleteTopic { name } => {
                    live.remove(name.as_str());
                }
                TopicCommand::AlterConfigs { name, configs } => {
                    if let Some(TopicCommand::CreateTopic { configs: c, .. }) =
                        live.get_mut(name.as_str())
                    {
                        c.clone_from(configs);
                    }
                }
            }
        }
        // Every partition of every topic opens on one bounded pool (10,000 single-partition
        // topics open as fast as one topic of 10,000 partitions).
        let mut dirs = Vec::new();
        let mut plan = Vec::new();
        for cmd in live.values() {
            if let TopicCommand::CreateTopic {
                name,
                id,
                partitions,
                configs,
            } = cmd
            {
                let config = log_config(configs)?;
                for p in 0..*partitions {
                    dirs.push((topics.dir.join(format!("{name}-{p}")), config.clone()));
                }
                plan.push((name, *id, configs, *partitions as usize));
            }
        }
        let mut opened = crate::log::open_many::open_many(dirs).into_iter();
        for (name, id, configs, count) in plan {
            let logs = opened
                .by_ref()
                .take(count)
                .map(|log| log.map(Arc::new))
                .collect::<Result<Vec<_>, _>>()?;
            topics.insert(name, id, configs, logs);
        }
        Ok(topics)
    }

    fn insert(&self, name: &str, id: Uuid, configs: &TopicConfigs, logs: Vec<Arc<PartitionLog>>) {
        let topic = Topic {
            name: name.to_string(),
            id,
            configs: configs.clone(),
            // Stored configs were checked at creation; a bad one cannot get here.
            rules: TopicRules::from_configs(configs).unwrap_or_default(),
            partitions: logs,
        };
        self.write().insert(name.to_string(), Arc::new(topic));
    }

    /// The topic called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Topic>> {
        self.read().get(name).cloned()
    }

    /// All topics, by name.
    pub fn all(&self) -> Vec<Arc<Topic>> {
        self.read().values().cloned().collect()
    }

    /// Creates a topic (durably) and opens its partitions.
    pub fn create(
        &self,
        name: &str,
        partitions: i32,
        configs: TopicConfigs,
    ) -> Result<Arc<Topic>, TopicError> {
        validate_name(name)?;
        if !(1..=MAX_PARTITIONS).contains(&partitions) {
            return Err(TopicError::InvalidPartitions);
        }
        log_config(&configs)?;
        TopicRules::from_configs(&configs).map_err(TopicError::InvalidConfig)?;
        if self.read().contains_key(name) {
            return Err(TopicError::AlreadyExists(name.to_string()));
        }
        let cmd = TopicCommand::CreateTopic {
            name: name.to_string(),
            id: Uuid::new_v4(),
            partitions,
            configs,
        };
        // Data left behind by an earlier topic of this name (a delete interrupted by a
        // crash) is moved aside, never adopted by the new topic.
        for p in 0..partitions {
            let d = self.dir.join(format!("{name}-{p}"));
            if d.exists() {
                let aside = self
                    .dir
                    .join(format!("{name}-{p}.orphan-{}", Uuid::new_v4().simple()));
                tracing::warn!(from = %d.display(), to = %aside.display(), "moving an earlier topic's partition data aside");
                std::fs::rename(&d, &aside).map_err(|e| TopicError::Storage(e.to_string()))?;
            }
        }
        self.persist(&cmd)?;
        self.apply(&cmd)?;
        self.get(name).ok_or(TopicError::UnknownTopic)
    }

    /// Deletes a topic and its data.
    pub fn delete(&self, name: &str) -> Result<(), TopicError> {
        if !self.read().contains_key(name) {
            return Err(TopicError::UnknownTopic);
        }
        let cmd = TopicCommand::DeleteTopic {
            name: name.to_string(),
        };
        self.persist(&cmd)?;
        self.apply(&cmd)
    }

    /// Replaces the overrides of topic `name` with `new_overrides` (validated, durable, applied).
    ///
    /// The map's write lock is held throughout, so a concurrent delete cannot be resurrected
    /// by this write.
    pub fn alter_configs(&self, name: &str, new_overrides: TopicConfigs) -> Result<(), TopicError> {
        let log = log_config(&new_overrides)?;
        TopicRules::from_configs(&new_overrides).map_err(TopicError::InvalidConfig)?;
        let mut map = self.write();
        let topic = map.get(name).ok_or(TopicError::UnknownTopic)?;
        self.persist(&TopicCommand::AlterConfigs {
            name: name.to_string(),
            configs: new_overrides.clone(),
        })?;
        // The running logs take the new settings now, as Kafka's dynamic topic configs do.
        for p in &topic.partitions {
            p.set_config(log.clone())
                .map_err(|e| TopicError::InvalidConfig(e.to_string()))?;
        }
        Self::apply_alter(&mut map, name, &new_overrides);
        Ok(())
    }

    /// Rebuilds topic `name` with `configs`, sharing its running partition logs.
    fn apply_alter(map: &mut BTreeMap<String, Arc<Topic>>, name: &str, configs: &TopicConfigs) {
        if let Some(old) = map.get(name) {
            let topic = Topic {
                name: old.name.clone(),
                id: old.id,
                configs: configs.clone(),
                // Checked before the command was made.
                rules: TopicRules::from_configs(configs).unwrap_or_default(),
                partitions: old.partitions.clone(),
            };
            map.insert(name.to_string(), Arc::new(topic));
        }
    }

    /// Makes `cmd` durable before it is applied.
    fn persist(&self, cmd: &TopicCommand) -> Result<(), TopicError> {
        Ok(self.store.write(&MetaEntry::Topic(cmd.clone()))?)
    }

    fn apply(&self, cmd: &TopicCommand) -> Result<(), TopicError> {
        match cmd {
            TopicCommand::CreateTopic {
                name,
                id,
                partitions,
                configs,
            } => {
                let config = log_config(configs)?;
                let dirs = (0..*partitions)
                    .map(|p| (self.dir.join(format!("{name}-{p}")), config.clone()))
                    .collect();
                let logs = crate::log::open_many::open_many(dirs)
                    .into_iter()
                    .map(|log| log.map(Arc::new))
                    .collect::<Result<Vec<_>, _>>()?;
                self.insert(name, *id, configs, logs);
            }
            TopicCommand::DeleteTopic { name } => {
                if let Some(t) = self.write().remove(name) {
                    for p in 0..t.partitions.len() {
                        let _ = std::fs::remove_dir_all(self.dir.join(format!("{name}-{p}")));
                    }
                }
            }
            TopicCommand::AlterConfigs { name, configs } => {
                Self::apply_alter(&mut self.write(), name, configs);
            }
        }
        Ok(())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Topic>>> {
        self.topics.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<Topic>>> {
        self.topics.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// Kafka's legal topic names.
fn validate_name(name: &str) -> Result<(), TopicError> {
    let ok = !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(TopicError::InvalidName(name.to_string()))
    }
}

/// The log configuration a topic's configs describe (Kafka's names and defaults).
pub fn log_config(configs: &TopicConfigs) -> Result<LogConfig, TopicError> {
    let mut c = LogConfig::default();
    for (k, v) in configs {
        let bad = || TopicError::InvalidConfig(format!("{k}={v}"));
        match k.as_str() {
            "segment.bytes" => c.segment_bytes = v.parse().map_err(|_| bad())?,
            "segment.ms" => c.segment_ms = v.parse().map_err(|_| bad())?,
            "retention.ms" => c.retention_ms = v.parse().map_err(|_| bad())?,
            "retention.bytes" => c.retention_bytes = v.parse().map_err(|_| bad())?,
            "index.interval.bytes" => c.index_interval_bytes = v.parse().map_err(|_| bad())?,
            "max.message.bytes" => c.max_message_bytes = v.parse().map_err(|_| bad())?,
            "message.timestamp.type" => {
                c.message_timestamp_type = match v.as_str() {
                    "CreateTime" => TimestampType::CreateTime,
                    "LogAppendTime" => TimestampType::LogAppendTime,
                    _ => return Err(bad()),
                }
            }
            _ => {}
        }
    }
    c.validate()
        .map_err(|e| TopicError::InvalidConfig(e.to_string()))?;
    Ok(c)
}
