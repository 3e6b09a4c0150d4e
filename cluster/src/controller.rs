//! The controller: one node's openraft instance on its own thread and runtime.
//!
//! [`Controller::start`] opens the node's identity ([`crate::identity`]), its log (`log/`) and
//! state machine (`sm/`) under the data dir, then runs openraft and the transport's listener on
//! a single-threaded tokio runtime on a dedicated thread, so that a saturated data path (the
//! broker's runtime on 2 cores) cannot delay heartbeats and start needless elections.
//!
//! Bootstrap works like KRaft's `controller.quorum.voters`: every node gets the same voters
//! list. When the cluster is new, the voter with the lowest id calls openraft's `initialize`
//! with that list; the others wait to hear from it. Whoever leads and finds no cluster id
//! applied proposes a [`MetadataCommand::Bootstrap`] with a fresh one (the first applied
//! wins); every node then records it in its `node.properties`.
//!
//! Writes are forward-free: [`Controller::propose`] on a node that does not lead answers
//! [`ProposeError::NotLeader`] naming the leader, and the caller forwards.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{mpsc, Arc, RwLock};
use std::thread::JoinHandle;

use openraft::error::{ClientWriteError, RaftError};
use openraft::{Config, Raft, ServerState, SnapshotPolicy};
use tokio::sync::oneshot;

use crate::identity::{Expect, IdentityError, NodeIdentity};
use crate::log_store::{self, LogStore, LogStoreOptions};
use crate::quorum::QuorumView;
use crate::state_machine::{self, AppliedState, Applier, StateMachine};
use crate::transport::{self, Network};
use crate::types::{ClusterNode, MetadataCommand, MetadataResponse, NodeId, TypeConfig};

/// The voters list: `1@host:port,2@host:port,...`, the same on every node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voters(pub BTreeMap<NodeId, ClusterNode>);

impl FromStr for Voters {
    type Err = String;

    fn from_str(s: &str) -> Result<Voters, String> {
        let mut voters = BTreeMap::new();
        for part in s.split(',').map(str::trim) {
            if part.is_empty() {
                return Err(format!(
                    "voters {s:?}: empty entry (expected id@host:port,...)"
                ));
            }
            let (id, addr) = part
                .split_once('@')
                .ok_or_else(|| format!("voter {part:?}: expected id@host:port"))?;
            let id: NodeId = id
                .trim()
                .parse()
                .map_err(|_| format!("voter {part:?}: node id {id:?} is not a number"))?;
            let addr = addr.trim();
            let port = addr
                .rsplit_once(':')
                .filter(|(host, _)| !host.is_empty())
                .map(|(_, p)| p)
                .ok_or_else(|| format!("voter {part:?}: address {addr:?} is not host:port"))?;
            if port.parse::<u16>().map_or(true, |p| p == 0) {
                return Err(format!("voter {part:?}: port {port:?} is not a port"));
            }
            let node = ClusterNode {
                addr: addr.to_string(),
            };
            if voters.insert(id, node).is_some() {
                return Err(format!("voters {s:?}: node {id} is listed twice"));
            }
        }
        Ok(Voters(voters))
    }
}

/// How to start a controller.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    pub node_id: NodeId,
    /// The controller's own directory (identity, log, snapshots).
    pub data_dir: PathBuf,
    /// Where the transport listens (`--cluster-listen`); peers reach it at this node's address
    /// in `voters`.
    pub cluster_listen: String,
    pub voters: Voters,
    /// Whether the caller knows the cluster already exists (then a wiped node is refused).
    pub expect: Expect,
    /// The cluster id a leader proposes when none is committed yet: an upgraded single-node
    /// data dir keeps the id its clients know; `None` makes a fresh one.
    pub bootstrap_cluster_id: Option<String>,
    /// Whether a damaged log is refused (the default) or its readable prefix kept.
    pub recovery: charter_journal::Recovery,
    pub tuning: Tuning,
}

/// Knobs that only tests change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// Build a snapshot after this many applied entries since the last one.
    pub snapshot_every: u64,
    /// Entries kept in the log below the snapshot (for followers slightly behind).
    pub keep_below_snapshot: u64,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            snapshot_every: 5000,
            keep_below_snapshot: 1000,
        }
    }
}

