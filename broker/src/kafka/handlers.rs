//! One function per Kafka API: decode the request, act on the topics, build the response.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::{decode, encode, groups, Broker, ConnectionError};
use crate::topics::{Topic, TopicConfigs, TopicError};
use crate::validate::{self, RecordError};

/// Advertised version ranges: only versions real clients have exercised against us.
const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 9),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::FindCoordinator, 0, 4),
    (ApiKey::JoinGroup, 0, 7),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 1, 8),
    (ApiKey::ListGroups, 0, 4),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::OffsetDelete, 0, 0),
    (ApiKey::DescribeCluster, 0, 1),
    (ApiKey::DescribeQuorum, 0, 2),
];

const CORRUPT_MESSAGE: i16 = 2;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_RECORD: i16 = 87;
const UNSUPPORTED_ENDPOINT_TYPE: i16 = 119;

/// ListOffsets' special timestamps.
const LATEST_TIMESTAMP: i64 = -1;
const EARLIEST_TIMESTAMP: i64 = -2;
/// KIP-734 (ListOffsets v7+).
const MAX_TIMESTAMP: i64 = -3;

/// DescribeCluster's `EndpointType` for brokers (v1+; v0 requests decode with this default).
const ENDPOINT_TYPE_BROKERS: i8 = 1;

/// The version range we speak for `api`, if any.
pub fn supported(api: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED
        .iter()
        .find(|(k, _, _)| *k == api)
        .map(|(_, min, max)| (*min, *max))
}

