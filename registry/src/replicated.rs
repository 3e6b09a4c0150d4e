//! The registry as a state machine of a replicated log.
//!
//! In `charter serve` the registry's command batches go through the cluster controller's
//! log instead of the registry's own journal, so that every node applies the same batches in
//! the same order and schema ids come from one counter. The registry does not know the
//! controller: it defines the log it needs ([`ReplicatedLog`]), the process that runs both
//! implements it, and hands every committed batch back through [`crate::Registry::apply_replicated`].
//!
//! A batch is planned against the state as of the last registry batch this node applied and
//! carries that batch's log index as its precondition ([`ReplicatedBatch::expect`]). Applying
//! it on any node first checks the precondition: if another batch was committed in between
//! (another node wrote, or this one was behind), the batch is rejected everywhere alike and
//! changes nothing, and its writer plans again against the newer state. So ids and versions
//! are decided by the committed order, never by a node's stale view; a batch answered with an
//! unknown outcome and submitted again is rejected the second time, and its writer then finds
//! its write already applied.

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

use crate::state::Command;

/// What a submitted batch became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    /// Its log index.
    pub index: u64,
    /// Why it was rejected at apply time (it then changed nothing).
    pub rejected: Option<String>,
}

/// The replicated log the registry needs.
pub trait ReplicatedLog: Send + Sync + 'static {
    /// Commits one encoded batch, through whichever node leads, and answers once it is
    /// committed and the leader applied it. An error means the outcome is unknown.
    fn submit(
        &self,
        batch: Vec<u8>,
    ) -> Pin<Box<dyn Future<Output = Result<Submitted, String>> + Send + '_>>;
}

/// One registry batch in the replicated log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplicatedBatch {
    /// The log index of the last registry batch the plan saw applied (0: none).
    pub expect: u64,
    pub commands: Vec<Command>,
}

impl ReplicatedBatch {
    pub fn encode(&self) -> Vec<u8> {
        // A Vec of plain enums and strings: serialization cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<ReplicatedBatch, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not a registry batch: {e}"))
    }
}

/// The writers' view in replicated mode: what was applied, as of which batch.
pub(crate) enum Inbound {
    /// A committed batch at this log index.
    Batch(u64, Vec<Command>),
    /// The state was rebuilt from these batches (a snapshot).
    Reset(Vec<(u64, Vec<Command>)>),
}
