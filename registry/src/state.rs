//! The registry's state machine: commands and the in-memory state they build.
//!
//! Every change to the registry is a [`Command`]; a write persists a batch of commands
//! atomically and then applies it here. On start the store replays every batch in order, so
//! the state after a restart is exactly the state that was acknowledged. Replicating the
//! registry later means replicating these batches.
//!
//! `apply` never fails and never looks at anything but the state and the command: all
//! validation happens before a command is made (see `registry.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{Config, Mode, SchemaContent, SchemaId, Version};

/// One change to the registry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op")]
pub enum Command {
    /// A new schema id with its content.
    CreateSchema {
        id: SchemaId,
        content: SchemaContent,
    },
    /// A new version of a subject pointing at an existing id.
    AddVersion {
        subject: String,
        version: Version,
        id: SchemaId,
        ts: i64,
    },
    SoftDeleteVersion {
        subject: String,
        version: Version,
    },
    HardDeleteVersion {
        subject: String,
        version: Version,
    },
    /// `subject: None` is the global config.
    SetConfig {
        subject: Option<String>,
        config: Config,
    },
    DeleteConfig {
        subject: Option<String>,
    },
    SetMode {
        subject: Option<String>,
        mode: Mode,
    },
    DeleteMode {
        subject: Option<String>,
    },
    /// Ids below `floor` are never handed out (a standalone registry's ids carried into a
    /// replicated log, including ids its journal's watermark retired).
    RaiseNextId {
        floor: SchemaId,
    },
}

/// A stored schema: its id and content.
#[derive(Debug)]
pub struct StoredSchema {
    pub id: SchemaId,
    pub content: SchemaContent,
    pub guid: String,
    /// `content.fingerprint()`, computed once.
    pub fingerprint: [u8; 16],
}

/// One version of a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionEntry {
    pub id: SchemaId,
    pub deleted: bool,
    /// Creation time, epoch milliseconds.
    pub ts: i64,
}

/// The whole registry in memory. Cloned only to rebuild the replicated backend's writers'
/// state after a failed write (rare).
#[derive(Debug, Default, Clone)]
pub struct State {
    schemas: HashMap<SchemaId, Arc<StoredSchema>>,
    by_fingerprint: HashMap<[u8; 16], SchemaId>,
    /// Schema GUIDs (Confluent 8.x header framing names schemas by GUID).
    by_guid: HashMap<String, SchemaId>,
    subjects: BTreeMap<String, BTreeMap<Version, VersionEntry>>,
    /// Which subject-versions use an id; an id with none left is gone from the API.
    usages: HashMap<SchemaId, BTreeSet<(String, Version)>>,
    configs: HashMap<Option<String>, Config>,
    modes: HashMap<Option<String>, Mode>,
    /// One past the largest id ever allocated: ids are never reused.
    next_id: SchemaId,
}

impl State {
    pub fn new() -> State {
        State {
            next_id: 1,
            ..State::default()
        }
    }

    /// Applies one command. Commands are applied in the order they were persisted.
    pub fn apply(&mut self, cmd: &Command) {
        match cmd {
            Command::RaiseNextId { floor } => self.raise_next_id(*floor),
            Command::CreateSchema { id, content } => {
                let fp = content.fingerprint();
                let stored = StoredSchema {
                    id: *id,
                    guid: content.guid(),
                    content: content.clone(),
                    fingerprint: fp,
                };
                self.schemas.insert(*id, Arc::new(stored));
                self.by_fingerprint.entry(fp).or_insert(*id);
                self.by_guid.entry(content.guid()).or_insert(*id);
                self.next_id = self.next_id.max(id.saturating_add(1));
            }
            Command::AddVersion {
                subject,
                version,
                id,
                ts,
            } => {
                let versions = self.subjects.entry(subject.clone()).or_default();
                if let Some(old) = versions.insert(
                    *version,
                    VersionEntry {
                        id: *id,
                        deleted: false,
                        ts: *ts,
                    },
                ) {
                    if let Some(u) = self.usages.get_mut(&old.id) {
                        u.remove(&(subject.clone(), *version));
                    }
                }
                self.usages
                    .entry(*id)
                    .or_default()
                    .insert((subject.clone(), *version));
            }
            Command::SoftDeleteVersion { subject, version } => {
                if let Some(v) = self
                    .subjects
                    .get_mut(subject)
                    .and_then(|vs| vs.get_mut(version))
                {
                    v.deleted = true;
                }
            }
            Command::HardDeleteVersion { subject, version } => {
                if let Some(vs) = self.subjects.get_mut(subject) {
                    if let Some(old) = vs.remove(version) {
                        if let Some(u) = self.usages.get_mut(&old.id) {
                            u.remove(&(subject.clone(), *version));
                        }
                    }
                    if vs.is_empty() {
                        self.subjects.remove(subject);
                    }
                }
            }
            Command::SetConfig { subject, config } => {
                self.configs.insert(subject.clone(), config.clone());
            }
            Command::DeleteConfig { subject } => {
                self.configs.remove(subject);
            }
            Command::SetMode { subject, mode } => {
                self.modes.insert(subject.clone(), *mode);
            }
            Command::DeleteMode { subject } => {
                self.modes.remove(subject);
            }
        }
    }

