//! One consumer group's membership state machine: Kafka's classic rebalance protocol.
//!
//! ```text
//!            join                    all rejoined / rebalance timeout      leader's SyncGroup
//!   Empty ─────────▶ PreparingRebalance ─────────────────▶ CompletingRebalance ───────▶ Stable
//!     ▲                   ▲   │ no member left                   │  join, leave, expiry   │
//!     └───────────────────┼───┘                                  ▼                        │
//!                         └────────────── join (new member or leader), leave, expiry ◀────┘
//! ```
//!
//! Everything here is synchronous and IO-free; the [`super::Coordinator`] holds each group
//! behind a mutex, drives timeouts with a timer armed at the earliest [`Group::next_deadline`],
//! and parks JoinGroup and SyncGroup callers on the one-shot channels stored in their
//! [`Member`].

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

// tokio's clock: the same instants the deadline timer sleeps until (and that tests can pause).
use tokio::time::Instant;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::{GroupConfig, GroupError};

/// Kafka's group states, with the names DescribeGroups and ListGroups use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
}

impl GroupState {
    /// The name Kafka reports.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
        }
    }
}

/// What a JoinGroup caller is told when its rebalance completes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinOutcome {
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    pub member_id: String,
    /// Every member with its metadata for the chosen protocol; only the leader gets it.
    pub members: Vec<JoinedMember>,
}

/// A member as the leader sees it in the JoinGroup response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinedMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub metadata: Bytes,
}

/// A JoinGroup request in the coordinator's terms.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    pub group_id: String,
    /// Empty for a member joining for the first time.
    pub member_id: String,
    /// `group.instance.id`: static membership (KIP-345).
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    /// (name, metadata) in the member's order of preference.
    pub protocols: Vec<(String, Bytes)>,
    /// JoinGroup v4+: a new member is handed an id and must rejoin with it (KIP-394).
    pub require_known_member_id: bool,
}

pub type JoinReply = Result<JoinOutcome, GroupError>;
pub type SyncReply = Result<Bytes, GroupError>;

/// Either an answer now, or a channel the answer will arrive on.
pub enum Step<T> {
    Now(T),
    Wait(oneshot::Receiver<T>),
}

/// One member of a group.
#[derive(Debug)]
pub struct Member {
    pub id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    /// The assignment the leader gave this member in the current generation.
    pub assignment: Bytes,
    last_heartbeat: Instant,
    join_waiter: Option<oneshot::Sender<JoinReply>>,
    sync_waiter: Option<oneshot::Sender<SyncReply>>,
}

impl Member {
    /// Metadata this member sent for `protocol`.
    pub fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(n, _)| n == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    fn fail_waiters(&mut self, error: GroupError) {
        if let Some(w) = self.join_waiter.take() {
            let _ = w.send(Err(error.clone()));
        }
        if let Some(w) = self.sync_waiter.take() {
            let _ = w.send(Err(error));
        }
    }
}

/// A consumer group.
#[derive(Debug)]
pub struct Group {
    pub id: String,
    pub state: GroupState,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: Option<String>,
    /// Members by id, in join order (the first member leads when the leader left).
    pub members: BTreeMap<u64, Member>,
    next_seq: u64,
    /// `group.instance.id` → member id of static members.
    static_members: HashMap<String, String>,
    /// Ids handed out with MEMBER_ID_REQUIRED, valid until their deadline (KIP-394).
    pending: HashMap<String, Instant>,
    rebalance_deadline: Option<Instant>,
    /// The initial rebalance delay: a new group waits this long for more members.
    earliest_completion: Option<Instant>,
    /// When the group last became empty (ms since the epoch), for offset retention.
    pub empty_since_ms: i64,
}

fn fresh_member_id(client_id: &str) -> String {
    format!("{client_id}-{}", uuid::Uuid::new_v4())
}

impl Group {
    pub fn new(id: &str) -> Group {
        Group {
            id: id.to_string(),
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol_name: None,
            leader: None,
            members: BTreeMap::new(),
            next_seq: 0,
            static_members: HashMap::new(),
            pending: HashMap::new(),
            rebalance_deadline: None,
            earliest_completion: None,
            empty_since_ms: crate::log::partition::now_ms(),
        }
    }

    fn seq_of(&self, member_id: &str) -> Option<u64> {
        self.members
            .iter()
            .find(|(_, m)| m.id == member_id)
            .map(|(s, _)| *s)
    }

    /// The member with `member_id`.
    pub fn member(&self, member_id: &str) -> Option<&Member> {
        self.members.values().find(|m| m.id == member_id)
    }

