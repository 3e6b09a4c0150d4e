//! Avro schemas as Confluent Schema Registry sees them.
//!
//! Confluent parses Avro with Apache Avro's Java library (1.12) and stores the text that library
//! prints. To be a drop-in replacement we must accept, reject and print exactly what Java does,
//! so this module follows the Java code rather than the Avro specification wherever the two
//! differ (each such place is commented). The `apache-avro` crate is not used: it validates
//! defaults unconditionally, cannot keep Java's property order, and disagrees with Java on
//! compatibility (see the project's `compatibility-rules.md`, §3).
//!
//! - [`AvroSchema::parse`]: strict for new schemas, lenient for stored ones ([`ParseOptions`]),
//!   with Confluent schema references.
//! - [`AvroSchema::canonical`], [`AvroSchema::normalized`], [`AvroSchema::resolved`]: the three
//!   texts the registry returns.
//! - [`AvroSchema::root`]: a read-only view of the parsed graph ([`SchemaNode`]), used by the
//!   registry's compatibility checker.
//!
//! ```
//! use charter_serde::avro::{AvroSchema, ParseOptions};
//!
//! let schema = AvroSchema::parse(
//!     r#"{"type": "record", "name": "User", "fields": [{"name": "name", "type": "string"}]}"#,
//!     &[],
//!     ParseOptions { validate: true },
//! )?;
//! assert_eq!(
//!     schema.canonical(),
//!     r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"}]}"#
//! );
//! assert_eq!(schema.full_name().as_deref(), Some("User"));
//! # Ok::<(), charter_serde::avro::AvroError>(())
//! ```

pub mod codec;
mod datum;
mod json;
mod json_datum;
mod logical;
mod model;
mod parse;
mod print;

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, OnceLock};

pub use model::AvroType;
use model::{Graph, Node, NodeId};

/// How strictly [`AvroSchema::parse`] checks a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// `true` for a schema being registered: names must be valid Avro names (Java's
    /// `NameValidator.UTF_VALIDATOR`) and field defaults must match their types, as Confluent
    /// checks new schemas. `false` for versions already stored: they were accepted once and must
    /// load again, even with defaults like `"default": "null"` on a `["null", …]` union.
    pub validate: bool,
}

/// Why a schema text is not a valid Avro schema. The message is the one Java would give where
/// Java has one (`Undefined schema: Foo`, `No type: {...}`, `Invalid default for field f: ...`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AvroError {
    /// The text is not JSON.
    #[error("Invalid JSON: {0}")]
    Json(String),
    /// The JSON is not a valid schema.
    #[error("{0}")]
    Parse(String),
    /// A field's default value does not match the field's type (strict parsing only).
    #[error("{0}")]
    InvalidDefault(String),
}

/// A parsed Avro schema. Cheap to clone; immutable; `Send + Sync`.
#[derive(Clone)]
pub struct AvroSchema {
    inner: Arc<Inner>,
}

struct Inner {
    graph: Graph,
    canonical: OnceLock<String>,
    resolved: OnceLock<String>,
    normalized: OnceLock<String>,
}

impl fmt::Debug for AvroSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AvroSchema")
            .field(&self.canonical())
            .finish()
    }
}

impl AvroSchema {
    /// Parses `text`, after the texts of the schemas it references.
    ///
    /// `references` are the resolved Confluent references in dependency order: each may use the
    /// named types of the ones before it, and `text` may use those of all of them. The parse
    /// follows Java's `Schema.Parser` (Avro 1.12), including its leniencies: comments in the
    /// JSON, forward references to names defined later in the same text, and union defaults
    /// matching any branch.
    ///
    /// ```
    /// use charter_serde::avro::{AvroSchema, ParseOptions};
    ///
    /// let address = r#"{"type":"record","name":"Address","namespace":"acme","fields":[{"name":"city","type":"string"}]}"#;
    /// let user = r#"{"type":"record","name":"User","namespace":"acme","fields":[{"name":"home","type":"Address"}]}"#;
    /// let schema = AvroSchema::parse(user, &[address], ParseOptions { validate: true })?;
    /// // Referenced types stay references in the canonical form and are inlined when resolved.
    /// assert!(schema.canonical().contains(r#""type":"Address""#));
    /// assert!(schema.resolved().contains(r#""name":"city""#));
    ///
    /// let lenient = ParseOptions { validate: false };
    /// let bad_default = r#"{"type":"record","name":"R","fields":[{"name":"f","type":["null","int"],"default":"null"}]}"#;
    /// assert!(AvroSchema::parse(bad_default, &[], lenient).is_ok());
    /// assert!(AvroSchema::parse(bad_default, &[], ParseOptions { validate: true }).is_err());
    /// # Ok::<(), charter_serde::avro::AvroError>(())
    /// ```
    pub fn parse(
        text: &str,
        references: &[&str],
        opts: ParseOptions,
    ) -> Result<AvroSchema, AvroError> {
        let graph = parse::parse_all(text, references, opts)?;
        Ok(AvroSchema {
            inner: Arc::new(Inner {
                graph,
                canonical: OnceLock::new(),
                resolved: OnceLock::new(),
                normalized: OnceLock::new(),
            }),
        })
    }