/// Routes a decoded header to its handler and encodes the answer.
pub async fn dispatch(
    broker: &Broker,
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    client: groups::Client<'_>,
    mut body: Bytes,
) -> Result<Option<BytesMut>, ConnectionError> {
    let out = match api {
        ApiKey::ApiVersions => {
            let _: ApiVersionsRequest = decode(&mut body, version)?;
            encode(api, version, correlation_id, &api_versions_response(0))?
        }
        ApiKey::Metadata => {
            let req = decode(&mut body, version)?;
            encode(
                api,
                version,
                correlation_id,
                &metadata(broker, version, req),
            )?
        }
        ApiKey::Produce => {
            let req: ProduceRequest = decode(&mut body, version)?;
            let acks = req.acks;
            let resp = produce(broker, version, req).await;
            if acks == 0 {
                return Ok(None);
            }
            encode(api, version, correlation_id, &resp)?
        }
        ApiKey::Fetch => {
            let req = decode(&mut body, version)?;
            encode(api, version, correlation_id, &fetch(broker, req).await)?
        }
        ApiKey::ListOffsets => {
            let req = decode(&mut body, version)?;
            encode(
                api,
                version,
                correlation_id,
                &list_offsets(broker, version, req),
            )?
        }
        ApiKey::CreateTopics => {
            let req = decode(&mut body, version)?;
            encode(
                api,
                version,
                correlation_id,
                &super::topic_admin::create_topics(broker, req),
            )?
        }
        ApiKey::DeleteTopics => {
            let req = decode(&mut body, version)?;
            encode(
                api,
                version,
                correlation_id,
                &super::topic_admin::delete_topics(broker, req),
            )?
        }
        ApiKey::InitProducerId => {
            let req = decode(&mut body, version)?;
            let resp = init_producer_id(broker, req);
            encode(api, version, correlation_id, &resp)?
        }
        ApiKey::DescribeConfigs => {
            let req = decode(&mut body, version)?;
            let view = super::configs::BrokerView {
                node_id: broker.config.node_id,
                configs: super::broker_configs::entries(&broker.config),
            };
            let resp = super::configs::describe_configs(&broker.topics, &view, version, req);
            encode(api, version, correlation_id, &resp)?
        }
        ApiKey::AlterConfigs => {
            let req = decode(&mut body, version)?;
            let resp = super::configs::alter_configs(&broker.topics, req);
            encode(api, version, correlation_id, &resp)?
        }
        ApiKey::IncrementalAlterConfigs => {
            let req = decode(&mut body, version)?;
            let resp = super::configs::incremental_alter_configs(&broker.topics, req);
            encode(api, version, correlation_id, &resp)?
        }
        ApiKey::FindCoordinator => {
            let req = decode(&mut body, version)?;
            let resp = groups::find_coordinator(broker, version, req);
            encode(api, version, correlation_id, &resp)?
        }
        ApiKey::JoinGroup => {
            let req = decode(&mut body, version)?;
            let resp = groups::join_group(broker, version, client, req).await;
            encode(api, version, correlation_id, &resp)?
        }
        ApiKey::SyncGroup => {
            let req = decode(&mut body, version)?;
            let resp = groups::sync_group(broker, version, req).await;
            encode(api, version, correlation_id, &resp)?
        }
        ApiKey::Heartbeat => {
            let req = decode(&mut body, version)?;
            encode(
                api,
                version,
                correlation_id,
                &groups::heartbeat(broker, req),
            )?
        }
        ApiKey::LeaveGroup => {
            let req = decode(&mut body, version)?;
            let resp = groups::leave_group(broker, version, req);
            encode(api, version, correlation_id, &resp)?
        }
        ApiKey::OffsetCommit => {
            let req = decode(&mut body, version)?;
            let resp = groups::offset_commit(broker, req).await;
            encode(api, version, correlation_id, &resp)?
        }
        ApiKey::OffsetFetch => {
            let req = decode(&mut body, version)?;
            let resp = groups::offset_fetch(broker, version, req);
            encode(api, version, correlation_id, &resp)?
        }
        ApiKey::ListGroups => {
            let req = decode(&mut body, version)?;
            let resp = groups::list_groups(broker, version, req);
            encode(api, version, correlation_id, &resp)?
        }
        ApiKey::DescribeGroups => {
            let req = decode(&mut body, version)?;
            let resp = groups::describe_groups(broker, version, req);
            encode(api, version, correlation_id, &resp)?
        }
        ApiKey::DescribeCluster => {
            let req = decode(&mut body, version)?;
            encode(api, version, correlation_id, &describe_cluster(broker, req))?
        }
        ApiKey::DescribeQuorum => {
            let req = decode(&mut body, version)?;
            let resp = super::quorum::describe_quorum(broker, req).await;
            encode(api, version, correlation_id, &resp)?
        }
        ApiKey::DeleteGroups => {
            let req = decode(&mut body, version)?;
            let resp = groups::delete_groups(broker, req).await;
            encode(api, version, correlation_id, &resp)?
        }
        ApiKey::OffsetDelete => {
            let req = decode(&mut body, version)?;
            let resp = groups::offset_delete(broker, req).await;
            encode(api, version, correlation_id, &resp)?
        }
        other => return Err(ConnectionError::UnknownApi(other as i16)),
    };
    Ok(Some(out))
}

/// The ApiVersions answer, with `error_code`.
pub fn api_versions_response(error_code: i16) -> ApiVersionsResponse {
    let mut resp = ApiVersionsResponse::default();
    resp.error_code = error_code;
    resp.api_keys = SUPPORTED
        .iter()
        .map(|(k, min, max)| {
            let mut v = ApiVersion::default();
            v.api_key = *k as i16;
            v.min_version = *min;
            v.max_version = *max;
            v
        })
        .collect();
    resp
}

fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn topic_name(s: &str) -> TopicName {
    TopicName(str_bytes(s))
}

/// A topic as Metadata describes it; `operations` is its authorized operations (KIP-430,
/// v8+), or [`super::acl::OMITTED`].
fn describe_topic(broker: &Broker, topic: &Topic, operations: i32) -> MetadataResponseTopic {
    let node = BrokerId(broker.config.node_id);
    let mut t = MetadataResponseTopic::default();
    t.name = Some(topic_name(&topic.name));
    t.topic_id = topic.id;
    t.topic_authorized_operations = operations;
    t.partitions = (0..topic.partitions.len() as i32)
        .map(|p| {
            let mut mp = MetadataResponsePartition::default();
            mp.partition_index = p;
            mp.leader_id = node;
            mp.leader_epoch = 0;
            mp.replica_nodes = vec![node];
            mp.isr_nodes = vec![node];
            mp
        })
        .collect();
    t
}

