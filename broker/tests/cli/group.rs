//! `charter consume --group` (standalone consumer: OffsetFetch to start, OffsetCommit with
//! generation -1) and `charter group list|describe` (members, assignments, committed offsets,
//! lag) against a real `charter serve`.

use std::time::{Duration, Instant};

use crate::common::{run, run_with_input, Server};
use serde_json::Value;

fn produce_events(server: &Server, dir: &std::path::Path, n: usize) {
    let input: String = (0..n)
        .map(|i| format!("{{\"key\": \"k{i}\", \"value\": {{\"n\": {i}}}}}\n"))
        .collect();
    let r = run_with_input(
        server.charter(dir),
        &["produce", "--topic", "events", "--value-format", "json"],
        &input,
    );
    assert_eq!(r.code, 0, "{r:?}");
}

fn total_lag(describe: &Value) -> i64 {
    describe["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["topic"] == "events")
        .map(|o| o["lag"].as_i64().unwrap_or(0))
        .sum()
}

#[test]
fn standalone_group_consumption_commits_and_group_commands_report_lag() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        server.charter(dir.path()),
        &["topic", "create", "events", "--partitions", "2"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    produce_events(&server, dir.path(), 5);

    let consume = |extra: &[&str]| {
        let mut args = vec!["consume", "--topic", "events", "--group", "g1"];
        args.extend_from_slice(extra);
        run(server.charter(dir.path()), &args)
    };
    let first = consume(&["--from-beginning", "--max", "3", "--timeout-ms", "10000"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(first.stdout.lines().count(), 3, "{first:?}");

    let r = run(
        server.charter(dir.path()),
        &["group", "list", "--output", "json"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.json()
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["group"] == "g1"),
        "{r:?}"
    );
    let r = run(
        server.charter(dir.path()),
        &["group", "describe", "g1", "--output", "json"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let d = r.json();
    assert_eq!(total_lag(&d), 2, "{d}");
    assert!(d["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| !o["committed_offset"].is_null()));

    // The group resumes where it committed: the two remaining records, nothing twice.
    let second = consume(&["--timeout-ms", "1500"]);
    assert_eq!(second.code, 0, "{second:?}");
    let mut seen: Vec<String> = first
        .stdout
        .lines()
        .chain(second.stdout.lines())
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["key"].to_string())
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 5, "{first:?}\n{second:?}");
    let d = run(
        server.charter(dir.path()),
        &["group", "describe", "g1", "--output", "json"],
    )
    .json();
    assert_eq!(total_lag(&d), 0, "{d}");
    let text = run(server.charter(dir.path()), &["group", "describe", "g1"]);
    assert!(text.stdout.contains("LAG"), "{text:?}");
}

#[test]
fn describe_shows_live_members_and_assignments() {
    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{BaseConsumer, Consumer};

    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        server.charter(dir.path()),
        &["topic", "create", "events", "--partitions", "2"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    produce_events(&server, dir.path(), 2);
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &server.bootstrap)
        .set("group.id", "live")
        .set("client.id", "live-client")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&["events"]).expect("subscribe");
    let deadline = Instant::now() + Duration::from_secs(30);
    while consumer
        .assignment()
        .map(|a| a.count() == 0)
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "no assignment");
        let _ = consumer.poll(Duration::from_millis(100));
    }
    let r = run(
        server.charter(dir.path()),
        &["group", "describe", "live", "--output", "json"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let d = r.json();
    assert_eq!(d["state"], "Stable", "{d}");
    let members = d["members"].as_array().unwrap();
    assert_eq!(members.len(), 1, "{d}");
    assert_eq!(members[0]["client_id"], "live-client");
    assert_eq!(
        members[0]["assignment"]["events"],
        serde_json::json!([0, 1])
    );
    let r = run(server.charter(dir.path()), &["group", "describe", "live"]);
    assert!(r.stdout.contains("events[0,1]"), "{r:?}");
}

#[test]
fn unknown_group_is_not_found() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let r = run(server.charter(dir.path()), &["group", "describe", "nobody"]);
    assert_eq!(r.code, 4, "{r:?}");
}

#[test]
fn committed_offset_past_the_end_resets_to_earliest() {
    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    use rdkafka::{Offset, TopicPartitionList};

    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let r = run(server.charter(dir.path()), &["topic", "create", "events"]);
    assert_eq!(r.code, 0, "{r:?}");
    produce_events(&server, dir.path(), 2);
    // A standalone commit far past the end of the log.
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &server.bootstrap)
        .set("group.id", "ahead")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("events", 0, Offset::Offset(100))
        .unwrap();
    consumer.commit(&tpl, CommitMode::Sync).expect("commit");
    drop(consumer);
    let r = run(
        server.charter(dir.path()),
        &[
            "consume",
            "--topic",
            "events",
            "--group",
            "ahead",
            "--max",
            "2",
            "--timeout-ms",
            "10000",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout.lines().count(), 2, "{r:?}");
}