    fn graph(&self) -> &Graph {
        &self.inner.graph
    }

    fn reference_names(&self) -> HashSet<String> {
        self.graph().reference_roots.iter().cloned().collect()
    }

    /// Confluent's canonical text: Java `Schema.toString(referencedSchemas, false)`.
    ///
    /// Compact JSON in Java's key order (`type`, `name`, `namespace`, `doc`, `fields`, custom
    /// properties, `aliases`; fields as `name`, `type`, `doc`, `default`, `order`, `aliases`,
    /// custom properties), primitives without properties as bare strings, namespaces only where
    /// they differ from the enclosing one, each named type in full at its first use and by name
    /// afterwards. The top-level types of the references are printed by name only (as in Java,
    /// named types nested *inside* a reference are printed in full if the schema uses them).
    ///
    /// ```
    /// use charter_serde::avro::{AvroSchema, ParseOptions};
    ///
    /// let text = r#"{"namespace": "a", "type": "record", "name": "R", "fields": [
    ///     {"type": {"type": "enum", "name": "E", "symbols": ["X"]}, "name": "e", "doc": "d"},
    ///     {"name": "again", "type": "a.E", "default": "X"},
    ///     {"name": "n", "type": {"type": "long", "logicalType": "timestamp-millis"}}]}"#;
    /// let schema = AvroSchema::parse(text, &[], ParseOptions { validate: true })?;
    /// assert_eq!(
    ///     schema.canonical(),
    ///     concat!(
    ///         r#"{"type":"record","name":"R","namespace":"a","fields":["#,
    ///         r#"{"name":"e","type":{"type":"enum","name":"E","symbols":["X"]},"doc":"d"},"#,
    ///         r#"{"name":"again","type":"E","default":"X"},"#,
    ///         r#"{"name":"n","type":{"type":"long","logicalType":"timestamp-millis"}}]}"#
    ///     )
    /// );
    /// # Ok::<(), charter_serde::avro::AvroError>(())
    /// ```
    pub fn canonical(&self) -> String {
        self.inner
            .canonical
            .get_or_init(|| {
                let g = self.graph();
                print::to_json(&g.nodes, g.root, &self.reference_names())
            })
            .clone()
    }

    /// What Confluent stores for `normalize=true`: the canonical text of the schema produced by
    /// `AvroSchemaUtils.toNormalizedString`.
    ///
    /// Compared with [`canonical`](Self::canonical), custom properties are sorted by key (a valid
    /// logical type and its `precision`/`scale` first), aliases are sorted, `"order":"ascending"`
    /// disappears, empty docs of named types disappear, an `error` type becomes a `record`, and
    /// each field default goes through Java's `JacksonUtils.toObject` with the field's type
    /// (for a union: its first branch): `1` on a `double` field becomes `1.0`, and a default
    /// that does not fit that type (e.g. `"x"` on `["null","string"]`) is dropped.
    ///
    /// Where Java's normalizer would throw (it re-parses its output, which fails when the schema
    /// inlines a record that a reference also defines), this returns the canonical text.
    ///
    /// ```
    /// use charter_serde::avro::{AvroSchema, ParseOptions};
    ///
    /// let text = r#"{"type":"record","name":"R","fields":[
    ///     {"name":"f","type":{"type":"string","b":1,"a":2},"default":"x","order":"ascending"},
    ///     {"name":"d","type":"double","default":1}]}"#;
    /// let schema = AvroSchema::parse(text, &[], ParseOptions { validate: true })?;
    /// assert_eq!(
    ///     schema.normalized(),
    ///     concat!(
    ///         r#"{"type":"record","name":"R","fields":["#,
    ///         r#"{"name":"f","type":{"type":"string","a":2,"b":1},"default":"x"},"#,
    ///         r#"{"name":"d","type":"double","default":1.0}]}"#
    ///     )
    /// );
    /// # Ok::<(), charter_serde::avro::AvroError>(())
    /// ```
    pub fn normalized(&self) -> String {
        self.inner
            .normalized
            .get_or_init(|| {
                let g = self.graph();
                let text = print::normalized_json(&g.nodes, g.root, &self.reference_names());
                let refs: Vec<&str> = g.references.iter().map(String::as_str).collect();
                // The original was already validated (or is a stored version): re-parse leniently.
                match AvroSchema::parse(&text, &refs, ParseOptions { validate: false }) {
                    Ok(normal) => normal.canonical(),
                    Err(_) => self.canonical(),
                }
            })
            .clone()
    }

