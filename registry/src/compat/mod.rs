//! Compatibility checking: which previous versions a level compares with, in which
//! directions, and the messages Confluent reports.
//!
//! Each format only answers "can this reader read data written with that writer?"; every level
//! is built from that one question, exactly as Confluent's `SchemaValidatorBuilder` does.

pub mod avro;
pub mod json;
pub mod protobuf;

use std::sync::Arc;

use crate::model::{CompatibilityLevel, Version};
use crate::schema::ParsedSchema;

/// The answer to a compatibility check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompatibilityResult {
    pub is_compatible: bool,
    /// Confluent-style messages, empty when compatible.
    pub messages: Vec<String>,
}

impl CompatibilityResult {
    pub fn compatible() -> Self {
        CompatibilityResult {
            is_compatible: true,
            messages: Vec::new(),
        }
    }
}

/// A previous version to check against.
pub struct Previous {
    pub version: Version,
    pub schema: Arc<ParsedSchema>,
    /// The stored text, quoted in messages (`{oldSchema: '…'}`).
    pub text: String,
}

/// Checks `new` against `previous` (oldest first) under `level`.
///
/// Non-transitive levels use only the last entry; transitive ones walk newest to oldest and
/// stop at the first version that fails, reporting only its messages (Confluent `validateAll`).
pub fn check(
    level: CompatibilityLevel,
    new: &ParsedSchema,
    previous: &[Previous],
    policy: json::Policy,
) -> CompatibilityResult {
    if level == CompatibilityLevel::None {
        return CompatibilityResult::compatible();
    }
    let against: Vec<&Previous> = if level.is_transitive() {
        previous.iter().rev().collect()
    } else {
        previous.iter().rev().take(1).collect()
    };
    for old in against {
        let mut errors = Vec::new();
        if new.schema_type() != old.schema.schema_type() {
            errors.push("Incompatible because of different schema type".to_string());
            errors.extend(version_notes(old));
        } else {
            // Confluent's order for FULL: old-reads-new first, then new-reads-old; the version
            // notes follow the new-reads-old part, and only when it has something to say.
            if level.checks_forward() {
                errors.extend(reader_errors(&old.schema, new, "old", "new", policy));
                if !level.checks_backward() && !errors.is_empty() {
                    errors.extend(version_notes(old));
                }
            }
            if level.checks_backward() {
                let backward = reader_errors(new, &old.schema, "new", "old", policy);
                if !backward.is_empty() {
                    errors.extend(backward);
                    errors.extend(version_notes(old));
                }
            }
        }
        if !errors.is_empty() {
            errors.push(format!(
                "{{validateFields: 'false', compatibility: '{}'}}",
                level.as_str()
            ));
            return CompatibilityResult {
                is_compatible: false,
                messages: errors,
            };
        }
    }
    CompatibilityResult::compatible()
}

/// `{oldSchemaVersion: N}` and `{oldSchema: '…'}` (cut at 10 KiB, as Confluent does).
fn version_notes(old: &Previous) -> [String; 2] {
    [
        format!("{{oldSchemaVersion: {}}}", old.version),
        format!("{{oldSchema: '{}'}}", truncate(&old.text, 10 * 1024)),
    ]
}

/// Messages for everything that stops `reader` from reading data written with `writer`;
/// `reader_role`/`writer_role` ("new"/"old") word the descriptions. `policy` applies to JSON
/// Schema only, as in Confluent.
fn reader_errors(
    reader: &ParsedSchema,
    writer: &ParsedSchema,
    reader_role: &str,
    writer_role: &str,
    policy: json::Policy,
) -> Vec<String> {
    match (reader, writer) {
        (ParsedSchema::Avro(r), ParsedSchema::Avro(w)) => avro::check(r, w)
            .iter()
            .map(|i| i.to_confluent_message_as(reader_role, writer_role))
            .collect(),
        (ParsedSchema::Json(r), ParsedSchema::Json(w)) => {
            // Confluent diffs with original = the writer, update = the reader.
            let diffs = json::diff_with_policy(w, r, policy);
            json::incompatibility_messages_as(&diffs, policy, reader_role, writer_role)
        }
        (ParsedSchema::Protobuf(r), ParsedSchema::Protobuf(w)) => {
            let diffs = protobuf::diff(w, r);
            protobuf::incompatibility_messages_as(&diffs, reader_role, writer_role)
        }
        // Different formats are caught by the caller.
        _ => vec!["Incompatible because of different schema type".to_string()],
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
