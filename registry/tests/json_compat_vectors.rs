//! Every JSON vector of `compat-tests/vectors/vectors.json`.
//!
//! For each vector: every level it lists (BACKWARD = `diff(original = old, update = new)` has only
//! compatible differences, FORWARD the same with the roles swapped, FULL both, the transitive
//! levels against every previous version, NONE always), the exact difference list Confluent's
//! `SchemaDiff` produced (`expected_changes`, in Confluent's order), and the levels under the
//! LENIENT policy (`expected_lenient_policy`). All mismatches are printed before the test fails.

use charter_registry::compat::json::{diff, diff_with_policy, is_compatible, Policy};
use charter_serde::json_schema::JsonSchema;
use serde_json::Value;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../compat-tests/vectors/vectors.json"
);

/// Is `new` compatible with `history` (oldest first) at `level` under `policy`?
fn compatible(level: &str, policy: Policy, new: &JsonSchema, history: &[JsonSchema]) -> bool {
    if level == "NONE" {
        return true;
    }
    let against: &[JsonSchema] = if level.ends_with("_TRANSITIVE") {
        history
    } else {
        &history[history.len() - 1..]
    };
    let backward = level.starts_with("BACKWARD") || level.starts_with("FULL");
    let forward = level.starts_with("FORWARD") || level.starts_with("FULL");
    against.iter().all(|old| {
        (!backward || is_compatible(&diff_with_policy(old, new, policy), policy))
            && (!forward || is_compatible(&diff_with_policy(new, old, policy), policy))
    })
}

fn check_levels(
    id: &str,
    label: &str,
    expected: &Value,
    policy: Policy,
    new: &JsonSchema,
    history: &[JsonSchema],
    failures: &mut Vec<String>,
) -> usize {
    let mut checks = 0;
    let Some(levels) = expected.as_object() else {
        return 0;
    };
    for (level, want) in levels {
        let Some(want) = want.as_bool() else { continue };
        let got = compatible(level, policy, new, history);
        checks += 1;
        if got != want {
            failures.push(format!("{id}: {label} {level}: expected {want}, got {got}"));
        }
    }
    checks
}

#[test]
fn every_json_vector_matches_confluent() {
    let text = std::fs::read_to_string(VECTORS).expect("vectors file is readable");
    let doc: Value = serde_json::from_str(&text).expect("vectors file is JSON");
    let vectors: Vec<&Value> = doc["vectors"]
        .as_array()
        .expect("vectors array")
        .iter()
        .filter(|v| v["format"] == "JSON")
        .collect();
    assert!(!vectors.is_empty(), "no JSON vectors found");

    let mut failures: Vec<String> = Vec::new();
    let (mut level_checks, mut change_checks, mut lenient_checks) = (0, 0, 0);
    for v in &vectors {
        let id = v["id"].as_str().unwrap_or("?");
        let new_text = v["reader_or_new"].as_str().unwrap_or_default();
        // New schemas are parsed the way a registration parses them (meta-schema validated).
        let new = match JsonSchema::parse(new_text, &[], true) {
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
            match JsonSchema::parse(t, &[], false) {
                Ok(s) => history.push(s),
                Err(e) => failures.push(format!("{id}: old schema does not parse: {e}")),
            }
        }
        if history.len() != old_texts.len() || history.is_empty() {
            continue;
        }
        // Stored versions are valid new schemas too.
        for t in &old_texts {
            if let Err(e) = JsonSchema::parse(t, &[], true) {
                failures.push(format!("{id}: old schema is refused in strict mode: {e}"));
            }
        }

        level_checks += check_levels(
            id,
            "STRICT",
            &v["expected"],
            Policy::Strict,
            &new,
            &history,
            &mut failures,
        );
        lenient_checks += check_levels(
            id,
            "LENIENT",
            &v["expected_lenient_policy"],
            Policy::Lenient,
            &new,
            &history,
            &mut failures,
        );

        if let Some(want) = v.get("expected_changes").and_then(Value::as_array) {
            let want: Vec<&str> = want.iter().filter_map(Value::as_str).collect();
            let writer = history.last().expect("history is not empty");
            let got: Vec<String> = diff(writer, &new).iter().map(|d| d.to_string()).collect();
            change_checks += 1;
            if got != want {
                failures.push(format!("{id}: changes: expected {want:?}, got {got:?}"));
            }
        }
    }
    println!(
        "{} JSON vectors: {level_checks} level checks, {change_checks} change lists, {lenient_checks} lenient checks",
        vectors.len()
    );
    for f in &failures {
        println!("MISMATCH {f}");
    }
    assert!(failures.is_empty(), "{} mismatches", failures.len());
}

/// Every schema of the vectors against its neighbours, both policies, plus damaged texts: no
/// panic, and a schema is always compatible with itself.
#[test]
fn cross_comparisons_never_panic() {
    let text = std::fs::read_to_string(VECTORS).expect("vectors file is readable");
    let doc: Value = serde_json::from_str(&text).expect("vectors file is JSON");
    let mut texts: Vec<String> = Vec::new();
    for v in doc["vectors"].as_array().expect("vectors array") {
        if v["format"] != "JSON" {
            continue;
        }
        for key in ["reader_or_new", "writer_or_old"] {
            if let Some(t) = v[key].as_str() {
                if !texts.iter().any(|x| x == t) {
                    texts.push(t.to_string());
                }
            }
        }
    }
    let schemas: Vec<JsonSchema> = texts
        .iter()
        .filter_map(|t| JsonSchema::parse(t, &[], false).ok())
        .collect();
    assert_eq!(schemas.len(), texts.len());
    for (i, a) in schemas.iter().enumerate() {
        assert!(
            is_compatible(&diff(a, a), Policy::Strict),
            "not compatible with itself: {}",
            a.canonical()
        );
        for b in schemas.iter().skip(i + 1).take(4) {
            for policy in [Policy::Strict, Policy::Lenient] {
                let _ = diff_with_policy(a, b, policy);
                let _ = diff_with_policy(b, a, policy);
            }
        }
    }
    // Damaged texts: refused or loaded, never a panic.
    for t in texts.iter().take(60) {
        for cut in [1, t.len() / 3, t.len() / 2, t.len().saturating_sub(1)] {
            let damaged: String = t.chars().take(cut).collect();
            let _ = JsonSchema::parse(&damaged, &[], true);
            let _ = JsonSchema::parse(&damaged, &[], false);
        }
        let swapped = t.replace("object", "array").replace("properties", "items");
        if let Ok(s) = JsonSchema::parse(&swapped, &[], false) {
            let _ = diff(&s, &schemas[0]);
        }
    }
}
