//! `charter topic ...`: topic administration over the Kafka protocol (Metadata, CreateTopics,
//! DeleteTopics, DescribeConfigs, IncrementalAlterConfigs, ListOffsets).

use std::collections::BTreeMap;

use clap::Subcommand;
use kafka_protocol::messages::*;
use serde_json::{json, Value};

use super::kafka::{check, s, KafkaClient, KafkaError, UNKNOWN_TOPIC_OR_PARTITION};
use super::output::Output;
use super::{CliError, KafkaOpts, Result};

/// Kafka's resource type for topics in the configs APIs.
const RESOURCE_TOPIC: i8 = 2;

/// The `topic` subcommands.
#[derive(Subcommand, Debug)]
pub enum TopicCommand {
    /// Create a topic.
    Create {
        /// The topic name.
        name: String,
        /// Number of partitions.
        #[arg(long, default_value_t = 1)]
        partitions: i32,
        /// Replication factor (-1: the broker's default).
        #[arg(long, default_value_t = -1)]
        replication_factor: i16,
        /// A topic config, `name=value` (repeatable), e.g.
        /// `confluent.value.schema.validation=true`.
        #[arg(long = "config", value_parser = parse_kv)]
        configs: Vec<(String, String)>,
    },
    /// List topics.
    List,
    /// Show a topic's partitions, offsets and configs.
    Describe {
        /// The topic name.
        name: String,
    },
    /// Set or remove topic configs.
    AlterConfig {
        /// The topic name.
        name: String,
        /// Set `name=value` (repeatable).
        #[arg(long = "set", value_parser = parse_kv)]
        set: Vec<(String, String)>,
        /// Remove a config, back to its default (repeatable).
        #[arg(long = "delete")]
        delete: Vec<String>,
    },
    /// Delete a topic.
    Delete {
        /// The topic name.
        name: String,
    },
}

/// Parses `name=value`.
pub fn parse_kv(s: &str) -> std::result::Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected name=value, got {s:?}"))
}

/// Runs a `topic` subcommand.
pub async fn run(command: TopicCommand, kafka: &KafkaOpts, out: &Output) -> Result<()> {
    if let TopicCommand::AlterConfig { set, delete, .. } = &command {
        if set.is_empty() && delete.is_empty() {
            return Err(CliError::Usage(
                "give --set name=value or --delete name".into(),
            ));
        }
    }
    let mut client = kafka.connect().await?;
    match command {
        TopicCommand::Create {
            name,
            partitions,
            replication_factor,
            configs,
        } => {
            create(
                &mut client,
                &name,
                partitions,
                replication_factor,
                configs,
                out,
            )
            .await
        }
        TopicCommand::List => list(&mut client, out).await,
        TopicCommand::Describe { name } => describe(&mut client, &name, out).await,
        TopicCommand::AlterConfig { name, set, delete } => {
            if set.is_empty() && delete.is_empty() {
                return Err(CliError::Usage(
                    "give --set name=value or --delete name".into(),
                ));
            }
            alter(&mut client, &name, set, delete, out).await
        }
        TopicCommand::Delete { name } => delete_topic(&mut client, &name, out).await,
    }
}

async fn create(
    client: &mut KafkaClient,
    name: &str,
    partitions: i32,
    replication_factor: i16,
    configs: Vec<(String, String)>,
    out: &Output,
) -> Result<()> {
    let ctx = || format!("creating topic {name}");
    let mut topic = create_topics_request::CreatableTopic::default();
    topic.name = TopicName(s(name));
    topic.num_partitions = partitions;
    topic.replication_factor = replication_factor;
    topic.configs = configs
        .iter()
        .map(|(k, v)| {
            let mut c = create_topics_request::CreatableTopicConfig::default();
            c.name = s(k);
            c.value = Some(s(v));
            c
        })
        .collect();
    let mut req = CreateTopicsRequest::default();
    req.topics = vec![topic];
    req.timeout_ms = 30_000;
    let (resp, _) = client
        .send(&req, 2, 7)
        .await
        .map_err(CliError::kafka(ctx()))?;
    for t in &resp.topics {
        check(t.error_code, t.error_message.as_ref()).map_err(CliError::kafka(ctx()))?;
    }
    if out.is_json() {
        out.json(&json!({"topic": name, "partitions": partitions, "configs":
            configs.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>()}));
    } else {
        out.line(&format!(
            "created topic {} ({partitions} partition(s))",
            out.bold(name)
        ));
    }
    Ok(())
}