    // ---- reads -------------------------------------------------------------------------

    /// The schema with this id, if any subject-version (deleted or not) still holds it.
    pub fn schema(&self, id: SchemaId) -> Option<&Arc<StoredSchema>> {
        if self.usages.get(&id).is_none_or(|u| u.is_empty()) {
            return None;
        }
        self.schemas.get(&id)
    }

    /// The schema with this id even when no version holds it any more (for id reuse checks).
    pub fn schema_any(&self, id: SchemaId) -> Option<&Arc<StoredSchema>> {
        self.schemas.get(&id)
    }

    /// The id of the schema with this GUID, if any.
    pub fn id_for_guid(&self, guid: &str) -> Option<SchemaId> {
        self.by_guid.get(guid).copied()
    }

    /// The id already allocated to this exact content, if any.
    pub fn id_for(&self, content: &SchemaContent) -> Option<SchemaId> {
        self.by_fingerprint.get(&content.fingerprint()).copied()
    }

    /// Retires every id below `floor` (after an operator accepted a damaged log's loss).
    pub fn raise_next_id(&mut self, floor: SchemaId) {
        self.next_id = self.next_id.max(floor);
    }

    pub fn next_id(&self) -> SchemaId {
        self.next_id
    }

    /// The largest id in use (for `fetchMaxId`).
    pub fn max_id(&self) -> SchemaId {
        self.next_id - 1
    }

    /// Every version of a subject, deleted ones included; `None` if the subject has none.
    pub fn versions(&self, subject: &str) -> Option<&BTreeMap<Version, VersionEntry>> {
        self.subjects.get(subject)
    }

    /// Whether the subject has at least one live (not soft-deleted) version.
    pub fn has_live_versions(&self, subject: &str) -> bool {
        self.subjects
            .get(subject)
            .is_some_and(|vs| vs.values().any(|v| !v.deleted))
    }

    /// All subject names with their versions, in lexicographic order.
    pub fn subjects(&self) -> impl Iterator<Item = (&String, &BTreeMap<Version, VersionEntry>)> {
        self.subjects.iter()
    }

    /// The subject-versions that use an id.
    pub fn usages(&self, id: SchemaId) -> impl Iterator<Item = &(String, Version)> {
        self.usages.get(&id).into_iter().flatten()
    }

    pub fn config(&self, subject: Option<&str>) -> Option<&Config> {
        self.configs.get(&subject.map(str::to_string))
    }

    pub fn mode(&self, subject: Option<&str>) -> Option<Mode> {
        self.modes.get(&subject.map(str::to_string)).copied()
    }

    /// Whether any subject has any version at all (IMPORT switch rule).
    pub fn is_empty(&self) -> bool {
        self.subjects.is_empty()
    }

    /// Ids of schemas whose references point at `subject`/`version`, with whether the
    /// referring version is deleted.
    pub fn referrers(&self, subject: &str, version: Version) -> Vec<(SchemaId, String, bool)> {
        let mut out = Vec::new();
        for (s, vs) in &self.subjects {
            for v in vs.values() {
                let Some(schema) = self.schemas.get(&v.id) else {
                    continue;
                };
                if schema
                    .content
                    .references
                    .iter()
                    .any(|r| r.subject == subject && r.version == version)
                {
                    out.push((v.id, s.clone(), v.deleted));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SchemaTypeRepr;

    fn content(text: &str) -> SchemaContent {
        SchemaContent {
            schema_type: SchemaTypeRepr::default(),
            schema: text.to_string(),
            references: vec![],
            metadata: None,
            rule_set: None,
        }
    }

    #[test]
    fn ids_are_never_reused_after_hard_delete() {
        let mut s = State::new();
        s.apply(&Command::CreateSchema {
            id: 1,
            content: content("\"string\""),
        });
        s.apply(&Command::AddVersion {
            subject: "a".into(),
            version: 1,
            id: 1,
            ts: 0,
        });
        s.apply(&Command::SoftDeleteVersion {
            subject: "a".into(),
            version: 1,
        });
        assert!(s.schema(1).is_some(), "ids resolve after a soft delete");
        s.apply(&Command::HardDeleteVersion {
            subject: "a".into(),
            version: 1,
        });
        assert!(s.schema(1).is_none());
        assert!(s.versions("a").is_none());
        assert_eq!(s.next_id(), 2);
    }
}
