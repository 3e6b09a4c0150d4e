//! DescribeQuorum (API 55, KIP-595/KIP-853): the controller quorum as its leader sees it.
//!
//! Kafka answers this for the metadata log's one partition, `__cluster_metadata-0`; brokers
//! forward it to the active controller. Here every node runs a controller, so any node
//! answers, fetching the leader's view over the cluster transport when it does not lead
//! ([`charter_cluster::Controller::quorum`]). `charter cluster status` and Kafka's
//! `kafka-metadata-quorum describe --status` read it.
//!
//! Mapping: the Raft term is the leader epoch, a voter's log end offset is its matched index
//! plus one (Raft indexes count entries from 0, Kafka offsets name the next one), the high
//! watermark is the majority's index plus one. Timestamps Charter does not track are -1, as
//! Kafka's "unknown"; directory ids are not reported yet (zero UUID, as a pre-KIP-853 voter).

use std::time::Duration;

use kafka_protocol::messages::describe_quorum_response::{
    Listener, Node, PartitionData, ReplicaState, TopicData,
};
use kafka_protocol::messages::{BrokerId, DescribeQuorumRequest, DescribeQuorumResponse};
use kafka_protocol::protocol::StrBytes;

use super::Broker;

/// The metadata log's name, as Kafka's KRaft calls it.
pub const METADATA_TOPIC: &str = "__cluster_metadata";

const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const NOT_LEADER_OR_FOLLOWER: i16 = 6;

/// How long a follower waits for the leader's view.
const LEADER_TIMEOUT: Duration = Duration::from_secs(2);

pub async fn describe_quorum(
    broker: &Broker,
    req: DescribeQuorumRequest,
) -> DescribeQuorumResponse {
    let mut resp = DescribeQuorumResponse::default();
    let view = match &broker.controller {
        Some(c) => c.quorum(LEADER_TIMEOUT).await,
        None => Err("no controller runs in this process".to_string()),
    };
    for topic in req.topics {
        let mut t = TopicData::default();
        t.topic_name = topic.topic_name.clone();
        for p in topic.partitions {
            let mut pd = PartitionData::default();
            pd.partition_index = p.partition_index;
            pd.leader_id = BrokerId(-1);
            pd.leader_epoch = -1;
            pd.high_watermark = -1;
            if topic.topic_name.0.as_str() != METADATA_TOPIC || p.partition_index != 0 {
                pd.error_code = UNKNOWN_TOPIC_OR_PARTITION;
            } else {
                match &view {
                    Ok(v) => {
                        pd.leader_id = BrokerId(v.leader.map_or(-1, |l| l as i32));
                        pd.leader_epoch = v.term as i32;
                        pd.high_watermark = v.majority_index().map_or(-1, |i| i as i64 + 1);
                        pd.current_voters = v
                            .voters
                            .iter()
                            .map(|voter| {
                                let mut r = ReplicaState::default();
                                r.replica_id = BrokerId(voter.node_id as i32);
                                r.log_end_offset = voter.matched_index.map_or(-1, |i| i as i64 + 1);
                                r
                            })
                            .collect();
                    }
                    Err(e) => {
                        pd.error_code = NOT_LEADER_OR_FOLLOWER;
                        pd.error_message = Some(StrBytes::from_string(e.clone()));
                    }
                }
            }
            t.partitions.push(pd);
        }
        resp.topics.push(t);
    }
    if let Ok(v) = &view {
        resp.nodes = v
            .voters
            .iter()
            .filter_map(|voter| {
                let (host, port) = voter.addr.rsplit_once(':')?;
                let mut l = Listener::default();
                l.name = StrBytes::from_static_str("CONTROLLER");
                l.host = StrBytes::from_string(host.to_string());
                l.port = port.parse().ok()?;
                let mut n = Node::default();
                n.node_id = BrokerId(voter.node_id as i32);
                n.listeners = vec![l];
                Some(n)
            })
            .collect();
    }
    resp
}