async fn list(client: &mut KafkaClient, out: &Output) -> Result<()> {
    let md = client
        .metadata(None)
        .await
        .map_err(CliError::kafka("listing topics"))?;
    let mut topics: Vec<(String, usize)> = md
        .topics
        .iter()
        .filter_map(|t| {
            t.name
                .as_ref()
                .map(|n| (n.0.to_string(), t.partitions.len()))
        })
        .collect();
    topics.sort();
    if out.is_json() {
        out.json(&Value::Array(
            topics
                .iter()
                .map(|(n, p)| json!({"topic": n, "partitions": p}))
                .collect(),
        ));
    } else {
        let rows: Vec<Vec<String>> = topics
            .into_iter()
            .map(|(n, p)| vec![n, p.to_string()])
            .collect();
        out.table(&["TOPIC", "PARTITIONS"], &rows);
    }
    Ok(())
}

/// A topic's configs: name -> (value, is_default).
pub async fn topic_configs(
    client: &mut KafkaClient,
    name: &str,
) -> std::result::Result<BTreeMap<String, (Option<String>, bool)>, KafkaError> {
    let mut res = describe_configs_request::DescribeConfigsResource::default();
    res.resource_type = RESOURCE_TOPIC;
    res.resource_name = s(name);
    res.configuration_keys = None;
    let mut req = DescribeConfigsRequest::default();
    req.resources = vec![res];
    let (resp, _) = client.send(&req, 1, 4).await?;
    let mut out = BTreeMap::new();
    for r in resp.results {
        check(r.error_code, r.error_message.as_ref())?;
        for c in r.configs {
            // config_source 5 = DEFAULT_CONFIG (v1+).
            out.insert(
                c.name.to_string(),
                (c.value.map(|v| v.to_string()), c.config_source == 5),
            );
        }
    }
    Ok(out)
}

