//! Every AVRO compatibility vector, at every level, through the public REST API.
//!
//! For each vector the history is imported into a fresh subject (IMPORT mode, so that old
//! versions with quirks Confluent tolerates in stored schemas are accepted), then the new
//! schema is checked with `POST /compatibility/subjects/{s}/versions` under each level — the
//! same check registration makes.

use charter_compat_tests::{vectors, TestServer};
use serde_json::{json, Value};

#[tokio::test]
async fn avro_vectors_match_confluent_at_every_level() {
    let s = TestServer::start().await;
    let all = vectors();
    let avro: Vec<&Value> = all["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .filter(|v| v["format"] == "AVRO")
        .collect();
    assert!(
        avro.len() >= 200,
        "expected the full AVRO set, got {}",
        avro.len()
    );

    let mut next_id = 1_000_000;
    let mut mismatches = Vec::new();
    let mut checked = 0;
    for v in &avro {
        let id = v["id"].as_str().expect("id");
        let subject = format!("vec-{id}");
        let history: Vec<&str> = match v["previous_versions"].as_array() {
            Some(pv) => pv.iter().map(|x| x.as_str().expect("schema")).collect(),
            None => vec![v["writer_or_old"].as_str().expect("writer")],
        };
        let (st, body) = s
            .put(&format!("/mode/{subject}"), json!({"mode": "IMPORT"}))
            .await;
        assert_eq!(st, 200, "{id}: {body}");
        for (i, old) in history.iter().enumerate() {
            next_id += 1;
            let (st, body) = s
                .post(
                    &format!("/subjects/{subject}/versions"),
                    json!({"schema": old, "id": next_id, "version": i + 1}),
                )
                .await;
            assert_eq!(st, 200, "{id}: importing version {}: {body}", i + 1);
        }
        s.delete(&format!("/mode/{subject}")).await;

        let new = v["reader_or_new"].as_str().expect("new");
        for (level, expected) in v["expected"].as_object().expect("expected") {
            let (st, _) = s
                .put(
                    &format!("/config/{subject}"),
                    json!({"compatibility": level}),
                )
                .await;
            assert_eq!(st, 200);
            let (st, body) = s
                .post(
                    &format!("/compatibility/subjects/{subject}/versions?verbose=true"),
                    json!({"schema": new}),
                )
                .await;
            checked += 1;
            if st != 200 || body["is_compatible"] != *expected {
                mismatches.push(format!(
                    "{id} {level}: expected {expected}, got {st} {body}"
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {checked} checks disagree with Confluent:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
