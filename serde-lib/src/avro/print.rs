//! Writing a schema graph back to JSON, the way Java does.
//!
//! - [`to_json`] is Avro's `Schema.toString(knownNames)`: compact, Java's key order, each named
//!   type in full where it first appears and by (possibly qualified) name afterwards, namespaces
//!   only where they differ from the enclosing one. Confluent's canonical form passes the names of
//!   the referenced schemas as already known, `format=resolved` passes none.
//! - [`normalized_json`] is Confluent's `AvroSchemaUtils.toNormalizedString`: full names, custom
//!   properties and aliases sorted, defaults converted through Java objects.
//!
//! Both walk the graph with an explicit work stack instead of recursion: the depth of the output
//! is not bounded by the input's nesting (a named type is expanded where it is first *used*), so a
//! long chain of named types must not be able to overflow the stack.

use std::collections::HashSet;

use super::json::{self, java_cmp, write_json, write_str, Json};
use super::logical::{self, Logical};
use super::model::{AvroType, Node, NodeId, Props};

enum Task<'a> {
    Node(NodeId, Option<&'a str>),
    Text(String),
}

/// Java `Schema.toString(knownNames, false)` for the schema at `root`.
pub(crate) fn to_json(nodes: &[Node], root: NodeId, known: &HashSet<String>) -> String {
    let mut known: HashSet<&str> = known.iter().map(String::as_str).collect();
    let mut out = String::new();
    let mut stack: Vec<Task<'_>> = vec![Task::Node(root, None)];
    while let Some(task) = stack.pop() {
        let (id, space) = match task {
            Task::Text(s) => {
                out.push_str(&s);
                continue;
            }
            Task::Node(id, space) => (id, space),
        };
        match &nodes[id] {
            Node::Primitive { ty, props } => {
                if props.is_empty() {
                    write_str(&mut out, ty.json_name());
                } else {
                    out.push_str("{\"type\":");
                    write_str(&mut out, ty.json_name());
                    write_props(&mut out, props);
                    out.push('}');
                }
            }
            Node::Array { items, props } => {
                out.push_str("{\"type\":\"array\",\"items\":");
                let mut tail = String::new();
                write_props(&mut tail, props);
                tail.push('}');
                stack.push(Task::Text(tail));
                stack.push(Task::Node(*items, space));
            }
            Node::Map { values, props } => {
                out.push_str("{\"type\":\"map\",\"values\":");
                let mut tail = String::new();
                write_props(&mut tail, props);
                tail.push('}');
                stack.push(Task::Text(tail));
                stack.push(Task::Node(*values, space));
            }
            Node::Union { branches } => {
                out.push('[');
                stack.push(Task::Text("]".to_string()));
                for (i, &b) in branches.iter().enumerate().rev() {
                    stack.push(Task::Node(b, space));
                    if i > 0 {
                        stack.push(Task::Text(",".to_string()));
                    }
                }
            }
            Node::Record(r) => {
                // Java `writeNameRef`: the name is known from now on either way.
                if !known.insert(r.name.full.as_str()) {
                    write_str(&mut out, r.name.qualified(space));
                    continue;
                }
                out.push_str("{\"type\":");
                write_str(&mut out, if r.is_error { "error" } else { "record" });
                write_name(&mut out, &r.name, space);
                if let Some(doc) = &r.doc {
                    out.push_str(",\"doc\":");
                    write_str(&mut out, doc);
                }
                let own = r.name.space.as_deref();
                let mut tail = String::new();
                if r.fields_set {
                    out.push_str(",\"fields\":[");
                    tail.push(']');
                }
                write_props(&mut tail, &r.props);
                write_aliases(&mut tail, &r.aliases, own);
                tail.push('}');
                stack.push(Task::Text(tail));
                for (i, f) in r.fields.iter().enumerate().rev() {
                    let mut after = String::new();
                    if let Some(doc) = &f.doc {
                        after.push_str(",\"doc\":");
                        write_str(&mut after, doc);
                    }
                    if let Some(default) = &f.default {
                        after.push_str(",\"default\":");
                        write_json(&mut after, default);
                    }
                    if f.order != super::model::Order::Ascending {
                        after.push_str(",\"order\":");
                        write_str(&mut after, f.order.json_name());
                    }
                    if !f.aliases.is_empty() {
                        after.push_str(",\"aliases\":[");
                        for (j, a) in f.aliases.iter().enumerate() {
                            if j > 0 {
                                after.push(',');
                            }
                            write_str(&mut after, a);
                        }
                        after.push(']');
                    }
                    write_props(&mut after, &f.props);
                    after.push('}');
                    stack.push(Task::Text(after));
                    stack.push(Task::Node(f.ty, own));
                    let mut before = String::new();
                    if i > 0 {
                        before.push(',');
                    }
                    before.push_str("{\"name\":");
                    write_str(&mut before, &f.name);
                    before.push_str(",\"type\":");
                    stack.push(Task::Text(before));
                }
            }
            Node::Enum(e) => {
                if !known.insert(e.name.full.as_str()) {
                    write_str(&mut out, e.name.qualified(space));
                    continue;
                }
                out.push_str("{\"type\":\"enum\"");
                write_name(&mut out, &e.name, space);
                if let Some(doc) = &e.doc {
                    out.push_str(",\"doc\":");
                    write_str(&mut out, doc);
                }
                out.push_str(",\"symbols\":[");
                for (i, s) in e.symbols.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(&mut out, s);
                }
                out.push(']');
                if let Some(d) = &e.default {
                    out.push_str(",\"default\":");
                    write_str(&mut out, d);
                }
                write_props(&mut out, &e.props);
                write_aliases(&mut out, &e.aliases, e.name.space.as_deref());
                out.push('}');
            }
            Node::Fixed(f) => {
                if !known.insert(f.name.full.as_str()) {
                    write_str(&mut out, f.name.qualified(space));
                    continue;
                }
                out.push_str("{\"type\":\"fixed\"");
                write_name(&mut out, &f.name, space);
                if let Some(doc) = &f.doc {
                    out.push_str(",\"doc\":");
                    write_str(&mut out, doc);
                }
                out.push_str(&format!(",\"size\":{}", f.size));
                write_props(&mut out, &f.props);
                write_aliases(&mut out, &f.aliases, f.name.space.as_deref());
                out.push('}');
            }
            Node::Unresolved { full_name } => {
                // Java's placeholder record for a name not defined yet; only ever printed in a
                // default-validation error raised while the document is still being parsed.
                out.push_str(
                    "{\"type\":\"record\",\"name\":\"UnresolvedSchema\",\"namespace\":\
                     \"org.apache.avro.compiler\",\"doc\":\"unresolved schema\",\"fields\":[],\
                     \"org.apache.avro.idl.unresolved.name\":",
                );
                write_str(&mut out, full_name);
                out.push('}');
            }
        }
    }
    out
}

