//! The coordinator's state machine driven directly, with short timeouts and explicit timer
//! passes; real clients drive it over the wire in the interop suite.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::*;

fn config() -> GroupConfig {
    GroupConfig {
        min_session_timeout_ms: 10,
        initial_rebalance_delay: Duration::ZERO,
        ..GroupConfig::default()
    }
}

fn coordinator(cfg: GroupConfig) -> (tempfile::TempDir, Arc<Coordinator>) {
    let dir = tempfile::tempdir().unwrap();
    let offsets = OffsetStore::open(&dir.path().join("offsets"), Default::default()).unwrap();
    (dir, Arc::new(Coordinator::new(offsets, cfg)))
}

fn join_req(member_id: &str, instance: Option<&str>, session_ms: i32) -> JoinRequest {
    JoinRequest {
        group_id: "g".into(),
        member_id: member_id.into(),
        instance_id: instance.map(str::to_string),
        client_id: "client".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: session_ms,
        rebalance_timeout_ms: 300,
        protocol_type: "consumer".into(),
        protocols: vec![
            ("range".into(), Bytes::from_static(b"r")),
            ("roundrobin".into(), Bytes::from_static(b"rr")),
        ],
        require_known_member_id: false,
    }
}

fn spawn_join(
    c: &Arc<Coordinator>,
    req: JoinRequest,
) -> tokio::task::JoinHandle<Result<JoinOutcome, GroupError>> {
    let c = c.clone();
    tokio::spawn(async move { c.join(req).await })
}

async fn sync(
    c: &Coordinator,
    member: &str,
    generation: i32,
    assignments: Vec<(String, Bytes)>,
) -> Result<Bytes, GroupError> {
    c.sync("g", member, None, generation, None, None, assignments)
        .await
}

