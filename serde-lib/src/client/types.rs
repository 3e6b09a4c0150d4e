//! Request and response bodies of the registry REST API, mirroring Confluent's entities.
//!
//! Every response type ignores unknown fields and treats `null` like an absent field, so newer
//! registries (Confluent 8.x adds `guid`, `ts`, `deleted`, ...) and older ones (which omit
//! `schemaType` for Avro) both decode.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::SchemaType;

/// A reference from a schema to a schema registered under another subject
/// (`{"name", "subject", "version"}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SchemaReference {
    /// The import path (Protobuf), `$ref` URL (JSON Schema) or full type name (Avro).
    pub name: String,
    /// The subject the referenced schema is registered under.
    pub subject: String,
    /// Its version (`-1` = latest, resolved by the registry when registering).
    pub version: i32,
}

impl SchemaReference {
    /// A reference.
    pub fn new(name: impl Into<String>, subject: impl Into<String>, version: i32) -> Self {
        SchemaReference {
            name: name.into(),
            subject: subject.into(),
            version,
        }
    }
}

/// A schema to register, look up or test for compatibility (Confluent's
/// `RegisterSchemaRequest`).
///
/// ```
/// use charter_serde::client::Schema;
/// use charter_serde::SchemaType;
///
/// let s = Schema::new(SchemaType::Json, r#"{"type":"object"}"#);
/// assert_eq!(
///     serde_json::to_string(&s).unwrap(),
///     r#"{"schema":"{\"type\":\"object\"}","schemaType":"JSON"}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schema {
    /// The schema text (Avro JSON, JSON Schema JSON or `.proto` text).
    pub schema: String,
    /// The format; always sent (as Confluent's Java client ≥ 8.0 does).
    #[serde(
        default,
        serialize_with = "ser_type",
        deserialize_with = "de_type_or_avro"
    )]
    pub schema_type: SchemaType,
    /// References to schemas under other subjects.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub references: Vec<SchemaReference>,
    /// Data-contract metadata (`{"tags", "properties", "sensitive"}`), passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Data-contract rules (`{"migrationRules", "domainRules", "encodingRules"}`), passed
    /// through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_set: Option<Value>,
}

impl Schema {
    /// A schema of `schema_type` with no references.
    pub fn new(schema_type: SchemaType, schema: impl Into<String>) -> Self {
        Schema {
            schema: schema.into(),
            schema_type,
            ..Default::default()
        }
    }

    /// An Avro schema.
    pub fn avro(schema: impl Into<String>) -> Self {
        Self::new(SchemaType::Avro, schema)
    }

    /// A JSON Schema.
    pub fn json(schema: impl Into<String>) -> Self {
        Self::new(SchemaType::Json, schema)
    }

    /// A Protobuf schema (`.proto` text or base64 `FileDescriptorProto`).
    pub fn protobuf(schema: impl Into<String>) -> Self {
        Self::new(SchemaType::Protobuf, schema)
    }

    /// Adds a reference.
    pub fn with_reference(mut self, reference: SchemaReference) -> Self {
        self.references.push(reference);
        self
    }
}

/// The answer to a registration (`POST /subjects/{s}/versions`). Only `id` is guaranteed:
/// Confluent ≤ 7.9, Karapace and Redpanda answer `{"id": N}`; Confluent 8.x and Charter add the
/// rest.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredSchema {
    /// The schema id (what goes into the wire format).
    pub id: i32,
    /// The version under the subject, when the registry says.
    #[serde(default)]
    pub version: Option<i32>,
    /// The schema GUID (Confluent 8.x), when the registry says.
    #[serde(default)]
    pub guid: Option<String>,
    /// The subject, when the registry says.
    #[serde(default)]
    pub subject: Option<String>,
    /// The stored (canonical) schema text, when the registry says.
    #[serde(default)]
    pub schema: Option<String>,
    /// The format, when the registry says.
    #[serde(default, deserialize_with = "de_type_opt")]
    pub schema_type: Option<SchemaType>,
}

/// A subject version (Confluent's `Schema` entity; Java's `SchemaMetadata`), as returned by
/// `GET /subjects/{s}/versions/{v}` and lookups (`POST /subjects/{s}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaMetadata {
    /// The subject.
    pub subject: String,
    /// The version number.
    pub version: i32,
    /// The schema id.
    pub id: i32,
    /// The stored (canonical) schema text.
    pub schema: String,
    /// The format (absent = Avro).
    #[serde(default, deserialize_with = "de_type_or_avro")]
    pub schema_type: SchemaType,
    /// References.
    #[serde(default, deserialize_with = "null_default")]
    pub references: Vec<SchemaReference>,
    /// Data-contract metadata.
    #[serde(default)]
    pub metadata: Option<Value>,
    /// Data-contract rules.
    #[serde(default)]
    pub rule_set: Option<Value>,
    /// The schema GUID (Confluent 8.x).
    #[serde(default)]
    pub guid: Option<String>,
    /// Whether the version is soft-deleted (Confluent 8.x).
    #[serde(default)]
    pub deleted: Option<bool>,
    /// Creation time in epoch milliseconds (Confluent 8.x).
    #[serde(default)]
    pub ts: Option<i64>,
}

impl SchemaMetadata {
    /// The version as a [`Schema`] request (text, type, references, metadata, rules).
    pub fn to_schema(&self) -> Schema {
        Schema {
            schema: self.schema.clone(),
            schema_type: self.schema_type,
            references: self.references.clone(),
            metadata: self.metadata.clone(),
            rule_set: self.rule_set.clone(),
        }
    }
}

