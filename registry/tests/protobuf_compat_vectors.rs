//! Every PROTOBUF vector of `compat-tests/vectors/vectors.json`.
//!
//! For each vector: every level it lists (BACKWARD = `diff(original = old, update = new)` has only
//! compatible differences, FORWARD the same with the roles swapped, FULL both, the transitive
//! levels against every previous version, NONE always), the exact difference list Confluent's
//! `SchemaDiff` produced (`expected_changes`, in Confluent's order), and for the vectors derived
//! from Karapace the difference types (`expected_change_types_derived`, as a multiset). Imported
//! files come from `original_dependencies`/`update_dependencies`. All mismatches are printed
//! before the test fails.

use charter_registry::compat::protobuf::{diff, incompatibility_messages, is_compatible};
use charter_serde::protobuf::ProtobufSchema;
use serde_json::Value;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../compat-tests/vectors/vectors.json"
);

/// `(import path, text)` of the inlined dependencies under `key` (well-known files are not
/// inlined: they resolve without references).
fn dependencies(v: &Value, key: &str) -> Vec<(String, String)> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|d| {
                    Some((
                        d["name"].as_str()?.to_string(),
                        d["dependency"].as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn parse(text: &str, deps: &[(String, String)], validate: bool) -> Result<ProtobufSchema, String> {
    let refs: Vec<(&str, &str)> = deps.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    ProtobufSchema::parse(text, &refs, validate).map_err(|e| e.to_string())
}

/// Is `new` compatible with `history` (oldest first) at `level`?
fn compatible(level: &str, new: &ProtobufSchema, history: &[ProtobufSchema]) -> bool {
    if level == "NONE" {
        return true;
    }
    let against: &[ProtobufSchema] = if level.ends_with("_TRANSITIVE") {
        history
    } else {
        &history[history.len() - 1..]
    };
    let backward = level.starts_with("BACKWARD") || level.starts_with("FULL");
    let forward = level.starts_with("FORWARD") || level.starts_with("FULL");
    against.iter().all(|old| {
        (!backward || is_compatible(&diff(old, new)))
            && (!forward || is_compatible(&diff(new, old)))
    })
}

#[test]
fn every_protobuf_vector_matches_confluent() {
    let text = std::fs::read_to_string(VECTORS).expect("vectors file is readable");
    let doc: Value = serde_json::from_str(&text).expect("vectors file is JSON");
    let vectors: Vec<&Value> = doc["vectors"]
        .as_array()
        .expect("vectors array")
        .iter()
        .filter(|v| v["format"] == "PROTOBUF")
        .collect();
    assert!(!vectors.is_empty(), "no PROTOBUF vectors found");

    let mut failures: Vec<String> = Vec::new();
    let (mut level_checks, mut change_checks, mut derived_checks) = (0, 0, 0);
    for v in &vectors {
        let id = v["id"].as_str().unwrap_or("?");
        let new_deps = dependencies(v, "update_dependencies");
        let old_deps = dependencies(v, "original_dependencies");
        let new = match parse(
            v["reader_or_new"].as_str().unwrap_or_default(),
            &new_deps,
            true,
        ) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{id}: new schema is refused: {e}"));
                continue;
            }
        };
        let old_texts: Vec<&str> = match v.get("previous_versions").and_then(Value::as_array) {
            Some(list) => list.iter().filter_map(Value::as_str).collect(),
            None => vec![v["writer_or_old"].as_str().unwrap_or_default()],
        };
        let mut history = Vec::new();
        for t in &old_texts {
            match parse(t, &old_deps, false) {
                Ok(s) => history.push(s),
                Err(e) => failures.push(format!("{id}: old schema does not parse: {e}")),
            }
            // Stored versions are valid new schemas too.
            if let Err(e) = parse(t, &old_deps, true) {
                failures.push(format!("{id}: old schema is refused in strict mode: {e}"));
            }
        }
        if history.len() != old_texts.len() || history.is_empty() {
            continue;
        }

        if let Some(levels) = v["expected"].as_object() {
            for (level, want) in levels {
                let Some(want) = want.as_bool() else { continue };
                let got = compatible(level, &new, &history);
                level_checks += 1;
                if got != want {
                    failures.push(format!("{id}: {level}: expected {want}, got {got}"));
                }
            }
        }

        let writer = history.last().expect("history is not empty");
        let diffs = diff(writer, &new);
        let got: Vec<String> = diffs.iter().map(ToString::to_string).collect();
        if let Some(want) = v.get("expected_changes").and_then(Value::as_array) {
            let want: Vec<&str> = want.iter().filter_map(Value::as_str).collect();
            change_checks += 1;
            if got != want {
                failures.push(format!("{id}: changes: expected {want:?}, got {got:?}"));
            }
        }
        if let Some(want) = v
            .get("expected_change_types_derived")
            .and_then(Value::as_array)
        {
            let mut want: Vec<&str> = want.iter().filter_map(Value::as_str).collect();
            let mut kinds: Vec<&str> = diffs.iter().map(|d| d.kind).collect();
            want.sort_unstable();
            kinds.sort_unstable();
            derived_checks += 1;
            if kinds != want {
                failures.push(format!(
                    "{id}: change types: expected {want:?}, got {kinds:?} ({got:?})"
                ));
            }
        }
        // Messages exist exactly for the incompatible differences.
        let messages = incompatibility_messages(&diffs);
        if messages.len() != diffs.iter().filter(|d| !d.is_compatible()).count()
            || messages.iter().any(|m| !m.starts_with("{errorType:\""))
        {
            failures.push(format!("{id}: bad messages {messages:?}"));
        }
    }
    println!(
        "{} PROTOBUF vectors: {level_checks} level checks, {change_checks} change lists, \
         {derived_checks} derived change-type lists",
        vectors.len()
    );
    for f in &failures {
        println!("MISMATCH {f}");
    }
    assert!(failures.is_empty(), "{} mismatches", failures.len());
}

/// Every schema of the vectors against its neighbours, plus damaged texts: no panic, and a
/// schema is always compatible with itself and has no differences with itself.
#[test]
fn cross_comparisons_never_panic() {
    let text = std::fs::read_to_string(VECTORS).expect("vectors file is readable");
    let doc: Value = serde_json::from_str(&text).expect("vectors file is JSON");
    let mut schemas: Vec<ProtobufSchema> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    for v in doc["vectors"].as_array().expect("vectors array") {
        if v["format"] != "PROTOBUF" {
            continue;
        }
        for (key, deps) in [
            ("reader_or_new", "update_dependencies"),
            ("writer_or_old", "original_dependencies"),
        ] {
            if let Some(t) = v[key].as_str() {
                let deps = dependencies(v, deps);
                let s = parse(t, &deps, false).expect("vector schema parses");
                // The canonical and normal forms parse back to the same text.
                let again = parse(&s.canonical(), &deps, true).expect("canonical parses");
                assert_eq!(again.canonical(), s.canonical());
                let norm = parse(&s.normalized(), &deps, true).expect("normal form parses");
                assert_eq!(norm.normalized(), s.normalized());
                schemas.push(s);
                texts.push(t.to_string());
            }
        }
    }
    for (i, a) in schemas.iter().enumerate() {
        assert!(
            diff(a, a).is_empty(),
            "differs from itself: {}",
            a.canonical()
        );
        for b in schemas.iter().skip(i + 1).take(6) {
            let _ = incompatibility_messages(&diff(a, b));
            let _ = incompatibility_messages(&diff(b, a));
        }
    }
    for t in texts.iter().take(60) {
        for cut in [1, t.len() / 3, t.len() / 2, t.len().saturating_sub(1)] {
            let damaged: String = t.chars().take(cut).collect();
            let _ = ProtobufSchema::parse(&damaged, &[], true);
        }
        let swapped = t.replace("message", "enum").replace("int32", "Foo");
        let _ = ProtobufSchema::parse(&swapped, &[], false);
    }
}