/// Why a controller could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(
        "node {node_id}'s controller log in {dir} is empty, but node {node_id} already took part \
         in cluster {cluster}: its log was wiped. A voter that lost its log must not vote again \
         (it could help elect a leader without acknowledged entries). Restore the directory from \
         a backup; re-adding a node under a new data dir (remove it from the voters, add it back \
         as a learner) is not supported yet"
    )]
    WipedLog {
        node_id: NodeId,
        dir: PathBuf,
        cluster: String,
    },
    #[error(transparent)]
    Log(#[from] log_store::OpenError),
    #[error(transparent)]
    StateMachine(#[from] state_machine::OpenError),
    #[error("cluster listener {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("controller runtime: {0}")]
    Runtime(String),
}

/// Why a proposal was not committed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum ProposeError {
    /// This node does not lead; the leader, if known, is named. The command is not in the
    /// log (openraft answers this for an appended entry only when a new leader truncated it),
    /// so forwarding or retrying it cannot duplicate it.
    #[error("not the controller leader; the leader is {}", leader_id.map_or("unknown".to_string(), |l| format!("node {l} at {}", leader_addr.as_deref().unwrap_or("?"))))]
    NotLeader {
        leader_id: Option<NodeId>,
        leader_addr: Option<String>,
    },
    /// The controller stopped or failed while the command was in flight: it may or may not
    /// commit. Commands must carry preconditions (next id, next version) to be retried safely.
    #[error("the controller stopped: {0}")]
    Stopped(String),
    /// Not proposed, nothing written (the leader's disk is nearly full): retrying soon will
    /// not help.
    #[error("refused: {0}")]
    Refused(String),
    /// The leader's Raft stopped on a storage error: it answers nothing until restarted.
    #[error("the controller failed: {0}")]
    Fatal(String),
}

/// How long [`Controller::submit`] keeps trying (an election takes 1–2 s).
pub const SUBMIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long one forwarded attempt may take before the next asks again who leads.
const FORWARD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// The pause between its attempts.
const SUBMIT_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

/// Proposes `cmd` to `raft` on its runtime (the caller may be on another one) and answers
/// once this node, as leader, applied it.
pub(crate) async fn propose_on(
    raft: &Raft<TypeConfig>,
    handle: &tokio::runtime::Handle,
    dir: &Path,
    cmd: MetadataCommand,
) -> Result<MetadataResponse, ProposeError> {
    let raft = raft.clone();
    let dir = dir.to_path_buf();
    handle
        .spawn(async move { propose_here(&raft, &dir, cmd).await })
        .await
        .map_err(|e| ProposeError::Stopped(e.to_string()))?
}

/// Proposes `cmd` on the current runtime (the controller's own).
pub(crate) async fn propose_here(
    raft: &Raft<TypeConfig>,
    dir: &Path,
    cmd: MetadataCommand,
) -> Result<MetadataResponse, ProposeError> {
    // openraft treats a failed log write as fatal (its Raft stops until a restart), so a
    // leader refuses to propose on a nearly full disk instead of letting ENOSPC reach it.
    if let Some(free) = free_bytes(dir) {
        if free < MIN_FREE_BYTES {
            return Err(ProposeError::Refused(format!(
                "only {free} bytes free under {} (at least {MIN_FREE_BYTES} are kept free)",
                dir.display()
            )));
        }
    }
    match raft.client_write(cmd).await {
        Ok(r) => Ok(r.data),
        Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
            Err(ProposeError::NotLeader {
                leader_id: f.leader_id,
                leader_addr: f.leader_node.map(|n| n.addr),
            })
        }
        Err(RaftError::Fatal(e)) => Err(ProposeError::Fatal(e.to_string())),
        Err(e) => Err(ProposeError::Stopped(e.to_string())),
    }
}

/// Free space a leader keeps on the controller's disk before it proposes anything.
pub const MIN_FREE_BYTES: u64 = 8 * 1024 * 1024;

/// Bytes available to this process on the filesystem holding `dir`.
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs only writes the struct it is given; `path` is a valid C string.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(path.as_ptr(), &mut st) != 0 {
            return None;
        }
        Some(st.f_bavail as u64 * st.f_frsize as u64)
    }
}