/// A schema fetched by id (Confluent's `SchemaString`, `GET /schemas/ids/{id}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaById {
    /// The schema id, when the registry says (answers by GUID carry it on Charter).
    #[serde(default)]
    pub id: Option<i32>,
    /// The schema text: canonical, or in the requested `format` (for Protobuf with
    /// `format=serialized`, the base64 `FileDescriptorProto`).
    pub schema: String,
    /// The format (absent = Avro).
    #[serde(default, deserialize_with = "de_type_or_avro")]
    pub schema_type: SchemaType,
    /// References.
    #[serde(default, deserialize_with = "null_default")]
    pub references: Vec<SchemaReference>,
    /// Data-contract metadata.
    #[serde(default)]
    pub metadata: Option<Value>,
    /// Data-contract rules.
    #[serde(default)]
    pub rule_set: Option<Value>,
    /// The schema GUID (Confluent 8.x).
    #[serde(default)]
    pub guid: Option<String>,
    /// The subject, only when one was given in the request (Confluent 8.x).
    #[serde(default)]
    pub subject: Option<String>,
    /// The version, only when a subject was given in the request (Confluent 8.x).
    #[serde(default)]
    pub version: Option<i32>,
}

impl SchemaById {
    /// The fetched schema as a [`Schema`] request.
    pub fn to_schema(&self) -> Schema {
        Schema {
            schema: self.schema.clone(),
            schema_type: self.schema_type,
            references: self.references.clone(),
            metadata: self.metadata.clone(),
            rule_set: self.rule_set.clone(),
        }
    }
}

/// A subject version selector: a number or `latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// The highest non-deleted version.
    Latest,
    /// A version number (≥ 1).
    Number(i32),
}

impl From<i32> for Version {
    fn from(v: i32) -> Self {
        Version::Number(v)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Latest => f.write_str("latest"),
            Version::Number(n) => write!(f, "{n}"),
        }
    }
}

/// The answer to a compatibility test.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CompatibilityResult {
    /// Whether the schema is compatible.
    pub is_compatible: bool,
    /// Why not (only with `verbose`).
    #[serde(default, deserialize_with = "null_default")]
    pub messages: Vec<String>,
}

/// A compatibility level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompatibilityLevel {
    /// No checks.
    None,
    /// New schemas read data written with the latest one.
    Backward,
    /// New schemas read data written with all previous ones.
    BackwardTransitive,
    /// The latest schema reads data written with new ones.
    Forward,
    /// All previous schemas read data written with new ones.
    ForwardTransitive,
    /// Backward and forward against the latest.
    Full,
    /// Backward and forward against all previous.
    FullTransitive,
}

/// A subject or global configuration as read (`GET /config[/{s}]`). The level is read from
/// `compatibilityLevel` (GET) or `compatibility` (PUT echo); other settings are kept in
/// `other`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerConfig {
    /// The compatibility level.
    #[serde(default, alias = "compatibility")]
    pub compatibility_level: Option<CompatibilityLevel>,
    /// Whether the registry normalizes schemas on registration.
    #[serde(default)]
    pub normalize: Option<bool>,
    /// Every other field (`validateFields`, `defaultMetadata`, ...).
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

/// A configuration update (`PUT /config[/{s}]`); fields left `None` keep their value.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigUpdate {
    /// The new compatibility level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compatibility: Option<CompatibilityLevel>,
    /// Whether to normalize schemas on registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalize: Option<bool>,
    /// Other settings, sent as given.
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

impl ConfigUpdate {
    /// An update of the compatibility level only.
    pub fn compatibility(level: CompatibilityLevel) -> Self {
        ConfigUpdate {
            compatibility: Some(level),
            ..Default::default()
        }
    }
}

/// The Confluent error body.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    pub error_code: i32,
    #[serde(default)]
    pub message: Option<String>,
}

fn ser_type<S: Serializer>(t: &SchemaType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.as_str())
}

fn de_type_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SchemaType>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

fn de_type_or_avro<'de, D: Deserializer<'de>>(d: D) -> Result<SchemaType, D::Error> {
    Ok(de_type_opt(d)?.unwrap_or_default())
}

fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerant_decoding() {
        let v: SchemaMetadata = serde_json::from_str(
            r#"{"subject":"s","version":1,"id":3,"schema":"\"string\"","references":null,
                "metadata":null,"ruleSet":null,"unknown":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(v.schema_type, SchemaType::Avro);
        assert!(v.references.is_empty());
        let r: RegisteredSchema = serde_json::from_str(r#"{"id":7}"#).unwrap();
        assert_eq!(r.id, 7);
        assert_eq!(r.version, None);
        let c: ServerConfig = serde_json::from_str(r#"{"compatibility":"FULL"}"#).unwrap();
        assert_eq!(c.compatibility_level, Some(CompatibilityLevel::Full));
        let c: CompatibilityResult =
            serde_json::from_str(r#"{"is_compatible":false,"messages":null}"#).unwrap();
        assert!(!c.is_compatible);
        let s: SchemaById =
            serde_json::from_str(r#"{"schema":"x","schemaType":"PROTOBUF"}"#).unwrap();
        assert_eq!(s.schema_type, SchemaType::Protobuf);
    }

    #[test]
    fn request_body_omits_empty() {
        let s = Schema::avro("\"int\"").with_reference(SchemaReference::new("a", "b", 1));
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"schema":"\"int\"","schemaType":"AVRO","references":[{"name":"a","subject":"b","version":1}]}"#
        );
        assert_eq!(
            serde_json::to_string(&ConfigUpdate::compatibility(
                CompatibilityLevel::BackwardTransitive
            ))
            .unwrap(),
            r#"{"compatibility":"BACKWARD_TRANSITIVE"}"#
        );
    }
}
