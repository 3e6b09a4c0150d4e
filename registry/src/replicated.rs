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

/// The next schema id once `bytes` (an encoded batch) is applied, as far as the batch alone
/// tells: one past the largest id it creates or raises to (0 when it creates none). The
/// cluster log keeps the largest such number in its watermark, so ids stay retired even if
/// an operator accepts the loss of log entries.
pub fn next_id_after(bytes: &[u8]) -> u64 {
    let Ok(batch) = ReplicatedBatch::decode(bytes) else {
        return 0;
    };
    batch
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::CreateSchema { id, .. } => Some(id.saturating_add(1)),
            Command::RaiseNextId { floor } => Some(*floor),
            _ => None,
        })
        .max()
        .map_or(0, |id| id.max(0) as u64)
}

/// The writers' view in replicated mode: what was applied, as of which batch.
pub(crate) enum Inbound {
    /// A committed batch at this log index.
    Batch(u64, Vec<Command>),
    /// The state was rebuilt from these batches (a snapshot).
    Reset(Vec<(u64, Vec<Command>)>),
}
