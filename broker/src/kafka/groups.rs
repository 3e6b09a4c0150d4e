//! The group APIs on the wire: FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
//! OffsetCommit, OffsetFetch, ListGroups, DescribeGroups, DeleteGroups, OffsetDelete.
//!
//! Each handler translates the request into the coordinator's terms ([`crate::group`]) and
//! the answer back, setting only fields that exist at the negotiated version.

use bytes::Bytes;
use kafka_protocol::messages::consumer_protocol_subscription::ConsumerProtocolSubscription;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::find_coordinator_response::Coordinator as WireCoordinator;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, StrBytes};

use super::Broker;
use crate::group::{CommittedOffset, GroupError, JoinRequest, TopicPartition};

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn opt(v: &Option<StrBytes>) -> Option<&str> {
    v.as_deref()
}

/// Who sent the request (for DescribeGroups' client id and host).
pub struct Client<'a> {
    pub client_id: &'a str,
    pub host: &'a str,
}

/// FindCoordinator: this broker coordinates every group. Transactions are not implemented:
/// a transaction coordinator lookup (key type 1) is refused with
/// TRANSACTIONAL_ID_AUTHORIZATION_FAILED, the error librdkafka and the Java client treat as
/// fatal for a transactional producer, so `init_transactions()` fails at once with our message
/// instead of succeeding and letting transactional produce hang (issue #13).
pub fn find_coordinator(
    broker: &Broker,
    version: i16,
    req: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let mut resp = FindCoordinatorResponse::default();
    let node = BrokerId(broker.config.node_id);
    let host = s(&broker.config.advertised_host);
    let port = broker.config.advertised_port;
    let refusal = match req.key_type {
        KEY_TYPE_GROUP => None,
        KEY_TYPE_TRANSACTION => Some((
            TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
            TRANSACTIONS_UNSUPPORTED,
        )),
        _ => Some((INVALID_REQUEST, "Unknown coordinator key type")),
    };
    if version >= 4 {
        resp.coordinators = req
            .coordinator_keys
            .into_iter()
            .map(|key| {
                let mut c = WireCoordinator::default();
                c.key = key;
                match refusal {
                    None => {
                        c.node_id = node;
                        c.host = host.clone();
                        c.port = port;
                    }
                    Some((code, message)) => {
                        c.node_id = BrokerId(-1);
                        c.port = -1;
                        c.error_code = code;
                        c.error_message = Some(s(message));
                    }
                }
                c
            })
            .collect();
    } else {
        match refusal {
            None => {
                resp.node_id = node;
                resp.host = host;
                resp.port = port;
            }
            Some((code, message)) => {
                resp.error_code = code;
                // error_message exists from v1 on.
                if version >= 1 {
                    resp.error_message = Some(s(message));
                }
                resp.node_id = BrokerId(-1);
                resp.port = -1;
            }
        }
    }
    resp
}

const KEY_TYPE_GROUP: i8 = 0;
const KEY_TYPE_TRANSACTION: i8 = 1;
pub const INVALID_REQUEST: i16 = 42;
pub const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
/// What a transactional client is told (librdkafka puts it in its fatal error).
const TRANSACTIONS_UNSUPPORTED: &str =
    "Transactions are not supported by this broker (Charter): use an idempotent producer";

