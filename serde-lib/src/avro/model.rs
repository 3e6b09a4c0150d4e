//! The schema graph: an arena of nodes that mirrors the object graph Java's parser builds.
//!
//! Identity matters for Avro compatibility (Java memoizes reader/writer pairs by object
//! identity), so the arena follows Java exactly: every occurrence of a primitive, array, map or
//! union in the text is its own node, and every use of a named type by name points at the one
//! node of its definition. Recursive types are therefore cycles through named nodes, and every
//! walk over the graph must go through names (printers) or a memo (the compatibility checker).

use super::json::Json;

/// Index of a node in [`Graph::nodes`].
pub(crate) type NodeId = usize;

/// The fourteen Avro schema types (Java `Schema.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AvroType {
    Record,
    Enum,
    Array,
    Map,
    Union,
    Fixed,
    String,
    Bytes,
    Int,
    Long,
    Float,
    Double,
    Boolean,
    Null,
}

impl AvroType {
    /// The lower-case name used in schema JSON (`"record"`, `"int"`, …).
    pub fn json_name(self) -> &'static str {
        match self {
            AvroType::Record => "record",
            AvroType::Enum => "enum",
            AvroType::Array => "array",
            AvroType::Map => "map",
            AvroType::Union => "union",
            AvroType::Fixed => "fixed",
            AvroType::String => "string",
            AvroType::Bytes => "bytes",
            AvroType::Int => "int",
            AvroType::Long => "long",
            AvroType::Float => "float",
            AvroType::Double => "double",
            AvroType::Boolean => "boolean",
            AvroType::Null => "null",
        }
    }

    /// The upper-case Java enum constant (`"RECORD"`, `"INT"`, …), as Java prints it in
    /// compatibility messages.
    pub fn java_name(self) -> &'static str {
        match self {
            AvroType::Record => "RECORD",
            AvroType::Enum => "ENUM",
            AvroType::Array => "ARRAY",
            AvroType::Map => "MAP",
            AvroType::Union => "UNION",
            AvroType::Fixed => "FIXED",
            AvroType::String => "STRING",
            AvroType::Bytes => "BYTES",
            AvroType::Int => "INT",
            AvroType::Long => "LONG",
            AvroType::Float => "FLOAT",
            AvroType::Double => "DOUBLE",
            AvroType::Boolean => "BOOLEAN",
            AvroType::Null => "NULL",
        }
    }

    /// The primitive named `name`, if any (`"null"`, `"boolean"`, … `"string"`).
    pub(crate) fn primitive(name: &str) -> Option<AvroType> {
        Some(match name {
            "null" => AvroType::Null,
            "boolean" => AvroType::Boolean,
            "int" => AvroType::Int,
            "long" => AvroType::Long,
            "float" => AvroType::Float,
            "double" => AvroType::Double,
            "bytes" => AvroType::Bytes,
            "string" => AvroType::String,
            _ => return None,
        })
    }

    /// Whether `name` is the lower-case name of any of the fourteen types; Java then writes a
    /// reference to a named type with that simple name fully qualified.
    pub(crate) fn is_type_name(name: &str) -> bool {
        matches!(
            name,
            "record"
                | "enum"
                | "array"
                | "map"
                | "union"
                | "fixed"
                | "string"
                | "bytes"
                | "int"
                | "long"
                | "float"
                | "double"
                | "boolean"
                | "null"
        )
    }
}

/// Custom properties in document order (keys are unique).
pub(crate) type Props = Vec<(String, Json)>;

/// A name with its namespace (Java `Schema.Name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Name {
    pub name: String,
    /// `None` is the null namespace (Java turns `""` into null).
    pub space: Option<String>,
    pub full: String,
}

impl Name {
    /// Java `new Name(name, space)`: a dotted `name` brings its own namespace.
    pub(crate) fn new(name: &str, space: Option<&str>) -> Name {
        let (space, simple) = match name.rfind('.') {
            Some(dot) => (Some(&name[..dot]), &name[dot + 1..]),
            None => (space, name),
        };
        let space = space.filter(|s| !s.is_empty()).map(str::to_string);
        let full = match &space {
            Some(s) => format!("{s}.{simple}"),
            None => simple.to_string(),
        };
        Name {
            name: simple.to_string(),
            space,
            full,
        }
    }

    /// Java `Name.getQualified(defaultSpace)`: the simple name when the namespace equals the
    /// enclosing one (unless the simple name is a type name), the full name otherwise.
    pub(crate) fn qualified(&self, default_space: Option<&str>) -> &str {
        match (&self.space, default_space) {
            (Some(space), Some(default))
                if space == default && !AvroType::is_type_name(&self.name) =>
            {
                &self.name
            }
            _ => &self.full,
        }
    }
}

