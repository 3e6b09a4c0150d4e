//! Every compatibility vector, at every level it lists, through the public REST API.
//!
//! For each vector the history is imported into a fresh subject (IMPORT mode, so that old
//! versions with quirks Confluent tolerates in stored schemas are accepted), then the new
//! schema is checked with `POST /compatibility/subjects/{s}/versions` under each level — the
//! same check registration makes. Imported `.proto` files are registered as subjects and
//! referenced. JSON vectors with a LENIENT expectation are checked again
//! with `compatibilityPolicy: LENIENT`.

use charter_compat_tests::{vectors, TestServer};
use serde_json::{json, Value};

/// Runs every vector of `format`; returns the number of checks made.
async fn run_format(format: &str, min_vectors: usize) -> usize {
    let s = TestServer::start().await;
    let all = vectors();
    let selected: Vec<&Value> = all["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .filter(|v| v["format"] == format)
        .collect();
    assert!(
        selected.len() >= min_vectors,
        "expected the full {format} set, got {}",
        selected.len()
    );

    let mut next_id = 1_000_000;
    let mut mismatches = Vec::new();
    let mut checked = 0;
    for v in &selected {
        let id = v["id"].as_str().expect("id");
        let subject = format!("vec-{id}");
        let history: Vec<&str> = match v["previous_versions"].as_array() {
            Some(pv) => pv.iter().map(|x| x.as_str().expect("schema")).collect(),
            None => vec![v["writer_or_old"].as_str().expect("writer")],
        };
        // Imported files (Protobuf) become subjects of their own, named per vector.
        let (old_refs, old_max) = register_dependencies(&s, id, format, v, "original").await;
        let (new_refs, new_max) = register_dependencies(&s, id, format, v, "update").await;
        // Imported ids must not collide with the ids the registry allocated meanwhile.
        next_id = next_id.max(old_max).max(new_max);
        let (st, body) = s
            .put(&format!("/mode/{subject}"), json!({"mode": "IMPORT"}))
            .await;
        assert_eq!(st, 200, "{id}: {body}");
        for (i, old) in history.iter().enumerate() {
            next_id += 1;
            let (st, body) = s
                .post(
                    &format!("/subjects/{subject}/versions"),
                    json!({"schema": old, "schemaType": format, "references": old_refs,
                           "id": next_id, "version": i + 1}),
                )
                .await;
            assert_eq!(st, 200, "{id}: importing version {}: {body}", i + 1);
        }
        s.delete(&format!("/mode/{subject}")).await;

        let new = v["reader_or_new"].as_str().expect("new");
        let mut check = async |config: Value, expected: &Value, label: String| {
            let (st, _) = s.put(&format!("/config/{subject}"), config).await;
            assert_eq!(st, 200);
            let (st, body) = s
                .post(
                    &format!("/compatibility/subjects/{subject}/versions?verbose=true"),
                    json!({"schema": new, "schemaType": format, "references": new_refs}),
                )
                .await;
            checked += 1;
            if st != 200 || body["is_compatible"] != *expected {
                mismatches.push(format!(
                    "{id} {label}: expected {expected}, got {st} {body}"
                ));
            }
        };
        for (level, expected) in v["expected"].as_object().expect("expected") {
            check(json!({"compatibility": level}), expected, level.clone()).await;
        }
        if let Some(lenient) = v["expected_lenient_policy"].as_object() {
            for (level, expected) in lenient {
                check(
                    json!({"compatibility": level, "compatibilityPolicy": "LENIENT"}),
                    expected,
                    format!("{level} LENIENT"),
                )
                .await;
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {checked} {format} checks disagree with Confluent:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    checked
}

/// Registers `<side>_dependencies` under `<vector>-<subject>` and returns the
/// `<side>_references` pointing at them, with the largest id they got.
async fn register_dependencies(
    s: &TestServer,
    vector: &str,
    format: &str,
    v: &Value,
    side: &str,
) -> (Vec<Value>, i64) {
    let Some(deps) = v[format!("{side}_dependencies")].as_array() else {
        return (Vec::new(), 0);
    };
    let mut max_id = 0;
    let refs = v[format!("{side}_references")]
        .as_array()
        .expect("references");
    let mut out = Vec::new();
    for r in refs {
        let name = r["name"].as_str().expect("name");
        // Well-known files come "from the classpath": the registry resolves those itself.
        let Some(text) = deps
            .iter()
            .find(|d| d["name"] == name)
            .and_then(|d| d["dependency"].as_str())
        else {
            continue;
        };
        let subject = format!(
            "{vector}-{side}-{}",
            r["subject"].as_str().expect("subject")
        );
        let (st, body) = s
            .post(
                &format!("/subjects/{}/versions", subject.replace('/', "%2F")),
                json!({"schema": text, "schemaType": format}),
            )
            .await;
        assert_eq!(st, 200, "{vector}: dependency {name}: {body}");
        max_id = max_id.max(body["id"].as_i64().expect("id"));
        out.push(json!({"name": name, "subject": subject, "version": body["version"]}));
    }
    (out, max_id)
}

#[tokio::test]
async fn avro_vectors_match_confluent_at_every_level() {
    assert_eq!(run_format("AVRO", 248).await, 248 * 7);
}

#[tokio::test]
async fn json_vectors_match_confluent_at_every_level() {
    assert!(run_format("JSON", 185).await >= 851);
}

#[tokio::test]
async fn protobuf_vectors_match_confluent_at_every_level() {
    assert!(run_format("PROTOBUF", 43).await >= 161);
}