fn metadata(broker: &Broker, version: i16, req: MetadataRequest) -> MetadataResponse {
    let mut resp = MetadataResponse::default();
    let mut b = MetadataResponseBroker::default();
    b.node_id = BrokerId(broker.config.node_id);
    b.host = str_bytes(&broker.config.advertised_host);
    b.port = broker.config.advertised_port;
    resp.brokers = vec![b];
    resp.cluster_id = Some(str_bytes(&broker.cluster_id));
    resp.controller_id = BrokerId(broker.config.node_id);
    // KIP-430: without an authorizer every supported operation is allowed. The cluster's
    // operations are in Metadata v8–10 only (DescribeCluster carries them since).
    if (8..=10).contains(&version) && req.include_cluster_authorized_operations {
        resp.cluster_authorized_operations = super::acl::CLUSTER;
    }
    let topic_ops = if version >= 8 && req.include_topic_authorized_operations {
        super::acl::TOPIC
    } else {
        super::acl::OMITTED
    };
    // Before v4 there was no flag: Metadata always auto-created.
    let may_create =
        broker.config.auto_create_topics && (version < 4 || req.allow_auto_topic_creation);
    match req.topics {
        // v0 uses an empty list for "all topics"; later versions use null.
        None => {
            resp.topics = broker
                .topics
                .all()
                .iter()
                .map(|t| describe_topic(broker, t, topic_ops))
                .collect();
        }
        Some(list) if list.is_empty() && version == 0 => {
            resp.topics = broker
                .topics
                .all()
                .iter()
                .map(|t| describe_topic(broker, t, topic_ops))
                .collect();
        }
        Some(list) => {
            for wanted in list {
                let Some(name) = wanted.name.map(|n| n.0.to_string()) else {
                    let mut t = MetadataResponseTopic::default();
                    t.topic_id = wanted.topic_id;
                    t.error_code = 100; // UNKNOWN_TOPIC_ID
                    resp.topics.push(t);
                    continue;
                };
                let found = match broker.topics.get(&name) {
                    Some(t) => Ok(t),
                    None if may_create => broker.topics.create(
                        &name,
                        broker.config.default_partitions,
                        TopicConfigs::new(),
                    ),
                    None => Err(TopicError::UnknownTopic),
                };
                match found {
                    Ok(t) => resp.topics.push(describe_topic(broker, &t, topic_ops)),
                    // A concurrent create won the race: describe what exists.
                    Err(TopicError::AlreadyExists(_)) if broker.topics.get(&name).is_some() => {
                        if let Some(t) = broker.topics.get(&name) {
                            resp.topics.push(describe_topic(broker, &t, topic_ops));
                        }
                    }
                    Err(e) => {
                        let mut t = MetadataResponseTopic::default();
                        t.name = Some(topic_name(&name));
                        t.error_code = e.kafka_error_code();
                        resp.topics.push(t);
                    }
                }
            }
        }
    }
    resp
}

/// DescribeCluster (KIP-700): this node, the cluster id and, on request, the cluster's
/// authorized operations. Only the broker endpoints are served (endpoint type 1); asking a
/// broker for controller endpoints is UNSUPPORTED_ENDPOINT_TYPE, as in Kafka.
fn describe_cluster(broker: &Broker, req: DescribeClusterRequest) -> DescribeClusterResponse {
    let mut resp = DescribeClusterResponse::default();
    resp.endpoint_type = req.endpoint_type;
    if req.endpoint_type != ENDPOINT_TYPE_BROKERS {
        resp.error_code = UNSUPPORTED_ENDPOINT_TYPE;
        resp.error_message = Some(str_bytes(
            "The target broker only supports BROKER endpoints",
        ));
        return resp;
    }
    resp.cluster_id = str_bytes(&broker.cluster_id);
    resp.controller_id = BrokerId(broker.config.node_id);
    let mut b =
        kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker::default();
    b.broker_id = BrokerId(broker.config.node_id);
    b.host = str_bytes(&broker.config.advertised_host);
    b.port = broker.config.advertised_port;
    resp.brokers = vec![b];
    if req.include_cluster_authorized_operations {
        resp.cluster_authorized_operations = super::acl::CLUSTER;
    }
    resp
}