/// JoinGroup: parks until the rebalance completes.
pub async fn join_group(
    broker: &Broker,
    version: i16,
    client: Client<'_>,
    req: JoinGroupRequest,
) -> JoinGroupResponse {
    let join = JoinRequest {
        group_id: req.group_id.0.to_string(),
        member_id: req.member_id.to_string(),
        instance_id: req.group_instance_id.as_ref().map(|v| v.to_string()),
        client_id: client.client_id.to_string(),
        client_host: client.host.to_string(),
        session_timeout_ms: req.session_timeout_ms,
        // v0 has no rebalance timeout: Kafka uses the session timeout.
        rebalance_timeout_ms: if version >= 1 {
            req.rebalance_timeout_ms
        } else {
            req.session_timeout_ms
        },
        protocol_type: req.protocol_type.to_string(),
        protocols: req
            .protocols
            .into_iter()
            .map(|p| (p.name.to_string(), p.metadata))
            .collect(),
        require_known_member_id: version >= 4,
    };
    let mut resp = JoinGroupResponse::default();
    // Non-nullable before v7.
    resp.protocol_name = Some(StrBytes::default());
    match broker.coordinator.join(join).await {
        Ok(o) => {
            resp.generation_id = o.generation;
            if version >= 7 {
                resp.protocol_type = o.protocol_type.as_deref().map(s);
            }
            resp.protocol_name = Some(s(o.protocol_name.as_deref().unwrap_or("")));
            resp.leader = s(&o.leader);
            resp.member_id = s(&o.member_id);
            resp.members = o
                .members
                .into_iter()
                .map(|m| {
                    let mut w = JoinGroupResponseMember::default();
                    w.member_id = s(&m.member_id);
                    if version >= 5 {
                        w.group_instance_id = m.instance_id.as_deref().map(s);
                    }
                    w.metadata = m.metadata;
                    w
                })
                .collect();
        }
        Err(e) => {
            resp.error_code = e.code();
            resp.generation_id = -1;
            if let GroupError::MemberIdRequired(id) = &e {
                resp.member_id = s(id);
            }
            if version >= 7 {
                resp.protocol_name = None;
            }
        }
    }
    resp
}

/// SyncGroup: the leader hands out assignments; everyone receives theirs.
pub async fn sync_group(broker: &Broker, version: i16, req: SyncGroupRequest) -> SyncGroupResponse {
    let assignments = req
        .assignments
        .into_iter()
        .map(|a| (a.member_id.to_string(), a.assignment))
        .collect();
    let result = broker
        .coordinator
        .sync(
            &req.group_id.0,
            &req.member_id,
            opt(&req.group_instance_id),
            req.generation_id,
            opt(&req.protocol_type),
            opt(&req.protocol_name),
            assignments,
        )
        .await;
    let mut resp = SyncGroupResponse::default();
    match result {
        Ok(assignment) => {
            resp.assignment = assignment;
            if version >= 5 {
                resp.protocol_type = req.protocol_type;
                resp.protocol_name = req.protocol_name;
            }
        }
        Err(e) => resp.error_code = e.code(),
    }
    resp
}

/// Heartbeat.
pub fn heartbeat(broker: &Broker, req: HeartbeatRequest) -> HeartbeatResponse {
    let mut resp = HeartbeatResponse::default();
    if let Err(e) = broker.coordinator.heartbeat(
        &req.group_id.0,
        &req.member_id,
        opt(&req.group_instance_id),
        req.generation_id,
    ) {
        resp.error_code = e.code();
    }
    resp
}

/// LeaveGroup: one member (v0–2) or a batch of them (v3+).
pub fn leave_group(broker: &Broker, version: i16, req: LeaveGroupRequest) -> LeaveGroupResponse {
    let members: Vec<(String, Option<String>)> = if version >= 3 {
        req.members
            .iter()
            .map(|m| {
                (
                    m.member_id.to_string(),
                    m.group_instance_id.as_ref().map(|v| v.to_string()),
                )
            })
            .collect()
    } else {
        vec![(req.member_id.to_string(), None)]
    };
    let mut resp = LeaveGroupResponse::default();
    match broker.coordinator.leave(&req.group_id.0, &members) {
        Err(e) => resp.error_code = e.code(),
        Ok(results) if version >= 3 => {
            resp.members = members
                .iter()
                .zip(results)
                .map(|((member_id, instance_id), r)| {
                    let mut m = MemberResponse::default();
                    m.member_id = s(member_id);
                    m.group_instance_id = instance_id.as_deref().map(s);
                    m.error_code = r.err().map_or(0, |e| e.code());
                    m
                })
                .collect();
        }
        Ok(results) => {
            resp.error_code = results
                .into_iter()
                .find_map(Result::err)
                .map_or(0, |e| e.code());
        }
    }
    resp
}

