//! The controller's state machine: applied state in memory, snapshots in files.
//!
//! [`StateMachine::apply`] does not write to disk: the log store keeps the committed entries
//! and the committed index, so after a restart openraft re-applies them on top of the last
//! snapshot. Snapshots (built here or installed from the leader) are what is durable: one
//! file, `current.snap`, written to a temporary name, fsync'd, renamed into place and the
//! directory fsync'd, so a crash leaves either the old snapshot or the new one.
//!
//! File layout: `CHSNAP01`, crc32c (u32 LE) of what follows, meta length (u32 LE), the
//! snapshot's meta as JSON, then the data (the [`AppliedState`] as JSON). A file that fails
//! its checksum is refused on open, never silently replaced by an empty state.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use openraft::storage::{RaftStateMachine, Snapshot, SnapshotMeta};
use openraft::{
    EntryPayload, ErrorSubject, ErrorVerb, OptionalSend, RaftSnapshotBuilder, StoredMembership,
};
use serde::{Deserialize, Serialize};

use crate::io_error;
use crate::types::{
    ClusterNode, Entry, LogId, MetadataCommand, MetadataResponse, NodeId, StorageError, TypeConfig,
};

const MAGIC: &[u8; 8] = b"CHSNAP01";
const CURRENT: &str = "current.snap";

/// The owner of the commands this crate carries as opaque bytes (the registry's batches):
/// told of each committed command in log order, on every node, and of wholesale state
/// replacement. Both must be deterministic: every node makes the same decisions.
pub trait Applier: Send + Sync + 'static {
    /// A committed command at `index`. `Err(reason)` rejects it: it then changes nothing and
    /// is not kept in [`AppliedState::commands`].
    fn apply(&self, index: u64, cmd: &MetadataCommand) -> Result<(), String>;
    /// The applied state was replaced (loaded from or installed as a snapshot): rebuild from
    /// `state.commands`. Entries after it are then applied one by one.
    fn reset(&self, state: &AppliedState);
    /// A monotonic number the owner must never go below once `cmd` is acknowledged (the
    /// registry's next schema id after it). The log's watermark keeps the largest, so that
    /// an operator's accepted loss of log entries cannot take it back. 0: nothing to keep.
    fn mark(&self, _cmd: &MetadataCommand) -> u64 {
        0
    }
}

/// What the state machine has applied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedState {
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership<NodeId, ClusterNode>,
    /// The first applied [`MetadataCommand::Bootstrap`]'s cluster id.
    #[serde(default)]
    pub cluster_id: Option<String>,
    /// Each node's directory incarnation, from its first [`MetadataCommand::NodeJoined`].
    #[serde(default)]
    pub incarnations: BTreeMap<NodeId, String>,
    /// Applied (not rejected) commands by log index: the history owners rebuild from after a
    /// snapshot (the metadata image will replace most of it).
    pub commands: BTreeMap<u64, MetadataCommand>,
}

type Meta = SnapshotMeta<NodeId, ClusterNode>;

/// The durable current snapshot, shared with snapshot builders.
struct Snapshots {
    dir: PathBuf,
    current: Mutex<Option<(Meta, Arc<Vec<u8>>)>>,
    /// Held while writing the file: openraft builds snapshots on a task of their own, so a
    /// build may finish while a newer snapshot is being installed.
    writing: Mutex<()>,
    /// Distinguishes snapshots built at the same log id.
    counter: Mutex<u64>,
}

/// Why a state machine could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("snapshot {path} is damaged: {detail}")]
    Damaged { path: PathBuf, detail: String },
}

/// Openraft's `RaftStateMachine`. See the module docs.
pub struct StateMachine {
    /// Shared so that readers on other tasks (tests now, the metadata image later) see what
    /// has been applied without going through openraft.
    state: Arc<RwLock<AppliedState>>,
    snapshots: Arc<Snapshots>,
    applier: Option<Arc<dyn Applier>>,
}