/// How long a produce that failed validation waits for this node to apply what the
/// controller leader has (a schema registered through another node a moment ago).
const VALIDATION_CATCH_UP: Duration = Duration::from_secs(2);

/// Validates; a failure is final only once this node's registry has applied what the
/// controller leader had: a record framed with an id registered through another node an
/// instant ago must not be rejected because this node is a few entries behind.
async fn validate_caught_up(
    broker: &Broker,
    topic: &str,
    rules: &validate::TopicRules,
    records: &[u8],
) -> Result<(), Vec<RecordError>> {
    let first = validate::validate(&broker.registry, topic, rules, records);
    let (Err(_), Some(controller)) = (&first, &broker.controller) else {
        return first;
    };
    let before = broker.registry.last_applied_batch();
    if let Err(e) = controller.wait_caught_up(VALIDATION_CATCH_UP).await {
        tracing::debug!(error = %e, "validation: could not catch up with the controller");
    }
    if broker.registry.last_applied_batch() == before {
        return first;
    }
    validate::validate(&broker.registry, topic, rules, records)
}

async fn produce(broker: &Broker, version: i16, req: ProduceRequest) -> ProduceResponse {
    let mut resp = ProduceResponse::default();
    let mut to_sync = Vec::new();
    for td in req.topic_data {
        let name = td.name.0.to_string();
        let topic = broker.topics.get(&name);
        let mut tr = TopicProduceResponse::default();
        tr.name = td.name.clone();
        for pd in td.partition_data {
            let mut pr = PartitionProduceResponse::default();
            pr.index = pd.index;
            pr.base_offset = -1;
            pr.log_append_time_ms = -1;
            pr.log_start_offset = -1;
            let log = topic.as_ref().and_then(|t| t.partition(pd.index));
            match (log, pd.records) {
                (None, _) => pr.error_code = UNKNOWN_TOPIC_OR_PARTITION,
                (Some(_), None) => pr.error_code = CORRUPT_MESSAGE,
                (Some(log), Some(records)) => {
                    // Validation happens before the append: a rejected batch leaves no trace.
                    let rules = topic.as_ref().map(|t| t.rules).unwrap_or_default();
                    let verdict = if rules.is_empty() {
                        Ok(())
                    } else {
                        validate_caught_up(broker, &name, &rules, &records).await
                    };
                    match verdict {
                        Ok(()) => append(Some(log), records, &mut pr, &mut to_sync),
                        Err(errors) => reject(version, &mut pr, errors),
                    }
                }
            }
            tr.partition_responses.push(pr);
        }
        resp.responses.push(tr);
    }
    // acks=all: on disk before the answer; the group commit shares one fsync among producers.
    if req.acks == -1 {
        for log in &to_sync {
            if let Err(e) = log.sync().await {
                if let Some(n) = FLUSH_FAILED.hit() {
                    tracing::error!(error = %e, failures = n, "flush failed; producers are answered KAFKA_STORAGE_ERROR");
                }
                for tr in &mut resp.responses {
                    for pr in &mut tr.partition_responses {
                        if pr.error_code == 0 {
                            pr.error_code = e.kafka_error_code();
                        }
                    }
                }
                break;
            }
        }
    }
    if !to_sync.is_empty() {
        broker.appended.notify_waiters();
    }
    resp
}

/// Failed acks=all flushes: one line per interval with a count.
static FLUSH_FAILED: crate::rate_limit::RateLimited =
    crate::rate_limit::RateLimited::new(std::time::Duration::from_secs(10));

