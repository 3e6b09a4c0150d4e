//! CreateTopics and DeleteTopics: requests checked as Kafka's controller checks them (counts,
//! replication factors, manual replica assignments, configs against the one topic config
//! table), then applied to [`crate::topics::Topics`].

use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{
    CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::Broker;
use crate::topics::TopicConfigs;

const INVALID_PARTITIONS: i16 = 37;
const INVALID_REPLICATION_FACTOR: i16 = 38;
const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
const INVALID_CONFIG: i16 = 40;
const INVALID_REQUEST: i16 = 42;
const UNKNOWN_TOPIC_ID: i16 = 100;

fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn topic_name(s: &str) -> TopicName {
    TopicName(str_bytes(s))
}

pub fn create_topics(broker: &Broker, req: CreateTopicsRequest) -> CreateTopicsResponse {
    let mut resp = CreateTopicsResponse::default();
    for ct in req.topics {
        let name = ct.name.0.to_string();
        let mut r = CreatableTopicResult::default();
        r.name = ct.name.clone();
        let partitions = match partition_count(broker, &ct) {
            Ok(n) => n,
            Err((code, message)) => {
                r.num_partitions = -1;
                r.replication_factor = -1;
                r.error_code = code;
                r.error_message = Some(str_bytes(&message));
                resp.topics.push(r);
                continue;
            }
        };
        r.num_partitions = partitions;
        r.replication_factor = 1;
        let configs = match topic_configs(&ct) {
            Ok(c) => c,
            Err(message) => {
                r.error_code = INVALID_CONFIG;
                r.error_message = Some(str_bytes(&message));
                resp.topics.push(r);
                continue;
            }
        };
        let outcome = super::topic_configs::check_all(&configs).and_then(|()| {
            if req.validate_only {
                Ok(None)
            } else {
                broker.topics.create(&name, partitions, configs).map(Some)
            }
        });
        match outcome {
            Ok(Some(t)) => r.topic_id = t.id,
            Ok(None) => {}
            Err(e) => {
                r.error_code = e.kafka_error_code();
                r.error_message = Some(str_bytes(&e.to_string()));
            }
        }
        resp.topics.push(r);
    }
    resp
}

/// How many partitions a CreateTopics entry asks for, checked as Kafka's controller does.
/// With manual replica assignments (NumPartitions = ReplicationFactor = -1) there is one
/// partition per assignment, numbered 0, 1, … in order, each naming distinct, registered
/// brokers (here: this node only) and all with the same replica count; otherwise the count
/// (or `num.partitions` for -1) with a replication factor this single node can honour.
fn partition_count(
    broker: &Broker,
    ct: &kafka_protocol::messages::create_topics_request::CreatableTopic,
) -> Result<i32, (i16, String)> {
    let node = broker.config.node_id;
    if ct.assignments.is_empty() {
        if ct.replication_factor > 1 {
            return Err((
                INVALID_REPLICATION_FACTOR,
                "Replication factor is larger than the number of brokers (1)".into(),
            ));
        }
        if ct.replication_factor == 0 || ct.replication_factor < -1 {
            return Err((
                INVALID_REPLICATION_FACTOR,
                "Replication factor must be larger than 0, or -1 to use the default value.".into(),
            ));
        }
        let n = match ct.num_partitions {
            -1 => broker.config.default_partitions,
            n => n,
        };
        if !(1..=crate::topics::MAX_PARTITIONS).contains(&n) {
            return Err((
                INVALID_PARTITIONS,
                format!(
                    "Number of partitions must be between 1 and {}",
                    crate::topics::MAX_PARTITIONS
                ),
            ));
        }
        return Ok(n);
    }
    if ct.replication_factor != -1 {
        return Err((
            INVALID_REQUEST,
            "A manual partition assignment was specified, but replication factor was not set to -1."
                .into(),
        ));
    }
    if ct.num_partitions != -1 {
        return Err((
            INVALID_REQUEST,
            "A manual partition assignment was specified, but numPartitions was not set to -1."
                .into(),
        ));
    }
    if ct.assignments.len() > crate::topics::MAX_PARTITIONS as usize {
        return Err((
            INVALID_PARTITIONS,
            format!(
                "Number of partitions must be between 1 and {}",
                crate::topics::MAX_PARTITIONS
            ),
        ));
    }
    let bad = |m: String| Err((INVALID_REPLICA_ASSIGNMENT, m));
    let replicas = ct.assignments[0].broker_ids.len();
    for (expected, a) in ct.assignments.iter().enumerate() {
        if a.partition_index != expected as i32 {
            return bad(format!(
                "Partitions should be a consecutive 0-based integer sequence: got partition \
                 {} where {expected} was expected",
                a.partition_index
            ));
        }
        if a.broker_ids.is_empty() {
            return bad("The manual partition assignment includes an empty replica list.".into());
        }
        if a.broker_ids.len() != replicas {
            return bad(format!(
                "The manual partition assignment includes a partition with {} replica(s), but \
                 this is not consistent with previous partitions, which have {replicas} \
                 replica(s).",
                a.broker_ids.len()
            ));
        }
        for (i, b) in a.broker_ids.iter().enumerate() {
            if a.broker_ids[..i].contains(b) {
                return bad(format!(
                    "The manual partition assignment includes the broker {} more than once.",
                    b.0
                ));
            }
            if b.0 != node {
                return bad(format!(
                    "The manual partition assignment includes broker {}, but no such broker \
                     is registered.",
                    b.0
                ));
            }
        }
    }
    Ok(ct.assignments.len() as i32)
}

/// A CreateTopics entry's configs, each checked against Kafka's topic config table (the
/// one every config API uses); `Err` is the INVALID_CONFIG message.
fn topic_configs(
    ct: &kafka_protocol::messages::create_topics_request::CreatableTopic,
) -> Result<TopicConfigs, String> {
    let mut configs = TopicConfigs::new();
    for c in &ct.configs {
        let name = c.name.as_str();
        let Some(value) = c.value.as_ref() else {
            return Err(format!(
                "Null value not supported for topic configs: {name}"
            ));
        };
        super::topic_configs::check(name, value)?;
        configs.insert(name.to_string(), value.to_string());
    }
    Ok(configs)
}

pub fn delete_topics(broker: &Broker, req: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let mut resp = DeleteTopicsResponse::default();
    let mut names: Vec<(Option<String>, uuid::Uuid)> = req
        .topic_names
        .iter()
        .map(|n| (Some(n.0.to_string()), uuid::Uuid::nil()))
        .collect();
    names.extend(
        req.topics
            .iter()
            .map(|t| (t.name.as_ref().map(|n| n.0.to_string()), t.topic_id)),
    );
    for (name, id) in names {
        let name = name.or_else(|| {
            broker
                .topics
                .all()
                .iter()
                .find(|t| t.id == id)
                .map(|t| t.name.clone())
        });
        let mut r = DeletableTopicResult::default();
        r.topic_id = id;
        match name {
            Some(n) => {
                r.name = Some(topic_name(&n));
                if let Err(e) = broker.topics.delete(&n) {
                    r.error_code = e.kafka_error_code();
                    r.error_message = Some(str_bytes(&e.to_string()));
                }
            }
            None => r.error_code = UNKNOWN_TOPIC_ID,
        }
        resp.responses.push(r);
    }
    resp
}
