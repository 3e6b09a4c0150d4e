//! Avro 1.12's built-in logical types (`LogicalTypes.fromSchemaIgnoreInvalid`).
//!
//! Logical types play no part in compatibility (Java compares the underlying types only) and the
//! canonical form keeps `logicalType` as an ordinary property. Only Confluent's normalizer looks
//! at them: a *valid* logical type is written first, followed by the sorted properties.

use super::json::Json;
use super::model::{AvroType, Node, NodeId};

/// A logical type Java recognises and accepts on its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Logical {
    Decimal {
        precision: i32,
        scale: i32,
    },
    /// Every other built-in type carries only its name.
    Named(&'static str),
}

impl Logical {
    pub(crate) fn name(&self) -> &str {
        match self {
            Logical::Decimal { .. } => "decimal",
            Logical::Named(n) => n,
        }
    }
}

/// The properties Java refuses next to a logical type (`LogicalType.INCOMPATIBLE_PROPS`).
const INCOMPATIBLE_PROPS: &[&str] = &[
    "avro.java.string",
    "java-class",
    "java-key-class",
    "java-element-class",
];

/// The valid logical type of node `id`, if any.
pub(crate) fn of(nodes: &[Node], id: NodeId) -> Option<Logical> {
    let node = &nodes[id];
    let (props, ty) = match node {
        Node::Primitive { ty, props } => (props, *ty),
        Node::Fixed(f) => (&f.props, AvroType::Fixed),
        _ => return None,
    };
    let prop = |k: &str| props.iter().find(|(key, _)| key == k).map(|(_, v)| v);
    // Java `getProp` only returns textual properties.
    let text = |k: &str| prop(k).and_then(Json::as_str);
    let name = text("logicalType")?;
    if INCOMPATIBLE_PROPS.iter().any(|p| text(p).is_some()) {
        return None;
    }
    let fixed_size = match node {
        Node::Fixed(f) => Some(f.size),
        _ => None,
    };
    // Java `Decimal.getInt`: the property must be a JSON integer that fits an `int`.
    let int = |k: &str| match prop(k) {
        Some(Json::Int(v)) => i32::try_from(*v).ok(),
        _ => None,
    };
    let logical = match name {
        "decimal" => {
            let precision = int("precision")?;
            let scale = if prop("scale").is_some() {
                int("scale")?
            } else {
                0
            };
            let max_precision = match fixed_size {
                // Java: Math.round(Math.floor(Math.log10(2) * (8 * size - 1)))
                Some(size) => (2f64.log10() * (8.0 * f64::from(size) - 1.0)).floor() as i64,
                None if ty == AvroType::Bytes => i64::from(i32::MAX),
                None => return None,
            };
            if precision <= 0
                || i64::from(precision) > max_precision
                || scale < 0
                || scale > precision
            {
                return None;
            }
            Logical::Decimal { precision, scale }
        }
        "big-decimal" if ty == AvroType::Bytes => Logical::Named("big-decimal"),
        "uuid" if ty == AvroType::String || fixed_size == Some(16) => Logical::Named("uuid"),
        "date" if ty == AvroType::Int => Logical::Named("date"),
        "time-millis" if ty == AvroType::Int => Logical::Named("time-millis"),
        "time-micros" if ty == AvroType::Long => Logical::Named("time-micros"),
        "timestamp-millis" if ty == AvroType::Long => Logical::Named("timestamp-millis"),
        "timestamp-micros" if ty == AvroType::Long => Logical::Named("timestamp-micros"),
        "timestamp-nanos" if ty == AvroType::Long => Logical::Named("timestamp-nanos"),
        "local-timestamp-millis" if ty == AvroType::Long => {
            Logical::Named("local-timestamp-millis")
        }
        "local-timestamp-micros" if ty == AvroType::Long => {
            Logical::Named("local-timestamp-micros")
        }
        "local-timestamp-nanos" if ty == AvroType::Long => Logical::Named("local-timestamp-nanos"),
        _ => return None,
    };
    Some(logical)
}
