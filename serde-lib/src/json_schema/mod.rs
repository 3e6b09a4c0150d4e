//! JSON Schema support with Confluent Schema Registry semantics.
//!
//! [`JsonSchema::parse`] reads a schema text (plus the schemas it references) into
//! - the canonical text Confluent stores ([`JsonSchema::canonical`]: Jackson's compact
//!   re-serialisation, key order kept, decimals written as Java `BigDecimal`s),
//! - the normalized text `normalize=true` stores ([`JsonSchema::normalized`]: the same with every
//!   object's keys sorted, Confluent's `JsonSchema.normalize()`),
//! - and the everit-style [`model`] that Confluent's `SchemaDiff` compares (drafts 4, 6 and 7
//!   are classified the way the everit loader does; 2019-09 and 2020-12 the way json-sKema plus
//!   Confluent's `SchemaTranslator` do). The compatibility rules themselves live in the registry.
//!
//! New schemas (`validate = true`) are checked against their draft's meta-schema (the
//! `jsonschema` crate, with its bundled meta-schemas and no network access) and must have every
//! `$ref` resolvable; stored versions (`validate = false`) are loaded leniently.
//!
//! ```
//! use charter_serde::json_schema::JsonSchema;
//!
//! let s = JsonSchema::parse(r#"{ "type": "object", "properties": { "b": {}, "a": {"type": "number", "maximum": 1.50} } }"#, &[], true)?;
//! assert_eq!(s.canonical(), r#"{"type":"object","properties":{"b":{},"a":{"type":"number","maximum":1.50}}}"#);
//! assert_eq!(s.normalized(), r#"{"properties":{"a":{"maximum":1.50,"type":"number"},"b":{}},"type":"object"}"#);
//! # Ok::<(), charter_serde::json_schema::JsonSchemaError>(())
//! ```

mod check;
pub mod json;
mod load;
pub mod model;
mod uri;
mod validate;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

pub use load::Draft;
use model::{Kind, Node, NodeId};

/// Why a schema text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonSchemaError {
    /// The text is not JSON.
    #[error("Invalid JSON: {0}")]
    InvalidJson(String),
    /// The JSON is not a schema of its draft (meta-schema violation or a keyword the loader
    /// cannot use, such as an unresolvable `$ref`).
    #[error("{0}")]
    InvalidSchema(String),
    /// A referenced schema could not be read.
    #[error("Invalid referenced schema \"{name}\": {message}")]
    InvalidReference {
        /// The reference name (the `$ref` URL).
        name: String,
        /// What was wrong with it.
        message: String,
    },
}

/// A parsed JSON Schema: its canonical and normalized texts and its comparison model.
///
/// Cheap to clone (shared), `Send` and `Sync`.
#[derive(Clone)]
pub struct JsonSchema {
    inner: Arc<Inner>,
}

struct Inner {
    canonical: String,
    normalized: String,
    draft: Draft,
    nodes: Vec<Node>,
    root: NodeId,
    patterns: HashMap<String, Option<fancy_regex::Regex>>,
    /// The references and the lazily built instance validator ([`JsonSchema::validate_json`]).
    validation: validate::Validation,
}

impl std::fmt::Debug for JsonSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonSchema")
            .field("canonical", &self.inner.canonical)
            .field("draft", &self.inner.draft)
            .finish()
    }
}

impl PartialEq for JsonSchema {
    /// Schemas are equal when their canonical texts are (Confluent's lookup equality, without
    /// references).
    fn eq(&self, other: &Self) -> bool {
        self.inner.canonical == other.inner.canonical
    }
}

impl JsonSchema {
    /// Parses a schema.
    ///
    /// `references` are `(name, text)` pairs of the schemas this one refers to, the name being
    /// the URL used in `$ref` (resolved against the root `$id` when relative); dependencies
    /// first. `validate = true` is for new schemas: the text must satisfy its draft's
    /// meta-schema, every `$ref` must resolve, and top-level property names must not start with
    /// `$$`. `validate = false` is for stored versions: anything that is a JSON object or boolean
    /// loads, unusable keywords being ignored.
    pub fn parse(
        text: &str,
        references: &[(&str, &str)],
        validate: bool,
    ) -> Result<JsonSchema, JsonSchemaError> {
        let root = json::parse(text).map_err(|e| JsonSchemaError::InvalidJson(e.to_string()))?;
        if !matches!(root, json::Json::Object(_) | json::Json::Bool(_)) {
            return Err(JsonSchemaError::InvalidSchema(
                "a JSON schema must be an object or a boolean".to_string(),
            ));
        }
        let draft = Draft::of(&root);
        if validate {
            meta_validate(text, draft)?;
        }
        let mut refs = Vec::with_capacity(references.len());
        for (name, ref_text) in references {
            let doc = json::parse(ref_text).map_err(|e| JsonSchemaError::InvalidReference {
                name: name.to_string(),
                message: format!("Invalid JSON: {e}"),
            })?;
            refs.push((name.to_string(), doc));
        }
        let (loaded, problems) = load::load(&root, &refs);
        if loaded.exhausted {
            return Err(JsonSchemaError::InvalidSchema(format!(
                "the schema is too large to compare (more than {} schema nodes)",
                load::MAX_NODES
            )));
        }
        if validate {
            if let Some(p) = problems.into_iter().next() {
                return Err(JsonSchemaError::InvalidSchema(p));
            }
            if let Some(Node {
                kind: Kind::Object(obj),
                ..
            }) = loaded.nodes.get(loaded.root)
            {
                if let Some((name, _)) = obj.properties.iter().find(|(k, _)| k.starts_with("$$")) {
                    return Err(JsonSchemaError::InvalidSchema(format!(
                        "Field names cannot start with $$ prefix: #/properties/{name}"
                    )));
                }
            }
        }
        Ok(JsonSchema {
            inner: Arc::new(Inner {
                canonical: json::to_compact(&root),
                normalized: json::to_sorted_compact(&root),
                draft,
                nodes: loaded.nodes,
                root: loaded.root,
                patterns: loaded.patterns,
                validation: validate::Validation::new(&root, draft, &refs),
            }),
        })
    }