async fn describe(client: &mut KafkaClient, name: &str, out: &Output) -> Result<()> {
    let ctx = || format!("describing topic {name}");
    let md = client
        .metadata(Some(&[name.to_string()]))
        .await
        .map_err(CliError::kafka(ctx()))?;
    let Some(topic) = md
        .topics
        .iter()
        .find(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(name))
    else {
        return Err(CliError::NotFound(format!("topic {name} does not exist")));
    };
    if topic.error_code == UNKNOWN_TOPIC_OR_PARTITION {
        return Err(CliError::NotFound(format!("topic {name} does not exist")));
    }
    check(topic.error_code, None).map_err(CliError::kafka(ctx()))?;
    let mut parts: Vec<_> = topic.partitions.iter().collect();
    parts.sort_by_key(|p| p.partition_index);
    let ids: Vec<i32> = parts.iter().map(|p| p.partition_index).collect();
    let earliest = client
        .list_offsets(name, &ids, -2)
        .await
        .map_err(CliError::kafka(ctx()))?;
    let latest = client
        .list_offsets(name, &ids, -1)
        .await
        .map_err(CliError::kafka(ctx()))?;
    let configs = topic_configs(client, name)
        .await
        .map_err(CliError::kafka(ctx()))?;
    let partitions: Vec<Value> = parts
        .iter()
        .map(|p| {
            json!({
                "partition": p.partition_index,
                "leader": p.leader_id.0,
                "replicas": p.replica_nodes.iter().map(|b| b.0).collect::<Vec<_>>(),
                "isr": p.isr_nodes.iter().map(|b| b.0).collect::<Vec<_>>(),
                "start_offset": earliest.get(&p.partition_index),
                "end_offset": latest.get(&p.partition_index),
            })
        })
        .collect();
    if out.is_json() {
        out.json(&json!({
            "topic": name,
            "topic_id": topic.topic_id.to_string(),
            "partitions": partitions,
            "configs": configs.iter().map(|(k, (v, d))| (k.clone(), json!({"value": v, "default": d}))).collect::<serde_json::Map<_, _>>(),
        }));
        return Ok(());
    }
    out.line(&out.bold(&format!("topic {name} ({} partition(s))", partitions.len())));
    let rows: Vec<Vec<String>> = parts
        .iter()
        .map(|p| {
            let list = |v: &[BrokerId]| {
                v.iter()
                    .map(|b| b.0.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            vec![
                p.partition_index.to_string(),
                p.leader_id.0.to_string(),
                list(&p.replica_nodes),
                list(&p.isr_nodes),
                earliest
                    .get(&p.partition_index)
                    .map(i64::to_string)
                    .unwrap_or_default(),
                latest
                    .get(&p.partition_index)
                    .map(i64::to_string)
                    .unwrap_or_default(),
            ]
        })
        .collect();
    out.table(
        &["PARTITION", "LEADER", "REPLICAS", "ISR", "START", "END"],
        &rows,
    );
    out.line("");
    let rows: Vec<Vec<String>> = configs
        .iter()
        .map(|(k, (v, d))| {
            let value = v.clone().unwrap_or_else(|| "-".into());
            vec![
                k.clone(),
                if *d { out.dim(&value) } else { value },
                if *d { out.dim("default") } else { "set".into() },
            ]
        })
        .collect();
    out.table(&["CONFIG", "VALUE", "SOURCE"], &rows);
    Ok(())
}

async fn alter(
    client: &mut KafkaClient,
    name: &str,
    set: Vec<(String, String)>,
    delete: Vec<String>,
    out: &Output,
) -> Result<()> {
    let ctx = || format!("altering configs of topic {name}");
    let mut configs = Vec::new();
    for (k, v) in &set {
        let mut c = incremental_alter_configs_request::AlterableConfig::default();
        c.name = s(k);
        c.config_operation = 0; // SET
        c.value = Some(s(v));
        configs.push(c);
    }
    for k in &delete {
        let mut c = incremental_alter_configs_request::AlterableConfig::default();
        c.name = s(k);
        c.config_operation = 1; // DELETE
        c.value = None;
        configs.push(c);
    }
    let mut res = incremental_alter_configs_request::AlterConfigsResource::default();
    res.resource_type = RESOURCE_TOPIC;
    res.resource_name = s(name);
    res.configs = configs;
    let mut req = IncrementalAlterConfigsRequest::default();
    req.resources = vec![res];
    let (resp, _) = client
        .send(&req, 0, 1)
        .await
        .map_err(CliError::kafka(ctx()))?;
    for r in &resp.responses {
        if r.error_code == UNKNOWN_TOPIC_OR_PARTITION {
            return Err(CliError::NotFound(format!("topic {name} does not exist")));
        }
        check(r.error_code, r.error_message.as_ref()).map_err(CliError::kafka(ctx()))?;
    }
    if out.is_json() {
        out.json(&json!({"topic": name, "set": set.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(), "deleted": delete}));
    } else {
        for (k, v) in &set {
            out.line(&format!("{name}: {k}={v}"));
        }
        for k in &delete {
            out.line(&format!("{name}: {k} reset to default"));
        }
    }
    Ok(())
}

async fn delete_topic(client: &mut KafkaClient, name: &str, out: &Output) -> Result<()> {
    let ctx = || format!("deleting topic {name}");
    let v = client
        .version(ApiKey::DeleteTopics, 1, 6)
        .map_err(CliError::kafka(ctx()))?;
    let mut req = DeleteTopicsRequest::default();
    req.timeout_ms = 30_000;
    if v >= 6 {
        let mut t = delete_topics_request::DeleteTopicState::default();
        t.name = Some(TopicName(s(name)));
        req.topics = vec![t];
    } else {
        req.topic_names = vec![TopicName(s(name))];
    }
    let resp = client
        .send_at(&req, v)
        .await
        .map_err(CliError::kafka(ctx()))?;
    for r in &resp.responses {
        if r.error_code == UNKNOWN_TOPIC_OR_PARTITION {
            return Err(CliError::NotFound(format!("topic {name} does not exist")));
        }
        check(r.error_code, r.error_message.as_ref()).map_err(CliError::kafka(ctx()))?;
    }
    if out.is_json() {
        out.json(&json!({"topic": name, "deleted": true}));
    } else {
        out.line(&format!("deleted topic {name}"));
    }
    Ok(())
}
