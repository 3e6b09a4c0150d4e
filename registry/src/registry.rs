//! The registry's operations: what each REST call does, independent of HTTP.
//!
//! Reads take the state's read lock briefly. Writes are serialised by one async mutex: a write
//! validates against the current state, persists its commands, waits until they are on disk,
//! and only then applies them, so neither readers nor the broker's validator ever see a change
//! that a crash could take back (an id seen must be an id kept), and a 2xx is only ever sent
//! for a durable change.
//!
//! Two backends persist the batches: the registry's own journal (`charter registry`, and
//! tests), or a replicated log (`charter serve`: the cluster controller's, see
//! `replicated.rs`), where a batch becomes visible when the log applies it on this node.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use charter_serde::SchemaType;

use crate::compat::{self, CompatibilityResult, Previous};
use crate::error::RegistryError;
use crate::model::{
    CompatibilityLevel, Config, Mode, SchemaContent, SchemaId, SchemaReference, SchemaTypeRepr,
    Version,
};
use crate::replicated::{Inbound, Pipeline, ReplicatedBatch, ReplicatedLog, Resolved};
use crate::schema::{ParseCache, ParsedSchema};
use crate::state::{Command, State, StoredSchema, VersionEntry};
use crate::store::Store;
use charter_journal::Recovery;

/// The level used when neither the subject nor the registry configures one.
pub const DEFAULT_COMPATIBILITY: CompatibilityLevel = CompatibilityLevel::Backward;
/// Nesting bound for references of references.
const MAX_REFERENCE_DEPTH: usize = 64;

/// A version selector from a URL: a number or `latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSpec {
    Latest,
    Number(Version),
}

impl VersionSpec {
    /// Parses `latest` (any case, trimmed), `-1`, or a version in `[1, 2^31-1]`.
    pub fn parse(s: &str) -> Result<VersionSpec, RegistryError> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("latest") || t == "-1" {
            return Ok(VersionSpec::Latest);
        }
        match t.parse::<i64>() {
            Ok(n) if (1..=i32::MAX as i64).contains(&n) => Ok(VersionSpec::Number(n as Version)),
            _ => Err(RegistryError::InvalidVersion(s.to_string())),
        }
    }

    fn as_i64(self) -> i64 {
        match self {
            VersionSpec::Latest => -1,
            VersionSpec::Number(n) => n as i64,
        }
    }
}

/// A schema as sent to register, look up or check.
#[derive(Debug, Clone, Default)]
pub struct SchemaRequest {
    pub schema: String,
    pub schema_type: SchemaType,
    pub references: Vec<SchemaReference>,
    pub metadata: Option<serde_json::Value>,
    pub rule_set: Option<serde_json::Value>,
    /// Only honoured in IMPORT mode.
    pub id: Option<SchemaId>,
    pub version: Option<Version>,
}

/// One subject-version with its schema, as the API shows it.
#[derive(Debug, Clone)]
pub struct VersionView {
    pub subject: String,
    pub version: Version,
    pub entry: VersionEntry,
    pub schema: Arc<StoredSchema>,
}

/// What a registration produced.
#[derive(Debug, Clone)]
pub struct Registered {
    pub id: SchemaId,
    pub version: Version,
    pub schema: Arc<StoredSchema>,
    pub ts: i64,
}

/// The schema registry.
pub struct Registry {
    /// What readers see: only durable batches.
    state: RwLock<State>,
    backend: Backend,
    /// The writers' state. Journal: every batch appended, durable or not; writers validate
    /// against it under this mutex, so a batch still waiting for its flush is already taken
    /// into account (its id is not handed out twice) while readers cannot see it yet.
    /// Replicated: what this node applied, caught up at each lock.
    writes: tokio::sync::Mutex<Writer>,
    /// Batches appended but not yet applied to `state`, in log order.
    pending: std::sync::Mutex<std::collections::VecDeque<(u64, Vec<Command>)>>,
    parsed: ParseCache,
    cluster_id: String,
    /// The Kafka cluster this registry serves beside, when one does (`charter serve`): its id
    /// is what `/v1/metadata/id` names, as Confluent's registry names its Kafka cluster.
    kafka_cluster_id: std::sync::OnceLock<String>,
}

/// Where batches are persisted.
enum Backend {
    /// The registry's own journal.
    Journal(Store),
    /// A replicated log this registry is one state machine of.
    Replicated(Replication),
}

/// The replicated backend's state.
struct Replication {
    /// Attached once the log runs (it needs this registry as its applier first).
    log: std::sync::OnceLock<Arc<dyn ReplicatedLog>>,
    /// Applied batches the writers' state has not caught up with yet.
    inbound: std::sync::Mutex<std::collections::VecDeque<Inbound>>,
    /// The log index of the last accepted batch (the precondition the next one must carry).
    last_batch: std::sync::Mutex<u64>,
    /// The last registry entry's log index applied here (accepted or rejected).
    applied: tokio::sync::watch::Sender<u64>,
    /// Group commit: the queue writers and the submitter task share.
    pipeline: Arc<Pipeline>,
}

/// The writers' state and, replicated, the batch it reflects.
pub(crate) struct Writer {
    state: State,
    last_batch: u64,
    /// Replicated: commands applied to `state` whose batch has not resolved (or whose
    /// resolution was not folded in yet).
    unconfirmed: usize,
    /// Replicated, as of the last fold: the submitter's (resolved, failed) batch counts and how
    /// many batches were pending (in flight, queued) — what `unconfirmed` rests on.
    folded: (u64, u64, u64),
}

/// How many times a replicated write is planned again after a concurrent change.
const STALE_RETRIES: usize = 20;

/// Runs a write, planning it again while the replicated log rejects it as stale.
macro_rules! retrying {
    ($self:ident . $op:ident ( $($arg:expr),* $(,)? )) => {{
        let mut attempt = 0;
        loop {
            match $self.$op($($arg.clone()),*).await {
                Err(RegistryError::Stale(why)) if attempt < STALE_RETRIES => {
                    attempt += 1;
                    tracing::debug!(attempt, %why, "registry write planned again");
                }
                other => break other,
            }
        }
    }};
}

impl Registry {
    /// Opens the registry stored in `data_dir`, replaying its log.
    pub fn open(data_dir: &Path) -> Result<Registry, RegistryError> {
        Self::open_with(data_dir, Recovery::Strict)
    }