/// Per partition of one topic: the error that kept it from being committed, if any.
type PartitionVerdicts = Vec<(i32, Option<GroupError>)>;

/// OffsetCommit: validated against the group, then stored durably before the answer.
pub async fn offset_commit(broker: &Broker, req: OffsetCommitRequest) -> OffsetCommitResponse {
    let now = crate::log::partition::now_ms();
    let max_metadata = broker.coordinator.config().max_metadata_bytes;
    // Per-partition verdicts first: unknown partitions and oversized metadata are refused
    // individually; the rest is committed together.
    let mut verdicts: Vec<(String, PartitionVerdicts)> = Vec::new();
    let mut to_commit: Vec<(TopicPartition, CommittedOffset)> = Vec::new();
    for t in &req.topics {
        let name = t.name.0.to_string();
        let topic = broker.topics.get(&name);
        let mut parts = Vec::new();
        for p in &t.partitions {
            let metadata = p.committed_metadata.as_ref().map(|m| m.to_string());
            let error = if topic
                .as_ref()
                .and_then(|t| t.partition(p.partition_index))
                .is_none()
            {
                Some(GroupError::UnknownTopicOrPartition)
            } else if metadata.as_ref().is_some_and(|m| m.len() > max_metadata) {
                Some(GroupError::OffsetMetadataTooLarge)
            } else {
                to_commit.push((
                    (name.clone(), p.partition_index),
                    CommittedOffset {
                        offset: p.committed_offset,
                        leader_epoch: p.committed_leader_epoch,
                        metadata,
                        commit_timestamp: now,
                    },
                ));
                None
            };
            parts.push((p.partition_index, error));
        }
        verdicts.push((name, parts));
    }
    let group_error = if to_commit.is_empty() {
        None
    } else {
        broker
            .coordinator
            .commit(
                &req.group_id.0,
                &req.member_id,
                opt(&req.group_instance_id),
                req.generation_id_or_member_epoch,
                &to_commit,
            )
            .await
            .err()
    };
    let mut resp = OffsetCommitResponse::default();
    resp.topics = verdicts
        .into_iter()
        .map(|(name, parts)| {
            let mut t = OffsetCommitResponseTopic::default();
            t.name = TopicName(s(&name));
            t.partitions = parts
                .into_iter()
                .map(|(index, err)| {
                    let mut p = OffsetCommitResponsePartition::default();
                    p.partition_index = index;
                    p.error_code = err.or_else(|| group_error.clone()).map_or(0, |e| e.code());
                    p
                })
                .collect();
            t
        })
        .collect();
    resp
}

