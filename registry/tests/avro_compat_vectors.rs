//! Every AVRO vector of `compat-tests/vectors/vectors.json` at every compatibility level.
//!
//! The expectations were computed by running Apache Avro's Java `SchemaCompatibility` (the call
//! Confluent makes), and most vectors also list Java's incompatibilities in each direction; the
//! checker must reproduce those too (type, location and message), so that the registry's
//! messages are Confluent's. All mismatches are printed before the test fails.

use charter_registry::compat::avro::{check, Incompatibility};
use charter_serde::avro::{AvroSchema, ParseOptions};
use serde_json::Value;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../compat-tests/vectors/vectors.json"
);

const LEVELS: [&str; 7] = [
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
    "NONE",
];

/// New schemas whose text Confluent would reject when registering it (strict parsing), because
/// the vector deliberately holds a default that does not match its type. They are still valid
/// compatibility vectors: Java's checker only looks at whether a default exists.
const NEW_SCHEMA_INVALID_IN_STRICT_MODE: &[&str] = &[];

const LENIENT: ParseOptions = ParseOptions { validate: false };
const STRICT: ParseOptions = ParseOptions { validate: true };

fn summary(incompatibilities: &[Incompatibility]) -> Vec<String> {
    incompatibilities
        .iter()
        .map(|i| format!("{} {} {}", i.error_type, i.location, i.message))
        .collect()
}

/// Confluent's answer at `level` for `new` against `history` (oldest first).
fn compatible(level: &str, new: &AvroSchema, history: &[AvroSchema]) -> bool {
    let against: &[AvroSchema] = if level.ends_with("_TRANSITIVE") {
        history
    } else {
        &history[history.len() - 1..]
    };
    let backward = level.starts_with("BACKWARD") || level.starts_with("FULL");
    let forward = level.starts_with("FORWARD") || level.starts_with("FULL");
    against.iter().all(|old| {
        (!backward || check(new, old).is_empty()) && (!forward || check(old, new).is_empty())
    })
}

#[test]
fn every_avro_vector_matches_confluent() {
    let text = std::fs::read_to_string(VECTORS).expect("vectors file is readable");
    let doc: Value = serde_json::from_str(&text).expect("vectors file is JSON");
    let vectors: Vec<&Value> = doc["vectors"]
        .as_array()
        .expect("vectors array")
        .iter()
        .filter(|v| v["format"] == "AVRO")
        .collect();
    assert!(!vectors.is_empty(), "no AVRO vectors found");

    let mut failures: Vec<String> = Vec::new();
    let mut level_checks = 0;
    let mut message_checks = 0;
    for v in &vectors {
        let id = v["id"].as_str().unwrap_or("?");
        let new_text = v["reader_or_new"].as_str().expect("reader_or_new");
        let new = match AvroSchema::parse(new_text, &[], LENIENT) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{id}: new schema does not parse: {e}"));
                continue;
            }
        };
        let strict = AvroSchema::parse(new_text, &[], STRICT);
        let expect_strict_failure = NEW_SCHEMA_INVALID_IN_STRICT_MODE.contains(&id);
        match (&strict, expect_strict_failure) {
            (Err(e), false) => {
                failures.push(format!("{id}: new schema rejected by strict parsing: {e}"))
            }
            (Ok(_), true) => failures.push(format!(
                "{id}: listed as invalid in strict mode, but parses"
            )),
            _ => {}
        }
        // Strict and lenient parsing must agree on the text they produce.
        if let Ok(s) = &strict {
            if s.canonical() != new.canonical() {
                failures.push(format!("{id}: strict and lenient canonical forms differ"));
            }
        }

        let history_texts: Vec<&str> = match v["previous_versions"].as_array() {
            Some(list) => list.iter().filter_map(Value::as_str).collect(),
            None => vec![v["writer_or_old"].as_str().expect("writer_or_old")],
        };
        let mut history = Vec::new();
        for (i, t) in history_texts.iter().enumerate() {
            match AvroSchema::parse(t, &[], LENIENT) {
                Ok(s) => history.push(s),
                Err(e) => failures.push(format!("{id}: previous version {i} does not parse: {e}")),
            }
        }
        if history.len() != history_texts.len() {
            continue;
        }

        for level in LEVELS {
            let Some(expected) = v["expected"][level].as_bool() else {
                continue;
            };
            level_checks += 1;
            let got = compatible(level, &new, &history);
            if got != expected {
                let latest = &history[history.len() - 1];
                failures.push(format!(
                    "{id}: {level}: expected {expected}, got {got}; new reads latest: {:?}; latest reads new: {:?}",
                    summary(&check(&new, latest)),
                    summary(&check(latest, &new)),
                ));
            }
        }

        // Java's own incompatibility lists, against the latest version.
        let latest = &history[history.len() - 1];
        for (key, reader, writer) in [
            ("new_reads_old", &new, latest),
            ("old_reads_new", latest, &new),
        ] {
            let Some(java) = v["java_incompatibilities"][key].as_array() else {
                continue;
            };
            message_checks += 1;
            let java: Vec<&str> = java.iter().filter_map(Value::as_str).collect();
            let ours = summary(&check(reader, writer));
            if ours != java {
                failures.push(format!("{id}: {key}: Java says {java:?}, we say {ours:?}"));
            }
        }
    }

    for f in &failures {
        eprintln!("MISMATCH {f}");
    }
    eprintln!(
        "{} AVRO vectors, {level_checks} level checks, {message_checks} incompatibility lists, {} mismatches",
        vectors.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches (listed above)",
        failures.len()
    );
}