    /// Opens the registry; `recovery` says whether a damaged log is refused (the default) or
    /// its readable prefix kept (the operator's `--accept-damaged-stores`).
    pub fn open_with(data_dir: &Path, recovery: Recovery) -> Result<Registry, RegistryError> {
        let opened = Store::open(data_dir, recovery)?;
        let store = opened.store;
        let replay = || {
            let mut state = State::new();
            for batch in &opened.batches {
                for cmd in batch {
                    state.apply(cmd);
                }
            }
            // Only below the floor after an accepted loss: ids handed out before it stay
            // retired.
            state.raise_next_id(opened.next_id_floor);
            state
        };
        let state = replay();
        if state.next_id() == opened.next_id_floor && opened.accepted_loss.is_some() {
            tracing::warn!(
                next_id = state.next_id(),
                "schema ids continue after the largest ever acknowledged"
            );
        }
        let cluster_id = match opened.meta.iter().rev().find(|(k, _)| k == "cluster-id") {
            Some((_, v)) => v.clone(),
            None => {
                let id = uuid::Uuid::new_v4().simple().to_string();
                store.write_meta_blocking("cluster-id", &id)?;
                id
            }
        };
        tracing::info!(
            batches = opened.batches.len(),
            next_id = state.next_id(),
            "registry opened"
        );
        Ok(Registry {
            writes: tokio::sync::Mutex::new(Writer {
                state: replay(),
                last_batch: 0,
                unconfirmed: 0,
                folded: (0, 0, 0),
            }),
            state: RwLock::new(state),
            pending: Default::default(),
            backend: Backend::Journal(store),
            parsed: ParseCache::default(),
            cluster_id,
            kafka_cluster_id: std::sync::OnceLock::new(),
        })
    }

    /// An empty registry whose batches go through a replicated log: attach the log with
    /// [`Registry::attach_log`] and feed it every committed batch through
    /// [`Registry::apply_replicated`] (and [`Registry::reset_replicated`]).
    pub fn replicated() -> Registry {
        Registry {
            writes: tokio::sync::Mutex::new(Writer {
                state: State::new(),
                last_batch: 0,
                unconfirmed: 0,
                folded: (0, 0, 0),
            }),
            state: RwLock::new(State::new()),
            pending: Default::default(),
            backend: Backend::Replicated(Replication {
                log: std::sync::OnceLock::new(),
                inbound: Default::default(),
                last_batch: std::sync::Mutex::new(0),
                applied: tokio::sync::watch::channel(0).0,
                pipeline: Arc::default(),
            }),
            parsed: ParseCache::default(),
            cluster_id: String::new(),
            kafka_cluster_id: std::sync::OnceLock::new(),
        }
    }

    /// Attaches the replicated log writes go through (once) and starts the task that submits
    /// them. Call it inside a tokio runtime.
    pub fn attach_log(&self, log: Arc<dyn ReplicatedLog>) {
        if let Backend::Replicated(r) = &self.backend {
            if r.log.set(log.clone()).is_err() {
                tracing::warn!("the registry's log was attached twice; keeping the first");
                return;
            }
            tokio::spawn(crate::replicated::submit_loop(
                r.pipeline.clone(),
                log,
                r.applied.subscribe(),
            ));
        }
    }

    /// A committed batch of the replicated log at `index`, in log order. Checks its
    /// precondition against what this registry applied: a batch planned against an older
    /// state is rejected (`Err`) and changes nothing. Deterministic: every node decides alike.
    pub fn apply_replicated(&self, index: u64, bytes: &[u8]) -> Result<(), String> {
        let Backend::Replicated(r) = &self.backend else {
            return Err("this registry keeps its own journal".into());
        };
        let verdict = (|| {
            let batch = ReplicatedBatch::decode(bytes)?;
            let mut last = lock(&r.last_batch);
            if batch.expect != *last {
                return Err(format!(
                    "planned after the batch at index {}, but the registry last changed at {}",
                    batch.expect, *last
                ));
            }
            {
                let mut st = self.state.write().unwrap_or_else(|p| p.into_inner());
                for cmd in &batch.commands {
                    st.apply(cmd);
                }
            }
            *last = index;
            lock(&r.inbound).push_back(Inbound::Batch(index, batch.commands));
            Ok(())
        })();
        r.applied.send_replace(index);
        verdict
    }

