//! The controller's Raft type configuration and its application payload.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A node's id: the `N` of `--node-id N`.
pub type NodeId = u64;

/// What the cluster knows about a voter or learner: where its cluster listener is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterNode {
    /// `host:port` of the node's inter-node listener (`--cluster-listen`).
    pub addr: String,
}

impl fmt::Display for ClusterNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.addr)
    }
}

/// A command in the controller's log.
///
/// This is the seam where cluster metadata will go: the registry's command batches (with
/// their preconditions) and the topic, broker and partition commands of replication.md §3.1.
/// For now the payloads are opaque bytes owned by their producers, so that this crate never
/// needs to know the registry's types (and the registry never depends on this crate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetadataCommand {
    /// Does nothing; lets tests and a new leader commit an entry of its own.
    Noop,
    /// Names the cluster. Proposed by a leader that finds none applied; only the first one
    /// applied counts, so racing proposals (two leaders in turn) agree on one id.
    Bootstrap { cluster_id: String },
    /// A node's directory incarnation, recorded once it first took part: a later start of
    /// that node id with another incarnation is a node whose data dir was wiped, and is
    /// refused (its empty log must not vote).
    NodeJoined {
        node_id: NodeId,
        incarnation: String,
    },
    /// A registry command batch, encoded by the registry.
    Registry(Vec<u8>),
    /// A topic command, encoded by the broker.
    Topic(Vec<u8>),
}

/// What applying a [`MetadataCommand`] answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataResponse {
    /// The log index the command was applied at.
    pub index: u64,
    /// Set when the command's owner refused it at apply time (a failed precondition, such as
    /// a registry batch planned against state that changed since): it changed nothing, on
    /// every node alike, because apply is deterministic.
    #[serde(default)]
    pub rejected: Option<String>,
}

openraft::declare_raft_types!(
    /// The controller's Raft types.
    pub TypeConfig:
        D = MetadataCommand,
        R = MetadataResponse,
        NodeId = NodeId,
        Node = ClusterNode,
        SnapshotData = std::io::Cursor<Vec<u8>>,
);

/// A log entry of the controller.
pub type Entry = openraft::Entry<TypeConfig>;
/// A log id (term, leader, index).
pub type LogId = openraft::LogId<NodeId>;
/// A vote (term, candidate, committed).
pub type Vote = openraft::Vote<NodeId>;
/// Openraft's storage error for this configuration.
pub type StorageError = openraft::StorageError<NodeId>;
