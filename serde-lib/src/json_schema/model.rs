//! The schema model the compatibility checker works on: the classes Confluent's everit-based
//! `SchemaDiff` sees (`ObjectSchema`, `CombinedSchema`, `EmptySchema`, …), one [`Node`] per
//! schema object, addressed by [`NodeId`] inside one [`JsonSchema`](super::JsonSchema).
//!
//! Nodes form a graph: `$ref` targets are shared, so recursive schemas are cycles. A referenced
//! location is loaded once, which gives the comparison a stable identity to memoize on.

use super::json::{Dec, Json};

/// Index of a node inside its [`JsonSchema`](super::JsonSchema).
pub type NodeId = usize;

/// The combination keyword of a [`Kind::Combined`] node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Criterion {
    /// `allOf` (also the synthetic combination of several keyword groups in one object).
    AllOf,
    /// `anyOf` (also a `type` array).
    AnyOf,
    /// `oneOf`.
    OneOf,
}

impl Criterion {
    /// The keyword, as used in difference paths (`allOf/0`).
    pub fn as_str(self) -> &'static str {
        match self {
            Criterion::AllOf => "allOf",
            Criterion::AnyOf => "anyOf",
            Criterion::OneOf => "oneOf",
        }
    }
}

/// String keywords (everit `StringSchema`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StringKeywords {
    /// `"type": "string"` was given.
    pub requires_string: bool,
    /// `minLength`.
    pub min_length: Option<Dec>,
    /// `maxLength`.
    pub max_length: Option<Dec>,
    /// `pattern`.
    pub pattern: Option<String>,
    /// `format` (not compared).
    pub format: Option<String>,
}

/// Number keywords (everit `NumberSchema`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NumberKeywords {
    /// `"type": "number"` or `"integer"` was given.
    pub requires_number: bool,
    /// `"type": "integer"`.
    pub requires_integer: bool,
    /// `minimum`.
    pub minimum: Option<Dec>,
    /// `maximum`.
    pub maximum: Option<Dec>,
    /// `exclusiveMinimum` as a number (draft 6+).
    pub exclusive_minimum: Option<Dec>,
    /// `exclusiveMaximum` as a number (draft 6+).
    pub exclusive_maximum: Option<Dec>,
    /// `multipleOf`.
    pub multiple_of: Option<Dec>,
}

/// Object keywords (everit `ObjectSchema`).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectKeywords {
    /// `"type": "object"` was given.
    pub requires_object: bool,
    /// `properties`, in document order.
    pub properties: Vec<(String, NodeId)>,
    /// `patternProperties`, in document order.
    pub pattern_properties: Vec<(String, NodeId)>,
    /// False for `additionalProperties: false`.
    pub additional_properties: bool,
    /// `additionalProperties` given as a schema.
    pub additional_properties_schema: Option<NodeId>,
    /// `required`.
    pub required: Vec<String>,
    /// `minProperties`.
    pub min_properties: Option<Dec>,
    /// `maxProperties`.
    pub max_properties: Option<Dec>,
    /// `dependencies` (array form) / `dependentRequired`, in document order.
    pub property_dependencies: Vec<(String, Vec<String>)>,
    /// `dependencies` (schema form) / `dependentSchemas`, in document order.
    pub schema_dependencies: Vec<(String, NodeId)>,
    /// `propertyNames` (not compared).
    pub property_names: Option<NodeId>,
}

impl Default for ObjectKeywords {
    fn default() -> Self {
        ObjectKeywords {
            requires_object: false,
            properties: Vec::new(),
            pattern_properties: Vec::new(),
            additional_properties: true,
            additional_properties_schema: None,
            required: Vec::new(),
            min_properties: None,
            max_properties: None,
            property_dependencies: Vec::new(),
            schema_dependencies: Vec::new(),
            property_names: None,
        }
    }
}

impl ObjectKeywords {
    /// The schema of property `name`.
    pub fn property(&self, name: &str) -> Option<NodeId> {
        self.properties
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| *v)
    }

    /// Whether `name` is listed in `required`.
    pub fn is_required(&self, name: &str) -> bool {
        self.required.iter().any(|r| r == name)
    }
}

/// Array keywords (everit `ArraySchema`).
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayKeywords {
    /// `"type": "array"` was given.
    pub requires_array: bool,
    /// `minItems`.
    pub min_items: Option<Dec>,
    /// `maxItems`.
    pub max_items: Option<Dec>,
    /// `uniqueItems: true`.
    pub unique_items: bool,
    /// `items` as one schema for every item.
    pub all_items: Option<NodeId>,
    /// `items` as a tuple (`prefixItems` in 2020-12).
    pub item_schemas: Option<Vec<NodeId>>,
    /// False for `additionalItems: false` (`items: false` in 2020-12).
    pub additional_items: bool,
    /// `additionalItems` as a schema (`items` beside `prefixItems` in 2020-12).
    pub additional_items_schema: Option<NodeId>,
    /// `contains` (not compared).
    pub contains: Option<NodeId>,
}