    fn member_mut(&mut self, member_id: &str) -> Option<&mut Member> {
        self.members.values_mut().find(|m| m.id == member_id)
    }

    fn is_leader(&self, member_id: &str) -> bool {
        self.leader.as_deref() == Some(member_id)
    }

    /// Protocols every member supports.
    fn candidate_protocols(&self) -> Vec<String> {
        let mut members = self.members.values();
        let Some(first) = members.next() else {
            return Vec::new();
        };
        let mut names: Vec<String> = first.protocols.iter().map(|(n, _)| n.clone()).collect();
        for m in members {
            names.retain(|n| m.protocols.iter().any(|(p, _)| p == n));
        }
        names
    }

    fn supports(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && self
                .candidate_protocols()
                .iter()
                .any(|c| protocols.iter().any(|(p, _)| p == c))
    }

    /// Kafka's vote: each member votes for its most preferred protocol among those every
    /// member supports; the most votes wins (ties go to the earlier candidate).
    fn select_protocol(&self) -> Option<String> {
        let candidates = self.candidate_protocols();
        let mut votes = vec![0usize; candidates.len()];
        for m in self.members.values() {
            if let Some(i) = m
                .protocols
                .iter()
                .find_map(|(p, _)| candidates.iter().position(|c| c == p))
            {
                votes[i] += 1;
            }
        }
        let best = votes.iter().copied().max()?;
        let i = votes.iter().position(|&v| v == best)?;
        candidates.get(i).cloned()
    }

    /// Checks that `member_id` (and, for static members, `instance_id`) is a current member.
    fn check_member(&self, member_id: &str, instance_id: Option<&str>) -> Result<(), GroupError> {
        if let Some(inst) = instance_id {
            match self.static_members.get(inst) {
                Some(current) if current != member_id => return Err(GroupError::FencedInstanceId),
                _ => {}
            }
        }
        if self.member(member_id).is_none() {
            return Err(GroupError::UnknownMemberId);
        }
        Ok(())
    }

