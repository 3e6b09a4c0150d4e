//! `charter-cluster`: the controller: its durable Raft storage, identity, transport and runner.
//!
//! The cluster's controller is one Raft group run by [openraft] (see
//! `../shared/design/replication.md` §3.1). This crate holds the storage that group runs on,
//! built on `charter-journal`:
//!
//! - [`types`]: the type configuration ([`TypeConfig`]): node ids are `u64`, a node carries
//!   its cluster address ([`ClusterNode`]), and log entries carry a [`MetadataCommand`].
//! - [`log_store`]: [`LogStore`], openraft's `RaftLogStorage` on a journal: entries, vote and
//!   committed index as journal records, flushed by group commit before openraft is told.
//! - [`state_machine`]: [`StateMachine`], the applied state in memory and its snapshots in
//!   files written atomically.
//! - [`identity`]: `node.properties` (node id, directory incarnation, cluster id) and the
//!   wiped-dir refusal.
//! - [`transport`]: openraft's RPCs over HTTP/JSON (axum server, reqwest client), and the
//!   leader's [`QuorumView`] for operators ([`quorum`]).
//! - [`controller`]: [`Controller`], openraft on its own thread and runtime, bootstrap from a
//!   voters list, `propose` and metrics.
//!
//! `charter serve` runs one [`Controller`] per node (a one-voter cluster without `--voters`).
//! What it does not do yet: carry the real metadata commands (topics, brokers, registry
//! batches), add learners or change membership. The registry crate must never depend on
//! this crate: the registry's command batches will travel through [`MetadataCommand`] as
//! opaque bytes, and the broker wires the two together.

// openraft's traits fix the error type (`StorageError`, ~224 bytes); our helpers return it too.
#![allow(clippy::result_large_err)]

pub mod controller;
pub mod identity;
pub mod log_store;
pub mod quorum;
pub mod state_machine;
pub mod transport;
pub mod types;

pub use controller::{
    Controller, ControllerConfig, ControllerMetrics, ProposeError, Tuning, Voters,
};
pub use identity::{Expect, NodeIdentity};
pub use log_store::{LogStore, LogStoreOptions};
pub use quorum::{QuorumView, VoterView};
pub use state_machine::{AppliedState, Applier, StateMachine};
pub use types::{ClusterNode, MetadataCommand, MetadataResponse, NodeId, TypeConfig};

/// Maps any error into openraft's storage error for the given subject.
pub(crate) fn io_error<E: std::error::Error + 'static>(
    subject: openraft::ErrorSubject<NodeId>,
    verb: openraft::ErrorVerb,
    e: &E,
) -> openraft::StorageError<NodeId> {
    openraft::StorageIOError::new(subject, verb, openraft::AnyError::new(e)).into()
}
