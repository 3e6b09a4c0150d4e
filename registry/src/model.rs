//! The registry's data model: what a schema, a reference, a compatibility level and a mode are.
//!
//! These types are shared by storage (they are persisted inside commands), the core logic and
//! the REST layer. Field names follow the Confluent JSON entities so that serde does most of
//! the wire work.

use std::fmt;
use std::str::FromStr;

use charter_serde::SchemaType;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

/// A schema id: global, allocated once, never reused.
pub type SchemaId = i32;
/// A version number inside a subject, starting at 1.
pub type Version = i32;

/// A reference from one schema to a subject-version holding a type it uses.
///
/// `name` is the Avro full name, the Protobuf import path or the JSON Schema `$ref` URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub struct SchemaReference {
    pub name: String,
    pub subject: String,
    pub version: Version,
}

/// The content that identifies a schema id: equal content means equal id, in every subject.
///
/// `schema` is the canonical text (or the normalized text when normalisation was asked for);
/// metadata and rule set take part in identity as in Confluent (`Schema.updateHash`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaContent {
    #[serde(rename = "schemaType", default)]
    pub schema_type: SchemaTypeRepr,
    pub schema: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<SchemaReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    #[serde(rename = "ruleSet", default, skip_serializing_if = "Option::is_none")]
    pub rule_set: Option<serde_json::Value>,
}

impl SchemaContent {
    /// The MD5 digest over everything that makes two schemas the same schema.
    pub fn fingerprint(&self) -> [u8; 16] {
        let mut h = Md5::new();
        h.update(self.schema_type.0.as_str().as_bytes());
        h.update([0]);
        h.update(self.schema.as_bytes());
        for r in &self.references {
            h.update([1]);
            h.update(r.name.as_bytes());
            h.update([0]);
            h.update(r.subject.as_bytes());
            h.update([0]);
            h.update(r.version.to_be_bytes());
        }
        h.update([2]);
        if let Some(m) = &self.metadata {
            h.update(m.to_string().as_bytes());
        }
        h.update([3]);
        if let Some(r) = &self.rule_set {
            h.update(r.to_string().as_bytes());
        }
        h.finalize().into()
    }

    /// The schema's GUID (Confluent 8.x): a UUID made of the content fingerprint.
    pub fn guid(&self) -> String {
        uuid::Uuid::from_bytes(self.fingerprint()).to_string()
    }
}

/// [`SchemaType`] with the serde spelling of the wire (`"AVRO"` …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SchemaTypeRepr(pub SchemaType);

impl Serialize for SchemaTypeRepr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for SchemaTypeRepr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map(SchemaTypeRepr)
            .map_err(serde::de::Error::custom)
    }
}

/// Compatibility levels, with Confluent's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompatibilityLevel {
    None,
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
}

impl CompatibilityLevel {
    /// All levels, in the order Confluent documents them.
    pub const ALL: [CompatibilityLevel; 7] = [
        CompatibilityLevel::None,
        CompatibilityLevel::Backward,
        CompatibilityLevel::BackwardTransitive,
        CompatibilityLevel::Forward,
        CompatibilityLevel::ForwardTransitive,
        CompatibilityLevel::Full,
        CompatibilityLevel::FullTransitive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CompatibilityLevel::None => "NONE",
            CompatibilityLevel::Backward => "BACKWARD",
            CompatibilityLevel::BackwardTransitive => "BACKWARD_TRANSITIVE",
            CompatibilityLevel::Forward => "FORWARD",
            CompatibilityLevel::ForwardTransitive => "FORWARD_TRANSITIVE",
            CompatibilityLevel::Full => "FULL",
            CompatibilityLevel::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    /// Whether the new schema must read data written with old ones.
    pub fn checks_backward(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::Backward
                | CompatibilityLevel::BackwardTransitive
                | CompatibilityLevel::Full
                | CompatibilityLevel::FullTransitive
        )
    }

    /// Whether old readers must read data written with the new schema.
    pub fn checks_forward(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::Forward
                | CompatibilityLevel::ForwardTransitive
                | CompatibilityLevel::Full
                | CompatibilityLevel::FullTransitive
        )
    }

    /// Transitive levels compare with every live version, the others with the latest only.
    pub fn is_transitive(self) -> bool {
        matches!(
            self,
            CompatibilityLevel::BackwardTransitive
                | CompatibilityLevel::ForwardTransitive
                | CompatibilityLevel::FullTransitive
        )
    }
}

impl fmt::Display for CompatibilityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CompatibilityLevel {
    type Err = ();

    /// Case-insensitive, as `CompatibilityLevel.forName` in Confluent.
    fn from_str(s: &str) -> Result<Self, ()> {
        let up = s.trim().to_ascii_uppercase();
        Self::ALL.into_iter().find(|l| l.as_str() == up).ok_or(())
    }
}

/// Registry modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Mode {
    ReadWrite,
    ReadOnly,
    ReadOnlyOverride,
    Import,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadWrite => "READWRITE",
            Mode::ReadOnly => "READONLY",
            Mode::ReadOnlyOverride => "READONLY_OVERRIDE",
            Mode::Import => "IMPORT",
        }
    }

    /// Whether the mode refuses writes to schemas and configs.
    pub fn is_read_only(self) -> bool {
        matches!(self, Mode::ReadOnly | Mode::ReadOnlyOverride)
    }
}

impl FromStr for Mode {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_uppercase().as_str() {
            "READWRITE" => Ok(Mode::ReadWrite),
            "READONLY" => Ok(Mode::ReadOnly),
            "READONLY_OVERRIDE" => Ok(Mode::ReadOnlyOverride),
            "IMPORT" => Ok(Mode::Import),
            _ => Err(()),
        }
    }
}

/// A compatibility configuration (global or per subject).
///
/// Only `compatibilityLevel` and `normalize` change behaviour today; the other Confluent fields
/// (`validateFields`, `alias`, `compatibilityGroup`, default/override metadata and rule sets…)
/// are stored and returned as given so that tools which set them round-trip.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Config {
    #[serde(
        rename = "compatibilityLevel",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub compatibility: Option<CompatibilityLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<bool>,
    #[serde(flatten)]
    pub extras: serde_json::Map<String, serde_json::Value>,
}

impl Config {
    /// Field-by-field update: what `other` sets wins, the rest stays (Confluent `ConfigValue.update`).
    pub fn merged_with(&self, other: &Config) -> Config {
        let mut out = self.clone();
        if other.compatibility.is_some() {
            out.compatibility = other.compatibility;
        }
        if other.normalize.is_some() {
            out.normalize = other.normalize;
        }
        for (k, v) in &other.extras {
            out.extras.insert(k.clone(), v.clone());
        }
        out
    }
}

/// The optional config keys Confluent accepts besides the level and `normalize`.
pub const CONFIG_EXTRA_KEYS: &[&str] = &[
    "validateFields",
    "validateNewSchemas",
    "validateRules",
    "alias",
    "aliasForDeks",
    "compatibilityGroup",
    "compatibilityPolicy",
    "defaultMetadata",
    "overrideMetadata",
    "defaultRuleSet",
    "overrideRuleSet",
];