/// Java `Name.writeName`: `"name"`, then `"namespace"` when it differs from the enclosing one
/// (`""` when leaving a namespace for the null namespace).
fn write_name(out: &mut String, name: &super::model::Name, space: Option<&str>) {
    out.push_str(",\"name\":");
    write_str(out, &name.name);
    match &name.space {
        Some(own) if Some(own.as_str()) != space => {
            out.push_str(",\"namespace\":");
            write_str(out, own);
        }
        None if space.is_some() => out.push_str(",\"namespace\":\"\""),
        _ => {}
    }
}

fn write_props(out: &mut String, props: &Props) {
    for (k, v) in props {
        out.push(',');
        write_str(out, k);
        out.push(':');
        write_json(out, v);
    }
}

fn write_aliases(out: &mut String, aliases: &[super::model::Name], own: Option<&str>) {
    if aliases.is_empty() {
        return;
    }
    out.push_str(",\"aliases\":[");
    for (i, a) in aliases.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, a.qualified(own));
    }
    out.push(']');
}

/// Java `NamedSchema.getAliases()`: full names, except that an alias explicitly in the null
/// namespace of a type that has a namespace is written `.Name`.
pub(crate) fn java_aliases(node: &Node) -> Vec<String> {
    let own_space = node.name().and_then(|n| n.space.as_deref());
    node.aliases()
        .iter()
        .map(|a| {
            if a.space.is_none() && own_space.is_some() {
                format!(".{}", a.name)
            } else {
                a.full.clone()
            }
        })
        .collect()
}