/// Runs the coordinator's timers in the background, as the broker does, until dropped.
struct Ticker(tokio::task::JoinHandle<()>);

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn ticker(c: &Arc<Coordinator>) -> Ticker {
    let c = c.clone();
    Ticker(tokio::spawn(async move {
        loop {
            c.run_timers();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }))
}

/// Runs timer passes until `cond` holds (bounded).
async fn tick_until(c: &Coordinator, mut cond: impl FnMut() -> bool) {
    for _ in 0..200 {
        c.run_timers();
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached");
}

#[tokio::test]
async fn members_join_sync_and_rebalance_with_kafka_errors() {
    let (_d, c) = coordinator(config());
    // KIP-394: a v4+ join without a member id is handed one and must come back with it.
    let mut first = join_req("", None, 10_000);
    first.require_known_member_id = true;
    let Err(GroupError::MemberIdRequired(a)) = c.join(first).await else {
        panic!("expected MEMBER_ID_REQUIRED");
    };
    let ja = c.join(join_req(&a, None, 10_000)).await.unwrap();
    assert_eq!((ja.generation, ja.leader.as_str()), (1, a.as_str()));
    assert_eq!(ja.protocol_name.as_deref(), Some("range"));
    assert_eq!(ja.members.len(), 1, "the leader gets the member list");
    assert_eq!(
        sync(&c, &a, 1, vec![(a.clone(), Bytes::from_static(b"all"))]).await,
        Ok(Bytes::from_static(b"all"))
    );

    // A second member: the first learns of the rebalance through its heartbeat.
    let jb = spawn_join(&c, join_req("", None, 10_000));
    tick_until(&c, || c.describe("g").state == "PreparingRebalance").await;
    assert_eq!(
        c.heartbeat("g", &a, None, 1),
        Err(GroupError::RebalanceInProgress)
    );
    let ja = c.join(join_req(&a, None, 10_000)).await.unwrap();
    let jb = jb.await.unwrap().unwrap();
    assert_eq!((ja.generation, jb.generation), (2, 2));
    assert_eq!(ja.members.len(), 2);
    assert!(jb.members.is_empty(), "followers get no member list");
    let b = jb.member_id.clone();

    // The follower's SyncGroup waits for the leader's assignment.
    let follower = {
        let c = c.clone();
        let b = b.clone();
        tokio::spawn(async move { sync(&c, &b, 2, vec![]).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!follower.is_finished());
    let given = vec![
        (a.clone(), Bytes::from_static(b"p0")),
        (b.clone(), Bytes::from_static(b"p1")),
    ];
    assert_eq!(sync(&c, &a, 2, given).await, Ok(Bytes::from_static(b"p0")));
    assert_eq!(follower.await.unwrap(), Ok(Bytes::from_static(b"p1")));
    assert_eq!(c.describe("g").state, "Stable");

    assert_eq!(c.heartbeat("g", &b, None, 2), Ok(()));
    assert_eq!(
        c.heartbeat("g", &b, None, 1),
        Err(GroupError::IllegalGeneration)
    );
    assert_eq!(
        c.heartbeat("g", "nobody", None, 2),
        Err(GroupError::UnknownMemberId)
    );
    assert_eq!(
        c.heartbeat("other", &a, None, 2),
        Err(GroupError::UnknownMemberId)
    );

    // Commits are checked against membership and generation.
    let offs = [(("t".to_string(), 0), committed(5))];
    assert_eq!(c.commit("g", &a, None, 2, &offs).await, Ok(()));
    assert_eq!(
        c.commit("g", &a, None, 1, &offs).await,
        Err(GroupError::IllegalGeneration)
    );
    assert_eq!(
        c.commit("g", "", None, -1, &offs).await,
        Err(GroupError::UnknownMemberId),
        "standalone commits only into groups without members"
    );
    let fetched = c.fetch("g", Some(&[("t".to_string(), 0), ("t".to_string(), 1)]));
    assert_eq!(fetched[0].1.as_ref().map(|o| o.offset), Some(5));
    assert_eq!(
        fetched[0].1.as_ref().and_then(|o| o.metadata.as_deref()),
        Some("m")
    );
    assert_eq!(fetched[1], (("t".to_string(), 1), None));

    // Leaving rebalances the rest; the last one out empties the group.
    assert_eq!(c.leave("g", &[(b.clone(), None)]).unwrap(), vec![Ok(())]);
    assert_eq!(c.describe("g").state, "PreparingRebalance");
    let ja = c.join(join_req(&a, None, 10_000)).await.unwrap();
    assert_eq!((ja.generation, ja.members.len()), (3, 1));
    assert_eq!(c.leave("g", &[(a.clone(), None)]).unwrap(), vec![Ok(())]);
    assert_eq!(c.describe("g").state, "Empty");
    assert_eq!(
        c.commit("g", "", None, -1, &offs).await,
        Ok(()),
        "an empty group takes standalone commits"
    );
    assert_eq!(c.delete("g").await, Ok(()));
    assert_eq!(c.describe("g").state, "Dead");
    assert_eq!(c.delete("g").await, Err(GroupError::GroupIdNotFound));
}

fn committed(offset: i64) -> CommittedOffset {
    CommittedOffset {
        offset,
        leader_epoch: 0,
        metadata: Some("m".into()),
        commit_timestamp: crate::log::partition::now_ms(),
    }
}

#[tokio::test]
async fn expired_sessions_and_missing_rejoins_remove_members() {
    let (_d, c) = coordinator(config());
    let _timers = ticker(&c);
    let a = c.join(join_req("", None, 10_000)).await.unwrap().member_id;
    sync(&c, &a, 1, vec![]).await.unwrap();
    // b has a short session and will stop heartbeating.
    let jb = spawn_join(&c, join_req("", None, 100));
    tick_until(&c, || c.describe("g").state == "PreparingRebalance").await;
    let ja = c.join(join_req(&a, None, 10_000)).await.unwrap();
    let b = jb.await.unwrap().unwrap().member_id;
    sync(&c, &a, ja.generation, vec![]).await.unwrap();
    sync(&c, &b, ja.generation, vec![]).await.unwrap();

    // b's session runs out: removed, and the group rebalances without it.
    tick_until(&c, || c.describe("g").members.len() == 1).await;
    assert_eq!(
        c.heartbeat("g", &b, None, ja.generation),
        Err(GroupError::UnknownMemberId)
    );
    let ja2 = c.join(join_req(&a, None, 10_000)).await.unwrap();
    assert_eq!(ja2.generation, ja.generation + 1);

    // A member that does not rejoin within the rebalance timeout (300 ms) is dropped.
    sync(&c, &a, ja2.generation, vec![]).await.unwrap();
    let jc = spawn_join(&c, join_req("", None, 10_000));
    let started = std::time::Instant::now();
    let jc = jc.await.unwrap().unwrap();
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(jc.leader, jc.member_id, "the absent leader was replaced");
    assert_eq!(
        c.heartbeat("g", &a, None, jc.generation),
        Err(GroupError::UnknownMemberId)
    );
}

#[tokio::test]
async fn static_member_rejoins_without_rebalance_and_fences_its_old_self() {
    // A short initial delay lets both members into the first generation.
    let (_d, c) = coordinator(GroupConfig {
        initial_rebalance_delay: Duration::from_millis(100),
        ..config()
    });
    let _timers = ticker(&c);
    let ja = spawn_join(&c, join_req("", Some("ia"), 10_000));
    let jb = spawn_join(&c, join_req("", Some("ib"), 10_000));
    let (ja, jb) = (ja.await.unwrap().unwrap(), jb.await.unwrap().unwrap());
    let generation = ja.generation;
    let (leader, follower) = if ja.leader == ja.member_id {
        (ja.member_id, jb.member_id)
    } else {
        (jb.member_id, ja.member_id)
    };
    let f = {
        let c = c.clone();
        let follower = follower.clone();
        tokio::spawn(async move { sync(&c, &follower, generation, vec![]).await })
    };
    tokio::time::sleep(Duration::from_millis(10)).await;
    let given = vec![
        (leader.clone(), Bytes::from_static(b"L")),
        (follower.clone(), Bytes::from_static(b"F")),
    ];
    sync(&c, &leader, generation, given).await.unwrap();
    f.await.unwrap().unwrap();

    // The follower's process restarts: same instance id, no member id.
    let instance = if follower == ja_member(&c, "ia") {
        "ia"
    } else {
        "ib"
    };
    let back = c.join(join_req("", Some(instance), 10_000)).await.unwrap();
    assert_eq!(back.generation, generation, "no rebalance");
    assert_ne!(back.member_id, follower);
    assert_eq!(back.leader, leader);
    assert_eq!(
        c.sync(
            "g",
            &back.member_id,
            Some(instance),
            generation,
            None,
            None,
            vec![]
        )
        .await,
        Ok(Bytes::from_static(b"F")),
        "its old assignment"
    );
    assert_eq!(
        c.heartbeat("g", &follower, Some(instance), generation),
        Err(GroupError::FencedInstanceId)
    );
    assert_eq!(c.describe("g").state, "Stable");
}

/// The member id currently holding `instance`.
fn ja_member(c: &Coordinator, instance: &str) -> String {
    c.describe("g")
        .members
        .into_iter()
        .find(|m| m.instance_id.as_deref() == Some(instance))
        .map(|m| m.member_id)
        .unwrap_or_default()
}

#[tokio::test]
async fn protocols_must_match_and_session_timeouts_are_bounded() {
    let (_d, c) = coordinator(GroupConfig {
        min_session_timeout_ms: 6000,
        ..config()
    });
    assert_eq!(
        c.join(join_req("", None, 100)).await,
        Err(GroupError::InvalidSessionTimeout)
    );
    let a = c.join(join_req("", None, 10_000)).await.unwrap();
    let mut other = join_req("", None, 10_000);
    other.protocols = vec![("sticky".into(), Bytes::new())];
    assert_eq!(
        c.join(other).await,
        Err(GroupError::InconsistentGroupProtocol)
    );
    let mut connect = join_req("", None, 10_000);
    connect.protocol_type = "connect".into();
    assert_eq!(
        c.join(connect).await,
        Err(GroupError::InconsistentGroupProtocol)
    );
    assert_eq!(a.protocol_type.as_deref(), Some("consumer"));
}

#[tokio::test]
async fn offsets_of_empty_groups_expire_after_the_retention() {
    let (_d, c) = coordinator(GroupConfig {
        offsets_retention_ms: 1000,
        ..config()
    });
    let now = crate::log::partition::now_ms();
    let offs = [(("t".to_string(), 0), committed(5))];
    c.commit("lonely", "", None, -1, &offs).await.unwrap();
    // A group with a live member keeps its offsets however old.
    let mut req = join_req("", None, 10_000);
    req.group_id = "busy".into();
    let m = c.join(req).await.unwrap();
    c.sync("busy", &m.member_id, None, m.generation, None, None, vec![])
        .await
        .unwrap();
    c.commit("busy", &m.member_id, None, m.generation, &offs)
        .await
        .unwrap();

    assert_eq!(c.expire_offsets(now + 500).await, 0, "not yet");
    assert_eq!(c.expire_offsets(now + 5000).await, 1);
    assert_eq!(c.fetch("lonely", None), vec![]);
    assert_eq!(c.fetch("busy", None).len(), 1);
    assert_eq!(
        c.list()
            .iter()
            .map(|g| g.group_id.as_str())
            .collect::<Vec<_>>(),
        vec!["busy"]
    );
}

/// Issue #13 bug 3 (librdkafka test 0113 `v_commit_during_rebalance`): a commit while the
/// group awaits its leader's assignment is checked as Kafka's GroupCoordinator does — unknown
/// member, then stale generation, and only then REBALANCE_IN_PROGRESS — and only an accepted
/// commit counts as the member's heartbeat.
#[tokio::test]
async fn commit_errors_come_in_kafkas_order() {
    let (_d, c) = coordinator(config());
    let offs = [(("t".to_string(), 0), committed(5))];
    let ja = c.join(join_req("", None, 10_000)).await.unwrap();
    let a = ja.member_id.clone();
    assert_eq!(ja.generation, 1);
    // CompletingRebalance: joined, no SyncGroup from the leader yet.
    assert_eq!(c.describe("g").state, "CompletingRebalance");
    assert_eq!(
        c.commit("g", "nobody", None, 1, &offs).await,
        Err(GroupError::UnknownMemberId)
    );
    assert_eq!(
        c.commit("g", "nobody", None, 0, &offs).await,
        Err(GroupError::UnknownMemberId),
        "the member is checked before the generation"
    );
    assert_eq!(
        c.commit("g", &a, None, 0, &offs).await,
        Err(GroupError::IllegalGeneration),
        "the generation is checked before the state"
    );
    assert_eq!(
        c.commit("g", &a, None, 1, &offs).await,
        Err(GroupError::RebalanceInProgress)
    );
    assert_eq!(
        c.commit("g", "", None, -1, &offs).await,
        Err(GroupError::UnknownMemberId),
        "no standalone commits into a group with members"
    );
    assert_eq!(c.fetch("g", None), vec![]);
    assert_eq!(
        sync(&c, &a, 1, vec![(a.clone(), Bytes::new())]).await,
        Ok(Bytes::new())
    );
    assert_eq!(c.commit("g", &a, None, 1, &offs).await, Ok(()));
    // Unknown group: a standalone commit creates it, a member commit is from a dead generation.
    assert_eq!(c.commit("fresh", "", None, -1, &offs).await, Ok(()));
    assert_eq!(
        c.commit("other", "m", None, 3, &offs).await,
        Err(GroupError::IllegalGeneration)
    );
}

/// A member whose commits are all rejected still times out: only an accepted commit resets
/// its session, as in Kafka.
#[tokio::test]
async fn rejected_commits_do_not_keep_a_member_alive() {
    let (_d, c) = coordinator(config());
    let offs = [(("t".to_string(), 0), committed(5))];
    let ja = c.join(join_req("", None, 300)).await.unwrap();
    let a = ja.member_id.clone();
    sync(&c, &a, 1, vec![]).await.unwrap();
    let started = std::time::Instant::now();
    // Keep committing with a stale generation well past the session timeout.
    while c.describe("g").members.len() == 1 {
        assert_eq!(
            c.commit("g", &a, None, 0, &offs).await,
            Err(GroupError::IllegalGeneration)
        );
        c.run_timers();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the member was kept alive by rejected commits"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Accepted commits, by contrast, keep a member alive (a longer session, so that a slow
    // commit on a loaded machine does not count as silence).
    let jb = c.join(join_req("", None, 1_000)).await.unwrap();
    let b = jb.member_id.clone();
    sync(&c, &b, jb.generation, vec![]).await.unwrap();
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(2_500) {
        assert_eq!(c.commit("g", &b, None, jb.generation, &offs).await, Ok(()));
        c.run_timers();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(c.describe("g").members.len(), 1);
}

/// Issue #13 bug 6: when the last member leaves, the group keeps its protocol type
/// (`consumer`) in ListGroups and DescribeGroups; only the protocol name is cleared.
#[tokio::test]
async fn an_empty_group_keeps_its_protocol_type() {
    let (_d, c) = coordinator(config());
    let ja = c.join(join_req("", None, 10_000)).await.unwrap();
    sync(&c, &ja.member_id, ja.generation, vec![])
        .await
        .unwrap();
    let offs = [(("t".to_string(), 0), committed(5))];
    c.commit("g", &ja.member_id, None, ja.generation, &offs)
        .await
        .unwrap();
    assert_eq!(c.describe("g").protocol, "range");
    assert_eq!(
        c.leave("g", &[(ja.member_id.clone(), None)]).unwrap(),
        vec![Ok(())]
    );
    let d = c.describe("g");
    assert_eq!(
        (d.state, d.protocol_type.as_str(), d.protocol.as_str()),
        ("Empty", "consumer", "")
    );
    let listed = c.list();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].state, listed[0].protocol_type.as_str()),
        ("Empty", "consumer")
    );
    // A member of another protocol type may still take over the empty group, as in Kafka.
    let mut other = join_req("", None, 10_000);
    other.protocol_type = "connect".into();
    let jo = c.join(other).await.unwrap();
    assert_eq!(jo.protocol_type.as_deref(), Some("connect"));
}

/// Yields until `cond` holds, without letting (paused) time move: what is due at this
/// instant runs, nothing later.
async fn settle(mut cond: impl FnMut() -> bool) {
    let at = tokio::time::Instant::now();
    for _ in 0..100 {
        if cond() {
            return;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(tokio::time::Instant::now(), at);
    panic!("condition not reached at {at:?}");
}

/// Issue #13 bug 9: a member that stops heartbeating is removed at its session deadline to
/// the millisecond (not on the next tick of a coarse timer), and a rebalance whose members do
/// not all rejoin completes exactly at the rebalance timeout. The clock is tokio's, paused:
/// it moves only to the next timer, so the instants are exact.
#[tokio::test(start_paused = true)]
async fn deadlines_fire_at_their_millisecond() {
    let (_d, c) = coordinator(config());
    let driver = {
        let c = c.clone();
        tokio::spawn(async move { c.drive_deadlines().await })
    };
    let ja = c.join(join_req("", None, 10_000)).await.unwrap();
    let a = ja.member_id.clone();
    sync(&c, &a, ja.generation, vec![]).await.unwrap();
    let last_heard = tokio::time::Instant::now();

    // A second member joins at +4 s: the first must rejoin within the rebalance timeout
    // (300 ms in `join_req`), and does not.
    tokio::time::sleep(Duration::from_millis(4_000)).await;
    let jb = spawn_join(&c, join_req("", None, 10_000));
    settle(|| c.describe("g").state == "PreparingRebalance").await;
    let rebalance_started = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(299)).await;
    assert_eq!(
        c.describe("g").state,
        "PreparingRebalance",
        "299 ms: not yet"
    );
    tokio::time::sleep(Duration::from_millis(1)).await;
    settle(|| c.describe("g").state == "CompletingRebalance").await;
    assert_eq!(
        tokio::time::Instant::now() - rebalance_started,
        Duration::from_millis(300)
    );
    let jb = jb.await.unwrap().unwrap();
    assert_eq!(jb.members.len(), 1, "the silent member was dropped");
    assert!(c.describe("g").members.iter().all(|m| m.member_id != a));
    let b = jb.member_id.clone();
    sync(&c, &b, jb.generation, vec![]).await.unwrap();
    let b_heard = tokio::time::Instant::now();
    assert!(b_heard > last_heard);

    // The remaining member heartbeats once more at +2 s, then falls silent: it expires at
    // exactly that heartbeat + 10 s, not a moment earlier or later.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    c.heartbeat("g", &b, None, jb.generation).unwrap();
    let heartbeat = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(9_999)).await;
    assert_eq!(c.describe("g").members.len(), 1, "9999 ms: still a member");
    tokio::time::sleep(Duration::from_millis(1)).await;
    settle(|| c.describe("g").members.is_empty()).await;
    assert_eq!(
        tokio::time::Instant::now() - heartbeat,
        Duration::from_millis(10_000)
    );
    driver.abort();
}
