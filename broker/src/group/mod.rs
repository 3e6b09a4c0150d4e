//! The group coordinator: consumer group membership (Kafka's classic protocol) and committed
//! offsets.
//!
//! * [`state`] is one group's state machine (join, sync, heartbeat, leave, expiry).
//! * [`offsets`] keeps committed offsets durable in a journal.
//!
//! Each group sits behind its own mutex, held only for in-memory bookkeeping and never across
//! an await: a JoinGroup or SyncGroup that must wait parks on a one-shot channel, so a slow
//! member or a long-polling Fetch elsewhere never delays another member's Heartbeat. One timer
//! ([`Coordinator::drive_deadlines`]) sleeps until the earliest deadline of any group — a
//! session's end, a rebalance timeout — and is re-armed when a join or leave may have brought
//! one forward, so members expire at their deadline to the millisecond without a busy tick; a
//! slower ticker expires offsets of empty groups.
//!
//! Membership is kept in memory: after a broker restart members get UNKNOWN_MEMBER_ID and
//! rejoin, as they do after a Kafka coordinator failover. Committed offsets survive.

pub mod offsets;
pub mod state;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use bytes::Bytes;

pub use offsets::{CommittedOffset, OffsetStore, TopicPartition};
use state::{Group, Step};
pub use state::{GroupState, JoinOutcome, JoinRequest, JoinedMember};