/// Builds a snapshot of the state as it was when the builder was made.
pub struct SnapshotBuilder {
    state: AppliedState,
    snapshots: Arc<Snapshots>,
}

impl StateMachine {
    /// Opens the state machine whose snapshots live in `dir` (created if missing), restoring
    /// the current snapshot's state.
    pub fn open(dir: &Path) -> Result<StateMachine, OpenError> {
        let io = |path: &Path, source| OpenError::Io {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let path = dir.join(CURRENT);
        let (state, current) = match std::fs::read(&path) {
            Ok(bytes) => {
                let damaged = |detail: String| OpenError::Damaged {
                    path: path.clone(),
                    detail,
                };
                let (meta, data) = decode(&bytes).map_err(damaged)?;
                let state: AppliedState = serde_json::from_slice(&data)
                    .map_err(|e| damaged(format!("undecodable state: {e}")))?;
                (state, Some((meta, Arc::new(data))))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (AppliedState::default(), None),
            Err(e) => return Err(io(&path, e)),
        };
        Ok(StateMachine {
            state: Arc::new(RwLock::new(state)),
            snapshots: Arc::new(Snapshots {
                dir: dir.to_path_buf(),
                current: Mutex::new(current),
                writing: Mutex::new(()),
                counter: Mutex::new(0),
            }),
            applier: None,
        })
    }

    /// Hands every committed command to `applier` from now on, starting with a reset to the
    /// state opened from the snapshot.
    pub fn with_applier(mut self, applier: Arc<dyn Applier>) -> StateMachine {
        applier.reset(&self.read());
        self.applier = Some(applier);
        self
    }

    /// A copy of the applied state.
    pub fn state(&self) -> AppliedState {
        self.read().clone()
    }

    /// A handle on the applied state that stays valid once openraft owns the state machine.
    pub fn shared_state(&self) -> Arc<RwLock<AppliedState>> {
        self.state.clone()
    }

    fn read(&self) -> RwLockReadGuard<'_, AppliedState> {
        // Apply mutates the state in steps that each leave it consistent.
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, AppliedState> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl Snapshots {
    /// Makes `meta` and `data` the durable current snapshot, unless the current one is newer
    /// (a build of older state that finished after an install): that one stays.
    fn save(&self, meta: &Meta, data: Vec<u8>) -> Result<(), StorageError> {
        let _writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let newer_exists = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .is_some_and(|(cur, _)| cur.last_log_id > meta.last_log_id);
        if newer_exists {
            tracing::debug!(snapshot = %meta.snapshot_id, "not replacing a newer snapshot");
            return Ok(());
        }
        let sig = Some(meta.signature());
        let err = |e: &std::io::Error| {
            StorageError::from(openraft::StorageIOError::write_snapshot(
                sig.clone(),
                openraft::AnyError::new(e),
            ))
        };
        let encoded = encode(meta, &data).map_err(|e| err(&std::io::Error::other(e)))?;
        let tmp = self.dir.join("current.snap.tmp");
        write_atomically(&self.dir, &tmp, &self.dir.join(CURRENT), &encoded)
            .map_err(|e| err(&e))?;
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((meta.clone(), Arc::new(data)));
        Ok(())
    }

    fn next_id(&self, last: Option<LogId>) -> String {
        let mut c = self.counter.lock().unwrap_or_else(|p| p.into_inner());
        *c += 1;
        match last {
            Some(l) => format!("{}-{}-{}", l.leader_id, l.index, *c),
            None => format!("none-{}", *c),
        }
    }
}

fn encode(meta: &Meta, data: &[u8]) -> Result<Vec<u8>, String> {
    let meta_json = serde_json::to_vec(meta).map_err(|e| e.to_string())?;
    let meta_len = u32::try_from(meta_json.len()).map_err(|_| "snapshot meta too large")?;
    let mut body = Vec::with_capacity(4 + meta_json.len() + data.len());
    body.extend_from_slice(&meta_len.to_le_bytes());
    body.extend_from_slice(&meta_json);
    body.extend_from_slice(data);
    let mut out = Vec::with_capacity(12 + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&crc32c::crc32c(&body).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

fn decode(bytes: &[u8]) -> Result<(Meta, Vec<u8>), String> {
    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err("not a snapshot file".into());
    }
    let crc = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    let body = &bytes[12..];
    if crc32c::crc32c(body) != crc {
        return Err("checksum mismatch".into());
    }
    let meta_len = u32::from_le_bytes([body[0], body[1], body[2], body[3]]) as usize;
    let rest = &body[4..];
    if meta_len > rest.len() {
        return Err("meta length beyond the end of the file".into());
    }
    let meta: Meta =
        serde_json::from_slice(&rest[..meta_len]).map_err(|e| format!("undecodable meta: {e}"))?;
    Ok((meta, rest[meta_len..].to_vec()))
}

fn write_atomically(dir: &Path, tmp: &Path, dst: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(tmp, dst)?;
    File::open(dir)?.sync_all()
}

/// Runs the blocking snapshot write off the async runtime's threads.
async fn save(snapshots: &Arc<Snapshots>, meta: &Meta, data: Vec<u8>) -> Result<(), StorageError> {
    let s = snapshots.clone();
    let m = meta.clone();
    match tokio::task::spawn_blocking(move || s.save(&m, data)).await {
        Ok(r) => r,
        Err(e) => Err(io_error(ErrorSubject::Snapshot(None), ErrorVerb::Write, &e)),
    }
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let data = serde_json::to_vec(&self.state)
            .map_err(|e| io_error(ErrorSubject::StateMachine, ErrorVerb::Read, &e))?;
        let meta = Meta {
            last_log_id: self.state.last_applied,
            last_membership: self.state.membership.clone(),
            snapshot_id: self.snapshots.next_id(self.state.last_applied),
        };
        save(&self.snapshots, &meta, data.clone()).await?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId>, StoredMembership<NodeId, ClusterNode>), StorageError> {
        let st = self.read();
        Ok((st.last_applied, st.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<MetadataResponse>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut out = Vec::new();
        let mut st = self.write();
        for entry in entries {
            let index = entry.log_id.index;
            st.last_applied = Some(entry.log_id);
            match entry.payload {
                EntryPayload::Blank => {}
                EntryPayload::Normal(cmd) => {
                    match &cmd {
                        MetadataCommand::Bootstrap { cluster_id } if st.cluster_id.is_none() => {
                            st.cluster_id = Some(cluster_id.clone());
                        }
                        MetadataCommand::NodeJoined {
                            node_id,
                            incarnation,
                        } => {
                            st.incarnations
                                .entry(*node_id)
                                .or_insert_with(|| incarnation.clone());
                        }
                        _ => {}
                    }
                    let verdict = match &self.applier {
                        Some(a) => a.apply(index, &cmd),
                        None => Ok(()),
                    };
                    match verdict {
                        Ok(()) => {
                            st.commands.insert(index, cmd);
                        }
                        Err(reason) => {
                            out.push(MetadataResponse {
                                index,
                                rejected: Some(reason),
                            });
                            continue;
                        }
                    }
                }
                EntryPayload::Membership(m) => {
                    st.membership = StoredMembership::new(Some(entry.log_id), m);
                }
            }
            out.push(MetadataResponse {
                index,
                rejected: None,
            });
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        SnapshotBuilder {
            state: self.state(),
            snapshots: self.snapshots.clone(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &Meta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let data = snapshot.into_inner();
        let state: AppliedState = serde_json::from_slice(&data).map_err(|e| {
            StorageError::from(openraft::StorageIOError::read_snapshot(
                Some(meta.signature()),
                openraft::AnyError::new(&e),
            ))
        })?;
        // Durable before the state machine moves to it.
        save(&self.snapshots, meta, data).await?;
        let mut st = self.write();
        *st = state;
        if let Some(a) = &self.applier {
            a.reset(&st);
        }
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let current = self
            .snapshots
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Ok(current.map(|(meta, data)| Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data.as_ref().clone())),
        }))
    }
}