/// Field sort order (Java `Schema.Field.Order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    Ascending,
    Descending,
    Ignore,
}

impl Order {
    /// The lower-case name written in canonical JSON.
    pub(crate) fn json_name(self) -> &'static str {
        match self {
            Order::Ascending => "ascending",
            Order::Descending => "descending",
            Order::Ignore => "ignore",
        }
    }

    /// The Java enum constant (`Order.toString()`), which Confluent's normalizer writes.
    pub(crate) fn java_name(self) -> &'static str {
        match self {
            Order::Ascending => "ASCENDING",
            Order::Descending => "DESCENDING",
            Order::Ignore => "IGNORE",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub name: String,
    pub doc: Option<String>,
    pub ty: NodeId,
    /// The default as Java keeps it: a float/double field's textual default has already been
    /// converted to a number (`Json::Double`, possibly NaN or infinite).
    pub default: Option<Json>,
    pub order: Order,
    /// Java keeps field aliases as plain strings in a `LinkedHashSet`.
    pub aliases: Vec<String>,
    pub props: Props,
}

#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub name: Name,
    pub doc: Option<String>,
    pub fields: Vec<Field>,
    /// False while the fields are being parsed (Java: `fields == null`).
    pub fields_set: bool,
    pub props: Props,
    pub aliases: Vec<Name>,
    /// Declared with `"type": "error"`.
    pub is_error: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct EnumDef {
    pub name: Name,
    pub doc: Option<String>,
    pub symbols: Vec<String>,
    pub default: Option<String>,
    pub props: Props,
    pub aliases: Vec<Name>,
}

#[derive(Debug, Clone)]
pub(crate) struct FixedDef {
    pub name: Name,
    pub doc: Option<String>,
    pub size: u32,
    pub props: Props,
    pub aliases: Vec<Name>,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Primitive {
        ty: AvroType,
        props: Props,
    },
    Record(Box<Record>),
    Enum(Box<EnumDef>),
    Fixed(Box<FixedDef>),
    Array {
        items: NodeId,
        props: Props,
    },
    Map {
        values: NodeId,
        props: Props,
    },
    Union {
        branches: Vec<NodeId>,
    },
    /// A use of a name not defined yet (Avro 1.12 resolves forward references when the document
    /// ends). Never reachable once parsing succeeded.
    Unresolved {
        full_name: String,
    },
}

impl Node {
    pub(crate) fn avro_type(&self) -> AvroType {
        match self {
            Node::Primitive { ty, .. } => *ty,
            // Java's placeholder for an unresolved name is an empty record.
            Node::Record(_) | Node::Unresolved { .. } => AvroType::Record,
            Node::Enum(_) => AvroType::Enum,
            Node::Fixed(_) => AvroType::Fixed,
            Node::Array { .. } => AvroType::Array,
            Node::Map { .. } => AvroType::Map,
            Node::Union { .. } => AvroType::Union,
        }
    }

    /// The name of a record, enum or fixed.
    pub(crate) fn name(&self) -> Option<&Name> {
        match self {
            Node::Record(r) => Some(&r.name),
            Node::Enum(e) => Some(&e.name),
            Node::Fixed(f) => Some(&f.name),
            _ => None,
        }
    }

    pub(crate) fn aliases(&self) -> &[Name] {
        match self {
            Node::Record(r) => &r.aliases,
            Node::Enum(e) => &e.aliases,
            Node::Fixed(f) => &f.aliases,
            _ => &[],
        }
    }

    /// Java `getFullName()`: the full name of a named type, the type name otherwise.
    pub(crate) fn java_full_name(&self) -> &str {
        match self.name() {
            Some(n) => &n.full,
            None => match self {
                Node::Unresolved { full_name } => full_name,
                other => other.avro_type().json_name(),
            },
        }
    }
}

/// A parsed schema together with the named types of its references.
#[derive(Debug)]
pub(crate) struct Graph {
    pub nodes: Vec<Node>,
    pub root: NodeId,
    /// Java `getFullName()` of each reference's top-level schema, in order: the names Confluent
    /// prints by name only in the canonical form.
    pub reference_roots: Vec<String>,
    /// The reference texts, kept so the normalized form can be re-parsed with them.
    pub references: Vec<String>,
}

impl Graph {
    pub(crate) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }
}