/// What [`Controller::metrics`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerMetrics {
    pub node_id: NodeId,
    pub leader: Option<NodeId>,
    pub term: u64,
    pub applied_index: Option<u64>,
    pub last_log_index: Option<u64>,
    /// The last log index covered by this node's snapshot.
    pub snapshot_index: Option<u64>,
    /// The last log index removed from this node's log.
    pub purged_index: Option<u64>,
    pub is_leader: bool,
}

/// A running controller. Dropping it shuts it down.
pub struct Controller {
    node_id: NodeId,
    raft: Raft<TypeConfig>,
    /// The controller's data dir (its free space is checked before proposing).
    dir: PathBuf,
    /// The loss the operator accepted when the log was opened, and the owner's mark.
    accepted_loss: Option<(String, u64)>,
    /// The committed index the log held at start: what a lone voter must have applied.
    committed_at_start: Option<u64>,
    /// True when this node is the only voter.
    lone_voter: bool,
    /// For operator queries to the leader (openraft's own client lives in its network).
    client: reqwest::Client,
    handle: tokio::runtime::Handle,
    state: Arc<RwLock<AppliedState>>,
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// What the controller thread hands back once it runs.
struct Started {
    raft: Raft<TypeConfig>,
    handle: tokio::runtime::Handle,
    local_addr: SocketAddr,
}

/// Openraft's configuration for the controller.
fn raft_config(tuning: Tuning) -> Result<Config, StartError> {
    let c = Config {
        cluster_name: "charter-controller".into(),
        heartbeat_interval: 250,
        election_timeout_min: 1000,
        election_timeout_max: 2000,
        snapshot_max_chunk_size: transport::SNAPSHOT_CHUNK,
        // A chunk of up to 2 MiB must fit in one RPC's time (the default is 200 ms).
        install_snapshot_timeout: 2000,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(tuning.snapshot_every),
        max_in_snapshot_log_to_keep: tuning.keep_below_snapshot,
        ..Config::default()
    };
    c.validate()
        .map_err(|e| StartError::Config(format!("raft config: {e}")))
}

impl Controller {
    /// Starts the controller; returns once its listener is bound and openraft runs. Blocks
    /// the calling thread while it opens the stores.
    pub fn start(config: ControllerConfig) -> Result<Controller, StartError> {
        Controller::start_with(config, None)
    }

    /// [`Controller::start`], handing every committed command to `applier` (the owner of
    /// the opaque payloads: the registry) in log order.
    pub fn start_with(
        config: ControllerConfig,
        applier: Option<Arc<dyn Applier>>,
    ) -> Result<Controller, StartError> {
        let node_id = config.node_id;
        let voters = config.voters.0.clone();
        if !voters.contains_key(&node_id) {
            return Err(StartError::Config(format!(
                "node {node_id} is not in the voters list ({}); every voter runs with the same list",
                voters.keys().map(|k| k.to_string()).collect::<Vec<_>>().join(",")
            )));
        }
        let dir = &config.data_dir;
        if !dir.join(crate::identity::FILE).exists() && dir.join("log").exists() {
            // A log without its identity: the file was deleted or the dir assembled by hand.
            // Making a new incarnation here would hide that from the quorum.
            return Err(StartError::Config(format!(
                "data dir {} holds a controller log but no {}; restore the file (or wipe the whole \
                 dir and re-add the node as a learner)",
                dir.display(),
                crate::identity::FILE
            )));
        }
        let identity = NodeIdentity::open(dir, node_id, config.expect)?;
        let mut log = LogStore::open_with(
            &dir.join("log"),
            LogStoreOptions::default(),
            config.recovery,
        )?;
        if let Some(a) = &applier {
            log = log.with_marker(a.clone());
        }
        let accepted_loss = match log.accepted_loss() {
            (Some(loss), mark) => Some((loss.to_string(), mark)),
            (None, _) => None,
        };
        let committed_at_start = log.committed_index();
        let lone_voter = voters.len() == 1;
        if config.expect == Expect::Existing && log.is_pristine() {
            return Err(StartError::WipedLog {
                node_id,
                dir: dir.clone(),
                cluster: identity.cluster_id.clone().unwrap_or_default(),
            });
        }
        // An empty log among several voters: the peers say whether this node is new.
        let must_confirm =
            config.expect == Expect::AskPeers && log.is_pristine() && voters.len() > 1;
        let mut sm = StateMachine::open(&dir.join("sm"))?;
        if let Some(a) = applier.clone() {
            sm = sm.with_applier(a);
        }
        if let (Some(found), Some(committed)) = (&identity.cluster_id, &sm.state().cluster_id) {
            if found != committed {
                return Err(StartError::Identity(IdentityError::WrongCluster {
                    dir: dir.clone(),
                    found: found.clone(),
                    committed: committed.clone(),
                }));
            }
        }
        let state = sm.shared_state();
        let raft_config = Arc::new(raft_config(config.tuning)?);
        let network =
            Network::new(node_id).map_err(|e| StartError::Runtime(format!("http client: {e}")))?;
        let client = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_millis(500))
            .build()
            .map_err(|e| StartError::Runtime(format!("http client: {e}")))?;
        let bootstrap_id = config.bootstrap_cluster_id.clone();
        let probe_client = client.clone();