/// A Java object as `JacksonUtils.toObject` produces it for a default value.
enum JObj {
    Null,
    Bool(bool),
    Int(i64),
    Float(f32),
    Double(f64),
    Str(String),
    /// `byte[]`, written back as an ISO-8859-1 string.
    Bytes(Vec<u8>),
    List(Vec<Option<JObj>>),
    Map(Vec<(String, Option<JObj>)>),
}

/// Avro 1.12 `JacksonUtils.toObject(jsonNode, schema)`: a union uses its first branch, and a
/// value that does not fit the schema's type becomes `null` (the default then disappears from
/// the normalized form, as in Confluent).
fn to_java_object(
    nodes: &[Node],
    value: Option<&Json>,
    ty: Option<NodeId>,
    depth: usize,
) -> Option<JObj> {
    if depth > json::MAX_DEPTH {
        return None;
    }
    let mut ty = ty;
    if let Some(Node::Union { branches }) = ty.map(|t| &nodes[t]) {
        // Java: `toObject(jsonNode, schema.getTypes().get(0))` (an empty union throws there).
        let first = branches.first().copied()?;
        ty = Some(first);
    }
    let kind = ty.map(|t| nodes[t].avro_type());
    let value = value?;
    match value {
        Json::Null => Some(JObj::Null),
        Json::Bool(b) => Some(JObj::Bool(*b)),
        Json::Int(v) if i32::try_from(*v).is_ok() => match kind {
            None | Some(AvroType::Int) => Some(JObj::Int(*v)),
            Some(AvroType::Long) => Some(JObj::Int(*v)),
            Some(AvroType::Float) => Some(JObj::Float(*v as f64 as f32)),
            Some(AvroType::Double) => Some(JObj::Double(*v as f64)),
            _ => None,
        },
        Json::Int(v) => match kind {
            None | Some(AvroType::Long) | Some(AvroType::Int) => Some(JObj::Int(*v)),
            Some(AvroType::Float) => Some(JObj::Float(*v as f64 as f32)),
            Some(AvroType::Double) => Some(JObj::Double(*v as f64)),
            _ => None,
        },
        Json::BigInt(_) => None,
        Json::Double(d) => match kind {
            None | Some(AvroType::Double) => Some(JObj::Double(*d)),
            Some(AvroType::Float) => Some(JObj::Float(*d as f32)),
            _ => None,
        },
        Json::Str(s) => match kind {
            None | Some(AvroType::String) | Some(AvroType::Enum) => Some(JObj::Str(s.clone())),
            Some(AvroType::Bytes) | Some(AvroType::Fixed) => Some(JObj::Bytes(
                // Java `getBytes(ISO_8859_1)` on UTF-16: each unmappable code unit becomes '?'.
                s.chars()
                    .flat_map(|c| match u8::try_from(u32::from(c)) {
                        Ok(b) => vec![b],
                        Err(_) => vec![b'?'; c.len_utf16()],
                    })
                    .collect(),
            )),
            _ => None,
        },
        Json::Array(items) => {
            // Java calls `getElementType()`, which throws for a non-array schema; we carry on
            // without a schema instead of failing the whole normalization.
            let elem = match ty.map(|t| &nodes[t]) {
                Some(Node::Array { items, .. }) => Some(*items),
                _ => None,
            };
            Some(JObj::List(
                items
                    .iter()
                    .map(|i| to_java_object(nodes, Some(i), elem, depth + 1))
                    .collect(),
            ))
        }
        Json::Object(members) => Some(JObj::Map(
            members
                .iter()
                .map(|(k, v)| {
                    let s = match ty.map(|t| &nodes[t]) {
                        Some(Node::Map { values, .. }) => Some(*values),
                        Some(Node::Record(r)) => {
                            r.fields.iter().find(|f| &f.name == k).map(|f| f.ty)
                        }
                        _ => None,
                    };
                    (k.clone(), to_java_object(nodes, Some(v), s, depth + 1))
                })
                .collect(),
        )),
    }
}

