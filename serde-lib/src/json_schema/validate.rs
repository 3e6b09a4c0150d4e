//! Validation of JSON instances against a [`JsonSchema`], with the `jsonschema` crate.
//!
//! The validator is compiled on first use and cached in the schema. References are served from
//! memory by a retriever keyed on the absolute URI each reference name resolves to (the same
//! resolution the loader uses: against the root's `$id`, or a fixed in-memory base); nothing is
//! ever fetched from the network or the file system.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::check::{Plan, Verdict};
use super::json::{self, Json};
use super::uri::Uri;
use super::{Draft, JsonSchema};

/// The base URI of a root schema without an absolute `$id` (the loader's default base).
const BASE: &str = "mem://input/";

/// What [`JsonSchema::validate_json`] needs, kept by the schema: the reference documents by
/// absolute URI, and the validator once built.
pub(super) struct Validation {
    /// `(absolute URI without fragment, compact JSON text)` of each reference.
    references: Vec<(String, String)>,
    validator: OnceLock<Result<jsonschema::Validator, String>>,
    /// The typed-value fast path ([`check`](super::check)), when the schema allows one.
    plan: OnceLock<Option<Plan>>,
}

impl Validation {
    /// Records the references of a schema whose root document is `root`.
    pub(super) fn new(root: &Json, draft: Draft, references: &[(String, Json)]) -> Validation {
        let id_keyword = if draft == Draft::Draft4 { "id" } else { "$id" };
        let default_base = Uri::parse(BASE);
        let root_base = match root.get(id_keyword).and_then(Json::as_str) {
            Some(id) if !id.starts_with('#') => default_base.resolve(id).without_fragment(),
            _ => default_base,
        };
        let references = references
            .iter()
            .map(|(name, doc)| {
                (
                    root_base.resolve(name).without_fragment().to_string(),
                    json::to_compact(doc),
                )
            })
            .collect();
        Validation {
            references,
            validator: OnceLock::new(),
            plan: OnceLock::new(),
        }
    }
}

impl std::fmt::Debug for Validation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validation")
            .field("references", &self.references.len())
            .finish()
    }
}

/// Serves the reference documents from memory and refuses everything else.
struct References(HashMap<String, serde_json::Value>);

impl jsonschema::Retrieve for References {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<serde_json::Value, Box<dyn std::error::Error + Send + Sync>> {
        let text = uri.as_str();
        let text = text.split('#').next().unwrap_or(text);
        if let Some(v) = self.0.get(text) {
            return Ok(v.clone());
        }
        // The crate normalises URIs (case of scheme and host, dot segments): compare leniently.
        let lower = text.to_ascii_lowercase();
        self.0
            .iter()
            .find(|(k, _)| k.to_ascii_lowercase() == lower)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("unknown reference '{text}' (no such schema reference)").into())
    }
}

fn spec(draft: Draft) -> jsonschema::Draft {
    match draft {
        Draft::Draft4 => jsonschema::Draft::Draft4,
        Draft::Draft6 => jsonschema::Draft::Draft6,
        Draft::Draft7 => jsonschema::Draft::Draft7,
        Draft::Draft201909 => jsonschema::Draft::Draft201909,
        Draft::Draft202012 => jsonschema::Draft::Draft202012,
    }
}

