//! `charter group ...`: consumer groups — ListGroups, DescribeGroups (members and their
//! assignments), OffsetFetch (committed offsets) and ListOffsets (lag).

use std::collections::{BTreeMap, BTreeSet};

use bytes::{Buf, Bytes};
use clap::Subcommand;
use kafka_protocol::messages::*;
use serde_json::{json, Value};

use super::kafka::{check, s, KafkaClient, KafkaError, GROUP_ID_NOT_FOUND};
use super::output::Output;
use super::{CliError, KafkaOpts, Result};

/// The `group` subcommands.
#[derive(Subcommand, Debug)]
pub enum GroupCommand {
    /// List consumer groups with their state.
    List,
    /// Show a group's state, members, assignments, committed offsets and lag per partition.
    Describe {
        /// The group id.
        group: String,
        /// Topics to report offsets for (default: every topic the group has offsets or
        /// assignments in).
        #[arg(long = "topic")]
        topics: Vec<String>,
    },
}

/// Runs a `group` subcommand.
pub async fn run(command: GroupCommand, kafka: &KafkaOpts, out: &Output) -> Result<()> {
    let mut client = kafka.connect().await?;
    match command {
        GroupCommand::List => list(&mut client, out).await,
        GroupCommand::Describe { group, topics } => {
            describe(&mut client, &group, topics, out).await
        }
    }
}

async fn list(client: &mut KafkaClient, out: &Output) -> Result<()> {
    let (resp, _) = client
        .send(&ListGroupsRequest::default(), 0, 4)
        .await
        .map_err(CliError::kafka("listing groups"))?;
    check(resp.error_code, None).map_err(CliError::kafka("listing groups"))?;
    let mut groups: Vec<(String, String, String)> = resp
        .groups
        .iter()
        .map(|g| {
            (
                g.group_id.0.to_string(),
                g.group_state.to_string(),
                g.protocol_type.to_string(),
            )
        })
        .collect();
    groups.sort();
    if out.is_json() {
        out.json(&Value::Array(
            groups
                .iter()
                .map(|(g, st, pt)| json!({"group": g, "state": st, "protocol_type": pt}))
                .collect(),
        ));
    } else {
        let rows: Vec<Vec<String>> = groups
            .into_iter()
            .map(|(g, st, pt)| vec![g, st, pt])
            .collect();
        out.table(&["GROUP", "STATE", "PROTOCOL TYPE"], &rows);
    }
    Ok(())
}

/// A member's assignment: topic -> partitions, decoded from the consumer protocol's
/// `ConsumerProtocolAssignment` (version, then topics with partition arrays). `None` when the
/// bytes are not that shape (another protocol type).
pub fn decode_assignment(bytes: &Bytes) -> Option<BTreeMap<String, Vec<i32>>> {
    let mut b = bytes.clone();
    if b.is_empty() {
        return Some(BTreeMap::new());
    }
    if b.remaining() < 6 {
        return None;
    }
    let _version = b.get_i16();
    let n = b.get_i32();
    if n < 0 || n as usize > b.remaining() {
        return None;
    }
    let mut out = BTreeMap::new();
    for _ in 0..n {
        if b.remaining() < 2 {
            return None;
        }
        let len = b.get_i16();
        if len < 0 || len as usize > b.remaining() {
            return None;
        }
        let name = String::from_utf8(b.copy_to_bytes(len as usize).to_vec()).ok()?;
        if b.remaining() < 4 {
            return None;
        }
        let count = b.get_i32();
        if count < 0 || (count as usize).saturating_mul(4) > b.remaining() {
            return None;
        }
        let parts = (0..count).map(|_| b.get_i32()).collect();
        out.insert(name, parts);
    }
    Some(out)
}