        let (ready_tx, ready_rx) = mpsc::channel::<Result<Started, StartError>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let listen = config.cluster_listen.clone();
        let data_dir = dir.clone();
        let applied = state.clone();
        let new_cluster = config.expect != Expect::Existing;
        let thread = std::thread::Builder::new()
            .name(format!("controller-{node_id}"))
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(StartError::Runtime(e.to_string())));
                        return;
                    }
                };
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::bind(&listen).await {
                        Ok(l) => l,
                        Err(source) => {
                            let _ = ready_tx.send(Err(StartError::Bind {
                                addr: listen,
                                source,
                            }));
                            return;
                        }
                    };
                    let local_addr = match listener.local_addr() {
                        Ok(a) => a,
                        Err(source) => {
                            let _ = ready_tx.send(Err(StartError::Bind {
                                addr: listen,
                                source,
                            }));
                            return;
                        }
                    };
                    let shared = Arc::new(transport::Shared {
                        raft: std::sync::OnceLock::new(),
                        applied: applied.clone(),
                        dir: data_dir.clone(),
                    });
                    let (server_stop_tx, server_stop_rx) = oneshot::channel::<()>();
                    let app = transport::router(shared.clone());
                    let server = tokio::spawn(async move {
                        let r = axum::serve(listener, app)
                            .with_graceful_shutdown(async {
                                let _ = server_stop_rx.await;
                            })
                            .await;
                        if let Err(e) = r {
                            tracing::error!(error = %e, "cluster listener stopped");
                        }
                    });
                    let started = async {
                        if must_confirm {
                            confirm_new(node_id, &voters, &probe_client, &data_dir).await?;
                        }
                        Raft::new(node_id, raft_config, network, log, sm)
                            .await
                            .map_err(|e| StartError::Runtime(e.to_string()))
                    };
                    let raft = match started.await {
                        Ok(r) => r,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            let _ = server_stop_tx.send(());
                            let _ = server.await;
                            return;
                        }
                    };
                    let _ = shared.raft.set(raft.clone());
                    let lowest = voters.keys().next().copied();
                    if new_cluster && lowest == Some(node_id) {
                        initialize(&raft, voters).await;
                    }
                    let bootstrap = tokio::spawn(bootstrap_loop(
                        raft.clone(),
                        applied,
                        identity,
                        data_dir,
                        bootstrap_id,
                        probe_client,
                    ));
                    let started = Started {
                        raft: raft.clone(),
                        handle: tokio::runtime::Handle::current(),
                        local_addr,
                    };
                    if ready_tx.send(Ok(started)).is_err() {
                        tracing::warn!("controller start abandoned");
                    }
                    // Runs until `shutdown` (or the Controller is dropped).
                    let _ = stop_rx.await;
                    bootstrap.abort();
                    if let Err(e) = raft.shutdown().await {
                        tracing::warn!(error = %e, "raft shutdown");
                    }
                    let _ = server_stop_tx.send(());
                    let _ = server.await;
                });
            })
            .map_err(|e| StartError::Runtime(e.to_string()))?;
        let started = match ready_rx.recv() {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(StartError::Runtime("the controller thread died".into()));
            }
        };
        tracing::info!(node_id, addr = %started.local_addr, "controller started");
        Ok(Controller {
            node_id,
            raft: started.raft,
            dir: dir.clone(),
            accepted_loss,
            committed_at_start,
            lone_voter,
            client,
            handle: started.handle,
            state,
            local_addr: started.local_addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Appends `cmd` to the controller log; answers its log index once this node (the
    /// leader) has applied it, which implies a majority has it durably.
    pub async fn propose(&self, cmd: MetadataCommand) -> Result<u64, ProposeError> {
        propose_on(&self.raft, &self.handle, &self.dir, cmd)
            .await
            .map(|r| r.index)
    }

    /// Commits `cmd` through whichever node leads, forwarding it over the transport when this
    /// node does not, and retrying (within [`SUBMIT_TIMEOUT`]) while there is no leader or the
    /// leader changes. Answers once the leader applied it, with its verdict. A retry after a
    /// lost answer may commit the command twice: commands that must not apply twice carry a
    /// precondition (the registry's batches do) so the second is rejected.
    pub async fn submit(&self, cmd: MetadataCommand) -> Result<MetadataResponse, ProposeError> {
        let deadline = tokio::time::Instant::now() + SUBMIT_TIMEOUT;
        let mut last;
        loop {
            let attempt = match propose_on(&self.raft, &self.handle, &self.dir, cmd.clone()).await {
                Err(ProposeError::NotLeader {
                    leader_addr: Some(addr),
                    ..
                }) => {
                    // A leader that stopped answering (paused, cut off) is given up on after
                    // one attempt's time, and the next attempt asks again who leads.
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    transport::forward(&self.client, &addr, &cmd, left.min(FORWARD_TIMEOUT)).await
                }
                other => other,
            };
            match attempt {
                Ok(r) => return Ok(r),
                Err(e @ (ProposeError::Refused(_) | ProposeError::Fatal(_))) => return Err(e),
                Err(ProposeError::NotLeader { .. }) => last = "no controller leader".into(),
                Err(ProposeError::Stopped(e)) => last = e,
            }
            if tokio::time::Instant::now() + SUBMIT_RETRY >= deadline {
                return Err(ProposeError::Stopped(format!(
                    "not committed within {SUBMIT_TIMEOUT:?} (the outcome may be unknown): {last}"
                )));
            }
            tokio::time::sleep(SUBMIT_RETRY).await;
        }
    }

    /// The controller's current view.
    pub fn metrics(&self) -> ControllerMetrics {
        let m = self.raft.metrics().borrow().clone();
        ControllerMetrics {
            node_id: self.node_id,
            leader: m.current_leader,
            term: m.current_term,
            applied_index: m.last_applied.map(|l| l.index),
            last_log_index: m.last_log_index,
            snapshot_index: m.snapshot.map(|l| l.index),
            purged_index: m.purged.map(|l| l.index),
            is_leader: m.state == ServerState::Leader,
        }
    }

    /// This node's view of the quorum.
    pub fn local_quorum(&self) -> QuorumView {
        QuorumView::of(&self.raft)
    }

    /// The quorum as the leader sees it (every voter's progress), asked of the leader when
    /// this node does not lead.
    pub async fn quorum(&self, timeout: std::time::Duration) -> Result<QuorumView, String> {
        let local = self.local_quorum();
        if local.from_leader {
            return Ok(local);
        }
        let addr = local.leader_addr().ok_or("no controller leader is known")?;
        transport::fetch_quorum(&self.client, addr, timeout).await
    }

    /// Waits until this node has applied everything the leader had applied when asked: what
    /// a node serves after this includes every write acknowledged before it started.
    pub async fn wait_caught_up(&self, timeout: std::time::Duration) -> Result<u64, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        // A lone voter needs no leader to know what is committed: what its log recorded as
        // committed (it serves reads even when it cannot write a vote, as on a full disk).
        let target = if self.lone_voter && !self.local_quorum().from_leader {
            self.committed_at_start.unwrap_or(0)
        } else {
            loop {
                match self.quorum(std::time::Duration::from_secs(1)).await {
                    Ok(v) => break v.applied_index.unwrap_or(0),
                    Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
                }
            }
        };
        let mut metrics = self.raft.metrics();
        let caught_up = async {
            metrics
                .wait_for(|m| m.last_applied.map_or(0, |l| l.index) >= target)
                .await
                .is_ok()
        };
        match tokio::time::timeout_at(deadline, caught_up).await {
            Ok(true) => Ok(target),
            Ok(false) => Err("the controller stopped".into()),
            Err(_) => Err(format!(
                "not caught up with index {target} within {timeout:?}"
            )),
        }
    }

    /// The loss the operator accepted when this node's log was opened, with the largest mark
    /// ever acknowledged (the registry's next schema id): what must be restored first.
    pub fn accepted_loss(&self) -> Option<(&str, u64)> {
        self.accepted_loss.as_ref().map(|(l, m)| (l.as_str(), *m))
    }

    /// The committed cluster id, once there is one.
    pub fn cluster_id(&self) -> Option<String> {
        self.state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .cluster_id
            .clone()
    }

    /// Waits (up to `timeout`) until a cluster id is committed and applied here: a new
    /// cluster needs a quorum to elect a leader first.
    pub async fn wait_for_cluster_id(&self, timeout: std::time::Duration) -> Option<String> {
        let mut metrics = self.raft.metrics();
        let wait = async {
            loop {
                if let Some(id) = self.cluster_id() {
                    return id;
                }
                if metrics.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.ok()
    }

    /// The applied state (read-only for callers; openraft owns the writes).
    pub fn applied(&self) -> Arc<RwLock<AppliedState>> {
        self.state.clone()
    }

    /// The transport's bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops openraft and the listener and joins the controller thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Calls `initialize` unless the log already holds a membership (a restart).
async fn initialize(raft: &Raft<TypeConfig>, voters: BTreeMap<NodeId, ClusterNode>) {
    match raft.is_initialized().await {
        Ok(true) => {}
        Ok(false) => match raft.initialize(voters).await {
            Ok(()) => tracing::info!("controller: initialized a new cluster"),
            // Another node's entries arrived first: nothing to do.
            Err(e) => tracing::info!(error = %e, "controller: not initializing"),
        },
        Err(e) => tracing::error!(error = %e, "controller: cannot read its state"),
    }
}

/// Proposes the cluster id when leading and none is applied; records the applied one in
/// `node.properties`.
async fn bootstrap_loop(
    raft: Raft<TypeConfig>,
    applied: Arc<RwLock<AppliedState>>,
    mut identity: NodeIdentity,
    dir: PathBuf,
    bootstrap_id: Option<String>,
    client: reqwest::Client,
) {
    let mut metrics = raft.metrics();
    let mut proposed_in_term = None;
    let joining = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let incarnation = identity.incarnation.to_string();
    loop {
        let m = metrics.borrow_and_update().clone();
        let (cluster_id, recorded) = {
            let st = applied.read().unwrap_or_else(|p| p.into_inner());
            (st.cluster_id.clone(), st.incarnations.get(&m.id).cloned())
        };
        match recorded {
            Some(r) if r != incarnation => {
                tracing::error!(
                    recorded = %r, mine = %incarnation,
                    "controller: stopping: the cluster knows this node id under another \
                     directory incarnation (this data dir is not the one that joined)"
                );
                if let Err(e) = raft.shutdown().await {
                    tracing::warn!(error = %e, "raft shutdown");
                }
                return;
            }
            Some(_) => {}
            None if cluster_id.is_some()
                && m.current_leader.is_some()
                && !joining.swap(true, std::sync::atomic::Ordering::SeqCst) =>
            {
                // Record this node's incarnation, through the leader; retried until applied.
                let cmd = MetadataCommand::NodeJoined {
                    node_id: m.id,
                    incarnation: incarnation.clone(),
                };
                let (r, c, flag, d) = (raft.clone(), client.clone(), joining.clone(), dir.clone());
                let leader_addr = m
                    .current_leader
                    .and_then(|l| m.membership_config.membership().get_node(&l).cloned())
                    .map(|n| n.addr);
                let me_leading = m.state == ServerState::Leader;
                tokio::spawn(async move {
                    let res = match (me_leading, leader_addr) {
                        (true, _) => propose_here(&r, &d, cmd).await.map(|_| ()),
                        (false, Some(addr)) => {
                            transport::forward(&c, &addr, &cmd, std::time::Duration::from_secs(5))
                                .await
                                .map(|_| ())
                        }
                        (false, None) => Ok(()),
                    };
                    if let Err(e) = res {
                        tracing::debug!(error = %e, "controller: recording this node's incarnation");
                    }
                    flag.store(false, std::sync::atomic::Ordering::SeqCst);
                });
            }
            None => {}
        }
        match cluster_id {
            Some(c) if identity.cluster_id.as_deref() != Some(c.as_str()) => {
                if let Err(e) = record(&mut identity, &dir, &c).await {
                    // This node's log belongs to another cluster than its identity (or the
                    // identity cannot be written): stop taking part rather than vote in it.
                    tracing::error!(error = %e, "controller: stopping: cannot record the cluster id");
                    if let Err(e) = raft.shutdown().await {
                        tracing::warn!(error = %e, "raft shutdown");
                    }
                    return;
                }
                tracing::info!(cluster_id = %c, "controller: cluster id recorded");
            }
            Some(_) => {}
            None if m.state == ServerState::Leader && proposed_in_term != Some(m.current_term) => {
                proposed_in_term = Some(m.current_term);
                let cmd = MetadataCommand::Bootstrap {
                    cluster_id: bootstrap_id.clone().unwrap_or_else(new_cluster_id),
                };
                let r = raft.clone();
                // Not awaited here: the loop must keep watching (the write may never commit).
                tokio::spawn(async move {
                    if let Err(e) = r.client_write(cmd).await {
                        tracing::info!(error = %e, "controller: bootstrap proposal not committed");
                    }
                });
            }
            None => {}
        }
        // A failed proposal is retried at the next change, or within a second on an idle
        // cluster.
        tokio::select! {
            changed = metrics.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
    }
}

/// Before a node with an empty log takes part in a multi-voter cluster: asks the other voters
/// whether the cluster already knows this node id. If any does, this node took part before
/// and lost its log: refused, because a voter that forgot what it acknowledged could elect a
/// leader without committed entries. The node goes on when the leader (whose applied state
/// is the cluster's) does not know it, or when every other voter is as new as it is (a new
/// cluster). Otherwise it waits, since a voter that cannot yet tell must not vote.
async fn confirm_new(
    node_id: NodeId,
    voters: &BTreeMap<NodeId, ClusterNode>,
    client: &reqwest::Client,
    dir: &Path,
) -> Result<(), StartError> {
    let peers: Vec<&ClusterNode> = voters
        .iter()
        .filter(|(id, _)| **id != node_id)
        .map(|(_, n)| n)
        .collect();
    let mut said = tokio::time::Instant::now();
    loop {
        let mut answers = Vec::new();
        for p in &peers {
            if let Ok(m) =
                transport::fetch_members(client, &p.addr, std::time::Duration::from_secs(1)).await
            {
                answers.push(m);
            }
        }
        if let Some(m) = answers
            .iter()
            .find(|m| m.incarnations.contains_key(&node_id))
        {
            return Err(StartError::WipedLog {
                node_id,
                dir: dir.to_path_buf(),
                cluster: m.cluster_id.clone().unwrap_or_default(),
            });
        }
        let leader_knows_not = answers.iter().any(|m| m.leader);
        let all_new = answers.len() == peers.len()
            && answers
                .iter()
                .all(|m| m.cluster_id.is_none() && m.incarnations.is_empty());
        if leader_knows_not || all_new {
            return Ok(());
        }
        if said.elapsed() >= std::time::Duration::from_secs(5) {
            said = tokio::time::Instant::now();
            tracing::info!(
                answered = answers.len(),
                of = peers.len(),
                "controller: this node's log is empty; waiting for the other voters to confirm \
                 it is new to the cluster"
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

/// A fresh cluster id in Kafka's shape: a UUID as 22 characters of URL-safe base64 (what
/// `kafka-storage random-uuid` prints and clients display).
pub fn new_cluster_id() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let mut out = String::with_capacity(22);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in bytes {
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(ALPHABET[((acc >> bits) & 63) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (6 - bits)) & 63) as usize] as char);
    }
    out
}

async fn record(
    identity: &mut NodeIdentity,
    dir: &Path,
    cluster_id: &str,
) -> Result<(), IdentityError> {
    let mut id = identity.clone();
    let dir = dir.to_path_buf();
    let c = cluster_id.to_string();
    let res = tokio::task::spawn_blocking(move || id.set_cluster_id(&dir, &c).map(|()| id)).await;
    match res {
        Ok(Ok(id)) => {
            *identity = id;
            Ok(())
        }
        Ok(Err(e)) => Err(e),
        Err(e) => Err(IdentityError::Io {
            path: PathBuf::new(),
            source: std::io::Error::other(e.to_string()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voters_parse() {
        let v: Voters = "1@127.0.0.1:9093, 2@host-b:9093,3@[::1]:9093"
            .parse()
            .unwrap();
        assert_eq!(
            v.0.iter()
                .map(|(k, n)| (*k, n.addr.as_str()))
                .collect::<Vec<_>>(),
            vec![(1, "127.0.0.1:9093"), (2, "host-b:9093"), (3, "[::1]:9093")]
        );
        let one: Voters = "7@localhost:1".parse().unwrap();
        assert_eq!(one.0.len(), 1);
    }

    #[test]
    fn bad_voters_are_refused_with_what_is_wrong() {
        for (bad, says) in [
            ("", "empty entry"),
            ("1@a:1,", "empty entry"),
            ("a@h:1", "not a number"),
            ("1:h:1", "expected id@host:port"),
            ("1@h", "not host:port"),
            ("1@:9", "not host:port"),
            ("1@h:x", "not a port"),
            ("1@h:0", "not a port"),
            ("1@h:70000", "not a port"),
            ("1@h:1,1@g:2", "listed twice"),
        ] {
            let e = bad.parse::<Voters>().unwrap_err();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
    }

    #[test]
    fn cluster_ids_look_like_kafkas() {
        let a = new_cluster_id();
        assert_eq!(a.len(), 22, "{a}");
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(a, new_cluster_id());
    }

    #[test]
    fn a_node_outside_the_voters_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = Controller::start(ControllerConfig {
            node_id: 4,
            data_dir: dir.path().to_path_buf(),
            cluster_listen: "127.0.0.1:0".into(),
            voters: "1@127.0.0.1:1".parse().unwrap(),
            expect: Expect::NewOrExisting,
            bootstrap_cluster_id: None,
            recovery: Default::default(),
            tuning: Tuning::default(),
        })
        .err()
        .expect("refused");
        assert!(e.to_string().contains("not in the voters"), "{e}");
    }

    #[test]
    fn a_log_of_another_cluster_stops_the_controller() {
        let dir = tempfile::tempdir().unwrap();
        let config = ControllerConfig {
            node_id: 1,
            data_dir: dir.path().to_path_buf(),
            cluster_listen: "127.0.0.1:0".into(),
            voters: "1@127.0.0.1:1".parse().unwrap(),
            expect: Expect::NewOrExisting,
            bootstrap_cluster_id: None,
            recovery: Default::default(),
            tuning: Tuning::default(),
        };
        let c = Controller::start(config.clone()).expect("first start");
        let path = dir.path().join(crate::identity::FILE);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        let recorded = loop {
            let text = std::fs::read_to_string(&path).unwrap();
            if let Some(id) = text.lines().find_map(|l| l.strip_prefix("cluster.id=")) {
                break id.to_string();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no cluster id recorded"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        assert_eq!(
            c.applied().read().unwrap().cluster_id.as_deref(),
            Some(recorded.as_str())
        );
        c.shutdown();

        // The identity now names another cluster than the log replays.
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace(&recorded, "other-cluster")).unwrap();
        let c = Controller::start(config).expect("starts; the mismatch shows once replayed");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            match rt.block_on(c.propose(MetadataCommand::Noop)) {
                Err(ProposeError::Stopped(_) | ProposeError::Fatal(_)) => break,
                Err(e @ ProposeError::Refused(_)) => panic!("{e}"),
                Ok(_) | Err(ProposeError::NotLeader { .. }) => {
                    assert!(std::time::Instant::now() < deadline, "still running");
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
            }
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("cluster.id=other-cluster"),
            "not overwritten: {text}"
        );
        c.shutdown();
    }

    #[test]
    fn a_log_without_its_identity_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let config = ControllerConfig {
            node_id: 1,
            data_dir: dir.path().to_path_buf(),
            cluster_listen: "127.0.0.1:0".into(),
            voters: "1@127.0.0.1:1".parse().unwrap(),
            expect: Expect::NewOrExisting,
            bootstrap_cluster_id: None,
            recovery: Default::default(),
            tuning: Tuning::default(),
        };
        Controller::start(config.clone())
            .expect("first start")
            .shutdown();
        std::fs::remove_file(dir.path().join(crate::identity::FILE)).unwrap();
        let e = Controller::start(config).err().expect("refused");
        assert!(
            e.to_string()
                .contains("holds a controller log but no node.properties"),
            "{e}"
        );
        assert!(!dir.path().join(crate::identity::FILE).exists());
    }
}