    fn outcome_for(&self, member_id: &str, with_members: bool) -> JoinOutcome {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        JoinOutcome {
            generation: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            member_id: member_id.to_string(),
            members: if with_members {
                self.members
                    .values()
                    .map(|m| JoinedMember {
                        member_id: m.id.clone(),
                        instance_id: m.instance_id.clone(),
                        metadata: m.metadata(&protocol),
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    /// Handles a JoinGroup. The caller then runs [`Group::try_complete_join`].
    pub fn join(&mut self, req: JoinRequest, now: Instant, cfg: &GroupConfig) -> Step<JoinReply> {
        if !self.supports(&req.protocol_type, &req.protocols) {
            return Step::Now(Err(GroupError::InconsistentGroupProtocol));
        }
        if req.member_id.is_empty() {
            if let Some(inst) = req.instance_id.clone() {
                if let Some(old_id) = self.static_members.get(&inst).cloned() {
                    return self.rejoin_static(&old_id, req, now, cfg);
                }
                let id = fresh_member_id(&req.client_id);
                self.static_members.insert(inst, id.clone());
                return self.add_member(id, req, now, cfg);
            }
            let id = fresh_member_id(&req.client_id);
            if req.require_known_member_id {
                let session = Duration::from_millis(req.session_timeout_ms.max(0) as u64);
                self.pending.insert(id.clone(), now + session);
                return Step::Now(Err(GroupError::MemberIdRequired(id)));
            }
            return self.add_member(id, req, now, cfg);
        }
        if self.pending.remove(&req.member_id).is_some() {
            let id = req.member_id.clone();
            return self.add_member(id, req, now, cfg);
        }
        if let Err(e) = self.check_member(&req.member_id, req.instance_id.as_deref()) {
            return Step::Now(Err(e));
        }
        let leader = self.is_leader(&req.member_id);
        let state = self.state;
        let Some(member) = self.member_mut(&req.member_id) else {
            return Step::Now(Err(GroupError::UnknownMemberId));
        };
        let unchanged = member.protocols == req.protocols;
        member.last_heartbeat = now;
        match state {
            GroupState::CompletingRebalance if unchanged => {
                let outcome = self.outcome_for(&req.member_id, leader);
                Step::Now(Ok(outcome))
            }
            GroupState::Stable if unchanged && !leader => {
                Step::Now(Ok(self.outcome_for(&req.member_id, false)))
            }
            GroupState::Empty => Step::Now(Err(GroupError::UnknownMemberId)),
            _ => {
                member.protocols = req.protocols;
                member.session_timeout = timeout(req.session_timeout_ms);
                member.rebalance_timeout = timeout(req.rebalance_timeout_ms);
                let (tx, rx) = oneshot::channel();
                if let Some(old) = member.join_waiter.replace(tx) {
                    let _ = old.send(Err(GroupError::UnknownMemberId));
                }
                if state != GroupState::PreparingRebalance {
                    self.prepare_rebalance(now, cfg);
                }
                Step::Wait(rx)
            }
        }
    }

    fn add_member(
        &mut self,
        id: String,
        req: JoinRequest,
        now: Instant,
        cfg: &GroupConfig,
    ) -> Step<JoinReply> {
        let (tx, rx) = oneshot::channel();
        if self.members.is_empty() {
            self.protocol_type = Some(req.protocol_type.clone());
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.members.insert(
            seq,
            Member {
                id,
                instance_id: req.instance_id,
                client_id: req.client_id,
                client_host: req.client_host,
                session_timeout: timeout(req.session_timeout_ms),
                rebalance_timeout: timeout(req.rebalance_timeout_ms),
                protocol_type: req.protocol_type,
                protocols: req.protocols,
                assignment: Bytes::new(),
                last_heartbeat: now,
                join_waiter: Some(tx),
                sync_waiter: None,
            },
        );
        if self.state != GroupState::PreparingRebalance {
            self.prepare_rebalance(now, cfg);
        }
        Step::Wait(rx)
    }

    /// A static member came back with a new process: it takes over its old member's place
    /// (and assignment). A stable group whose protocol would not change does not rebalance.
    fn rejoin_static(
        &mut self,
        old_id: &str,
        req: JoinRequest,
        now: Instant,
        cfg: &GroupConfig,
    ) -> Step<JoinReply> {
        let Some(seq) = self.seq_of(old_id) else {
            // The static member was removed (session expired); join as new.
            let id = fresh_member_id(&req.client_id);
            if let Some(inst) = &req.instance_id {
                self.static_members.insert(inst.clone(), id.clone());
            }
            return self.add_member(id, req, now, cfg);
        };
        let new_id = fresh_member_id(&req.client_id);
        let old_leader = self.leader.clone().unwrap_or_default();
        let Some(member) = self.members.get_mut(&seq) else {
            return Step::Now(Err(GroupError::UnknownMemberId));
        };
        member.fail_waiters(GroupError::FencedInstanceId);
        member.id = new_id.clone();
        member.client_id = req.client_id.clone();
        member.client_host = req.client_host.clone();
        member.last_heartbeat = now;
        let unchanged = member.protocols == req.protocols;
        if let Some(inst) = &req.instance_id {
            self.static_members.insert(inst.clone(), new_id.clone());
        }
        if self.leader.as_deref() == Some(old_id) {
            self.leader = Some(new_id.clone());
        }
        match self.state {
            GroupState::Stable if unchanged => {
                // Answer with the old leader id so the rejoined member does not assign
                // partitions that a stable group would never hand out (Kafka does the same).
                let mut outcome = self.outcome_for(&new_id, false);
                outcome.leader = old_leader;
                Step::Now(Ok(outcome))
            }
            _ => {
                let Some(member) = self.members.get_mut(&seq) else {
                    return Step::Now(Err(GroupError::UnknownMemberId));
                };
                member.protocols = req.protocols;
                let (tx, rx) = oneshot::channel();
                member.join_waiter = Some(tx);
                if self.state != GroupState::PreparingRebalance {
                    self.prepare_rebalance(now, cfg);
                }
                Step::Wait(rx)
            }
        }
    }

    fn prepare_rebalance(&mut self, now: Instant, cfg: &GroupConfig) {
        if self.state == GroupState::CompletingRebalance {
            // Followers waiting for an assignment that will never come must rejoin.
            for m in self.members.values_mut() {
                if let Some(w) = m.sync_waiter.take() {
                    let _ = w.send(Err(GroupError::RebalanceInProgress));
                }
            }
        }
        let rebalance_timeout = self
            .members
            .values()
            .map(|m| m.rebalance_timeout)
            .max()
            .unwrap_or_default();
        self.earliest_completion = Some(if self.state == GroupState::Empty {
            now + cfg.initial_rebalance_delay.min(rebalance_timeout)
        } else {
            now
        });
        self.rebalance_deadline = Some(now + rebalance_timeout);
        self.state = GroupState::PreparingRebalance;
    }

    /// Ends the join phase when every member has rejoined (after the initial delay) or the
    /// rebalance timeout passed: members that did not rejoin are dropped, a new generation
    /// starts and every waiting JoinGroup is answered.
    pub fn try_complete_join(&mut self, now: Instant) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        let all_joined = self.members.values().all(|m| m.join_waiter.is_some())
            && self.pending.values().all(|&deadline| deadline <= now);
        let timed_out = self.rebalance_deadline.is_none_or(|d| now >= d);
        let delay_over = self.earliest_completion.is_none_or(|e| now >= e);
        if !(timed_out || (all_joined && delay_over)) {
            return;
        }
        let gone: Vec<u64> = self
            .members
            .iter()
            .filter(|(_, m)| m.join_waiter.is_none())
            .map(|(s, _)| *s)
            .collect();
        for seq in gone {
            self.remove(seq, GroupError::UnknownMemberId);
        }
        self.rebalance_deadline = None;
        self.earliest_completion = None;
        self.generation = self.generation.wrapping_add(1);
        if self.members.is_empty() {
            // Kafka keeps the protocol type of an empty group (it is still a `consumer` group,
            // not a "simple" one); only the chosen protocol goes.
            self.state = GroupState::Empty;
            self.protocol_name = None;
            self.leader = None;
            self.empty_since_ms = crate::log::partition::now_ms();
            return;
        }
        self.protocol_name = self.select_protocol();
        if self
            .leader
            .as_ref()
            .is_none_or(|l| self.member(l).is_none())
        {
            self.leader = self.members.values().next().map(|m| m.id.clone());
        }
        self.state = GroupState::CompletingRebalance;
        let ids: Vec<String> = self.members.values().map(|m| m.id.clone()).collect();
        for id in ids {
            let outcome = self.outcome_for(&id, self.is_leader(&id));
            if let Some(m) = self.member_mut(&id) {
                m.last_heartbeat = now;
                m.assignment = Bytes::new();
                if let Some(w) = m.join_waiter.take() {
                    let _ = w.send(Ok(outcome));
                }
            }
        }
    }

    /// Handles a SyncGroup: the leader's assignments are stored and handed to every member.
    #[allow(clippy::too_many_arguments)]
    pub fn sync(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        protocol_type: Option<&str>,
        protocol_name: Option<&str>,
        assignments: Vec<(String, Bytes)>,
        now: Instant,
    ) -> Step<SyncReply> {
        if let Err(e) = self.check_member(member_id, instance_id) {
            return Step::Now(Err(e));
        }
        if generation != self.generation {
            return Step::Now(Err(GroupError::IllegalGeneration));
        }
        if protocol_type.is_some_and(|t| Some(t) != self.protocol_type.as_deref())
            || protocol_name.is_some_and(|n| Some(n) != self.protocol_name.as_deref())
        {
            return Step::Now(Err(GroupError::InconsistentGroupProtocol));
        }
        let leader = self.is_leader(member_id);
        match self.state {
            GroupState::Empty => Step::Now(Err(GroupError::UnknownMemberId)),
            GroupState::PreparingRebalance => Step::Now(Err(GroupError::RebalanceInProgress)),
            GroupState::Stable => {
                let m = self.member_mut(member_id);
                Step::Now(Ok(m
                    .map(|m| {
                        m.last_heartbeat = now;
                        m.assignment.clone()
                    })
                    .unwrap_or_default()))
            }
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                if let Some(m) = self.member_mut(member_id) {
                    m.last_heartbeat = now;
                    m.sync_waiter = Some(tx);
                }
                if leader {
                    let mut given: HashMap<String, Bytes> = assignments.into_iter().collect();
                    for m in self.members.values_mut() {
                        m.assignment = given.remove(&m.id).unwrap_or_default();
                        if let Some(w) = m.sync_waiter.take() {
                            let _ = w.send(Ok(m.assignment.clone()));
                        }
                    }
                    self.state = GroupState::Stable;
                }
                Step::Wait(rx)
            }
        }
    }

    /// Handles a Heartbeat.
    pub fn heartbeat(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: Instant,
    ) -> Result<(), GroupError> {
        if self.state == GroupState::Empty {
            return Err(GroupError::UnknownMemberId);
        }
        self.check_member(member_id, instance_id)?;
        if generation != self.generation {
            return Err(GroupError::IllegalGeneration);
        }
        if let Some(m) = self.member_mut(member_id) {
            m.last_heartbeat = now;
        }
        if self.state == GroupState::PreparingRebalance {
            return Err(GroupError::RebalanceInProgress);
        }
        Ok(())
    }

    /// Handles one member of a LeaveGroup.
    pub fn leave(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        now: Instant,
        cfg: &GroupConfig,
    ) -> Result<(), GroupError> {
        let target = match instance_id {
            Some(inst) => {
                let current = self
                    .static_members
                    .get(inst)
                    .cloned()
                    .ok_or(GroupError::UnknownMemberId)?;
                if !member_id.is_empty() && member_id != current {
                    return Err(GroupError::FencedInstanceId);
                }
                current
            }
            None => member_id.to_string(),
        };
        if self.pending.remove(&target).is_some() {
            return Ok(());
        }
        let seq = self.seq_of(&target).ok_or(GroupError::UnknownMemberId)?;
        self.remove(seq, GroupError::UnknownMemberId);
        self.after_departure(now, cfg);
        Ok(())
    }

    fn remove(&mut self, seq: u64, error: GroupError) {
        if let Some(mut m) = self.members.remove(&seq) {
            m.fail_waiters(error);
            if let Some(inst) = &m.instance_id {
                if self.static_members.get(inst) == Some(&m.id) {
                    self.static_members.remove(inst);
                }
            }
        }
    }

    fn after_departure(&mut self, now: Instant, cfg: &GroupConfig) {
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(now, cfg);
                self.try_complete_join(now);
            }
            GroupState::PreparingRebalance => self.try_complete_join(now),
            GroupState::Empty => {}
        }
    }

    /// The earliest instant after `now` at which [`Group::expire`] or
    /// [`Group::try_complete_join`] may change something: a member's session end, an unclaimed
    /// member id's end, the rebalance timeout, the end of the initial rebalance delay. Only
    /// instants after `now` count: whatever was due at `now` has been handled, and a delay that
    /// ended while members are still missing matters again only when one joins.
    pub fn next_deadline(&self, now: Instant) -> Option<Instant> {
        let sessions = self
            .members
            .values()
            .filter(|m| m.join_waiter.is_none())
            .map(|m| m.last_heartbeat + m.session_timeout);
        let rebalance = if self.state == GroupState::PreparingRebalance {
            [self.rebalance_deadline, self.earliest_completion]
        } else {
            [None, None]
        };
        sessions
            .chain(self.pending.values().copied())
            .chain(rebalance.into_iter().flatten())
            .filter(|&t| t > now)
            .min()
    }

    /// Removes members whose session timed out and forgets unclaimed pending ids. Members
    /// parked in JoinGroup are exempt: the rebalance timeout governs them.
    pub fn expire(&mut self, now: Instant, cfg: &GroupConfig) -> usize {
        self.pending.retain(|_, deadline| *deadline > now);
        let expired: Vec<u64> = self
            .members
            .iter()
            .filter(|(_, m)| m.join_waiter.is_none() && now >= m.last_heartbeat + m.session_timeout)
            .map(|(s, _)| *s)
            .collect();
        for &seq in &expired {
            if let Some(m) = self.members.get(&seq) {
                tracing::info!(group = %self.id, member = %m.id, "session timed out");
            }
            self.remove(seq, GroupError::UnknownMemberId);
        }
        if !expired.is_empty() {
            self.after_departure(now, cfg);
        }
        expired.len()
    }

    /// Whether an OffsetCommit from this member and generation may commit, checked in the
    /// order of Kafka's GroupCoordinator: a fenced static member, an unknown member, a stale
    /// generation, and only then the state (REBALANCE_IN_PROGRESS while CompletingRebalance;
    /// librdkafka expects ILLEGAL_GENERATION for a commit racing a rebalance, but surfaces
    /// REBALANCE_IN_PROGRESS to the application). A request with no member, generation or
    /// instance (a standalone consumer, or an admin client) may commit only to an empty group.
    /// An accepted commit counts as a heartbeat of its member, as in Kafka.
    pub fn check_commit(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: Instant,
    ) -> Result<(), GroupError> {
        if generation < 0 && member_id.is_empty() && instance_id.is_none() {
            return if self.state == GroupState::Empty {
                Ok(())
            } else {
                Err(GroupError::UnknownMemberId)
            };
        }
        if let Some(inst) = instance_id {
            if self
                .static_members
                .get(inst)
                .is_some_and(|cur| cur != member_id)
            {
                return Err(GroupError::FencedInstanceId);
            }
        }
        if self.member(member_id).is_none() {
            return Err(GroupError::UnknownMemberId);
        }
        if generation != self.generation {
            return Err(GroupError::IllegalGeneration);
        }
        if self.state == GroupState::CompletingRebalance {
            return Err(GroupError::RebalanceInProgress);
        }
        if let Some(m) = self.member_mut(member_id) {
            m.last_heartbeat = now;
        }
        Ok(())
    }

    /// Whether the group has neither members nor members-to-be.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.pending.is_empty()
    }
}

fn timeout(ms: i32) -> Duration {
    Duration::from_millis(ms.max(0) as u64)
}