fn write_java_object(out: &mut String, obj: Option<&JObj>) {
    match obj {
        None | Some(JObj::Null) => out.push_str("null"),
        Some(JObj::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(JObj::Int(v)) => out.push_str(&v.to_string()),
        Some(JObj::Float(v)) => json::write_float(out, *v),
        Some(JObj::Double(v)) => json::write_double(out, *v),
        Some(JObj::Str(s)) => write_str(out, s),
        Some(JObj::Bytes(b)) => {
            let s: String = b.iter().map(|&c| char::from(c)).collect();
            write_str(out, &s);
        }
        Some(JObj::List(items)) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_java_object(out, item.as_ref());
            }
            out.push(']');
        }
        Some(JObj::Map(members)) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_java_object(out, v.as_ref());
            }
            out.push('}');
        }
    }
}

/// Confluent `setSimpleProps`: the custom properties sorted by key (Java `TreeMap`).
fn write_sorted_props(out: &mut String, props: &Props) {
    let mut sorted: Vec<&(String, Json)> = props.iter().collect();
    sorted.sort_by(|a, b| java_cmp(&a.0, &b.0));
    write_props(out, &sorted.into_iter().cloned().collect());
}

fn write_sorted_strings(out: &mut String, items: &[String]) {
    let mut sorted: Vec<&String> = items.iter().collect();
    sorted.sort_by(|a, b| java_cmp(a, b));
    sorted.dedup();
    out.push('[');
    for (i, s) in sorted.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, s);
    }
    out.push(']');
}

/// Confluent `setLogicalProps`.
fn write_logical(out: &mut String, logical: &Logical) {
    out.push_str(",\"logicalType\":");
    write_str(out, logical.name());
    if let Logical::Decimal { precision, scale } = logical {
        out.push_str(&format!(",\"precision\":{precision}"));
        if *scale != 0 {
            out.push_str(&format!(",\"scale\":{scale}"));
        }
    }
}