/// Coordinator settings, named after Kafka's broker configs.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// `group.min.session.timeout.ms`.
    pub min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms`.
    pub max_session_timeout_ms: i32,
    /// `group.initial.rebalance.delay.ms`: a new group waits this long for more members.
    pub initial_rebalance_delay: Duration,
    /// `offsets.retention.minutes`, in ms: offsets of an empty group live this long.
    pub offsets_retention_ms: i64,
    /// `offset.metadata.max.bytes`.
    pub max_metadata_bytes: usize,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 1_800_000,
            initial_rebalance_delay: Duration::from_millis(3_000),
            offsets_retention_ms: 7 * 24 * 60 * 60 * 1000,
            max_metadata_bytes: 4096,
        }
    }
}

/// Why a group request failed; [`GroupError::code`] is the one mapping to Kafka error codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    #[error("the coordinator is not available")]
    CoordinatorNotAvailable,
    #[error("unknown member id")]
    UnknownMemberId,
    #[error("illegal generation")]
    IllegalGeneration,
    #[error("the group is rebalancing")]
    RebalanceInProgress,
    #[error("inconsistent group protocol")]
    InconsistentGroupProtocol,
    #[error("invalid group id")]
    InvalidGroupId,
    #[error("session timeout outside the broker's allowed range")]
    InvalidSessionTimeout,
    #[error("rejoin with the member id {0}")]
    MemberIdRequired(String),
    #[error("another member took this group.instance.id")]
    FencedInstanceId,
    #[error("the group is not empty")]
    NonEmptyGroup,
    #[error("the group does not exist")]
    GroupIdNotFound,
    #[error("the group is subscribed to the topic")]
    GroupSubscribedToTopic,
    #[error("offset metadata is too large")]
    OffsetMetadataTooLarge,
    #[error("unknown topic or partition")]
    UnknownTopicOrPartition,
}

impl GroupError {
    /// The Kafka protocol error code.
    pub fn code(&self) -> i16 {
        match self {
            GroupError::OffsetMetadataTooLarge => 12,
            GroupError::CoordinatorNotAvailable => 15,
            GroupError::IllegalGeneration => 22,
            GroupError::InconsistentGroupProtocol => 23,
            GroupError::InvalidGroupId => 24,
            GroupError::UnknownMemberId => 25,
            GroupError::InvalidSessionTimeout => 26,
            GroupError::RebalanceInProgress => 27,
            GroupError::NonEmptyGroup => 68,
            GroupError::GroupIdNotFound => 69,
            GroupError::MemberIdRequired(_) => 79,
            GroupError::FencedInstanceId => 82,
            GroupError::GroupSubscribedToTopic => 86,
            GroupError::UnknownTopicOrPartition => 3,
        }
    }
}

/// A group as ListGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    pub group_id: String,
    pub protocol_type: String,
    pub state: &'static str,
}

/// A group as DescribeGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub state: &'static str,
    pub protocol_type: String,
    /// The chosen protocol (only while Stable, as Kafka).
    pub protocol: String,
    pub members: Vec<MemberDescription>,
}

/// A member as DescribeGroups shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDescription {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub metadata: Bytes,
    pub assignment: Bytes,
}

/// The group coordinator of this broker.
pub struct Coordinator {
    groups: Mutex<HashMap<String, Arc<Mutex<Group>>>>,
    offsets: OffsetStore,
    config: GroupConfig,
    /// Wakes [`Coordinator::drive_deadlines`] to re-arm its timer after a change that may
    /// have brought a deadline forward (heartbeats only push deadlines back: no wake needed).
    deadlines_changed: Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Group operations publish state only at their end; a panic mid-way is a bug we log, and
    // the state stays usable rather than wedging every member of every group.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn wait<T>(step: Step<Result<T, GroupError>>) -> Result<T, GroupError> {
    match step {
        Step::Now(r) => r,
        // A dropped sender means the member was removed while it waited.
        Step::Wait(rx) => rx.await.unwrap_or(Err(GroupError::UnknownMemberId)),
    }
}

impl Coordinator {
    /// A coordinator over the committed offsets in `offsets`.
    pub fn new(offsets: OffsetStore, config: GroupConfig) -> Coordinator {
        Coordinator {
            groups: Mutex::new(HashMap::new()),
            offsets,
            config,
            deadlines_changed: Notify::new(),
        }
    }

    /// The coordinator's settings.
    pub fn config(&self) -> &GroupConfig {
        &self.config
    }

    /// The committed offsets store.
    pub fn offsets(&self) -> &OffsetStore {
        &self.offsets
    }

    fn group(&self, id: &str) -> Option<Arc<Mutex<Group>>> {
        lock(&self.groups).get(id).cloned()
    }

    fn group_or_create(&self, id: &str) -> Arc<Mutex<Group>> {
        lock(&self.groups)
            .entry(id.to_string())
            .or_insert_with(|| Arc::new(Mutex::new(Group::new(id))))
            .clone()
    }

    /// JoinGroup: answers when the rebalance this join is part of completes.
    pub async fn join(&self, req: JoinRequest) -> Result<JoinOutcome, GroupError> {
        if req.group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        if req.session_timeout_ms < self.config.min_session_timeout_ms
            || req.session_timeout_ms > self.config.max_session_timeout_ms
        {
            return Err(GroupError::InvalidSessionTimeout);
        }
        let group = if req.member_id.is_empty() {
            self.group_or_create(&req.group_id)
        } else {
            self.group(&req.group_id)
                .ok_or(GroupError::UnknownMemberId)?
        };
        let step = {
            let mut g = lock(&group);
            let now = Instant::now();
            let step = g.join(req, now, &self.config);
            g.try_complete_join(now);
            step
        };
        self.deadlines_changed.notify_one();
        wait(step).await
    }

    /// SyncGroup: the leader's call stores the assignments; everyone gets their own.
    #[allow(clippy::too_many_arguments)]
    pub async fn sync(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        protocol_type: Option<&str>,
        protocol_name: Option<&str>,
        assignments: Vec<(String, Bytes)>,
    ) -> Result<Bytes, GroupError> {
        let group = self.group(group_id).ok_or(GroupError::UnknownMemberId)?;
        let step = lock(&group).sync(
            member_id,
            instance_id,
            generation,
            protocol_type,
            protocol_name,
            assignments,
            Instant::now(),
        );
        wait(step).await
    }

    /// Heartbeat.
    pub fn heartbeat(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
    ) -> Result<(), GroupError> {
        let group = self.group(group_id).ok_or(GroupError::UnknownMemberId)?;
        let mut g = lock(&group);
        g.heartbeat(member_id, instance_id, generation, Instant::now())
    }

    /// LeaveGroup for each (member id, instance id).
    pub fn leave(
        &self,
        group_id: &str,
        members: &[(String, Option<String>)],
    ) -> Result<Vec<Result<(), GroupError>>, GroupError> {
        let group = self.group(group_id).ok_or(GroupError::UnknownMemberId)?;
        let results = {
            let mut g = lock(&group);
            let now = Instant::now();
            members
                .iter()
                .map(|(m, i)| g.leave(m, i.as_deref(), now, &self.config))
                .collect()
        };
        // A departure starts a rebalance, whose timeout may be the earliest deadline now.
        self.deadlines_changed.notify_one();
        Ok(results)
    }

    /// OffsetCommit: checks membership and generation, then stores the offsets durably.
    /// Per-partition problems (unknown topics, oversized metadata) are the caller's and this
    /// function's `Err` applies to the whole request.
    pub async fn commit(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        offsets: &[(TopicPartition, CommittedOffset)],
    ) -> Result<(), GroupError> {
        if group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        match self.group(group_id) {
            Some(group) => {
                lock(&group).check_commit(member_id, instance_id, generation, Instant::now())?
            }
            // No group: a standalone consumer (generation -1) commits to a new empty group;
            // anything else is from a generation that no longer exists (Kafka's answers).
            None if generation < 0 => Group::new(group_id).check_commit(
                member_id,
                instance_id,
                generation,
                Instant::now(),
            )?,
            None => return Err(GroupError::IllegalGeneration),
        }
        self.offsets.commit(group_id, offsets).await.map_err(|e| {
            tracing::error!(group = group_id, error = %e, "offset commit failed");
            GroupError::CoordinatorNotAvailable
        })
    }

    /// Committed offsets of a group: the given partitions, or all of them.
    pub fn fetch(
        &self,
        group_id: &str,
        partitions: Option<&[TopicPartition]>,
    ) -> Vec<(TopicPartition, Option<CommittedOffset>)> {
        match partitions {
            Some(ps) => ps
                .iter()
                .map(|(t, p)| ((t.clone(), *p), self.offsets.get(group_id, t, *p)))
                .collect(),
            None => self
                .offsets
                .all(group_id)
                .into_iter()
                .map(|(tp, c)| (tp, Some(c)))
                .collect(),
        }
    }

    /// Every group with members or committed offsets.
    pub fn list(&self) -> Vec<GroupListing> {
        let mut out: HashMap<String, GroupListing> = HashMap::new();
        for id in self.offsets.groups() {
            out.insert(
                id.clone(),
                GroupListing {
                    group_id: id,
                    protocol_type: String::new(),
                    state: GroupState::Empty.name(),
                },
            );
        }
        let groups: Vec<Arc<Mutex<Group>>> = lock(&self.groups).values().cloned().collect();
        for group in groups {
            let g = lock(&group);
            if g.is_empty() && !out.contains_key(&g.id) {
                continue;
            }
            out.insert(
                g.id.clone(),
                GroupListing {
                    group_id: g.id.clone(),
                    protocol_type: g.protocol_type.clone().unwrap_or_default(),
                    state: g.state.name(),
                },
            );
        }
        let mut v: Vec<GroupListing> = out.into_values().collect();
        v.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        v
    }

    /// DescribeGroups for one group; unknown groups are `Dead`, as Kafka reports them.
    pub fn describe(&self, group_id: &str) -> GroupDescription {
        let Some(group) = self.group(group_id) else {
            let state = if !self.offsets.has_any(group_id) {
                "Dead"
            } else {
                GroupState::Empty.name()
            };
            return GroupDescription {
                state,
                protocol_type: String::new(),
                protocol: String::new(),
                members: Vec::new(),
            };
        };
        let g = lock(&group);
        let stable = g.state == GroupState::Stable;
        let protocol = if stable {
            g.protocol_name.clone().unwrap_or_default()
        } else {
            String::new()
        };
        GroupDescription {
            state: if g.is_empty() && !self.offsets.has_any(group_id) {
                "Dead"
            } else {
                g.state.name()
            },
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            members: g
                .members
                .values()
                .map(|m| MemberDescription {
                    member_id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: if stable {
                        m.metadata(&protocol)
                    } else {
                        Bytes::new()
                    },
                    assignment: if stable {
                        m.assignment.clone()
                    } else {
                        Bytes::new()
                    },
                })
                .collect(),
            protocol,
        }
    }

    /// The protocol type and member subscriptions' metadata, for OffsetDelete's check.
    pub fn member_metadata(&self, group_id: &str) -> Option<(String, Vec<Bytes>)> {
        let group = self.group(group_id)?;
        let g = lock(&group);
        if g.members.is_empty() {
            return None;
        }
        let protocol = g.protocol_name.clone().unwrap_or_default();
        Some((
            g.protocol_type.clone().unwrap_or_default(),
            g.members.values().map(|m| m.metadata(&protocol)).collect(),
        ))
    }

    /// DeleteGroups for one group: only empty groups, and their offsets with them.
    pub async fn delete(&self, group_id: &str) -> Result<(), GroupError> {
        let known = self.group(group_id);
        if let Some(group) = &known {
            if !lock(group).is_empty() {
                return Err(GroupError::NonEmptyGroup);
            }
        }
        if known.is_none() && !self.offsets.has_any(group_id) {
            return Err(GroupError::GroupIdNotFound);
        }
        lock(&self.groups).remove(group_id);
        self.offsets
            .delete(group_id, None)
            .await
            .map_err(|_| GroupError::CoordinatorNotAvailable)
    }

    /// Whether a group exists (members or offsets).
    pub fn exists(&self, group_id: &str) -> bool {
        self.group(group_id).is_some_and(|g| !lock(&g).is_empty()) || self.offsets.has_any(group_id)
    }

    /// One timer pass: completes rebalances whose deadline passed and expires sessions.
    pub fn run_timers(&self) {
        self.run_timers_at(Instant::now());
    }

    /// A timer pass as of `now`; returns the earliest deadline after it, of any group.
    fn run_timers_at(&self, now: Instant) -> Option<Instant> {
        let groups: Vec<Arc<Mutex<Group>>> = lock(&self.groups).values().cloned().collect();
        let mut next: Option<Instant> = None;
        for group in groups {
            let mut g = lock(&group);
            g.try_complete_join(now);
            g.expire(now, &self.config);
            if let Some(t) = g.next_deadline(now) {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        next
    }

    /// Runs the group timers forever: a pass, then a sleep until the earliest deadline (or
    /// until a join or leave may have brought one forward), then the next pass. A pass and
    /// the deadline after it use the same instant, so nothing due in between is skipped.
    pub async fn drive_deadlines(&self) {
        loop {
            // Registered before the pass, so a change during it is not missed.
            let changed = self.deadlines_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match self.run_timers_at(Instant::now()) {
                Some(deadline) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(deadline) => {}
                        _ = changed => {}
                    }
                }
                None => changed.await,
            }
        }
    }

    /// Deletes offsets of groups that have been empty longer than the retention. Returns how
    /// many offsets went.
    pub async fn expire_offsets(&self, now_ms: i64) -> usize {
        let mut removed = 0;
        for id in self.offsets.groups() {
            let empty_since = match self.group(&id) {
                Some(group) => {
                    let g = lock(&group);
                    if !g.is_empty() {
                        continue;
                    }
                    g.empty_since_ms
                }
                None => i64::MIN,
            };
            // An offset expires when both its commit and the group's emptiness are older than
            // the retention (KIP-211).
            let cutoff = now_ms.saturating_sub(self.config.offsets_retention_ms);
            if empty_since > cutoff {
                continue;
            }
            match self.offsets.expire(&id, cutoff).await {
                Ok(n) => removed += n,
                Err(e) => tracing::warn!(group = %id, error = %e, "offset expiry failed"),
            }
        }
        removed
    }
}

#[cfg(test)]
mod tests;