    /// Confluent's `canonicalString()`: compact JSON, keys in their original order, numbers as
    /// Jackson writes them (`1.0` stays `1.0`, `1e2` becomes `1E+2`), a repeated key once.
    pub fn canonical(&self) -> String {
        self.inner.canonical.clone()
    }

    /// What Confluent stores for `normalize=true` (`JsonSchema.normalize()`): the canonical text
    /// with the keys of every object sorted (Java `String` order). Unlike Avro there is no deeper
    /// rewriting. (Confluent also sorts and de-duplicates the reference list; that is the
    /// caller's business.)
    pub fn normalized(&self) -> String {
        self.inner.normalized.clone()
    }

    /// The draft, from `$schema` (draft 7 when absent or unknown).
    pub fn draft(&self) -> Draft {
        self.inner.draft
    }

    /// The root node of the comparison model.
    pub fn root(&self) -> NodeId {
        self.inner.root
    }

    /// A node of the comparison model. Ids come from this schema's nodes; an unknown id gets an
    /// empty schema.
    pub fn node(&self, id: NodeId) -> &Node {
        static EMPTY: std::sync::OnceLock<Node> = std::sync::OnceLock::new();
        self.inner
            .nodes
            .get(id)
            .unwrap_or_else(|| EMPTY.get_or_init(|| Node::new(Kind::Empty)))
    }

    /// Number of nodes in the model.
    pub fn node_count(&self) -> usize {
        self.inner.nodes.len()
    }

    /// Java `Pattern.compile(pattern).matcher(key).find()` for a `patternProperties` key of this
    /// schema. A pattern that does not compile (or does not finish) matches nothing.
    pub fn pattern_matches(&self, pattern: &str, key: &str) -> bool {
        let compiled = match self.inner.patterns.get(pattern) {
            Some(c) => c.clone(),
            None => fancy_regex::Regex::new(pattern).ok(),
        };
        compiled.is_some_and(|re| re.is_match(key).unwrap_or(false))
    }
}

/// Meta-schema validators with format assertions off: Confluent's loaders never check `format`
/// values of the schema itself, and Java accepts regexes and URI references that the ECMA/RFC
/// format checks refuse (`(?i)abc`, `#/definitions/a b`).
fn meta_validator(draft: Draft) -> Option<&'static jsonschema::Validator> {
    use std::sync::OnceLock;
    static CACHE: [OnceLock<Option<jsonschema::Validator>>; 5] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    let (slot, url, spec) = match draft {
        Draft::Draft4 => (
            0,
            "http://json-schema.org/draft-04/schema#",
            jsonschema::Draft::Draft4,
        ),
        Draft::Draft6 => (
            1,
            "http://json-schema.org/draft-06/schema#",
            jsonschema::Draft::Draft6,
        ),
        Draft::Draft7 => (
            2,
            "http://json-schema.org/draft-07/schema#",
            jsonschema::Draft::Draft7,
        ),
        Draft::Draft201909 => (
            3,
            "https://json-schema.org/draft/2019-09/schema",
            jsonschema::Draft::Draft201909,
        ),
        Draft::Draft202012 => (
            4,
            "https://json-schema.org/draft/2020-12/schema",
            jsonschema::Draft::Draft202012,
        ),
    };
    CACHE[slot]
        .get_or_init(|| {
            jsonschema::options()
                .with_draft(spec)
                .should_validate_formats(false)
                .build(&serde_json::json!({ "$ref": url }))
                .ok()
        })
        .as_ref()
}

fn meta_validate(text: &str, draft: Draft) -> Result<(), JsonSchemaError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| JsonSchemaError::InvalidJson(e.to_string()))?;
    let Some(validator) = meta_validator(draft) else {
        return Err(JsonSchemaError::InvalidSchema(
            "the meta-schema validator is unavailable".to_string(),
        ));
    };
    validator.validate(&value).map_err(|e| {
        let path = e.instance_path().to_string();
        let at = if path.is_empty() {
            "#".to_string()
        } else {
            format!("#{path}")
        };
        JsonSchemaError::InvalidSchema(format!("{e} at {at}"))
    })
}
