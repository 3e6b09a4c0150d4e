//! Registries as state machines of one replicated log, in one process: an in-memory log
//! orders the batches and delivers them to every node, each node at its own pace. The
//! controller's real log and transport are tested in `charter-cluster` and, with these
//! registries inside, by the multi-process tests of `charter serve`.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use crate::registry::SchemaRequest;
use crate::replicated::{ReplicatedLog, Submitted};
use crate::Registry;

/// A totally ordered log; each node has a queue of entries not yet applied.
#[derive(Default)]
struct MemLog {
    inner: Mutex<Inner>,
    /// How long a submit takes before it is ordered (a commit's round trip).
    delay_ms: u64,
}

#[derive(Default)]
struct Inner {
    entries: Vec<Vec<u8>>,
    nodes: Vec<(Arc<Registry>, VecDeque<u64>)>,
    /// Nodes that receive entries only when they submit or `deliver` is called.
    lagging: Vec<usize>,
}

impl Inner {
    /// Applies node `n`'s queued entries; returns the verdict for `index` if it was among them.
    fn deliver(&mut self, n: usize) -> Vec<(u64, Option<String>)> {
        let mut out = Vec::new();
        while let Some(i) = self.nodes[n].1.pop_front() {
            let verdict = self.nodes[n]
                .0
                .apply_replicated(i, &self.entries[i as usize - 1])
                .err();
            out.push((i, verdict));
        }
        out
    }
}

/// One node's handle on the log.
struct Handle {
    log: Arc<MemLog>,
    node: usize,
}

impl ReplicatedLog for Handle {
    fn submit(
        &self,
        batch: Vec<u8>,
    ) -> Pin<Box<dyn Future<Output = Result<Submitted, String>> + Send + '_>> {
        Box::pin(async move {
            if self.log.delay_ms > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(self.log.delay_ms)).await;
            }
            let mut inner = self.log.inner.lock().unwrap();
            inner.entries.push(batch);
            let index = inner.entries.len() as u64;
            for (_, q) in inner.nodes.iter_mut() {
                q.push_back(index);
            }
            // Every node applies deterministically: all that apply now must agree.
            let mut verdicts = Vec::new();
            for n in 0..inner.nodes.len() {
                if n == self.node || !inner.lagging.contains(&n) {
                    for (i, v) in inner.deliver(n) {
                        if i == index {
                            verdicts.push(v);
                        }
                    }
                }
            }
            assert!(verdicts.windows(2).all(|w| w[0] == w[1]), "{verdicts:?}");
            Ok(Submitted {
                index,
                rejected: verdicts.pop().flatten(),
            })
        })
    }
}

fn cluster(n: usize) -> (Arc<MemLog>, Vec<Arc<Registry>>) {
    slow_cluster(n, 0)
}

fn slow_cluster(n: usize, delay_ms: u64) -> (Arc<MemLog>, Vec<Arc<Registry>>) {
    let log = Arc::new(MemLog {
        delay_ms,
        ..MemLog::default()
    });
    let nodes: Vec<Arc<Registry>> = (0..n).map(|_| Arc::new(Registry::replicated())).collect();
    for (i, r) in nodes.iter().enumerate() {
        r.attach_log(Arc::new(Handle {
            log: log.clone(),
            node: i,
        }));
        log.inner
            .lock()
            .unwrap()
            .nodes
            .push((r.clone(), VecDeque::new()));
    }
    (log, nodes)
}