/// Appends validated records and fills the partition response.
fn append(
    log: Option<&std::sync::Arc<crate::log::PartitionLog>>,
    records: Bytes,
    pr: &mut PartitionProduceResponse,
    to_sync: &mut Vec<std::sync::Arc<crate::log::PartitionLog>>,
) {
    let Some(log) = log else {
        pr.error_code = UNKNOWN_TOPIC_OR_PARTITION;
        return;
    };
    let mut bytes = records.to_vec();
    match log.append(&mut bytes, 0) {
        Ok(info) => {
            pr.base_offset = info.base_offset;
            pr.log_append_time_ms = info.log_append_time.unwrap_or(-1);
            pr.log_start_offset = info.log_start_offset;
            to_sync.push(log.clone());
        }
        Err(e) => {
            pr.error_code = e.kafka_error_code();
            pr.error_message = Some(str_bytes(&e.to_string()));
        }
    }
}

/// A batch that failed validation: INVALID_RECORD, nothing appended. `record_errors` and
/// `error_message` exist from Produce v8 on.
fn reject(version: i16, pr: &mut PartitionProduceResponse, errors: Vec<RecordError>) {
    pr.error_code = INVALID_RECORD;
    if version >= 8 {
        pr.error_message = errors.first().map(|e| str_bytes(&e.message));
        pr.record_errors = errors
            .into_iter()
            .map(|e| {
                let mut b =
                    kafka_protocol::messages::produce_response::BatchIndexAndErrorMessage::default(
                    );
                b.batch_index = e.index;
                b.batch_index_error_message = Some(str_bytes(&e.message));
                b
            })
            .collect();
    }
}

async fn fetch(broker: &Broker, req: FetchRequest) -> FetchResponse {
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(req.max_wait_ms.max(0) as u64);
    loop {
        // Subscribe before reading, so an append between the read and the wait is not missed.
        let notified = broker.appended.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let (resp, bytes) = fetch_once(broker, &req);
        if bytes >= req.min_bytes.max(1) as usize || tokio::time::Instant::now() >= deadline {
            return resp;
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return fetch_once(broker, &req).0;
        }
    }
}

/// One pass over the requested partitions; returns the response and the record bytes in it.
///
/// The response holds at most the request's MaxBytes of records and each partition at most
/// its partition MaxBytes, except (KIP-74) that the first batch of the first non-empty
/// partition is returned whole whatever its size, so that a consumer always progresses. Later
/// partitions get only whole batches that fit; a partition whose next batch does not fit gets
/// none this time (Kafka would send a truncated batch, which librdkafka reports as
/// MSG_SIZE_TOO_LARGE when nothing else came; clients rotate the partition order, so it is
/// first in a later fetch).
fn fetch_once(broker: &Broker, req: &FetchRequest) -> (FetchResponse, usize) {
    let mut resp = FetchResponse::default();
    let mut remaining = if req.max_bytes > 0 {
        req.max_bytes as usize
    } else {
        usize::MAX
    };
    let mut total = 0;
    for ft in &req.topics {
        let name = ft.topic.0.to_string();
        let topic = broker.topics.get(&name);
        let mut tr = FetchableTopicResponse::default();
        tr.topic = ft.topic.clone();
        tr.topic_id = topic.as_ref().map_or(ft.topic_id, |t| t.id);
        for fp in &ft.partitions {
            let mut pd = PartitionData::default();
            pd.partition_index = fp.partition;
            pd.high_watermark = -1;
            pd.last_stable_offset = -1;
            pd.log_start_offset = -1;
            let log = topic.as_ref().and_then(|t| t.partition(fp.partition));
            match log {
                None => pd.error_code = UNKNOWN_TOPIC_OR_PARTITION,
                Some(log) => {
                    let hw = log.high_watermark();
                    pd.high_watermark = hw;
                    pd.last_stable_offset = hw;
                    pd.log_start_offset = log.log_start_offset();
                    if fp.fetch_offset < hw {
                        let limit = (fp.partition_max_bytes.max(0) as usize).min(remaining);
                        let read = if total == 0 {
                            log.read(fp.fetch_offset, limit)
                        } else if limit == 0 {
                            Ok(Vec::new())
                        } else {
                            log.read_at_most(fp.fetch_offset, limit)
                        };
                        match read {
                            Ok(bytes) => {
                                total += bytes.len();
                                remaining = remaining.saturating_sub(bytes.len());
                                pd.records = Some(Bytes::from(bytes));
                            }
                            Err(e) => pd.error_code = e.kafka_error_code(),
                        }
                    } else if fp.fetch_offset > hw || fp.fetch_offset < log.log_start_offset() {
                        pd.error_code = crate::log::OFFSET_OUT_OF_RANGE;
                    }
                }
            }
            if pd.records.is_none() && pd.error_code == 0 {
                pd.records = Some(Bytes::new());
            }
            tr.partitions.push(pd);
        }
        resp.responses.push(tr);
    }
    (resp, total)
}