impl Default for ArrayKeywords {
    fn default() -> Self {
        ArrayKeywords {
            requires_array: false,
            min_items: None,
            max_items: None,
            unique_items: false,
            all_items: None,
            item_schemas: None,
            additional_items: true,
            additional_items_schema: None,
            contains: None,
        }
    }
}

/// The schema class of a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `{}` or an object without any validation keyword (everit `EmptySchema`).
    Empty,
    /// `true` (everit `TrueSchema`, a subclass of `EmptySchema`).
    True,
    /// `false`.
    False,
    /// `"type": "boolean"`.
    Boolean,
    /// `"type": "null"`.
    Null,
    /// String keywords.
    String(StringKeywords),
    /// Number keywords.
    Number(NumberKeywords),
    /// Object keywords.
    Object(Box<ObjectKeywords>),
    /// Array keywords.
    Array(Box<ArrayKeywords>),
    /// `enum` (values as a set).
    Enum(Vec<Json>),
    /// `const`.
    Const(Json),
    /// `allOf` / `anyOf` / `oneOf`, a `type` array, or several keyword groups in one object.
    Combined {
        /// Which combination.
        criterion: Criterion,
        /// The subschemas, in order.
        subschemas: Vec<NodeId>,
        /// Created by the loader rather than written by the user.
        synthetic: bool,
    },
    /// `not`.
    Not(NodeId),
    /// `$ref`: the target is shared by every reference to the same location.
    Reference {
        /// The `$ref` text.
        value: String,
        /// The loaded target.
        target: NodeId,
    },
    /// `if` / `then` / `else` (not compared beyond its class).
    Conditional {
        /// `if`.
        if_schema: Option<NodeId>,
        /// `then`.
        then_schema: Option<NodeId>,
        /// `else`.
        else_schema: Option<NodeId>,
    },
}

impl Kind {
    /// The everit class name, e.g. for messages and debugging.
    pub fn class_name(&self) -> &'static str {
        match self {
            Kind::Empty => "EmptySchema",
            Kind::True => "TrueSchema",
            Kind::False => "FalseSchema",
            Kind::Boolean => "BooleanSchema",
            Kind::Null => "NullSchema",
            Kind::String(_) => "StringSchema",
            Kind::Number(_) => "NumberSchema",
            Kind::Object(_) => "ObjectSchema",
            Kind::Array(_) => "ArraySchema",
            Kind::Enum(_) => "EnumSchema",
            Kind::Const(_) => "ConstSchema",
            Kind::Combined { .. } => "CombinedSchema",
            Kind::Not(_) => "NotSchema",
            Kind::Reference { .. } => "ReferenceSchema",
            Kind::Conditional { .. } => "ConditionalSchema",
        }
    }

    /// `instanceof EmptySchema` (true for `{}` and `true`).
    pub fn is_empty_schema(&self) -> bool {
        matches!(self, Kind::Empty | Kind::True)
    }
}

/// A keyword the loader did not interpret (everit "unprocessed properties"), or one Confluent
/// stores there itself (`unevaluatedProperties`, `unevaluatedItems`, `minContains`,
/// `maxContains` for 2019-09/2020-12).
#[derive(Debug, Clone, PartialEq)]
pub enum Extra {
    /// A plain JSON value.
    Json(Json),
    /// A loaded subschema.
    Schema(NodeId),
}

/// One schema object.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Its class and class-specific keywords.
    pub kind: Kind,
    /// `$id` (`id` in draft 4).
    pub id: Option<String>,
    /// `title`.
    pub title: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `default`.
    pub default: Option<Json>,
    /// Unprocessed keywords, in document order.
    pub unprocessed: Vec<(String, Extra)>,
}

impl Node {
    pub(crate) fn new(kind: Kind) -> Node {
        Node {
            kind,
            id: None,
            title: None,
            description: None,
            default: None,
            unprocessed: Vec::new(),
        }
    }

    /// The unprocessed keyword `key`.
    pub fn extra(&self, key: &str) -> Option<&Extra> {
        self.unprocessed
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The unprocessed keyword `key` when it is a subschema.
    pub fn extra_schema(&self, key: &str) -> Option<NodeId> {
        match self.extra(key) {
            Some(Extra::Schema(id)) => Some(*id),
            _ => None,
        }
    }

    /// The unprocessed keyword `key` when it is a number.
    pub fn extra_number(&self, key: &str) -> Option<&Dec> {
        match self.extra(key) {
            Some(Extra::Json(Json::Number(n))) => Some(n.value()),
            _ => None,
        }
    }

    /// The unprocessed keyword `key` when it is a string.
    pub fn extra_str(&self, key: &str) -> Option<&str> {
        match self.extra(key) {
            Some(Extra::Json(Json::String(s))) => Some(s),
            _ => None,
        }
    }
}
