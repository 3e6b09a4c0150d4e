//! `charter cluster status`: the controller quorum and the brokers, over the Kafka protocol.
//!
//! DescribeQuorum (API 55) gives the controller leader, its term and each voter's log end
//! (what Kafka's `kafka-metadata-quorum describe --status/--replication` show); Metadata gives
//! the live brokers and how many partitions each leads.

use std::collections::BTreeMap;

use clap::Subcommand;
use kafka_protocol::messages::*;
use serde_json::{json, Value};

use super::kafka::{check, s, KafkaClient};
use super::output::Output;
use super::{CliError, KafkaOpts, Result};

/// The metadata log's name in DescribeQuorum (as Kafka's KRaft names it).
const METADATA_TOPIC: &str = "__cluster_metadata";

/// The `cluster` subcommands.
#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// Show the controller quorum (leader, term, each voter's log end and lag) and the
    /// brokers with the partitions each leads.
    Status,
}

/// Runs a `cluster` subcommand.
pub async fn run(command: ClusterCommand, kafka: &KafkaOpts, out: &Output) -> Result<()> {
    let mut client = kafka.connect().await?;
    match command {
        ClusterCommand::Status => status(&mut client, out).await,
    }
}

/// One voter as DescribeQuorum reports it.
struct Voter {
    node_id: i32,
    log_end_offset: i64,
    address: Option<String>,
}

async fn status(client: &mut KafkaClient, out: &Output) -> Result<()> {
    let context = "describing the controller quorum";
    let mut req = DescribeQuorumRequest::default();
    let mut topic = describe_quorum_request::TopicData::default();
    topic.topic_name = TopicName(s(METADATA_TOPIC));
    let mut partition = describe_quorum_request::PartitionData::default();
    partition.partition_index = 0;
    topic.partitions = vec![partition];
    req.topics = vec![topic];
    let (resp, _) = client
        .send(&req, 0, 2)
        .await
        .map_err(CliError::kafka(context))?;
    check(resp.error_code, resp.error_message.as_ref()).map_err(CliError::kafka(context))?;
    let p = resp
        .topics
        .first()
        .and_then(|t| t.partitions.first())
        .ok_or_else(|| CliError::Failed(format!("{context}: an empty answer")))?;
    check(p.error_code, p.error_message.as_ref()).map_err(CliError::kafka(context))?;
    let addresses: BTreeMap<i32, String> = resp
        .nodes
        .iter()
        .filter_map(|n| {
            let l = n.listeners.first()?;
            Some((n.node_id.0, format!("{}:{}", l.host, l.port)))
        })
        .collect();
    let voters: Vec<Voter> = p
        .current_voters
        .iter()
        .map(|v| Voter {
            node_id: v.replica_id.0,
            log_end_offset: v.log_end_offset,
            address: addresses.get(&v.replica_id.0).cloned(),
        })
        .collect();
    let leader = p.leader_id.0;
    let leader_end = voters
        .iter()
        .find(|v| v.node_id == leader)
        .map_or(-1, |v| v.log_end_offset);

    let md = client
        .metadata(None)
        .await
        .map_err(CliError::kafka("reading metadata"))?;
    let mut leads: BTreeMap<i32, usize> = BTreeMap::new();
    for t in &md.topics {
        for part in &t.partitions {
            *leads.entry(part.leader_id.0).or_default() += 1;
        }
    }
    let brokers: Vec<(i32, String, usize)> = md
        .brokers
        .iter()
        .map(|b| {
            (
                b.node_id.0,
                format!("{}:{}", b.host, b.port),
                leads.get(&b.node_id.0).copied().unwrap_or(0),
            )
        })
        .collect();
    let lag = |v: &Voter| {
        (leader_end >= 0 && v.log_end_offset >= 0).then(|| leader_end - v.log_end_offset)
    };

    if out.is_json() {
        out.json(&json!({
            "cluster_id": md.cluster_id.as_ref().map(|c| c.to_string()),
            "controller": {
                "leader": (leader >= 0).then_some(leader),
                "term": p.leader_epoch,
                "high_watermark": p.high_watermark,
                "voters": voters.iter().map(|v| json!({
                    "node_id": v.node_id,
                    "address": v.address,
                    "role": if v.node_id == leader { "leader" } else { "follower" },
                    "log_end_offset": v.log_end_offset,
                    "lag": lag(v),
                })).collect::<Vec<Value>>(),
            },
            "brokers": brokers.iter().map(|(id, addr, n)| json!({
                "node_id": id, "address": addr, "partitions_led": n,
            })).collect::<Vec<Value>>(),
        }));
        return Ok(());
    }
    out.line(&format!(
        "cluster {}",
        md.cluster_id.as_ref().map_or("?", |c| c.as_str())
    ));
    out.line(&format!(
        "controller leader: node {leader}, term {}, high watermark {}",
        p.leader_epoch, p.high_watermark
    ));
    let rows: Vec<Vec<String>> = voters
        .iter()
        .map(|v| {
            vec![
                v.node_id.to_string(),
                v.address.clone().unwrap_or_default(),
                if v.node_id == leader {
                    "leader"
                } else {
                    "follower"
                }
                .to_string(),
                v.log_end_offset.to_string(),
                lag(v).map_or("?".to_string(), |l| l.to_string()),
            ]
        })
        .collect();
    out.table(&["VOTER", "ADDRESS", "ROLE", "LOG END", "LAG"], &rows);
    out.line("");
    let rows: Vec<Vec<String>> = brokers
        .iter()
        .map(|(id, addr, n)| vec![id.to_string(), addr.clone(), n.to_string()])
        .collect();
    out.table(&["BROKER", "ADDRESS", "PARTITIONS LED"], &rows);
    Ok(())
}