/// Confluent `AvroSchemaUtils.toNormalizedString`: `known` holds the full names of the
/// referenced schemas, which are written as plain names.
pub(crate) fn normalized_json(nodes: &[Node], root: NodeId, known: &HashSet<String>) -> String {
    let mut env: HashSet<&str> = known.iter().map(String::as_str).collect();
    let mut out = String::new();
    let mut stack: Vec<Task<'_>> = vec![Task::Node(root, None)];
    while let Some(task) = stack.pop() {
        let id = match task {
            Task::Text(s) => {
                out.push_str(&s);
                continue;
            }
            Task::Node(id, _) => id,
        };
        let node = &nodes[id];
        match node {
            Node::Union { branches } => {
                out.push('[');
                stack.push(Task::Text("]".to_string()));
                for (i, &b) in branches.iter().enumerate().rev() {
                    stack.push(Task::Node(b, None));
                    if i > 0 {
                        stack.push(Task::Text(",".to_string()));
                    }
                }
            }
            Node::Array { items, props } => {
                out.push_str("{\"type\":\"array\",\"items\":");
                let mut tail = String::new();
                write_sorted_props(&mut tail, props);
                tail.push('}');
                stack.push(Task::Text(tail));
                stack.push(Task::Node(*items, None));
            }
            Node::Map { values, props } => {
                out.push_str("{\"type\":\"map\",\"values\":");
                let mut tail = String::new();
                write_sorted_props(&mut tail, props);
                tail.push('}');
                stack.push(Task::Text(tail));
                stack.push(Task::Node(*values, None));
            }
            Node::Primitive { ty, props } => {
                if let Some(logical) = logical::of(nodes, id) {
                    out.push_str("{\"type\":");
                    write_str(&mut out, ty.json_name());
                    write_logical(&mut out, &logical);
                    write_sorted_props(&mut out, props);
                    out.push('}');
                } else if !props.is_empty() {
                    out.push_str("{\"type\":");
                    write_str(&mut out, ty.json_name());
                    write_sorted_props(&mut out, props);
                    out.push('}');
                } else {
                    write_str(&mut out, ty.json_name());
                }
            }
            Node::Record(_) | Node::Enum(_) | Node::Fixed(_) => {
                let Some(name) = node.name() else { continue };
                if !env.insert(name.full.as_str()) {
                    write_str(&mut out, &name.full);
                    continue;
                }
                out.push_str("{\"name\":");
                write_str(&mut out, &name.full);
                out.push_str(",\"type\":");
                // Java writes `Type.getName()`, so an error type comes back as a record.
                write_str(&mut out, node.avro_type().json_name());
                // Written after the fields: doc, aliases, enum default, custom properties.
                let mut tail = String::new();
                let (doc, props) = match node {
                    Node::Record(r) => (r.doc.as_deref(), &r.props),
                    Node::Enum(e) => (e.doc.as_deref(), &e.props),
                    Node::Fixed(f) => (f.doc.as_deref(), &f.props),
                    _ => continue,
                };
                if let Some(doc) = doc.filter(|d| !d.is_empty()) {
                    tail.push_str(",\"doc\":");
                    write_str(&mut tail, doc);
                }
                let aliases = java_aliases(node);
                if !aliases.is_empty() {
                    tail.push_str(",\"aliases\":");
                    write_sorted_strings(&mut tail, &aliases);
                }
                if let Node::Enum(e) = node {
                    if let Some(d) = &e.default {
                        tail.push_str(",\"default\":");
                        write_str(&mut tail, d);
                    }
                }
                write_sorted_props(&mut tail, props);
                tail.push('}');
                match node {
                    Node::Enum(e) => {
                        out.push_str(",\"symbols\":[");
                        for (i, s) in e.symbols.iter().enumerate() {
                            if i > 0 {
                                out.push(',');
                            }
                            write_str(&mut out, s);
                        }
                        out.push(']');
                        out.push_str(&tail);
                    }
                    Node::Fixed(f) => {
                        out.push_str(&format!(",\"size\":{}", f.size));
                        if let Some(logical) = logical::of(nodes, id) {
                            write_logical(&mut out, &logical);
                        }
                        out.push_str(&tail);
                    }
                    Node::Record(r) => {
                        out.push_str(",\"fields\":[");
                        stack.push(Task::Text(format!("]{tail}")));
                        for (i, f) in r.fields.iter().enumerate().rev() {
                            let mut after = String::new();
                            after.push_str(",\"order\":");
                            write_str(&mut after, f.order.java_name());
                            if let Some(doc) = &f.doc {
                                after.push_str(",\"doc\":");
                                write_str(&mut after, doc);
                            }
                            if !f.aliases.is_empty() {
                                after.push_str(",\"aliases\":");
                                write_sorted_strings(&mut after, &f.aliases);
                            }
                            if let Some(obj) =
                                to_java_object(nodes, f.default.as_ref(), Some(f.ty), 0)
                            {
                                after.push_str(",\"default\":");
                                write_java_object(&mut after, Some(&obj));
                            }
                            write_sorted_props(&mut after, &f.props);
                            after.push('}');
                            stack.push(Task::Text(after));
                            stack.push(Task::Node(f.ty, None));
                            let mut before = String::new();
                            if i > 0 {
                                before.push(',');
                            }
                            before.push_str("{\"name\":");
                            write_str(&mut before, &f.name);
                            before.push_str(",\"type\":");
                            stack.push(Task::Text(before));
                        }
                    }
                    _ => {}
                }
            }
            Node::Unresolved { full_name } => write_str(&mut out, full_name),
        }
    }
    out
}
