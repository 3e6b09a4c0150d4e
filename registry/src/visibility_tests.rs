//! Invariant: nothing is visible before it is durable. A registration parked between its
//! append and its flush (the window in which a crash takes it back) must not be seen by
//! reads, lookups or the broker's validator, and its id must not be handed to anyone.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use charter_serde::SchemaType;

use crate::registry::{SchemaRequest, VersionSpec};
use crate::{Registry, RegistryError};

fn avro(name: &str) -> SchemaRequest {
    SchemaRequest {
        schema: format!(
            r#"{{"type":"record","name":"{name}","fields":[{{"name":"f","type":"int"}}]}}"#
        ),
        schema_type: SchemaType::Avro,
        ..SchemaRequest::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_is_invisible_until_its_flush() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Arc::new(Registry::open(dir.path()).unwrap());
    let a = reg.register("a-value", avro("A"), false).await.unwrap();
    assert_eq!(a.id, 1);

    reg.store().hold.hold();
    let writer = {
        let reg = reg.clone();
        tokio::spawn(async move { reg.register("b-value", avro("B"), false).await })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while reg.store().hold.parked.load(Ordering::SeqCst) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the write never reached the hook"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // B is appended to the log but not flushed: nobody may see it.
    assert!(matches!(
        reg.schema_by_id(2),
        Err(RegistryError::SchemaIdNotFound(2))
    ));
    assert!(reg.parsed_schema(2).is_err(), "the validator's view");
    assert!(reg.lookup("b-value", &avro("B"), false, false).is_err());
    assert!(reg.version("b-value", VersionSpec::Latest, false).is_err());
    assert!(reg.subjects("", false, false) == vec!["a-value".to_string()]);
    assert_eq!(reg.max_id(), 1);

    reg.store().hold.release();
    let b = writer.await.unwrap().unwrap();
    assert_eq!(b.id, 2);
    assert_eq!(reg.schema_by_id(2).unwrap().id, 2);
    assert_eq!(
        reg.lookup("b-value", &avro("B"), false, false)
            .unwrap()
            .schema
            .id,
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_survive_a_reopen_and_are_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let reg = Registry::open(dir.path()).unwrap();
        for i in 0..5 {
            reg.register(&format!("s{i}"), avro(&format!("R{i}")), false)
                .await
                .unwrap();
        }
        reg.delete_subject("s4", false).await.unwrap();
        reg.delete_subject("s4", true).await.unwrap();
    }
    let reg = Registry::open(dir.path()).unwrap();
    // Id 5's only version is gone, but 5 stays retired.
    let r = reg.register("new", avro("New"), false).await.unwrap();
    assert_eq!(r.id, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_share_flushes_and_never_share_ids() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Arc::new(Registry::open(dir.path()).unwrap());
    let tasks: Vec<_> = (0..16)
        .map(|w| {
            let reg = reg.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                for i in 0..20 {
                    // Even i: a schema every writer registers; odd: this writer's own.
                    let name = if i % 2 == 0 {
                        format!("Shared{i}")
                    } else {
                        format!("W{w}N{i}")
                    };
                    let r = reg
                        .register(&format!("{name}-value"), avro(&name), false)
                        .await
                        .unwrap();
                    // What a writer was told is visible to it at once.
                    assert_eq!(reg.schema_by_id(r.id).unwrap().id, r.id);
                    got.push((name, r.id));
                }
                got
            })
        })
        .collect();
    let mut by_name = std::collections::HashMap::new();
    let mut names_by_id = std::collections::HashMap::new();
    for t in tasks {
        for (name, id) in t.await.unwrap() {
            assert_eq!(*by_name.entry(name.clone()).or_insert(id), id, "{name}");
            assert_eq!(
                *names_by_id.entry(id).or_insert(name.clone()),
                name,
                "id {id}"
            );
        }
    }
    assert_eq!(by_name.len(), 10 + 16 * 10);
    drop(reg);
    let reg = Registry::open(dir.path()).unwrap();
    for (name, id) in by_name {
        assert!(reg.schema_by_id(id).unwrap().content.schema.contains(&name));
    }
}
