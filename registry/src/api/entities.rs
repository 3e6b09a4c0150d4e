//! Confluent's JSON entities: request bodies in, response objects out.
//!
//! Responses follow Jackson's `NON_EMPTY` rule of the Java server: null, empty strings,
//! empty lists and empty maps are left out.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::RegistryError;
use crate::model::{Config, SchemaReference};
use crate::registry::{SchemaRequest, VersionView};
use crate::state::StoredSchema;

/// The body of register, lookup and compatibility requests. Every field may be absent or
/// null (the .NET client sends `"metadata": null`); unknown fields are ignored.
#[derive(Debug, Default, Deserialize)]
pub struct SchemaBody {
    #[serde(default)]
    schema: Option<String>,
    #[serde(rename = "schemaType", default)]
    schema_type: Option<String>,
    #[serde(default)]
    references: Option<Vec<ReferenceBody>>,
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(rename = "ruleSet", default)]
    rule_set: Option<Value>,
    #[serde(default)]
    id: Option<i32>,
    #[serde(default)]
    version: Option<i32>,
}

#[derive(Debug, Default, Deserialize)]
struct ReferenceBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    version: Option<i32>,
}

impl SchemaBody {
    /// Converts to the registry's request, rejecting an unknown `schemaType` with 42201.
    pub fn into_request(self) -> Result<SchemaRequest, RegistryError> {
        let schema_type = match self.schema_type.as_deref() {
            None | Some("") => Default::default(),
            Some(t) => t
                .parse()
                .map_err(|e: charter_serde::schema_type::UnknownSchemaType| {
                    RegistryError::InvalidSchema(e.to_string())
                })?,
        };
        let references = self
            .references
            .unwrap_or_default()
            .into_iter()
            .map(|r| match (r.name, r.subject) {
                (Some(name), Some(subject)) => Ok(SchemaReference {
                    name,
                    subject,
                    version: r.version.unwrap_or(-1),
                }),
                _ => Err(RegistryError::InvalidSchema(
                    "Invalid schema: a reference needs a name and a subject".into(),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SchemaRequest {
            schema: self.schema.unwrap_or_default(),
            schema_type,
            references,
            metadata: non_empty(self.metadata),
            rule_set: non_empty(self.rule_set),
            id: self.id,
            version: self.version,
        })
    }
}

/// Treats `{}` and `null` like absence, as Jackson's NON_EMPTY would on the way out.
fn non_empty(v: Option<Value>) -> Option<Value> {
    v.filter(|v| match v {
        Value::Null => false,
        Value::Object(m) => !m.is_empty(),
        _ => true,
    })
}

/// The body of `PUT /config`: `compatibility` (note: not `compatibilityLevel`) plus extras.
#[derive(Debug, Default, Deserialize)]
pub struct ConfigBody {
    #[serde(default)]
    pub compatibility: Option<String>,
    #[serde(rename = "compatibilityLevel", default)]
    pub compatibility_level: Option<String>,
    #[serde(default)]
    pub normalize: Option<bool>,
    #[serde(flatten)]
    pub extras: Map<String, Value>,
}

/// The body of `PUT /mode`.
#[derive(Debug, Default, Deserialize)]
pub struct ModeBody {
    #[serde(default)]
    pub mode: Option<String>,
}

/// Puts the shared schema fields into `out`.
fn schema_fields(out: &mut Map<String, Value>, s: &StoredSchema, text: String) {
    out.insert("guid".into(), json!(s.guid));
    out.insert("schemaType".into(), json!(s.content.schema_type.0.as_str()));
    if !s.content.references.is_empty() {
        out.insert("references".into(), json!(s.content.references));
    }
    if let Some(m) = &s.content.metadata {
        out.insert("metadata".into(), m.clone());
    }
    if let Some(r) = &s.content.rule_set {
        out.insert("ruleSet".into(), r.clone());
    }
    out.insert("schema".into(), json!(text));
}

/// A subject-version (`GET /subjects/{s}/versions/{v}`, lookup, `GET /schemas`).
pub fn version_json(v: &VersionView, text: String) -> Value {
    let mut m = Map::new();
    m.insert("subject".into(), json!(v.subject));
    m.insert("version".into(), json!(v.version));
    m.insert("id".into(), json!(v.schema.id));
    schema_fields(&mut m, &v.schema, text);
    m.insert("ts".into(), json!(v.entry.ts));
    m.insert("deleted".into(), json!(v.entry.deleted));
    Value::Object(m)
}

/// A schema by id (`GET /schemas/ids/{id}`).
pub fn schema_json(s: &StoredSchema, text: String, max_id: Option<i32>) -> Value {
    let mut m = Map::new();
    schema_fields(&mut m, s, text);
    if let Some(max) = max_id {
        m.insert("maxId".into(), json!(max));
    }
    // Keep `schema` first, as Confluent's SchemaString does.
    let mut ordered = Map::new();
    if let Some(schema) = m.remove("schema") {
        ordered.insert("schema".into(), schema);
    }
    ordered.extend(m);
    Value::Object(ordered)
}

/// A config as `GET /config` shows it (`compatibilityLevel`).
pub fn config_json(c: &Config) -> Value {
    serde_json::to_value(c).unwrap_or_else(|_| json!({}))
}

/// A config as `PUT /config` echoes it (`compatibility`).
pub fn config_update_json(c: &Config) -> Value {
    let mut v = config_json(c);
    if let Some(m) = v.as_object_mut() {
        if let Some(level) = m.remove("compatibilityLevel") {
            let mut out = Map::new();
            out.insert("compatibility".into(), level);
            out.extend(std::mem::take(m));
            return Value::Object(out);
        }
    }
    v
}