    /// Confluent `format=resolved`: Java `Schema.toString()`, every referenced type inlined at
    /// its first use.
    pub fn resolved(&self) -> String {
        self.inner
            .resolved
            .get_or_init(|| {
                let g = self.graph();
                print::to_json(&g.nodes, g.root, &HashSet::new())
            })
            .clone()
    }

    /// The full name of the top-level type when it is a record, enum or fixed
    /// (e.g. `com.acme.User`).
    pub fn full_name(&self) -> Option<String> {
        self.root().full_name().map(str::to_string)
    }

    /// The top-level type, for walking the schema graph.
    pub fn root(&self) -> SchemaNode<'_> {
        SchemaNode {
            graph: self.graph(),
            id: self.graph().root,
        }
    }
}

/// One type in a parsed schema (Java: one `Schema` object).
///
/// Named types are shared: every use of a name leads to the same node, so recursive schemas are
/// cycles. Walk them with a visited set or a memo keyed on [`SchemaNode::id`].
#[derive(Clone, Copy)]
pub struct SchemaNode<'a> {
    graph: &'a Graph,
    id: NodeId,
}

impl fmt::Debug for SchemaNode<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchemaNode")
            .field("id", &self.id)
            .field("type", &self.avro_type())
            .field("name", &self.full_name())
            .finish()
    }
}

impl<'a> SchemaNode<'a> {
    fn node(&self) -> &'a Node {
        self.graph.node(self.id)
    }

    fn at(&self, id: NodeId) -> SchemaNode<'a> {
        SchemaNode {
            graph: self.graph,
            id,
        }
    }

    /// Identity within its [`AvroSchema`]: equal ids are the same Java object. Every occurrence
    /// of an anonymous type (primitive, array, map, union) is its own node; every use of a named
    /// type is its definition's node.
    pub fn id(&self) -> usize {
        self.id
    }

    /// The schema type.
    pub fn avro_type(&self) -> AvroType {
        self.node().avro_type()
    }

    /// The simple name of a record, enum or fixed (Java `getName()`).
    pub fn name(&self) -> Option<&'a str> {
        self.node().name().map(|n| n.name.as_str())
    }

    /// The namespace-qualified name of a record, enum or fixed (Java `getFullName()`).
    pub fn full_name(&self) -> Option<&'a str> {
        self.node().name().map(|n| n.full.as_str())
    }

    /// Java `getAliases()` of a named type: each alias resolved against the type's namespace to
    /// a full name (an alias explicitly in the null namespace of a namespaced type is `.Name`).
    /// Empty for other types.
    pub fn aliases(&self) -> Vec<String> {
        print::java_aliases(self.node())
    }

    /// The fields of a record, in order (empty for other types).
    pub fn fields(&self) -> impl Iterator<Item = FieldNode<'a>> + 'a {
        let graph = self.graph;
        let fields: &'a [model::Field] = match graph.node(self.id) {
            Node::Record(r) => &r.fields,
            _ => &[],
        };
        fields
            .iter()
            .enumerate()
            .map(move |(pos, field)| FieldNode { graph, field, pos })
    }

    /// The number of fields of a record (0 for other types).
    pub fn field_count(&self) -> usize {
        match self.node() {
            Node::Record(r) => r.fields.len(),
            _ => 0,
        }
    }

    /// The record field at `position` (from 0).
    pub fn field_at(&self, position: usize) -> Option<FieldNode<'a>> {
        match self.node() {
            Node::Record(r) => r.fields.get(position).map(|field| FieldNode {
                graph: self.graph,
                field,
                pos: position,
            }),
            _ => None,
        }
    }

    /// The record field called `name` (Java `getField(name)`).
    pub fn field(&self, name: &str) -> Option<FieldNode<'a>> {
        self.fields().find(|f| f.name() == name)
    }

    /// The symbols of an enum (empty for other types).
    pub fn symbols(&self) -> &'a [String] {
        match self.node() {
            Node::Enum(e) => &e.symbols,
            _ => &[],
        }
    }

    /// The default symbol of an enum.
    pub fn enum_default(&self) -> Option<&'a str> {
        match self.node() {
            Node::Enum(e) => e.default.as_deref(),
            _ => None,
        }
    }

    /// The size of a fixed.
    pub fn fixed_size(&self) -> Option<u32> {
        match self.node() {
            Node::Fixed(f) => Some(f.size),
            _ => None,
        }
    }

    /// The element type of an array.
    pub fn items(&self) -> Option<SchemaNode<'a>> {
        match self.node() {
            Node::Array { items, .. } => Some(self.at(*items)),
            _ => None,
        }
    }

    /// The value type of a map.
    pub fn values(&self) -> Option<SchemaNode<'a>> {
        match self.node() {
            Node::Map { values, .. } => Some(self.at(*values)),
            _ => None,
        }
    }

    /// The branches of a union, in order (empty for other types).
    pub fn branches(&self) -> impl Iterator<Item = SchemaNode<'a>> + 'a {
        let graph = self.graph;
        let ids: &'a [NodeId] = match graph.node(self.id) {
            Node::Union { branches } => branches,
            _ => &[],
        };
        ids.iter().map(move |&id| SchemaNode { graph, id })
    }

    /// The number of branches of a union (0 for other types).
    pub fn branch_count(&self) -> usize {
        match self.node() {
            Node::Union { branches } => branches.len(),
            _ => 0,
        }
    }

    /// The union branch at `index` (from 0).
    pub fn branch_at(&self, index: usize) -> Option<SchemaNode<'a>> {
        match self.node() {
            Node::Union { branches } => branches.get(index).map(|&id| self.at(id)),
            _ => None,
        }
    }

    /// This type as JSON, with every named type inlined at its first use (Java
    /// `Schema.toString()`).
    pub fn to_json(&self) -> String {
        print::to_json(&self.graph.nodes, self.id, &HashSet::new())
    }
}

