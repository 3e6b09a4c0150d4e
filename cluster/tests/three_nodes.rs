//! Three openraft nodes in one process on the journal-backed stores, connected by an
//! in-memory network: a leader is elected, commands replicate and apply everywhere, the
//! cluster survives the loss of its leader, and the lost node restarts from its own disk and
//! catches up through a snapshot (the leader purged the entries it lacked).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use charter_cluster::state_machine::AppliedState;
use charter_cluster::{
    ClusterNode, LogStore, LogStoreOptions, MetadataCommand, StateMachine, TypeConfig,
};
use openraft::error::{InstallSnapshotError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::RPCOption;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{Config, Raft, RaftNetwork, RaftNetworkFactory, SnapshotPolicy};

type NodeId = u64;
type Rpc<T, E = RaftError<NodeId>> = Result<T, RPCError<NodeId, ClusterNode, E>>;

/// The in-memory network: RPCs are calls on the target's `Raft`; a node not in the map is
/// unreachable.
#[derive(Clone, Default)]
struct Router {
    nodes: Arc<Mutex<BTreeMap<NodeId, Raft<TypeConfig>>>>,
    /// Snapshot chunks delivered, per target.
    snapshot_rpcs: Arc<Mutex<BTreeMap<NodeId, u64>>>,
}

struct Client {
    router: Router,
    target: NodeId,
}

impl Router {
    fn get(&self, id: NodeId) -> Option<Raft<TypeConfig>> {
        self.nodes.lock().unwrap().get(&id).cloned()
    }
}

impl Client {
    fn target(&self) -> Result<Raft<TypeConfig>, Unreachable> {
        self.router.get(self.target).ok_or_else(|| {
            Unreachable::new(&std::io::Error::other(format!(
                "node {} is down",
                self.target
            )))
        })
    }
}

impl RaftNetworkFactory<TypeConfig> for Router {
    type Network = Client;

    async fn new_client(&mut self, target: NodeId, _node: &ClusterNode) -> Client {
        Client {
            router: self.clone(),
            target,
        }
    }
}

impl RaftNetwork<TypeConfig> for Client {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Rpc<AppendEntriesResponse<NodeId>> {
        let raft = self.target()?;
        raft.append_entries(rpc)
            .await
            .map_err(|e| RemoteError::new(self.target, e).into())
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Rpc<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>> {
        let raft = self.target()?;
        *self
            .router
            .snapshot_rpcs
            .lock()
            .unwrap()
            .entry(self.target)
            .or_default() += 1;
        raft.install_snapshot(rpc)
            .await
            .map_err(|e| RemoteError::new(self.target, e).into())
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> Rpc<VoteResponse<NodeId>> {
        let raft = self.target()?;
        raft.vote(rpc)
            .await
            .map_err(|e| RemoteError::new(self.target, e).into())
    }
}

fn config() -> Arc<Config> {
    let c = Config {
        cluster_name: "charter-test".into(),
        heartbeat_interval: 100,
        election_timeout_min: 400,
        election_timeout_max: 800,
        // Snapshot and purge often, so that a node that was down may need a snapshot.
        snapshot_policy: SnapshotPolicy::LogsSinceLast(8),
        max_in_snapshot_log_to_keep: 2,
        purge_batch_size: 1,
        ..Config::default()
    };
    Arc::new(c.validate().expect("valid config"))
}

/// Starts node `id` on the stores in `dir` (new or existing) and connects it.
async fn start(
    router: &Router,
    dir: &Path,
    id: NodeId,
) -> (Raft<TypeConfig>, Arc<RwLock<AppliedState>>) {
    let node_dir = dir.join(format!("n{id}"));
    let log = LogStore::open(&node_dir.join("log"), LogStoreOptions::default()).expect("log");
    let sm = StateMachine::open(&node_dir.join("sm")).expect("state machine");
    let applied = sm.shared_state();
    let raft = Raft::new(id, config(), router.clone(), log, sm)
        .await
        .expect("raft");
    router.nodes.lock().unwrap().insert(id, raft.clone());
    (raft, applied)
}

fn node(id: NodeId) -> ClusterNode {
    ClusterNode {
        addr: format!("127.0.0.1:{}", 19090 + id),
    }
}

async fn wait_leader(raft: &Raft<TypeConfig>, not: Option<NodeId>) -> NodeId {
    let m = raft
        .wait(Some(Duration::from_secs(20)))
        .metrics(
            |m| m.current_leader.is_some() && m.current_leader != not,
            "a leader",
        )
        .await
        .expect("a leader is elected");
    m.current_leader.expect("leader")
}

async fn wait_applied(raft: &Raft<TypeConfig>, index: u64) {
    raft.wait(Some(Duration::from_secs(20)))
        .applied_index_at_least(Some(index), "applied")
        .await
        .expect("the node applies the commands");
}

fn topic_commands(state: &Arc<RwLock<AppliedState>>) -> Vec<Vec<u8>> {
    state
        .read()
        .unwrap()
        .commands
        .values()
        .filter_map(|c| match c {
            MetadataCommand::Topic(b) => Some(b.clone()),
            _ => None,
        })
        .collect()
}

async fn write(raft: &Raft<TypeConfig>, from: u32, to: u32) -> u64 {
    let mut last = 0;
    for i in from..to {
        let resp = raft
            .client_write(MetadataCommand::Topic(i.to_le_bytes().to_vec()))
            .await
            .expect("write on the leader");
        last = resp.log_id.index;
        assert_eq!(
            resp.data.index, last,
            "the response names the applied index"
        );
    }
    last
}

fn expected(to: u32) -> Vec<Vec<u8>> {
    (0..to).map(|i| i.to_le_bytes().to_vec()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_elect_replicate_and_survive_the_loss_of_the_leader() {
    let dir = tempfile::tempdir().unwrap();
    let router = Router::default();
    let mut nodes = BTreeMap::new();
    for id in 1..=3 {
        nodes.insert(id, start(&router, dir.path(), id).await);
    }
    let members: BTreeMap<NodeId, ClusterNode> = (1..=3).map(|id| (id, node(id))).collect();
    nodes[&1].0.initialize(members).await.expect("initialize");

    let leader = wait_leader(&nodes[&1].0, None).await;
    let last = write(&nodes[&leader].0, 0, 20).await;
    for (raft, applied) in nodes.values() {
        wait_applied(raft, last).await;
        assert_eq!(topic_commands(applied), expected(20));
    }

    // The leader dies: the two others elect a new one and keep committing.
    let (old, _) = nodes.remove(&leader).expect("leader node");
    router.nodes.lock().unwrap().remove(&leader);
    old.shutdown().await.expect("shutdown");
    drop(old);
    let any = nodes.values().next().expect("a survivor").0.clone();
    let new_leader = wait_leader(&any, Some(leader)).await;
    assert_ne!(new_leader, leader);
    let lost_at = last;
    let last = write(&nodes[&new_leader].0, 20, 40).await;
    for (raft, applied) in nodes.values() {
        wait_applied(raft, last).await;
        assert_eq!(topic_commands(applied), expected(40));
    }
    // Snapshots are built and the log purged past what the lost node has.
    nodes[&new_leader]
        .0
        .wait(Some(Duration::from_secs(20)))
        .metrics(
            |m| m.purged.is_some_and(|p| p.index > lost_at),
            "the leader purged past the lost node's log",
        )
        .await
        .expect("a snapshot and a purge");

    // The old leader restarts from its own disk (log, vote, snapshot) and catches up.
    let (raft, applied) = start(&router, dir.path(), leader).await;
    wait_applied(&raft, last).await;
    assert_eq!(topic_commands(&applied), expected(40));
    let m = raft.metrics().borrow().clone();
    assert_eq!(m.current_leader, Some(new_leader));
    assert!(m.vote.leader_id.term > 1, "it saw the new term");
    // It could only catch up through a snapshot: the leader had purged what it lacked.
    assert!(
        router
            .snapshot_rpcs
            .lock()
            .unwrap()
            .get(&leader)
            .is_some_and(|n| *n > 0),
        "no snapshot was sent to the restarted node"
    );

    for (raft, _) in nodes.values() {
        raft.shutdown().await.expect("shutdown");
    }
    raft.shutdown().await.expect("shutdown");
}
