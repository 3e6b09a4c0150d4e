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
//!
//! Group commit ([`Pipeline`]): writers plan against an optimistic writers' state (what this
//! node applied plus every write queued or in flight), queue their commands and wait. One
//! submitter task sends everything queued as one batch whose precondition is the index of the
//! batch before it — known, because only one batch is in flight at a time. So N concurrent
//! writers share one commit. When a batch fails (rejected, or its outcome unknown) everything
//! queued behind it was planned on top of it and fails too; the writers' state is rebuilt from
//! the applied state only once nothing is in flight, so no batch can ever be planned without a
//! predecessor that might still commit.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{oneshot, watch, Notify};

use crate::error::RegistryError;
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

/// One resolved batch, for the writers' state to fold in (in order).
pub(crate) enum Resolved {
    /// Accepted at `index`; it held `commands` commands.
    Accepted { index: u64, commands: usize },
    /// Rejected or of unknown outcome: the writers' state must be rebuilt.
    Failed,
}

/// What the writers and the submitter share.
#[derive(Default)]
pub(crate) struct Queue {
    /// Commands planned and applied to the writers' state, not yet submitted.
    pub commands: Vec<Command>,
    pub waiters: Vec<oneshot::Sender<Result<u64, RegistryError>>>,
    pub in_flight: bool,
    /// The precondition of the next batch: the last accepted batch's index.
    pub expect: u64,
    pub resolved: VecDeque<Resolved>,
    /// A batch failed: what is queued behind it fails unsubmitted until the writers rebuild.
    pub poisoned: bool,
    /// Batches resolved, and of those failed, since the start (a writer whose answer rests on
    /// batches in flight waits for them by these counts).
    pub batches_resolved: u64,
    pub batches_failed: u64,
}

/// The replicated backend's group commit (module docs).
#[derive(Default)]
pub(crate) struct Pipeline {
    pub queue: Mutex<Queue>,
    /// Wakes the submitter.
    pub queued: Notify,
    /// Wakes writers waiting for the in-flight batch to resolve.
    pub resolved: Notify,
}

impl Pipeline {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How long the submitter waits for this node to apply what the leader committed.
const APPLY_WAIT: Duration = Duration::from_secs(10);

/// The submitter: one batch in flight at a time, everything queued meanwhile in the next.
/// Runs in a task of its own, so a client that disconnects cannot abandon a batch half-way.
pub(crate) async fn submit_loop(
    pipeline: Arc<Pipeline>,
    log: Arc<dyn ReplicatedLog>,
    mut applied: watch::Receiver<u64>,
) {
    loop {
        let queued = pipeline.queued.notified();
        tokio::pin!(queued);
        queued.as_mut().enable();
        let taken = {
            let mut q = pipeline.lock();
            if q.waiters.is_empty() {
                None
            } else {
                q.in_flight = true;
                Some((
                    std::mem::take(&mut q.commands),
                    std::mem::take(&mut q.waiters),
                    q.expect,
                    q.poisoned,
                ))
            }
        };
        let Some((commands, waiters, expect, poisoned)) = taken else {
            queued.await;
            continue;
        };
        let n = commands.len();
        let outcome = if poisoned {
            Err(RegistryError::Stale(
                "a write planned before this one failed".into(),
            ))
        } else {
            submit(&*log, &mut applied, ReplicatedBatch { expect, commands }).await
        };
        {
            let mut q = pipeline.lock();
            q.in_flight = false;
            q.batches_resolved += 1;
            match &outcome {
                Ok(index) => {
                    q.expect = *index;
                    q.resolved.push_back(Resolved::Accepted {
                        index: *index,
                        commands: n,
                    });
                }
                Err(_) => {
                    q.poisoned = true;
                    q.batches_failed += 1;
                    q.resolved.push_back(Resolved::Failed);
                }
            }
        }
        for w in waiters {
            let _ = w.send(outcome.clone());
        }
        pipeline.resolved.notify_waiters();
    }
}

/// Submits one batch and waits until this node applied it (or its rejection): its writers
/// then read their writes here, and planning again sees at least what rejected it.
async fn submit(
    log: &dyn ReplicatedLog,
    applied: &mut watch::Receiver<u64>,
    batch: ReplicatedBatch,
) -> Result<u64, RegistryError> {
    let submitted = log
        .submit(batch.encode())
        .await
        .map_err(|e| RegistryError::Store(format!("the write's outcome is unknown: {e}")))?;
    let caught_up =
        tokio::time::timeout(APPLY_WAIT, applied.wait_for(|&i| i >= submitted.index)).await;
    if !matches!(caught_up, Ok(Ok(_))) {
        return Err(RegistryError::Store(format!(
            "committed at index {}, but not applied on this node within {APPLY_WAIT:?}",
            submitted.index
        )));
    }
    match submitted.rejected {
        None => Ok(submitted.index),
        Some(why) => Err(RegistryError::Stale(why)),
    }
}

/// The writers' view in replicated mode: what was applied, as of which batch.
pub(crate) enum Inbound {
    /// A committed batch at this log index.
    Batch(u64, Vec<Command>),
    /// The state was rebuilt from these batches (a snapshot).
    Reset(Vec<(u64, Vec<Command>)>),
}