async fn describe(
    client: &mut KafkaClient,
    group: &str,
    topics: Vec<String>,
    out: &Output,
) -> Result<()> {
    let ctx = || format!("describing group {group}");
    let mut req = DescribeGroupsRequest::default();
    req.groups = vec![GroupId(s(group))];
    let (resp, _) = client
        .send(&req, 0, 5)
        .await
        .map_err(CliError::kafka(ctx()))?;
    let Some(g) = resp.groups.into_iter().next() else {
        return Err(CliError::Kafka {
            context: ctx(),
            source: KafkaError::Protocol("empty DescribeGroups answer".into()),
        });
    };
    if g.error_code == GROUP_ID_NOT_FOUND {
        return Err(CliError::NotFound(format!("group {group} does not exist")));
    }
    check(g.error_code, g.error_message.as_ref()).map_err(CliError::kafka(ctx()))?;
    // Which topics to report: asked for, assigned to members, or (when the group has no
    // members) every topic, filtered to those with committed offsets.
    let mut members = Vec::new();
    let mut wanted: BTreeSet<String> = topics.iter().cloned().collect();
    let mut owner: BTreeMap<(String, i32), String> = BTreeMap::new();
    for m in &g.members {
        let assignment = decode_assignment(&m.member_assignment).unwrap_or_default();
        for (t, ps) in &assignment {
            if topics.is_empty() {
                wanted.insert(t.clone());
            }
            for p in ps {
                owner.insert((t.clone(), *p), m.member_id.to_string());
            }
        }
        members.push(json!({
            "member_id": m.member_id.to_string(),
            "client_id": m.client_id.to_string(),
            "client_host": m.client_host.to_string(),
            "assignment": assignment,
        }));
    }
    let scan_all = wanted.is_empty();
    if scan_all {
        let md = client
            .metadata(None)
            .await
            .map_err(CliError::kafka(ctx()))?;
        wanted = md
            .topics
            .iter()
            .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
            .collect();
    }
    let mut offsets = Vec::new();
    for topic in &wanted {
        let partitions = match client.partitions(topic).await {
            Ok(p) => p,
            Err(KafkaError::Broker { .. }) if scan_all => continue,
            Err(e) => return Err(CliError::kafka(ctx())(e)),
        };
        let committed = client
            .offset_fetch(group, topic, &partitions)
            .await
            .map_err(CliError::kafka(ctx()))?;
        if scan_all && committed.values().all(|o| *o < 0) {
            continue;
        }
        let ends = client
            .list_offsets(topic, &partitions, -1)
            .await
            .map_err(CliError::kafka(ctx()))?;
        for p in partitions {
            let c = committed.get(&p).copied().unwrap_or(-1);
            let end = ends.get(&p).copied().unwrap_or(-1);
            let lag = if c >= 0 && end >= 0 {
                Some((end - c).max(0))
            } else {
                None
            };
            offsets.push((
                topic.clone(),
                p,
                c,
                end,
                lag,
                owner.get(&(topic.clone(), p)).cloned(),
            ));
        }
    }
    // Kafka describes an unknown group as "Dead" with nothing in it (kafka-consumer-groups
    // says it does not exist).
    if g.group_state.as_str() == "Dead" && g.members.is_empty() && offsets.is_empty() {
        return Err(CliError::NotFound(format!("group {group} does not exist")));
    }
    if out.is_json() {
        out.json(&json!({
            "group": group,
            "state": g.group_state.to_string(),
            "protocol_type": g.protocol_type.to_string(),
            "protocol": g.protocol_data.to_string(),
            "members": members,
            "offsets": offsets.iter().map(|(t, p, c, e, l, o)| json!({
                "topic": t, "partition": p,
                "committed_offset": if *c >= 0 { json!(c) } else { Value::Null },
                "end_offset": e, "lag": l, "member_id": o,
            })).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    out.line(&out.bold(&format!(
        "group {group}: {} ({} member(s))",
        g.group_state,
        g.members.len()
    )));
    if !g.members.is_empty() {
        let rows: Vec<Vec<String>> = g
            .members
            .iter()
            .map(|m| {
                let a = decode_assignment(&m.member_assignment)
                    .unwrap_or_default()
                    .iter()
                    .map(|(t, ps)| {
                        format!(
                            "{t}[{}]",
                            ps.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                vec![
                    m.member_id.to_string(),
                    m.client_id.to_string(),
                    m.client_host.to_string(),
                    a,
                ]
            })
            .collect();
        out.table(&["MEMBER", "CLIENT", "HOST", "ASSIGNMENT"], &rows);
        out.line("");
    }
    let rows: Vec<Vec<String>> = offsets
        .into_iter()
        .map(|(t, p, c, e, l, o)| {
            vec![
                t,
                p.to_string(),
                if c >= 0 { c.to_string() } else { "-".into() },
                e.to_string(),
                l.map(|l| l.to_string()).unwrap_or_else(|| "-".into()),
                o.unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    out.table(
        &["TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "MEMBER"],
        &rows,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_decodes_and_rejects_garbage() {
        let mut b = Vec::new();
        b.extend_from_slice(&0i16.to_be_bytes());
        b.extend_from_slice(&1i32.to_be_bytes());
        b.extend_from_slice(&1i16.to_be_bytes());
        b.push(b't');
        b.extend_from_slice(&2i32.to_be_bytes());
        b.extend_from_slice(&0i32.to_be_bytes());
        b.extend_from_slice(&1i32.to_be_bytes());
        let a = decode_assignment(&Bytes::from(b)).unwrap();
        assert_eq!(a["t"], vec![0, 1]);
        assert!(decode_assignment(&Bytes::from_static(&[0, 0, 0x7f, 0, 0, 0])).is_none());
    }
}