impl JsonSchema {
    fn validator(&self) -> Result<&jsonschema::Validator, String> {
        let v = &self.inner.validation;
        v.validator
            .get_or_init(|| {
                let root: serde_json::Value = serde_json::from_str(&self.inner.canonical)
                    .map_err(|e| format!("the schema cannot be used for validation: {e}"))?;
                let mut docs = HashMap::with_capacity(v.references.len());
                for (uri, text) in &v.references {
                    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| {
                        format!("reference '{uri}' cannot be used for validation: {e}")
                    })?;
                    docs.insert(uri.clone(), doc);
                }
                jsonschema::options()
                    .with_draft(spec(self.inner.draft))
                    .with_base_uri(BASE)
                    .with_retriever(References(docs))
                    .build(&root)
                    .map_err(|e| format!("the schema cannot be used for validation: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Parses `bytes` as UTF-8 JSON and validates the value against this schema, its `$ref`s
    /// into the schema's references included.
    ///
    /// The validator is compiled on the first call and cached in the schema (clones share it).
    /// The error is the first violation with its location (`… at #/age`), or why the bytes are
    /// not JSON.
    ///
    /// ```
    /// use charter_serde::json_schema::JsonSchema;
    ///
    /// let s = JsonSchema::parse(r#"{"type":"object","properties":{"age":{"type":"integer"}}}"#, &[], true)?;
    /// assert!(s.validate_json(br#"{"age": 42}"#).is_ok());
    /// assert!(s.validate_json(br#"{"age": "old"}"#).is_err());
    /// assert!(s.validate_json(b"not json").is_err());
    /// # Ok::<(), charter_serde::json_schema::JsonSchemaError>(())
    /// ```
    pub fn validate_json(&self, bytes: &[u8]) -> Result<(), String> {
        let text =
            std::str::from_utf8(bytes).map_err(|e| format!("the payload is not UTF-8: {e}"))?;
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("the payload is not JSON: {e}"))?;
        self.validate_value(&value)
    }

    /// Validates an already parsed value (what a serializer holds before writing it).
    ///
    /// ```
    /// use charter_serde::json_schema::JsonSchema;
    /// let s = JsonSchema::parse(r#"{"type":"array","maxItems":1}"#, &[], true)?;
    /// assert!(s.validate_value(&serde_json::json!([1])).is_ok());
    /// assert!(s.validate_value(&serde_json::json!([1, 2])).is_err());
    /// # Ok::<(), charter_serde::json_schema::JsonSchemaError>(())
    /// ```
    pub fn validate_value(&self, value: &serde_json::Value) -> Result<(), String> {
        let validator = self.validator()?;
        // `is_valid` stops at the first failure and builds no error or instance path; it is
        // several times faster than `validate` on valid values (the common case), which then
        // only runs to describe a failure.
        if validator.is_valid(value) {
            return Ok(());
        }
        validator.validate(value).map_err(|e| {
            let path = e.instance_path().to_string();
            format!("{e} at #{path}")
        })
    }

    /// Whether `value`, a typed value about to be written as JSON, is certainly valid, decided
    /// without building a `serde_json::Value` (see [`check`](super::check)). `false` means
    /// "not known": validate `serde_json::to_value(value)` with
    /// [`validate_value`](Self::validate_value) to know and to word the error.
    ///
    /// ```
    /// use charter_serde::json_schema::JsonSchema;
    /// #[derive(serde::Serialize)]
    /// struct P { x: i64 }
    /// let s = JsonSchema::parse(r#"{"type":"object","properties":{"x":{"minimum":0}},"required":["x"]}"#, &[], true)?;
    /// assert!(s.certainly_valid(&P { x: 3 }));
    /// assert!(!s.certainly_valid(&P { x: -3 }));
    /// # Ok::<(), charter_serde::json_schema::JsonSchemaError>(())
    /// ```
    pub fn certainly_valid<T: serde::Serialize + ?Sized>(&self, value: &T) -> bool {
        let plan = self.inner.validation.plan.get_or_init(|| {
            let root: serde_json::Value = serde_json::from_str(&self.inner.canonical).ok()?;
            Plan::compile(&root, self.inner.draft)
        });
        plan.as_ref()
            .is_some_and(|p| p.check(value) == Verdict::Valid)
    }
}

#[cfg(test)]
mod tests {
    use crate::json_schema::JsonSchema;

    const PERSON: &str = r##"{
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "age": {"type": "integer", "minimum": 0},
            "address": {"$ref": "address.json"},
            "tags": {"type": "array", "items": {"$ref": "#/definitions/tag"}}
        },
        "required": ["name"],
        "additionalProperties": false,
        "definitions": {"tag": {"type": "string", "enum": ["a", "b"]}}
    }"##;
    const ADDRESS: &str = r##"{
        "type": "object",
        "properties": {"city": {"type": "string"}, "zip": {"$ref": "#/definitions/zip"}},
        "required": ["city"],
        "definitions": {"zip": {"type": "string", "pattern": "^[0-9]{5}$"}}
    }"##;

    fn person() -> JsonSchema {
        JsonSchema::parse(PERSON, &[("address.json", ADDRESS)], true).unwrap()
    }

    #[test]
    fn valid_instances_pass() {
        let s = person();
        s.validate_json(br#"{"name":"x"}"#).unwrap();
        s.validate_json(br#"{"name":"x","age":3,"tags":["a","b"]}"#)
            .unwrap();
        s.validate_json(br#"{"name":"x","address":{"city":"Paris","zip":"75001"}}"#)
            .unwrap();
    }

    #[test]
    fn invalid_instances_fail() {
        let s = person();
        for bad in [
            &br#"{}"#[..],
            br#"{"name":""}"#,
            br#"{"name":"x","age":-1}"#,
            br#"{"name":"x","age":1.5}"#,
            br#"{"name":"x","extra":1}"#,
            br#"{"name":"x","tags":["c"]}"#,
            br#"[]"#,
        ] {
            assert!(
                s.validate_json(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let err = s.validate_json(br#"{"name":"x","age":-1}"#).unwrap_err();
        assert!(err.contains("#/age"), "{err}");
    }

    #[test]
    fn refs_into_a_reference_are_followed() {
        let s = person();
        let err = s
            .validate_json(br#"{"name":"x","address":{"zip":"75001"}}"#)
            .unwrap_err();
        assert!(err.contains("city"), "{err}");
        let err = s
            .validate_json(br#"{"name":"x","address":{"city":"P","zip":"7500"}}"#)
            .unwrap_err();
        assert!(err.contains("#/address/zip"), "{err}");
    }

    #[test]
    fn refs_resolve_against_the_root_id() {
        let root = r#"{"$id":"https://acme.com/schemas/order.json","type":"object",
            "properties":{"customer":{"$ref":"customer.json"}}}"#;
        let customer = r#"{"type":"object","properties":{"id":{"type":"integer"}}}"#;
        let s = JsonSchema::parse(root, &[("customer.json", customer)], true).unwrap();
        s.validate_json(br#"{"customer":{"id":1}}"#).unwrap();
        assert!(s.validate_json(br#"{"customer":{"id":"1"}}"#).is_err());
    }

    #[test]
    fn non_json_fails() {
        let s = person();
        for bad in [&b"not json"[..], b"", b"{\"name\":", b"\xff\xfe", b"{} {}"] {
            assert!(s.validate_json(bad).is_err());
        }
    }

    #[test]
    fn validator_is_built_once_and_shared() {
        let s = person();
        let a = s.validator().unwrap() as *const jsonschema::Validator;
        let clone = s.clone();
        let b = clone.validator().unwrap() as *const jsonschema::Validator;
        assert_eq!(a, b);
    }
}