fn avro(name: &str) -> SchemaRequest {
    SchemaRequest {
        schema: format!(r#"{{"type":"record","name":"{name}","fields":[]}}"#),
        ..SchemaRequest::default()
    }
}

#[tokio::test]
async fn writes_through_any_node_get_one_id_sequence_seen_by_all() {
    let (_log, nodes) = cluster(3);
    let a = nodes[0]
        .register("a-value", avro("A"), false)
        .await
        .unwrap();
    let b = nodes[1]
        .register("b-value", avro("B"), false)
        .await
        .unwrap();
    let c = nodes[2]
        .register("c-value", avro("C"), false)
        .await
        .unwrap();
    assert_eq!((a.id, b.id, c.id), (1, 2, 3));
    for n in &nodes {
        for (id, name) in [(1, "A"), (2, "B"), (3, "C")] {
            let s = n.schema_by_id(id).unwrap();
            assert!(s.content.schema.contains(name));
        }
        assert_eq!(n.last_applied_batch(), 3);
    }
    // The same schema again, through another node: the same id, nothing appended.
    let again = nodes[2]
        .register("a-value", avro("A"), false)
        .await
        .unwrap();
    assert_eq!((again.id, again.version), (1, 1));
}

#[tokio::test]
async fn a_lagging_node_replans_instead_of_reusing_an_id() {
    let (log, nodes) = cluster(2);
    log.inner.lock().unwrap().lagging.push(1);
    let x = nodes[0]
        .register("x-value", avro("X"), false)
        .await
        .unwrap();
    assert_eq!(x.id, 1);
    // Node 1 has not applied x: it plans id 1 for y, the log rejects that plan (x came
    // first), node 1 catches up and plans again.
    assert!(nodes[1].schema_by_id(1).is_err());
    let y = nodes[1]
        .register("y-value", avro("Y"), false)
        .await
        .unwrap();
    assert_eq!(y.id, 2);
    let entries = log.inner.lock().unwrap().entries.len();
    assert_eq!(entries, 3, "x, the rejected plan of y, y");
    log.inner.lock().unwrap().deliver(0);
    for n in &nodes {
        assert!(n.schema_by_id(1).unwrap().content.schema.contains("\"X\""));
        assert!(n.schema_by_id(2).unwrap().content.schema.contains("\"Y\""));
        assert_eq!(n.last_applied_batch(), 3);
    }
}

#[tokio::test]
async fn concurrent_writers_on_every_node_never_share_an_id() {
    let (_log, nodes) = cluster(3);
    let mut tasks = Vec::new();
    for i in 0..30 {
        let node = nodes[i % 3].clone();
        tasks.push(tokio::spawn(async move {
            node.register(&format!("s{i}-value"), avro(&format!("S{i}")), false)
                .await
                .unwrap()
                .id
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.sort_unstable();
    assert_eq!(ids, (1..=30).collect::<Vec<_>>());
}

#[tokio::test]
async fn concurrent_writers_share_commits() {
    let (log, nodes) = slow_cluster(1, 20);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let node = nodes[0].clone();
        tasks.push(tokio::spawn(async move {
            node.register(&format!("g{i}-value"), avro(&format!("G{i}")), false)
                .await
                .unwrap()
                .id
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.sort_unstable();
    assert_eq!(ids, (1..=40).collect::<Vec<_>>());
    // Writers queued behind the batch in flight went into the next one together.
    let entries = log.inner.lock().unwrap().entries.len();
    assert!(
        entries < 40,
        "{entries} entries for 40 writes: no group commit"
    );
    for id in 1..=40 {
        assert!(nodes[0].schema_by_id(id).is_ok());
    }
}

#[tokio::test]
async fn the_same_schema_twice_while_the_first_is_in_flight_gets_one_id() {
    let (log, nodes) = slow_cluster(1, 30);
    let (a, b) = (nodes[0].clone(), nodes[0].clone());
    let first = tokio::spawn(async move { a.register("s-value", avro("S"), false).await });
    // The second plans while the first is in flight: its answer rests on it, so it waits.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second = tokio::spawn(async move { b.register("s-value", avro("S"), false).await });
    let (first, second) = (
        first.await.unwrap().unwrap(),
        second.await.unwrap().unwrap(),
    );
    assert_eq!((first.id, first.version), (1, 1));
    assert_eq!((second.id, second.version), (1, 1));
    assert_eq!(
        log.inner.lock().unwrap().entries.len(),
        1,
        "one write, one entry"
    );
}

#[tokio::test]
async fn groups_from_two_nodes_collide_and_replan_without_sharing_ids() {
    // Both nodes pipeline writes; each one's batches get rejected whenever the other's came
    // first, everything queued behind fails with them, and the writers rebuild and replan.
    let (_log, nodes) = slow_cluster(2, 5);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let node = nodes[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            node.register(&format!("c{i}-value"), avro(&format!("C{i}")), false)
                .await
                .unwrap()
                .id
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 40, "an id was handed out twice");
    for n in &nodes {
        for id in &ids {
            assert!(n.schema_by_id(*id).is_ok());
        }
    }
}

#[tokio::test]
async fn a_reset_rebuilds_the_state_and_the_writers_follow() {
    let (log, nodes) = cluster(1);
    nodes[0]
        .register("a-value", avro("A"), false)
        .await
        .unwrap();
    nodes[0]
        .register("b-value", avro("B"), false)
        .await
        .unwrap();
    // A fresh node installs a snapshot of the log (its accepted batches) and writes after it.
    let entries = log.inner.lock().unwrap().entries.clone();
    let fresh = Arc::new(Registry::replicated());
    fresh.reset_replicated(
        entries
            .iter()
            .enumerate()
            .map(|(i, b)| (i as u64 + 1, b.as_slice())),
    );
    assert_eq!(fresh.last_applied_batch(), 2);
    assert!(fresh.schema_by_id(2).is_ok());
    fresh.attach_log(Arc::new(Handle {
        log: log.clone(),
        node: 1,
    }));
    log.inner
        .lock()
        .unwrap()
        .nodes
        .push((fresh.clone(), VecDeque::new()));
    let c = fresh.register("c-value", avro("C"), false).await.unwrap();
    assert_eq!(c.id, 3);
}

#[tokio::test]
async fn a_standalone_journal_is_imported_once_with_its_ids() {
    let dir = tempfile::tempdir().unwrap();
    {
        let standalone = Registry::open(dir.path()).unwrap();
        standalone
            .register("a-value", avro("A"), false)
            .await
            .unwrap();
        standalone
            .register("b-value", avro("B"), false)
            .await
            .unwrap();
        standalone.delete_subject("b-value", false).await.unwrap();
        standalone.delete_subject("b-value", true).await.unwrap();
    }
    let (_log, nodes) = cluster(1);
    let n = nodes[0]
        .import_standalone(dir.path(), crate::Recovery::Strict)
        .await
        .unwrap();
    assert!(n.is_some());
    assert!(dir.path().join("registry-journal.imported").exists());
    assert!(!dir.path().join("registry-journal").exists());
    assert!(nodes[0].schema_by_id(1).is_ok());
    // Id 2 belonged to a hard-deleted subject: never handed out again.
    let c = nodes[0]
        .register("c-value", avro("C"), false)
        .await
        .unwrap();
    assert_eq!(c.id, 3);
    // A second import finds nothing to do.
    let again = nodes[0]
        .import_standalone(dir.path(), crate::Recovery::Strict)
        .await
        .unwrap();
    assert_eq!(again, None);
}