/// OffsetFetch: one group (v0–7) or several (v8), given partitions or all of them.
pub fn offset_fetch(broker: &Broker, version: i16, req: OffsetFetchRequest) -> OffsetFetchResponse {
    let mut resp = OffsetFetchResponse::default();
    if version >= 8 {
        resp.groups = req
            .groups
            .into_iter()
            .map(|g| {
                let wanted = g
                    .topics
                    .map(|ts| requested(ts.into_iter().map(|t| (t.name, t.partition_indexes))));
                let mut out = OffsetFetchResponseGroup::default();
                out.group_id = g.group_id.clone();
                let fetched = broker.coordinator.fetch(&g.group_id.0, wanted.as_deref());
                for (topic, parts) in group_by_topic(fetched) {
                    let mut t = OffsetFetchResponseTopics::default();
                    t.name = TopicName(s(&topic));
                    t.partitions = parts
                        .into_iter()
                        .map(|(index, c)| {
                            let mut p = OffsetFetchResponsePartitions::default();
                            p.partition_index = index;
                            (p.committed_offset, p.committed_leader_epoch, p.metadata) =
                                committed_fields(c);
                            p
                        })
                        .collect();
                    out.topics.push(t);
                }
                out
            })
            .collect();
        return resp;
    }
    let wanted = req
        .topics
        .map(|ts| requested(ts.into_iter().map(|t| (t.name, t.partition_indexes))));
    let fetched = broker.coordinator.fetch(&req.group_id.0, wanted.as_deref());
    for (topic, parts) in group_by_topic(fetched) {
        let mut t = OffsetFetchResponseTopic::default();
        t.name = TopicName(s(&topic));
        t.partitions = parts
            .into_iter()
            .map(|(index, c)| {
                let mut p = OffsetFetchResponsePartition::default();
                p.partition_index = index;
                let (offset, epoch, metadata) = committed_fields(c);
                p.committed_offset = offset;
                if version >= 5 {
                    p.committed_leader_epoch = epoch;
                }
                p.metadata = metadata;
                p
            })
            .collect();
        resp.topics.push(t);
    }
    resp
}

/// The (topic, partition) pairs an OffsetFetch asks for.
fn requested(topics: impl Iterator<Item = (TopicName, Vec<i32>)>) -> Vec<TopicPartition> {
    topics
        .flat_map(|(name, partitions)| {
            let name = name.0.to_string();
            partitions.into_iter().map(move |p| (name.clone(), p))
        })
        .collect()
}

/// (offset, leader epoch, metadata) as OffsetFetch reports them; -1 and "" for none.
fn committed_fields(c: Option<CommittedOffset>) -> (i64, i32, Option<StrBytes>) {
    match c {
        Some(c) => (
            c.offset,
            c.leader_epoch,
            Some(s(c.metadata.as_deref().unwrap_or(""))),
        ),
        None => (-1, -1, Some(StrBytes::default())),
    }
}

/// Groups (topic, partition) pairs by topic, keeping first-seen order.
fn group_by_topic<T>(items: Vec<(TopicPartition, T)>) -> Vec<(String, Vec<(i32, T)>)> {
    let mut out: Vec<(String, Vec<(i32, T)>)> = Vec::new();
    for ((topic, p), v) in items {
        match out.iter_mut().find(|(t, _)| *t == topic) {
            Some((_, parts)) => parts.push((p, v)),
            None => out.push((topic, vec![(p, v)])),
        }
    }
    out
}

/// ListGroups (v4 filters by state).
pub fn list_groups(broker: &Broker, version: i16, req: ListGroupsRequest) -> ListGroupsResponse {
    let mut resp = ListGroupsResponse::default();
    resp.groups = broker
        .coordinator
        .list()
        .into_iter()
        .filter(|g| {
            req.states_filter.is_empty()
                || req
                    .states_filter
                    .iter()
                    .any(|f| f.eq_ignore_ascii_case(g.state))
        })
        .map(|g| {
            let mut l = ListedGroup::default();
            l.group_id = GroupId(s(&g.group_id));
            l.protocol_type = s(&g.protocol_type);
            if version >= 4 {
                l.group_state = s(g.state);
            }
            if version >= 5 {
                l.group_type = s("classic");
            }
            l
        })
        .collect();
    resp
}

/// DescribeGroups.
pub fn describe_groups(
    broker: &Broker,
    version: i16,
    req: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let mut resp = DescribeGroupsResponse::default();
    // KIP-430 (v3+): without an authorizer every supported operation is allowed.
    let operations = if version >= 3 && req.include_authorized_operations {
        super::acl::GROUP
    } else {
        super::acl::OMITTED
    };
    resp.groups = req
        .groups
        .into_iter()
        .map(|id| {
            let d = broker.coordinator.describe(&id.0);
            let mut g = DescribedGroup::default();
            g.group_id = id;
            g.authorized_operations = operations;
            g.group_state = s(d.state);
            g.protocol_type = s(&d.protocol_type);
            g.protocol_data = s(&d.protocol);
            g.members = d
                .members
                .into_iter()
                .map(|m| {
                    let mut w = DescribedGroupMember::default();
                    w.member_id = s(&m.member_id);
                    if version >= 4 {
                        w.group_instance_id = m.instance_id.as_deref().map(s);
                    }
                    w.client_id = s(&m.client_id);
                    w.client_host = s(&m.client_host);
                    w.member_metadata = m.metadata;
                    w.member_assignment = m.assignment;
                    w
                })
                .collect();
            g
        })
        .collect();
    resp
}