    /// Replaces the state with the one these accepted batches build (a snapshot of the
    /// replicated log was loaded or installed).
    pub fn reset_replicated<'a>(&self, batches: impl IntoIterator<Item = (u64, &'a [u8])>) {
        let Backend::Replicated(r) = &self.backend else {
            return;
        };
        let mut decoded = Vec::new();
        for (index, bytes) in batches {
            match ReplicatedBatch::decode(bytes) {
                Ok(b) => decoded.push((index, b.commands)),
                // Accepted batches decoded once already; this cannot happen short of a bug.
                Err(e) => {
                    tracing::error!(index, error = %e, "undecodable registry batch in a snapshot")
                }
            }
        }
        let mut state = State::new();
        for (_, cmds) in &decoded {
            for cmd in cmds {
                state.apply(cmd);
            }
        }
        let last = decoded.last().map_or(0, |(i, _)| *i);
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = state;
        *lock(&r.last_batch) = last;
        lock(&r.inbound).push_back(Inbound::Reset(decoded));
        r.applied.send_if_modified(|i| {
            let moved = *i < last;
            *i = (*i).max(last);
            moved
        });
    }

    /// Moves the standalone registry kept in `data_dir` (its journal, or the sled store of
    /// older releases) into the replicated log, as one batch, and renames the journal to
    /// `registry-journal.imported`. Only into an empty replicated registry: otherwise the
    /// journal is renamed `registry-journal.not-imported` and left for the operator. Returns
    /// how many commands were imported.
    pub async fn import_standalone(
        &self,
        data_dir: &Path,
        recovery: Recovery,
    ) -> Result<Option<usize>, RegistryError> {
        let journal = data_dir.join(crate::store::JOURNAL_DIR);
        if !journal.exists() && !data_dir.join("registry").join("conf").exists() {
            return Ok(None);
        }
        let opened = Store::open(data_dir, recovery)?;
        drop(opened.store);
        let mut commands: Vec<Command> = opened.batches.into_iter().flatten().collect();
        commands.push(Command::RaiseNextId {
            floor: opened.next_id_floor,
        });
        let n = commands.len();
        let w = self.writer().await;
        let outcome = if w.last_batch != 0 || !w.state.is_empty() {
            Err(RegistryError::Stale(
                "the replicated registry is not empty".into(),
            ))
        } else {
            self.commit(w, commands).await
        };
        let rename = |to: &str| {
            std::fs::rename(&journal, data_dir.join(to))
                .map_err(|e| RegistryError::Store(format!("{}: {e}", journal.display())))
        };
        match outcome {
            Ok(()) => {
                rename("registry-journal.imported")?;
                tracing::info!(
                    commands = n,
                    "imported the standalone registry into the cluster's log"
                );
                Ok(Some(n))
            }
            Err(RegistryError::Stale(why)) => {
                rename("registry-journal.not-imported")?;
                tracing::warn!(
                    %why,
                    "this node's standalone registry was not imported: the cluster's registry \
                     already holds data (an earlier start imported it, or another node's came \
                     first); kept as registry-journal.not-imported"
                );
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Makes sure no id below `floor` is handed out from now on (after an operator accepted
    /// the loss of log entries that may have created ids up to it).
    pub async fn raise_next_id(&self, floor: SchemaId) -> Result<(), RegistryError> {
        retrying!(self.raise_next_id_once(floor))
    }

    async fn raise_next_id_once(&self, floor: SchemaId) -> Result<(), RegistryError> {
        let w = self.writer().await;
        if w.state.next_id() >= floor {
            return Ok(());
        }
        self.commit(w, vec![Command::RaiseNextId { floor }]).await
    }

    /// The log index of the last registry batch this node applied (replicated; 0 otherwise).
    pub fn last_applied_batch(&self) -> u64 {
        match &self.backend {
            Backend::Replicated(r) => *lock(&r.last_batch),
            Backend::Journal(_) => 0,
        }
    }

    /// Locks the writers' state, first catching it up with what the replicated log applied:
    /// folds in the batches the submitter resolved; after a failure, waits until nothing is
    /// in flight and rebuilds from the applied state; with nothing unconfirmed, applies what
    /// other nodes wrote.
    async fn writer(&self) -> tokio::sync::MutexGuard<'_, Writer> {
        let mut w = self.writes.lock().await;
        let Backend::Replicated(r) = &self.backend else {
            return w;
        };
        let mut rebuild = false;
        loop {
            let resolved_wake = r.pipeline.resolved.notified();
            tokio::pin!(resolved_wake);
            resolved_wake.as_mut().enable();
            let (outcomes, quiescent) = {
                let mut q = r.pipeline.lock();
                let outcomes: Vec<Resolved> = q.resolved.drain(..).collect();
                let pending = u64::from(q.in_flight) + u64::from(!q.waiters.is_empty());
                w.folded = (q.batches_resolved, q.batches_failed, pending);
                (outcomes, pending == 0)
            };
            for o in outcomes {
                match o {
                    Resolved::Accepted { index, commands } => {
                        w.unconfirmed = w.unconfirmed.saturating_sub(commands);
                        w.last_batch = index;
                        // Our batch is in the inbound (the submitter waited for its apply);
                        // anything else before it means the view is not what we think.
                        let mut inbound = lock(&r.inbound);
                        let (mut ours, mut other) = (false, false);
                        loop {
                            match inbound.front() {
                                Some(Inbound::Batch(i, _)) if *i == index => ours = true,
                                Some(Inbound::Batch(i, _)) if *i < index => other = true,
                                Some(Inbound::Reset(_)) => other = true,
                                _ => break,
                            }
                            inbound.pop_front();
                        }
                        if !ours || other {
                            rebuild = true;
                        }
                    }
                    Resolved::Failed => rebuild = true,
                }
            }
            if rebuild {
                if !quiescent {
                    resolved_wake.await;
                    continue;
                }
                // Nothing in flight: the applied state is the whole truth.
                let last = lock(&r.last_batch);
                w.state = self.state.read().unwrap_or_else(|p| p.into_inner()).clone();
                w.last_batch = *last;
                w.unconfirmed = 0;
                lock(&r.inbound).clear();
                let mut q = r.pipeline.lock();
                q.expect = *last;
                q.poisoned = false;
                break;
            }
            if w.unconfirmed == 0 {
                let inbound: Vec<Inbound> = lock(&r.inbound).drain(..).collect();
                for i in inbound {
                    match i {
                        Inbound::Batch(index, cmds) => {
                            for cmd in &cmds {
                                w.state.apply(cmd);
                            }
                            w.last_batch = index;
                        }
                        Inbound::Reset(batches) => {
                            w.state = State::new();
                            w.last_batch = 0;
                            for (index, cmds) in batches {
                                for cmd in &cmds {
                                    w.state.apply(cmd);
                                }
                                w.last_batch = index;
                            }
                        }
                    }
                }
                r.pipeline.lock().expect = w.last_batch;
            }
            break;
        }
        w
    }

    #[cfg(test)]
    pub(crate) fn store(&self) -> &Store {
        match &self.backend {
            Backend::Journal(s) => s,
            Backend::Replicated(_) => unreachable!("tests of the journal use a journal registry"),
        }
    }

    /// The id `/v1/metadata/id` reports: the Kafka cluster's when the registry serves beside
    /// one, else a stable id of this registry's data.
    pub fn cluster_id(&self) -> &str {
        self.kafka_cluster_id.get().unwrap_or(&self.cluster_id)
    }

    /// Names the Kafka cluster this registry serves beside (set once, at start).
    pub fn set_kafka_cluster_id(&self, id: &str) {
        if self.kafka_cluster_id.set(id.to_string()).is_err() {
            tracing::warn!("the Kafka cluster id was set twice; keeping the first");
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        // `apply` cannot panic half-way through a batch in a way that matters more than
        // refusing every later request would, so a poisoned lock is used as is.
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends a batch and applies it to the writers' state under the write mutex, releases
    /// the mutex, waits until the batch is on disk (sharing the flush with every writer that
    /// appended meanwhile: group commit), then makes every durable batch visible to readers,
    /// in log order. An empty batch still waits: what the writer's answer names may be a
    /// batch of another writer that is not durable yet.
    async fn commit(
        &self,
        ahead: tokio::sync::MutexGuard<'_, Writer>,
        batch: Vec<Command>,
    ) -> Result<(), RegistryError> {
        match &self.backend {
            Backend::Journal(store) => self.commit_journal(store, ahead, batch).await,
            Backend::Replicated(r) => self.commit_replicated(r, ahead, batch).await,
        }
    }

    async fn commit_journal(
        &self,
        store: &Store,
        mut ahead: tokio::sync::MutexGuard<'_, Writer>,
        batch: Vec<Command>,
    ) -> Result<(), RegistryError> {
        if !batch.is_empty() {
            let next_id = batch
                .iter()
                .filter_map(|c| match c {
                    Command::CreateSchema { id, .. } => Some(id.saturating_add(1)),
                    _ => None,
                })
                .fold(ahead.state.next_id(), SchemaId::max);
            let seq = store.append(&batch, next_id)?;
            for cmd in &batch {
                ahead.state.apply(cmd);
            }
            lock(&self.pending).push_back((seq, batch));
        }
        drop(ahead);
        store.sync().await?;
        let durable = store.durable_seq();
        let mut pending = lock(&self.pending);
        if pending.front().is_some_and(|(seq, _)| *seq <= durable) {
            let mut st = self.state.write().unwrap_or_else(|p| p.into_inner());
            while pending.front().is_some_and(|(seq, _)| *seq <= durable) {
                if let Some((_, batch)) = pending.pop_front() {
                    for cmd in &batch {
                        st.apply(cmd);
                    }
                }
            }
        }
        Ok(())
    }

    /// Applies the batch to the writers' state, queues it for the submitter (group commit,
    /// `replicated.rs`) and waits for its batch to commit and apply here. An empty batch is an
    /// answer read off the writers' state: fine when everything in it is applied, otherwise
    /// it may rest on writes in flight, so it waits for them (and plans again if one failed).
    async fn commit_replicated(
        &self,
        r: &Replication,
        mut ahead: tokio::sync::MutexGuard<'_, Writer>,
        batch: Vec<Command>,
    ) -> Result<(), RegistryError> {
        if batch.is_empty() {
            if ahead.unconfirmed == 0 {
                return Ok(());
            }
            // The answer may rest on commands of the batches pending when this writer's state
            // was folded (in flight, queued behind it; nobody queued since: this writer held
            // the lock): wait for them, and it stands if none failed.
            let (resolved, failed, pending) = ahead.folded;
            let target = resolved + pending;
            drop(ahead);
            loop {
                let wake = r.pipeline.resolved.notified();
                tokio::pin!(wake);
                wake.as_mut().enable();
                {
                    let q = r.pipeline.lock();
                    if q.batches_resolved >= target {
                        return if q.batches_failed == failed {
                            Ok(())
                        } else {
                            Err(RegistryError::Stale(
                                "the answer rested on a write that failed".into(),
                            ))
                        };
                    }
                }
                wake.await;
            }
        }
        if r.log.get().is_none() {
            return Err(RegistryError::Store(
                "the registry's log is not running yet".into(),
            ));
        }
        for cmd in &batch {
            ahead.state.apply(cmd);
        }
        ahead.unconfirmed += batch.len();
        let (tx, rx) = tokio::sync::oneshot::channel();
        {
            let mut q = r.pipeline.lock();
            q.commands.extend(batch);
            q.waiters.push(tx);
        }
        r.pipeline.queued.notify_one();
        drop(ahead);
        match rx.await {
            Ok(outcome) => outcome.map(|_| ()),
            Err(_) => Err(RegistryError::Store("the registry's log stopped".into())),
        }
    }

    // ---- schemas by id -----------------------------------------------------------------

    /// `GET /schemas/ids/{id}`.
    pub fn schema_by_id(&self, id: SchemaId) -> Result<Arc<StoredSchema>, RegistryError> {
        self.read()
            .schema(id)
            .cloned()
            .ok_or(RegistryError::SchemaIdNotFound(id as i64))
    }

    /// The largest id allocated so far (`fetchMaxId`).
    pub fn max_id(&self) -> SchemaId {
        self.read().max_id()
    }

    /// `(subject, version, deleted)` triples that use an id, sorted.
    pub fn id_usages(&self, id: SchemaId) -> Result<Vec<(String, Version, bool)>, RegistryError> {
        let st = self.read();
        if st.schema(id).is_none() {
            return Err(RegistryError::SchemaNotFound);
        }
        Ok(st
            .usages(id)
            .map(|(s, v)| {
                let deleted = st
                    .versions(s)
                    .and_then(|vs| vs.get(v))
                    .is_some_and(|e| e.deleted);
                (s.clone(), *v, deleted)
            })
            .collect())
    }

    /// Text of a stored schema in the requested `format`, or its canonical text.
    pub fn formatted(&self, schema: &StoredSchema, format: Option<&str>) -> String {
        if let Some(f) = format {
            if let Ok(p) = self.parsed_stored(schema) {
                if let Some(text) = p.formatted(f) {
                    return text;
                }
            }
        }
        schema.content.schema.clone()
    }

    // ---- subjects and versions ---------------------------------------------------------

    /// `GET /subjects`: names with at least one live version (or any, with `deleted`).
    pub fn subjects(&self, prefix: &str, deleted: bool, deleted_only: bool) -> Vec<String> {
        let st = self.read();
        st.subjects()
            .filter(|(name, _)| name.starts_with(prefix))
            .filter(|(_, vs)| {
                let live = vs.values().any(|v| !v.deleted);
                if deleted_only {
                    !live
                } else {
                    live || deleted
                }
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// `GET /subjects/{s}/versions`.
    pub fn versions(
        &self,
        subject: &str,
        deleted: bool,
        deleted_only: bool,
    ) -> Result<Vec<Version>, RegistryError> {
        let st = self.read();
        let vs = st
            .versions(subject)
            .ok_or_else(|| RegistryError::SubjectNotFound(subject.to_string()))?;
        let out: Vec<Version> = vs
            .iter()
            .filter(|(_, e)| {
                if deleted_only {
                    e.deleted
                } else {
                    deleted || !e.deleted
                }
            })
            .map(|(v, _)| *v)
            .collect();
        if out.is_empty() && !deleted_only {
            return Err(RegistryError::SubjectNotFound(subject.to_string()));
        }
        Ok(out)
    }

    /// `GET /subjects/{s}/versions/{v}`. `latest` is the highest live version even with
    /// `deleted`, as in Confluent.
    pub fn version(
        &self,
        subject: &str,
        spec: VersionSpec,
        deleted: bool,
    ) -> Result<VersionView, RegistryError> {
        let st = self.read();
        view(&st, subject, spec, deleted)
    }

    /// `GET /subjects/{s}/metadata`: the latest version whose metadata properties include
    /// every `(key, value)` of `wanted` (Confluent's `getLatestWithMetadata`; soft-deleted
    /// versions only with `deleted`). No such version is 40403, as in Confluent.
    pub fn latest_with_metadata(
        &self,
        subject: &str,
        wanted: &[(String, String)],
        deleted: bool,
    ) -> Result<VersionView, RegistryError> {
        let st = self.read();
        let vs = live_versions(&st, subject, deleted)?;
        for (v, e) in vs.iter().rev().filter(|(_, e)| deleted || !e.deleted) {
            let Some(schema) = st.schema_any(e.id) else {
                continue;
            };
            let properties = schema
                .content
                .metadata
                .as_ref()
                .and_then(|m| m.get("properties"))
                .and_then(|p| p.as_object());
            let has = |(k, val): &(String, String)| {
                properties
                    .and_then(|p| p.get(k))
                    .and_then(|x| x.as_str())
                    .is_some_and(|x| x == val)
            };
            if wanted.iter().all(has) {
                return Ok(VersionView {
                    subject: subject.to_string(),
                    version: *v,
                    entry: *e,
                    schema: schema.clone(),
                });
            }
        }
        Err(RegistryError::SchemaNotFound)
    }

    /// Every subject-version for `GET /schemas`, sorted by subject then version.
    pub fn all_versions(&self, prefix: &str, deleted: bool, latest_only: bool) -> Vec<VersionView> {
        let st = self.read();
        let mut out = Vec::new();
        for (subject, vs) in st.subjects().filter(|(s, _)| s.starts_with(prefix)) {
            let chosen: Vec<(&Version, &VersionEntry)> = if latest_only {
                vs.iter()
                    .rev()
                    .find(|(_, e)| deleted || !e.deleted)
                    .into_iter()
                    .collect()
            } else {
                vs.iter().filter(|(_, e)| deleted || !e.deleted).collect()
            };
            for (v, e) in chosen {
                if let Some(schema) = st.schema_any(e.id) {
                    out.push(VersionView {
                        subject: subject.clone(),
                        version: *v,
                        entry: *e,
                        schema: schema.clone(),
                    });
                }
            }
        }
        out
    }

    /// `GET /subjects/{s}/versions/{v}/referencedby`.
    pub fn referenced_by(
        &self,
        subject: &str,
        spec: VersionSpec,
        deleted: bool,
    ) -> Result<Vec<SchemaId>, RegistryError> {
        let st = self.read();
        let v = view(&st, subject, spec, true)?;
        let mut ids: Vec<SchemaId> = st
            .referrers(subject, v.version)
            .into_iter()
            .filter(|(_, _, d)| deleted || !d)
            .map(|(id, _, _)| id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }

    /// `POST /subjects/{s}`: the newest version holding this schema.
    pub fn lookup(
        &self,
        subject: &str,
        req: &SchemaRequest,
        normalize: bool,
        deleted: bool,
    ) -> Result<VersionView, RegistryError> {
        let st = self.read();
        let vs = live_versions(&st, subject, deleted)?;
        let normalize = normalize || self.effective_config(&st, subject).normalize == Some(true);
        let (refs, ref_texts) = resolve_references(&st, &req.references)?;
        let parsed = ParsedSchema::parse(req.schema_type, &req.schema, &ref_texts, false)?;
        let canonical = parsed.canonical();
        let normalized = normalize.then(|| parsed.normalized());
        for (v, e) in vs.iter().rev().filter(|(_, e)| deleted || !e.deleted) {
            let Some(stored) = st.schema_any(e.id) else {
                continue;
            };
            let c = &stored.content;
            if c.schema_type.0 != req.schema_type || c.references != refs {
                continue;
            }
            if req.metadata.is_some() && req.metadata != c.metadata {
                continue;
            }
            if req.rule_set.is_some() && req.rule_set != c.rule_set {
                continue;
            }
            let same = c.schema == canonical
                || normalized.as_ref().is_some_and(|n| {
                    *n == c.schema
                        || self
                            .parsed_stored_in(&st, stored)
                            .is_ok_and(|p| p.normalized() == *n)
                });
            if same {
                return Ok(VersionView {
                    subject: subject.to_string(),
                    version: *v,
                    entry: *e,
                    schema: stored.clone(),
                });
            }
        }
        Err(RegistryError::SchemaNotFound)
    }

    // ---- registration ------------------------------------------------------------------

    /// `POST /subjects/{s}/versions`.
    pub async fn register(
        &self,
        subject: &str,
        req: SchemaRequest,
        normalize: bool,
    ) -> Result<Registered, RegistryError> {
        retrying!(self.register_once(subject, req, normalize))
    }

    async fn register_once(
        &self,
        subject: &str,
        mut req: SchemaRequest,
        normalize: bool,
    ) -> Result<Registered, RegistryError> {
        validate_subject(subject)?;
        let w = self.writer().await;
        let (batch, outcome) = 'plan: {
            let st = &w.state;
            let mode = effective_mode(st, subject);
            let normalize = normalize || self.effective_config(st, subject).normalize == Some(true);
            let latest_live = st
                .versions(subject)
                .and_then(|vs| vs.iter().rev().find(|(_, e)| !e.deleted))
                .and_then(|(_, e)| st.schema_any(e.id).cloned());

            // An empty schema updates metadata only: it reuses the latest schema.
            if req.schema.trim().is_empty() {
                let latest = latest_live
                    .as_ref()
                    .ok_or_else(|| RegistryError::InvalidSchema("Empty schema".into()))?;
                req.schema = latest.content.schema.clone();
                req.schema_type = latest.content.schema_type.0;
                req.references = latest.content.references.clone();
            }
            if let Some(latest) = &latest_live {
                if req.metadata.is_none() {
                    req.metadata = latest.content.metadata.clone();
                }
                if req.rule_set.is_none() {
                    req.rule_set = latest.content.rule_set.clone();
                }
            }

            let importing = mode == Mode::Import;
            let (refs, ref_texts) = resolve_references(st, &req.references)?;
            let parsed = ParsedSchema::parse(req.schema_type, &req.schema, &ref_texts, !importing)?;
            let text = if normalize {
                parsed.normalized()
            } else {
                parsed.canonical()
            };
            let content = SchemaContent {
                schema_type: SchemaTypeRepr(req.schema_type),
                schema: text,
                references: refs,
                metadata: req.metadata.clone(),
                rule_set: req.rule_set.clone(),
            };

            // Idempotent: an existing live version with this content is the answer.
            let fp = content.fingerprint();
            if let Some(vs) = st.versions(subject) {
                for (v, e) in vs.iter().rev().filter(|(_, e)| !e.deleted) {
                    if let Some(s) = st.schema_any(e.id) {
                        if s.fingerprint == fp && req.id.is_none_or(|id| id == e.id) {
                            // Visible means durable: nothing to wait for.
                            break 'plan (Vec::new(), (e.id, *v, e.ts));
                        }
                    }
                }
            }

            if mode.is_read_only() {
                return Err(RegistryError::OperationNotPermitted(format!(
                    "Subject {subject} is in read-only mode"
                )));
            }
            if req.id.is_some() && !importing {
                return Err(RegistryError::OperationNotPermitted(format!(
                    "Subject {subject} is not in import mode"
                )));
            }
            if req.id.is_none() && mode != Mode::ReadWrite {
                return Err(RegistryError::OperationNotPermitted(format!(
                    "Subject {subject} is not in read-write mode"
                )));
            }

            let mut batch = Vec::new();
            let id = match req.id {
                Some(id) => {
                    if id < 1 {
                        return Err(RegistryError::Unprocessable(format!(
                            "Invalid schema id {id}"
                        )));
                    }
                    match st.schema_any(id) {
                        Some(existing) if existing.fingerprint != fp => {
                            return Err(RegistryError::OperationNotPermitted(format!(
                                "Overwrite new schema with id {id} in context . is not permitted."
                            )))
                        }
                        Some(_) => id,
                        None => {
                            batch.push(Command::CreateSchema {
                                id,
                                content: content.clone(),
                            });
                            id
                        }
                    }
                }
                None => match st.id_for(&content) {
                    Some(id) => id,
                    None => {
                        let id = st.next_id();
                        batch.push(Command::CreateSchema {
                            id,
                            content: content.clone(),
                        });
                        id
                    }
                },
            };

            if !importing {
                let level = self.effective_level(st, subject);
                let previous = self.live_history(st, subject)?;
                let result = compat::check(
                    level,
                    &parsed,
                    &previous,
                    self.effective_policy(st, subject),
                );
                if !result.is_compatible {
                    return Err(RegistryError::Incompatible {
                        subject: subject.to_string(),
                        messages: result.messages,
                    });
                }
            }

            let versions = st.versions(subject);
            let next_version = versions
                .and_then(|vs| vs.keys().next_back())
                .map_or(1, |v| v + 1);
            let version = match req.version {
                Some(v) if importing => {
                    if v < 1 {
                        return Err(RegistryError::InvalidVersion(v.to_string()));
                    }
                    if let Some(existing) = versions.and_then(|vs| vs.get(&v)) {
                        if existing.id != id {
                            return Err(RegistryError::OperationNotPermitted(format!(
                                "Overwrite new schema with id {id} in context . is not permitted."
                            )));
                        }
                    }
                    v
                }
                Some(v) if v != next_version => {
                    return Err(RegistryError::InvalidSchema(
                        "Version is not one more than previous version".into(),
                    ))
                }
                _ => next_version,
            };

            // Soft-deleted versions of the same schema are superseded by this one.
            if let Some(vs) = versions {
                for (v, _) in vs.iter().filter(|(_, e)| e.deleted && e.id == id) {
                    if st.referrers(subject, *v).is_empty() {
                        batch.push(Command::HardDeleteVersion {
                            subject: subject.to_string(),
                            version: *v,
                        });
                    }
                }
            }
            let ts = now_ms();
            batch.push(Command::AddVersion {
                subject: subject.to_string(),
                version,
                id,
                ts,
            });
            (batch, (id, version, ts))
        };
        self.commit(w, batch).await?;
        let (id, version, ts) = outcome;
        let schema = self
            .read()
            .schema_any(id)
            .cloned()
            .ok_or(RegistryError::SchemaNotFound)?;
        Ok(Registered {
            id,
            version,
            schema,
            ts,
        })
    }

    // ---- compatibility -----------------------------------------------------------------

    /// `POST /compatibility/subjects/{s}/versions[/{v}]`. `version: None` checks against every
    /// version registration would; `Some(v)` against that one version only.
    pub fn check_compatibility(
        &self,
        subject: &str,
        version: Option<VersionSpec>,
        req: &SchemaRequest,
        normalize: bool,
        verbose: bool,
    ) -> Result<CompatibilityResult, RegistryError> {
        let st = self.read();
        let level = self.effective_level(&st, subject);
        let previous = match version {
            None => self.live_history(&st, subject)?,
            Some(spec) => {
                let has_live = st.has_live_versions(subject);
                if spec == VersionSpec::Latest && !has_live {
                    return Ok(CompatibilityResult::compatible());
                }
                let v = view(&st, subject, spec, false).map_err(|e| match e {
                    RegistryError::SubjectNotFound(_) => {
                        RegistryError::VersionNotFound(spec.as_i64())
                    }
                    other => other,
                })?;
                vec![self.previous(&st, v.version, &v.schema)?]
            }
        };
        let parsed = (|| {
            let (_, ref_texts) = resolve_references(&st, &req.references)?;
            let p = ParsedSchema::parse(req.schema_type, &req.schema, &ref_texts, true)?;
            let normalize =
                normalize || self.effective_config(&st, subject).normalize == Some(true);
            Ok::<_, RegistryError>(if normalize {
                // Normalisation changes nothing compatibility looks at; parse its text so the
                // check sees exactly what registration would store.
                ParsedSchema::parse(req.schema_type, &p.normalized(), &ref_texts, false)?
            } else {
                p
            })
        })();
        let parsed = match parsed {
            Ok(p) => p,
            Err(e @ RegistryError::InvalidSchema(_)) if verbose => {
                return Ok(CompatibilityResult {
                    is_compatible: false,
                    messages: vec![e.to_string()],
                })
            }
            Err(e) => return Err(e),
        };
        Ok(compat::check(
            level,
            &parsed,
            &previous,
            self.effective_policy(&st, subject),
        ))
    }

    /// Live versions of a subject, oldest first, parsed.
    fn live_history(&self, st: &State, subject: &str) -> Result<Vec<Previous>, RegistryError> {
        let Some(vs) = st.versions(subject) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (v, e) in vs.iter().filter(|(_, e)| !e.deleted) {
            if let Some(schema) = st.schema_any(e.id) {
                out.push(self.previous(st, *v, schema)?);
            }
        }
        Ok(out)
    }

    fn previous(
        &self,
        st: &State,
        version: Version,
        schema: &StoredSchema,
    ) -> Result<Previous, RegistryError> {
        Ok(Previous {
            version,
            schema: self.parsed_stored_in(st, schema)?,
            text: schema.content.schema.clone(),
        })
    }

    /// The parsed schema for `id` (parsed once, then cached): what the broker validates with.
    pub fn parsed_schema(&self, id: SchemaId) -> Result<Arc<ParsedSchema>, RegistryError> {
        let schema = self.schema_by_id(id)?;
        self.parsed_stored(&schema)
    }

    /// The id of the schema with this GUID (Confluent 8.x header framing).
    pub fn id_for_guid(&self, guid: &str) -> Option<SchemaId> {
        self.read().id_for_guid(guid)
    }

    fn parsed_stored(&self, schema: &StoredSchema) -> Result<Arc<ParsedSchema>, RegistryError> {
        let st = self.read();
        self.parsed_stored_in(&st, schema)
    }

    fn parsed_stored_in(
        &self,
        st: &State,
        schema: &StoredSchema,
    ) -> Result<Arc<ParsedSchema>, RegistryError> {
        self.parsed.get_or_parse(schema.id, || {
            let (_, texts) = resolve_references(st, &schema.content.references)?;
            ParsedSchema::parse(
                schema.content.schema_type.0,
                &schema.content.schema,
                &texts,
                false,
            )
        })
    }

    // ---- deletes -----------------------------------------------------------------------

    /// `DELETE /subjects/{s}/versions/{v}`; returns the deleted version number.
    pub async fn delete_version(
        &self,
        subject: &str,
        spec: VersionSpec,
        permanent: bool,
    ) -> Result<Version, RegistryError> {
        retrying!(self.delete_version_once(subject, spec, permanent))
    }

    async fn delete_version_once(
        &self,
        subject: &str,
        spec: VersionSpec,
        permanent: bool,
    ) -> Result<Version, RegistryError> {
        let w = self.writer().await;
        let (batch, version) = {
            let st = &w.state;
            if st.versions(subject).is_none() {
                return Err(RegistryError::SubjectNotFound(subject.to_string()));
            }
            check_writable(st, subject)?;
            let v = view(st, subject, spec, true)?;
            let mut batch = Vec::new();
            if permanent {
                if !v.entry.deleted {
                    return Err(RegistryError::VersionNotSoftDeleted(
                        subject.into(),
                        v.version,
                    ));
                }
                if !st.referrers(subject, v.version).is_empty() {
                    return Err(RegistryError::Referenced(subject.into(), v.version));
                }
                batch.push(Command::HardDeleteVersion {
                    subject: subject.into(),
                    version: v.version,
                });
                if st.versions(subject).is_some_and(|vs| vs.len() == 1) {
                    batch.push(Command::DeleteConfig {
                        subject: Some(subject.into()),
                    });
                    batch.push(Command::DeleteMode {
                        subject: Some(subject.into()),
                    });
                }
            } else {
                if v.entry.deleted {
                    return Err(RegistryError::VersionSoftDeleted(subject.into(), v.version));
                }
                if st.referrers(subject, v.version).iter().any(|(_, _, d)| !d) {
                    return Err(RegistryError::Referenced(subject.into(), v.version));
                }
                batch.push(Command::SoftDeleteVersion {
                    subject: subject.into(),
                    version: v.version,
                });
            }
            (batch, v.version)
        };
        self.commit(w, batch).await?;
        Ok(version)
    }

    /// `DELETE /subjects/{s}`; returns the deleted version numbers.
    pub async fn delete_subject(
        &self,
        subject: &str,
        permanent: bool,
    ) -> Result<Vec<Version>, RegistryError> {
        retrying!(self.delete_subject_once(subject, permanent))
    }

    async fn delete_subject_once(
        &self,
        subject: &str,
        permanent: bool,
    ) -> Result<Vec<Version>, RegistryError> {
        let w = self.writer().await;
        let (batch, versions) = {
            let st = &w.state;
            let vs = st
                .versions(subject)
                .ok_or_else(|| RegistryError::SubjectNotFound(subject.to_string()))?;
            check_writable(st, subject)?;
            let live: Vec<Version> = vs
                .iter()
                .filter(|(_, e)| !e.deleted)
                .map(|(v, _)| *v)
                .collect();
            // References from inside the subject never block deleting it.
            let referenced = |v: Version, only_live: bool| {
                st.referrers(subject, v)
                    .iter()
                    .any(|(_, s, d)| s != subject && (!only_live || !d))
            };
            let mut batch = Vec::new();
            let versions: Vec<Version>;
            if permanent {
                if !live.is_empty() {
                    return Err(RegistryError::SubjectNotSoftDeleted(subject.into()));
                }
                versions = vs.keys().copied().collect();
                if let Some(v) = versions.iter().find(|v| referenced(**v, false)) {
                    return Err(RegistryError::Referenced(subject.into(), *v));
                }
                for v in &versions {
                    batch.push(Command::HardDeleteVersion {
                        subject: subject.into(),
                        version: *v,
                    });
                }
                batch.push(Command::DeleteConfig {
                    subject: Some(subject.into()),
                });
                batch.push(Command::DeleteMode {
                    subject: Some(subject.into()),
                });
            } else {
                if live.is_empty() {
                    return Err(RegistryError::SubjectSoftDeleted(subject.into()));
                }
                if let Some(v) = live.iter().find(|v| referenced(**v, true)) {
                    return Err(RegistryError::Referenced(subject.into(), *v));
                }
                for v in &live {
                    batch.push(Command::SoftDeleteVersion {
                        subject: subject.into(),
                        version: *v,
                    });
                }
                versions = live;
            }
            (batch, versions)
        };
        self.commit(w, batch).await?;
        Ok(versions)
    }

    // ---- config ------------------------------------------------------------------------

    /// The configuration that applies to `subject`: server default, then global, then subject.
    fn effective_config(&self, st: &State, subject: &str) -> Config {
        let global = self.global_config(st);
        match st.config(Some(subject)) {
            Some(s) => global.merged_with(s),
            None => global,
        }
    }

    /// The JSON Schema `compatibilityPolicy` in force (STRICT unless configured LENIENT).
    fn effective_policy(&self, st: &State, subject: &str) -> compat::json::Policy {
        match self
            .effective_config(st, subject)
            .extras
            .get("compatibilityPolicy")
            .and_then(|v| v.as_str())
        {
            Some(p) if p.eq_ignore_ascii_case("LENIENT") => compat::json::Policy::Lenient,
            _ => compat::json::Policy::Strict,
        }
    }

    fn effective_level(&self, st: &State, subject: &str) -> CompatibilityLevel {
        self.effective_config(st, subject)
            .compatibility
            .unwrap_or(DEFAULT_COMPATIBILITY)
    }

    /// The global config with the server default filled in.
    fn global_config(&self, st: &State) -> Config {
        let default = Config {
            compatibility: Some(DEFAULT_COMPATIBILITY),
            ..Config::default()
        };
        match st.config(None) {
            Some(g) => default.merged_with(g),
            None => default,
        }
    }

    /// `GET /config[/{s}]`. A subject without its own config is a 40408 unless
    /// `default_to_global`.
    pub fn config(
        &self,
        subject: Option<&str>,
        default_to_global: bool,
    ) -> Result<Config, RegistryError> {
        let st = self.read();
        match subject {
            None => Ok(self.global_config(&st)),
            Some(s) => match st.config(Some(s)) {
                Some(_) if default_to_global => Ok(self.effective_config(&st, s)),
                Some(c) => Ok(c.clone()),
                None if default_to_global => Ok(self.global_config(&st)),
                None => Err(RegistryError::SubjectConfigNotFound(s.to_string())),
            },
        }
    }

    /// `PUT /config[/{s}]`: a partial update; returns the stored config.
    pub async fn set_config(
        &self,
        subject: Option<&str>,
        update: Config,
    ) -> Result<Config, RegistryError> {
        retrying!(self.set_config_once(subject, update))
    }

    async fn set_config_once(
        &self,
        subject: Option<&str>,
        update: Config,
    ) -> Result<Config, RegistryError> {
        if let Some(s) = subject {
            validate_subject(s)?;
        }
        let w = self.writer().await;
        let (batch, stored) = {
            let st = &w.state;
            check_writable(st, subject.unwrap_or(""))?;
            let stored = st
                .config(subject)
                .cloned()
                .unwrap_or_default()
                .merged_with(&update);
            (
                vec![Command::SetConfig {
                    subject: subject.map(str::to_string),
                    config: stored.clone(),
                }],
                stored,
            )
        };
        self.commit(w, batch).await?;
        Ok(stored)
    }

    /// `DELETE /config[/{s}]`: returns the config that was removed.
    pub async fn delete_config(&self, subject: Option<&str>) -> Result<Config, RegistryError> {
        retrying!(self.delete_config_once(subject))
    }

    async fn delete_config_once(&self, subject: Option<&str>) -> Result<Config, RegistryError> {
        let w = self.writer().await;
        let (batch, previous) = {
            let st = &w.state;
            check_writable(st, subject.unwrap_or(""))?;
            let previous = match subject {
                None => self.global_config(st),
                Some(s) => st
                    .config(Some(s))
                    .cloned()
                    .ok_or_else(|| RegistryError::SubjectNotFound(s.to_string()))?,
            };
            (
                vec![Command::DeleteConfig {
                    subject: subject.map(str::to_string),
                }],
                previous,
            )
        };
        self.commit(w, batch).await?;
        Ok(previous)
    }

    // ---- mode --------------------------------------------------------------------------

    /// `GET /mode[/{s}]`.
    pub fn mode(
        &self,
        subject: Option<&str>,
        default_to_global: bool,
    ) -> Result<Mode, RegistryError> {
        let st = self.read();
        match subject {
            None => Ok(st.mode(None).unwrap_or(Mode::ReadWrite)),
            Some(s) => match st.mode(Some(s)) {
                Some(m) => Ok(m),
                None if default_to_global => Ok(st.mode(None).unwrap_or(Mode::ReadWrite)),
                None => Err(RegistryError::SubjectModeNotFound(s.to_string())),
            },
        }
    }

    /// `PUT /mode[/{s}]`. Switching to IMPORT where live schemas exist needs `force`.
    pub async fn set_mode(
        &self,
        subject: Option<&str>,
        mode: Mode,
        force: bool,
    ) -> Result<Mode, RegistryError> {
        retrying!(self.set_mode_once(subject, mode, force))
    }

    async fn set_mode_once(
        &self,
        subject: Option<&str>,
        mode: Mode,
        force: bool,
    ) -> Result<Mode, RegistryError> {
        if let Some(s) = subject {
            validate_subject(s)?;
        }
        let w = self.writer().await;
        let batch = {
            let st = &w.state;
            if mode == Mode::Import && !force {
                let non_empty = match subject {
                    None => st.subjects().any(|(_, vs)| vs.values().any(|e| !e.deleted)),
                    Some(s) => st.has_live_versions(s),
                };
                if non_empty {
                    return Err(RegistryError::OperationNotPermitted(
                        "Cannot import since found existing subjects".into(),
                    ));
                }
            }
            vec![Command::SetMode {
                subject: subject.map(str::to_string),
                mode,
            }]
        };
        self.commit(w, batch).await?;
        Ok(mode)
    }

    /// `DELETE /mode[/{s}]`: returns the mode that was removed.
    pub async fn delete_mode(&self, subject: Option<&str>) -> Result<Mode, RegistryError> {
        retrying!(self.delete_mode_once(subject))
    }

    async fn delete_mode_once(&self, subject: Option<&str>) -> Result<Mode, RegistryError> {
        let w = self.writer().await;
        let (batch, previous) = {
            let st = &w.state;
            let previous = match subject {
                None => st.mode(None).unwrap_or(Mode::ReadWrite),
                Some(s) => st
                    .mode(Some(s))
                    .ok_or_else(|| RegistryError::SubjectNotFound(s.to_string()))?,
            };
            (
                vec![Command::DeleteMode {
                    subject: subject.map(str::to_string),
                }],
                previous,
            )
        };
        self.commit(w, batch).await?;
        Ok(previous)
    }
}

/// Resolves one subject-version for reading.
/// A subject's versions, when it has a live one (or any, with `deleted`); else 40401.
fn live_versions<'s>(
    st: &'s State,
    subject: &str,
    deleted: bool,
) -> Result<&'s BTreeMap<Version, VersionEntry>, RegistryError> {
    st.versions(subject)
        .filter(|vs| deleted || vs.values().any(|e| !e.deleted))
        .ok_or_else(|| RegistryError::SubjectNotFound(subject.to_string()))
}

fn view(
    st: &State,
    subject: &str,
    spec: VersionSpec,
    deleted: bool,
) -> Result<VersionView, RegistryError> {
    let vs = live_versions(st, subject, deleted)?;
    let (v, e) = match spec {
        VersionSpec::Latest => vs
            .iter()
            .rev()
            .find(|(_, e)| !e.deleted)
            .ok_or(RegistryError::VersionNotFound(-1))?,
        VersionSpec::Number(n) => vs
            .get_key_value(&n)
            .filter(|(_, e)| deleted || !e.deleted)
            .ok_or(RegistryError::VersionNotFound(n as i64))?,
    };
    let schema = st
        .schema_any(e.id)
        .cloned()
        .ok_or(RegistryError::SchemaIdNotFound(e.id as i64))?;
    Ok(VersionView {
        subject: subject.to_string(),
        version: *v,
        entry: *e,
        schema,
    })
}

/// The mode in force for a subject: its own, else the global one, else READWRITE.
fn effective_mode(st: &State, subject: &str) -> Mode {
    st.mode(Some(subject))
        .or_else(|| st.mode(None))
        .unwrap_or(Mode::ReadWrite)
}

fn check_writable(st: &State, subject: &str) -> Result<(), RegistryError> {
    if effective_mode(st, subject).is_read_only() {
        return Err(RegistryError::OperationNotPermitted(format!(
            "Subject {subject} is in read-only mode"
        )));
    }
    Ok(())
}

/// Subjects Confluent refuses: control characters and reserved names.
fn validate_subject(subject: &str) -> Result<(), RegistryError> {
    let bad = subject.is_empty()
        || subject == "__GLOBAL"
        || subject == "__EMPTY"
        || subject.chars().any(char::is_control);
    if bad {
        return Err(RegistryError::InvalidSubject(subject.to_string()));
    }
    Ok(())
}

/// References made concrete, with `(name, text)` of every schema they pull in.
type ResolvedReferences = (Vec<SchemaReference>, Vec<(String, String)>);

/// Resolves references to concrete versions and returns them with `(name, text)` of every
/// schema they pull in, dependencies first (each once).
fn resolve_references(
    st: &State,
    refs: &[SchemaReference],
) -> Result<ResolvedReferences, RegistryError> {
    let mut concrete = Vec::with_capacity(refs.len());
    let mut texts = Vec::new();
    let mut seen = HashSet::new();
    for r in refs {
        let v = resolve_one(st, r)?;
        collect_texts(st, &r.name, &v, &mut seen, &mut texts, 0)?;
        concrete.push(SchemaReference {
            name: r.name.clone(),
            subject: r.subject.clone(),
            version: v.version,
        });
    }
    Ok((concrete, texts))
}

fn resolve_one(st: &State, r: &SchemaReference) -> Result<VersionView, RegistryError> {
    let spec = if r.version == -1 {
        VersionSpec::Latest
    } else if r.version >= 1 {
        VersionSpec::Number(r.version)
    } else {
        return Err(missing_reference(r));
    };
    view(st, &r.subject, spec, true).map_err(|_| missing_reference(r))
}

fn missing_reference(r: &SchemaReference) -> RegistryError {
    RegistryError::InvalidSchema(format!(
        "Invalid schema: No schema reference found for subject \"{}\" and version {}",
        r.subject, r.version
    ))
}

fn collect_texts(
    st: &State,
    name: &str,
    v: &VersionView,
    seen: &mut HashSet<(String, Version)>,
    texts: &mut Vec<(String, String)>,
    depth: usize,
) -> Result<(), RegistryError> {
    if depth > MAX_REFERENCE_DEPTH {
        return Err(RegistryError::InvalidSchema(
            "Invalid schema: references are nested too deeply".into(),
        ));
    }
    if !seen.insert((v.subject.clone(), v.version)) {
        return Ok(());
    }
    for r in &v.schema.content.references {
        let dep = resolve_one(st, r)?;
        collect_texts(st, &r.name, &dep, seen, texts, depth + 1)?;
    }
    texts.push((name.to_string(), v.schema.content.schema.clone()));
    Ok(())
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