fn list_offsets(broker: &Broker, version: i16, req: ListOffsetsRequest) -> ListOffsetsResponse {
    let mut resp = ListOffsetsResponse::default();
    for lt in req.topics {
        let topic = broker.topics.get(&lt.name.0);
        let mut tr = ListOffsetsTopicResponse::default();
        tr.name = lt.name.clone();
        for lp in lt.partitions {
            let mut pr = ListOffsetsPartitionResponse::default();
            pr.partition_index = lp.partition_index;
            pr.timestamp = -1;
            pr.offset = -1;
            // leader_epoch exists from v4 on; setting it earlier is an encoding error.
            pr.leader_epoch = if version >= 4 { 0 } else { -1 };
            let log = topic.as_ref().and_then(|t| t.partition(lp.partition_index));
            match log {
                None => pr.error_code = UNKNOWN_TOPIC_OR_PARTITION,
                Some(log) => {
                    let found = match lp.timestamp {
                        EARLIEST_TIMESTAMP => Ok(Some((log.log_start_offset(), -1))),
                        // With no transactions the last stable offset is the high watermark.
                        LATEST_TIMESTAMP => Ok(Some((log.high_watermark(), -1))),
                        // Clients send it from v7 on; Kafka's log honours it at any version.
                        MAX_TIMESTAMP => log.max_timestamp_offset(),
                        ts => log.offset_for_timestamp(ts),
                    };
                    match found {
                        Ok(Some((offset, timestamp))) => {
                            pr.offset = offset;
                            pr.timestamp = timestamp;
                        }
                        // No record at or after the target: Kafka's -1 / -1.
                        Ok(None) => {}
                        Err(e) => pr.error_code = e.kafka_error_code(),
                    }
                }
            }
            tr.partitions.push(pr);
        }
        resp.topics.push(tr);
    }
    resp
}

/// InitProducerId. Without a transactional id: a fresh producer id for an idempotent
/// producer. With one: TRANSACTIONAL_ID_AUTHORIZATION_FAILED until transactions exist (see
/// [`groups::find_coordinator`]); an empty id is INVALID_REQUEST, as in Kafka.
fn init_producer_id(broker: &Broker, req: InitProducerIdRequest) -> InitProducerIdResponse {
    let mut resp = InitProducerIdResponse::default();
    match req.transactional_id.as_ref().map(|t| t.0.as_str()) {
        None => match broker.fresh_producer_id() {
            Ok(id) => {
                resp.producer_id = ProducerId(id);
                resp.producer_epoch = 0;
            }
            Err(e) => {
                tracing::error!(error = %e, "reserving producer ids failed");
                resp.producer_id = ProducerId(-1);
                resp.producer_epoch = -1;
                resp.error_code = 15; // COORDINATOR_NOT_AVAILABLE: retriable
            }
        },
        Some(id) => {
            resp.error_code = if id.is_empty() {
                groups::INVALID_REQUEST
            } else {
                groups::TRANSACTIONAL_ID_AUTHORIZATION_FAILED
            };
            resp.producer_id = ProducerId(-1);
            resp.producer_epoch = -1;
        }
    }
    resp
}