/// DeleteGroups: empty groups only, offsets included.
pub async fn delete_groups(broker: &Broker, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let mut resp = DeleteGroupsResponse::default();
    for id in req.groups_names {
        let mut r = DeletableGroupResult::default();
        r.error_code = match broker.coordinator.delete(&id.0).await {
            Ok(()) => 0,
            Err(e) => e.code(),
        };
        r.group_id = id;
        resp.results.push(r);
    }
    resp
}

/// OffsetDelete: refused for topics an active consumer group subscribes to.
pub async fn offset_delete(broker: &Broker, req: OffsetDeleteRequest) -> OffsetDeleteResponse {
    let mut resp = OffsetDeleteResponse::default();
    let group = req.group_id.0.to_string();
    if !broker.coordinator.exists(&group) {
        resp.error_code = GroupError::GroupIdNotFound.code();
        return resp;
    }
    let subscribed = subscribed_topics(broker, &group);
    let mut deletable = Vec::new();
    for t in req.topics {
        let name = t.name.0.to_string();
        let mut out = OffsetDeleteResponseTopic::default();
        out.name = t.name;
        for p in t.partitions {
            let mut r = OffsetDeleteResponsePartition::default();
            r.partition_index = p.partition_index;
            if subscribed.as_ref().is_some_and(|s| s.contains(&name)) {
                r.error_code = GroupError::GroupSubscribedToTopic.code();
            } else if broker
                .topics
                .get(&name)
                .is_none_or(|t| t.partition(p.partition_index).is_none())
            {
                r.error_code = GroupError::UnknownTopicOrPartition.code();
            } else {
                deletable.push((name.clone(), p.partition_index));
            }
            out.partitions.push(r);
        }
        resp.topics.push(out);
    }
    if !deletable.is_empty() {
        if let Err(e) = broker
            .coordinator
            .offsets()
            .delete(&group, Some(&deletable))
            .await
        {
            tracing::error!(group = %group, error = %e, "offset delete failed");
            resp.error_code = GroupError::CoordinatorNotAvailable.code();
        }
    }
    resp
}

/// Topics the group's active consumer members subscribe to; `None` when the group has no
/// members. Members whose subscription cannot be read count as subscribing to everything.
fn subscribed_topics(broker: &Broker, group: &str) -> Option<Vec<String>> {
    let (protocol_type, metadata) = broker.coordinator.member_metadata(group)?;
    if protocol_type != "consumer" {
        return Some(Vec::new());
    }
    let mut topics = Vec::new();
    for m in metadata {
        match decode_subscription(m) {
            Some(ts) => topics.extend(ts),
            None => return Some(broker.topics.all().iter().map(|t| t.name.clone()).collect()),
        }
    }
    Some(topics)
}

/// Decodes a consumer's subscription (a version prefix, then ConsumerProtocolSubscription).
fn decode_subscription(mut metadata: Bytes) -> Option<Vec<String>> {
    if metadata.len() < 2 {
        return None;
    }
    let version = i16::from_be_bytes([metadata[0], metadata[1]]).clamp(0, 3);
    let _ = metadata.split_to(2);
    let sub = ConsumerProtocolSubscription::decode(&mut metadata, version).ok()?;
    Some(sub.topics.into_iter().map(|t| t.to_string()).collect())
}