/// One field of a record (Java `Schema.Field`).
#[derive(Clone, Copy)]
pub struct FieldNode<'a> {
    graph: &'a Graph,
    field: &'a model::Field,
    pos: usize,
}

impl fmt::Debug for FieldNode<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldNode")
            .field("name", &self.name())
            .field("pos", &self.pos)
            .finish()
    }
}

impl<'a> FieldNode<'a> {
    fn field(&self) -> &'a model::Field {
        self.field
    }

    /// The field name.
    pub fn name(&self) -> &'a str {
        &self.field().name
    }

    /// The field's aliases, as written (Java keeps them unqualified).
    pub fn aliases(&self) -> &'a [String] {
        &self.field().aliases
    }

    /// The position of the field in its record, from 0.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Whether the field declares a default (any default, even one that does not fit the type).
    pub fn has_default(&self) -> bool {
        self.field().default.is_some()
    }

    /// The field's default value as JSON (`None` without a default). Integers too large for 64
    /// bits become doubles.
    pub fn default_value(&self) -> Option<serde_json::Value> {
        self.field().default.as_ref().map(json_value)
    }

    /// The field's type.
    pub fn schema(&self) -> SchemaNode<'a> {
        SchemaNode {
            graph: self.graph,
            id: self.field().ty,
        }
    }
}

/// Our Jackson-like JSON as `serde_json`.
fn json_value(j: &json::Json) -> serde_json::Value {
    use serde_json::Value;
    match j {
        json::Json::Null => Value::Null,
        json::Json::Bool(b) => Value::Bool(*b),
        json::Json::Int(i) => Value::from(*i),
        json::Json::BigInt(digits) => digits
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        json::Json::Double(f) => serde_json::Number::from_f64(*f).map_or_else(
            || {
                Value::String(
                    if f.is_nan() {
                        "NaN"
                    } else if *f > 0.0 {
                        "Infinity"
                    } else {
                        "-Infinity"
                    }
                    .into(),
                )
            },
            Value::Number,
        ),
        json::Json::Str(s) => Value::String(s.clone()),
        json::Json::Array(a) => Value::Array(a.iter().map(json_value).collect()),
        json::Json::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), json_value(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests;
