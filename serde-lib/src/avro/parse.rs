//! Schema parsing, following Avro 1.12's Java `Schema.Parser` / `ParseContext` step by step.
//!
//! Behaviours worth knowing (all taken from the Java code, not from the spec):
//! - `"type"` inside an object must be a string: `{"type": {"type": "int"}}` and
//!   `{"type": ["null", "int"]}` are rejected with `No type` (only a field's `"type"` may hold a
//!   nested schema). An unknown type string is a reference to a named type; other keys are then
//!   ignored.
//! - Forward references are allowed inside one document: a name is resolved when the document
//!   ends (`Undefined schema: <full name>` if it never gets defined). A reference document can
//!   only use names of earlier references, the main document the names of all of them.
//! - A name is looked up as `<namespace>.<name>` first, then as written.
//! - Redefining a name is an error (`Can't redefine: X`) unless Java's `equals` at that moment
//!   says the two are equal: an enum with the same symbols, a fixed with the same size (when the
//!   first has no custom properties), or a record whose first definition is still being parsed.
//! - With validation on, names must match Java's `NameValidator.UTF_VALIDATOR` and field defaults
//!   must match their type (a union default may match ANY branch in Avro 1.12).
//! - A float/double field's textual default is converted to a number (`"NaN"`, `"1.5"`),
//!   with or without validation, as Java does.

use std::collections::{HashMap, HashSet};

use super::json::{self, Json};
use super::model::{
    AvroType, EnumDef, Field, FixedDef, Graph, Name, Node, NodeId, Order, Props, Record,
};
use super::print;
use super::{AvroError, ParseOptions};

/// Keys that are not custom properties of a schema (Java `SCHEMA_RESERVED`).
const SCHEMA_RESERVED: &[&str] = &[
    "doc",
    "fields",
    "items",
    "name",
    "namespace",
    "size",
    "symbols",
    "values",
    "type",
    "aliases",
];
/// Keys that are not custom properties of a field (Java `FIELD_RESERVED`).
const FIELD_RESERVED: &[&str] = &["default", "doc", "name", "order", "type", "aliases"];

/// Deepest nesting accepted while checking a default value. Java has no limit and can recurse
/// forever through records whose fields default to each other; 512 is far beyond real schemas.
const MAX_DEFAULT_DEPTH: usize = 512;

/// Parses `references` (in dependency order) and then `text` into one graph.
pub(crate) fn parse_all(
    text: &str,
    references: &[&str],
    opts: ParseOptions,
) -> Result<Graph, AvroError> {
    let mut ctx = Ctx {
        nodes: Vec::new(),
        names: HashMap::new(),
        validate: opts.validate,
    };
    let mut reference_roots = Vec::with_capacity(references.len());
    for reference in references {
        let root = ctx.document(reference)?;
        reference_roots.push(java_get_name_or_full(&ctx.nodes, root));
    }
    let root = ctx.document(text)?;
    Ok(Graph {
        nodes: ctx.nodes,
        root,
        reference_roots,
        references: references.iter().map(|r| r.to_string()).collect(),
    })
}

/// Java `getFullName()` of a top-level schema (a union's is `union[a, b]`, which can never clash
/// with a real name).
fn java_get_name_or_full(nodes: &[Node], id: NodeId) -> String {
    match &nodes[id] {
        Node::Union { branches } => {
            let names: Vec<&str> = branches
                .iter()
                .map(|&b| match nodes[b].name() {
                    Some(n) => n.name.as_str(),
                    None => nodes[b].avro_type().json_name(),
                })
                .collect();
            format!("union[{}]", names.join(", "))
        }
        other => other.java_full_name().to_string(),
    }
}

fn parse_error(msg: impl Into<String>) -> AvroError {
    AvroError::Parse(msg.into())
}

/// Java `NameValidator.UTF_VALIDATOR`. Java tests UTF-16 code units with `Character.isLetter`
/// and `isLetterOrDigit`; characters outside the BMP are therefore never valid. Rust's
/// `is_alphabetic` is slightly wider than Java's letter categories for a few combining marks.
pub(crate) fn validate_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err("Empty name".to_string());
    };
    let bmp = |c: char| (c as u32) < 0x10000;
    if !(first == '_' || (bmp(first) && first.is_alphabetic())) {
        return Err(format!("Illegal initial character: {name}"));
    }
    for c in chars {
        if !(c == '_' || (bmp(c) && (c.is_alphabetic() || c.is_numeric()))) {
            return Err(format!("Illegal character in: {name}"));
        }
    }
    Ok(())
}

/// What a new named type looks like when Java's `ParseContext.put` compares it with an existing
/// definition of the same name (its custom properties are not parsed yet at that point).
enum Candidate<'a> {
    Record,
    Enum(&'a [String]),
    Fixed(u32),
}

struct Ctx {
    nodes: Vec<Node>,
    /// Registered named types by full name (Java's old and new schemas together).
    names: HashMap<String, NodeId>,
    validate: bool,
}

impl Ctx {
    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Parses one document, resolves its forward references and checks what Java checks when it
    /// resolves (union duplicates, field defaults against the complete types).
    fn document(&mut self, text: &str) -> Result<NodeId, AvroError> {
        let doc = json::parse(text).map_err(AvroError::Json)?;
        let start = self.nodes.len();
        let root = self.schema(&doc, None)?;
        let root = self.resolve(start, root)?;
        self.check_unions(start)?;
        if self.validate {
            self.check_defaults(start)?;
        }
        // Java's `ParseContext.resolve` returns the registered schema of that name.
        let root = match self.nodes[root].name() {
            Some(name) => self.names.get(&name.full).copied().unwrap_or(root),
            None => root,
        };
        Ok(root)
    }

    /// Replaces every use of a not-yet-defined name created since `start` by its definition.
    fn resolve(&mut self, start: usize, root: NodeId) -> Result<NodeId, AvroError> {
        let target = |nodes: &[Node], names: &HashMap<String, NodeId>, id: NodeId| match &nodes[id]
        {
            Node::Unresolved { full_name } => names
                .get(full_name)
                .copied()
                .ok_or_else(|| parse_error(format!("Undefined schema: {full_name}"))),
            _ => Ok(id),
        };
        for id in start..self.nodes.len() {
            match &self.nodes[id] {
                Node::Record(r) => {
                    let mut tys = Vec::with_capacity(r.fields.len());
                    for f in &r.fields {
                        tys.push(target(&self.nodes, &self.names, f.ty)?);
                    }
                    if let Node::Record(r) = &mut self.nodes[id] {
                        for (f, ty) in r.fields.iter_mut().zip(tys) {
                            f.ty = ty;
                        }
                    }
                }
                Node::Array { items, .. } => {
                    let t = target(&self.nodes, &self.names, *items)?;
                    if let Node::Array { items, .. } = &mut self.nodes[id] {
                        *items = t;
                    }
                }
                Node::Map { values, .. } => {
                    let t = target(&self.nodes, &self.names, *values)?;
                    if let Node::Map { values, .. } = &mut self.nodes[id] {
                        *values = t;
                    }
                }
                Node::Union { branches } => {
                    let mut resolved = Vec::with_capacity(branches.len());
                    for &b in branches {
                        resolved.push(target(&self.nodes, &self.names, b)?);
                    }
                    if let Node::Union { branches } = &mut self.nodes[id] {
                        *branches = resolved;
                    }
                }
                _ => {}
            }
        }
        target(&self.nodes, &self.names, root)
    }

    /// Java `UnionSchema`: no two branches with the same full name (`Duplicate in union:x`).
    fn check_unions(&self, start: usize) -> Result<(), AvroError> {
        for node in &self.nodes[start..] {
            if let Node::Union { branches } = node {
                let mut seen = HashSet::with_capacity(branches.len());
                for &b in branches {
                    let name = self.nodes[b].java_full_name();
                    if !seen.insert(name) {
                        return Err(parse_error(format!("Duplicate in union:{name}")));
                    }
                }
            }
        }
        Ok(())
    }

    /// Java re-creates every field when it resolves the document and validates its default
    /// again, now against the complete types.
    fn check_defaults(&self, start: usize) -> Result<(), AvroError> {
        for node in &self.nodes[start..] {
            if let Node::Record(r) = node {
                for f in &r.fields {
                    if let Some(default) = &f.default {
                        check_field_default(&self.nodes, &f.name, f.ty, default)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Java `Schema.parse(JsonNode, ParseContext, namespace)`.
    fn schema(&mut self, json: &Json, space: Option<&str>) -> Result<NodeId, AvroError> {
        match json {
            Json::Str(name) => Ok(self.find(name, space)),
            Json::Object(_) => {
                let ty = json
                    .get("type")
                    .and_then(Json::as_str)
                    .ok_or_else(|| parse_error(format!("No type: {}", json.to_java_string())))?;
                if let Some(prim) = AvroType::primitive(ty) {
                    let props = props_except(json, SCHEMA_RESERVED);
                    return Ok(self.push(Node::Primitive { ty: prim, props }));
                }
                match ty {
                    "record" => self.record(json, space, false),
                    "error" => self.record(json, space, true),
                    "enum" => self.enumeration(json, space),
                    "array" => {
                        let items = json.get("items").ok_or_else(|| {
                            parse_error(format!(
                                "Array has no items type: {}",
                                json.to_java_string()
                            ))
                        })?;
                        let items = self.schema(items, space)?;
                        let props = props_except(json, SCHEMA_RESERVED);
                        Ok(self.push(Node::Array { items, props }))
                    }
                    "map" => {
                        let values = json.get("values").ok_or_else(|| {
                            parse_error(format!(
                                "Map has no values type: {}",
                                json.to_java_string()
                            ))
                        })?;
                        let values = self.schema(values, space)?;
                        let props = props_except(json, SCHEMA_RESERVED);
                        Ok(self.push(Node::Map { values, props }))
                    }
                    "fixed" => self.fixed(json, space),
                    other => Ok(self.find(other, space)),
                }
            }
            Json::Array(items) => {
                let mut branches = Vec::with_capacity(items.len());
                for item in items {
                    let b = self.schema(item, space)?;
                    if matches!(self.nodes[b], Node::Union { .. }) {
                        return Err(parse_error(format!(
                            "Nested union: {}",
                            json.to_java_string()
                        )));
                    }
                    branches.push(b);
                }
                Ok(self.push(Node::Union { branches }))
            }
            other => Err(parse_error(format!(
                "Schema not yet supported: {}",
                other.to_java_string()
            ))),
        }
    }

    /// Java `ParseContext.find`: a primitive, a known name (first in `space`, then as written),
    /// or a placeholder resolved when the document ends.
    fn find(&mut self, name: &str, space: Option<&str>) -> NodeId {
        if let Some(prim) = AvroType::primitive(name) {
            return self.push(Node::Primitive {
                ty: prim,
                props: Vec::new(),
            });
        }
        let full = match space {
            Some(space) if !name.contains('.') => format!("{space}.{name}"),
            _ => name.to_string(),
        };
        if let Some(&id) = self.names.get(&full).or_else(|| self.names.get(name)) {
            return id;
        }
        self.push(Node::Unresolved { full_name: full })
    }

    /// Java `parseName`: `"name"` (required) in `"namespace"` or the enclosing namespace.
    fn name(&self, json: &Json, space: Option<&str>) -> Result<Name, AvroError> {
        let space = json.get("namespace").and_then(Json::as_str).or(space);
        let name = json
            .get("name")
            .and_then(Json::as_str)
            .ok_or_else(|| parse_error(format!("No name in schema: {}", json.to_java_string())))?;
        let name = Name::new(name, space);
        if self.validate {
            validate_name(&name.name).map_err(parse_error)?;
        }
        if AvroType::primitive(&name.full).is_some() {
            return Err(parse_error(format!(
                "Schemas may not be named after primitives: {}",
                name.full
            )));
        }
        Ok(name)
    }

    /// Java `ParseContext.put`. Returns whether the new definition is registered under its name
    /// (an accepted redefinition is not: lookups keep finding the first one).
    fn put(&mut self, name: &Name, candidate: Candidate<'_>) -> Result<bool, AvroError> {
        if self.validate {
            let parts: Vec<&str> = name.full.split('.').collect();
            // Java's `String.split` drops trailing empty strings.
            let keep = parts
                .iter()
                .rposition(|p| !p.is_empty())
                .map_or(0, |i| i + 1);
            let parts = &parts[..keep];
            if let Some((last, spaces)) = parts.split_last() {
                for part in spaces {
                    validate_name(part).map_err(|e| {
                        parse_error(format!("Namespace part \"{part}\" is invalid: {e}"))
                    })?;
                }
                validate_name(last)
                    .map_err(|e| parse_error(format!("Name \"{last}\" is invalid: {e}")))?;
            }
        }
        let Some(&existing) = self.names.get(&name.full) else {
            return Ok(true);
        };
        let equal = match (&self.nodes[existing], candidate) {
            (Node::Record(r), Candidate::Record) => !r.fields_set && r.props.is_empty(),
            (Node::Enum(e), Candidate::Enum(symbols)) => e.symbols == symbols && e.props.is_empty(),
            (Node::Fixed(f), Candidate::Fixed(size)) => f.size == size && f.props.is_empty(),
            _ => false,
        };
        if equal {
            Ok(false)
        } else {
            Err(parse_error(format!("Can't redefine: {}", name.full)))
        }
    }

    fn named_aliases(&self, json: &Json, name: &Name) -> Result<Vec<Name>, AvroError> {
        let mut out: Vec<Name> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for alias in aliases(json)? {
            let alias = Name::new(&alias, name.space.as_deref());
            if self.validate {
                validate_name(&alias.name).map_err(parse_error)?;
            }
            // Java keeps them in a LinkedHashSet<Name>, equal by full name.
            if seen.insert(alias.full.clone()) {
                out.push(alias);
            }
        }
        Ok(out)
    }

    fn record(
        &mut self,
        json: &Json,
        space: Option<&str>,
        is_error: bool,
    ) -> Result<NodeId, AvroError> {
        let name = self.name(json, space)?;
        let doc = json.get("doc").and_then(Json::as_str).map(str::to_string);
        let register = self.put(&name, Candidate::Record)?;
        let id = self.push(Node::Record(Box::new(Record {
            name: name.clone(),
            doc,
            fields: Vec::new(),
            fields_set: false,
            props: Vec::new(),
            aliases: Vec::new(),
            is_error,
        })));
        if register {
            self.names.insert(name.full.clone(), id);
        }
        let Some(Json::Array(field_jsons)) = json.get("fields") else {
            return Err(parse_error(format!(
                "Record has no fields: {}",
                json.to_java_string()
            )));
        };
        let mut fields: Vec<Field> = Vec::with_capacity(field_jsons.len());
        for fj in field_jsons {
            fields.push(self.field(fj, name.space.as_deref())?);
        }
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(fields.len());
        for (pos, f) in fields.iter().enumerate() {
            if let Some(first) = seen.insert(&f.name, pos) {
                let ty = |f: &Field| self.nodes[f.ty].avro_type().java_name();
                return Err(parse_error(format!(
                    "Duplicate field {} in record {}: {} type:{} pos:{} and {} type:{} pos:{}.",
                    f.name,
                    name.full,
                    f.name,
                    ty(f),
                    pos,
                    fields[first].name,
                    ty(&fields[first]),
                    first
                )));
            }
        }
        let props = props_except(json, SCHEMA_RESERVED);
        let aliases = self.named_aliases(json, &name)?;
        if let Node::Record(r) = &mut self.nodes[id] {
            r.fields = fields;
            r.fields_set = true;
            r.props = props;
            r.aliases = aliases;
        }
        Ok(id)
    }

    /// Java `parseField`.
    fn field(&mut self, json: &Json, space: Option<&str>) -> Result<Field, AvroError> {
        let name = json
            .get("name")
            .and_then(Json::as_str)
            .ok_or_else(|| parse_error(format!("No field name: {}", json.to_java_string())))?
            .to_string();
        let doc = json.get("doc").and_then(Json::as_str).map(str::to_string);
        let ty_json = json
            .get("type")
            .ok_or_else(|| parse_error(format!("No field type: {}", json.to_java_string())))?;
        let ty = self.schema(ty_json, space)?;
        let order = match json.get("order") {
            None => Order::Ascending,
            Some(o) => {
                let text = o.as_str().ok_or_else(|| {
                    parse_error(format!("Invalid field order: {}", o.to_java_string()))
                })?;
                match text.to_uppercase().as_str() {
                    "ASCENDING" => Order::Ascending,
                    "DESCENDING" => Order::Descending,
                    "IGNORE" => Order::Ignore,
                    other => {
                        return Err(parse_error(format!(
                            "No enum constant org.apache.avro.Schema.Field.Order.{other}"
                        )))
                    }
                }
            }
        };
        let mut default = json.get("default").cloned();
        if let (
            Some(Json::Str(text)),
            Node::Primitive {
                ty: AvroType::Float | AvroType::Double,
                ..
            },
        ) = (&default, &self.nodes[ty])
        {
            default = Some(Json::Double(java_parse_double(text).map_err(parse_error)?));
        }
        if self.validate {
            validate_name(&name).map_err(parse_error)?;
            if let Some(d) = &default {
                // First check, against the types as far as they are known now (Java builds the
                // field while the enclosing records are still incomplete).
                check_field_default(&self.nodes, &name, ty, d)?;
            }
        }
        let props = props_except(json, FIELD_RESERVED);
        let aliases = aliases(json)?;
        Ok(Field {
            name,
            doc,
            ty,
            default,
            order,
            aliases,
            props,
        })
    }

    fn enumeration(&mut self, json: &Json, space: Option<&str>) -> Result<NodeId, AvroError> {
        let name = self.name(json, space)?;
        let doc = json.get("doc").and_then(Json::as_str).map(str::to_string);
        let Some(Json::Array(symbol_jsons)) = json.get("symbols") else {
            return Err(parse_error(format!(
                "Enum has no symbols: {}",
                json.to_java_string()
            )));
        };
        let mut symbols: Vec<String> = Vec::with_capacity(symbol_jsons.len());
        let mut seen: HashSet<&str> = HashSet::with_capacity(symbol_jsons.len());
        for s in symbol_jsons {
            // Java reads a non-string symbol as null, which no validator or printer accepts.
            let s = s.as_str().ok_or_else(|| parse_error("Null name"))?;
            if self.validate {
                validate_name(s).map_err(parse_error)?;
            }
            if !seen.insert(s) {
                return Err(parse_error(format!("Duplicate enum symbol: {s}")));
            }
            symbols.push(s.to_string());
        }
        let default = json
            .get("default")
            .and_then(Json::as_str)
            .map(str::to_string);
        if let Some(d) = &default {
            if !symbols.contains(d) {
                return Err(parse_error(format!(
                    "The Enum Default: {d} is not in the enum symbol set: [{}]",
                    symbols.join(", ")
                )));
            }
        }
        let register = self.put(&name, Candidate::Enum(&symbols))?;
        let props = props_except(json, &[SCHEMA_RESERVED, &["default"]].concat());
        let aliases = self.named_aliases(json, &name)?;
        let id = self.push(Node::Enum(Box::new(EnumDef {
            name: name.clone(),
            doc,
            symbols,
            default,
            props,
            aliases,
        })));
        if register {
            self.names.insert(name.full, id);
        }
        Ok(id)
    }

    fn fixed(&mut self, json: &Json, space: Option<&str>) -> Result<NodeId, AvroError> {
        let name = self.name(json, space)?;
        let doc = json.get("doc").and_then(Json::as_str).map(str::to_string);
        let size = match json.get("size") {
            Some(Json::Int(v)) => i32::try_from(*v).ok(),
            _ => None,
        }
        .ok_or_else(|| parse_error(format!("Invalid or no size: {}", json.to_java_string())))?;
        // Java `SystemLimitException.checkMaxBytesLength`.
        let size = u32::try_from(size)
            .map_err(|_| parse_error(format!("Malformed data. Length is negative: {size}")))?;
        const MAX_BYTES: u32 = (i32::MAX - 8) as u32;
        if size > MAX_BYTES {
            return Err(parse_error(format!(
                "Cannot read arrays longer than {MAX_BYTES} bytes in Java library"
            )));
        }
        let register = self.put(&name, Candidate::Fixed(size))?;
        let props = props_except(json, SCHEMA_RESERVED);
        let aliases = self.named_aliases(json, &name)?;
        let id = self.push(Node::Fixed(Box::new(FixedDef {
            name: name.clone(),
            doc,
            size,
            props,
            aliases,
        })));
        if register {
            self.names.insert(name.full, id);
        }
        Ok(id)
    }
}

/// Java `parseAliases`: absent, or an array of strings (duplicates dropped, order kept).
fn aliases(json: &Json) -> Result<Vec<String>, AvroError> {
    match json.get("aliases") {
        None => Ok(Vec::new()),
        Some(Json::Array(items)) => {
            let mut out: Vec<String> = Vec::with_capacity(items.len());
            let mut seen: HashSet<&str> = HashSet::with_capacity(items.len());
            for item in items {
                let alias = item.as_str().ok_or_else(|| {
                    parse_error(format!("alias not a string: {}", item.to_java_string()))
                })?;
                if seen.insert(alias) {
                    out.push(alias.to_string());
                }
            }
            Ok(out)
        }
        Some(_) => Err(parse_error(format!(
            "aliases not an array: {}",
            json.to_java_string()
        ))),
    }
}

fn props_except(json: &Json, reserved: &[&str]) -> Props {
    match json {
        Json::Object(members) => members
            .iter()
            .filter(|(k, _)| !reserved.contains(&k.as_str()))
            .cloned()
            .collect(),
        _ => Vec::new(),
    }
}

/// Java `Double.parseDouble`, which Avro applies to a float/double field's textual default:
/// surrounding whitespace and an `f`/`d` suffix are allowed, as are `NaN` and `Infinity`.
fn java_parse_double(text: &str) -> Result<f64, String> {
    let trimmed = text.trim_matches(|c: char| c <= ' ');
    if trimmed.is_empty() {
        return Err("empty String".to_string());
    }
    let bad = || format!("For input string: \"{text}\"");
    let (sign, body) = match trimmed.as_bytes()[0] {
        b'-' => (-1.0, &trimmed[1..]),
        b'+' => (1.0, &trimmed[1..]),
        _ => (1.0, trimmed),
    };
    match body {
        "NaN" => return Ok(f64::NAN),
        "Infinity" => return Ok(sign * f64::INFINITY),
        _ => {}
    }
    let body = body.strip_suffix(['f', 'F', 'd', 'D']).unwrap_or(body);
    // Only decimal notation; Rust would also accept "inf" and "nan", Java would not.
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        || !body.bytes().any(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    body.parse::<f64>().map(|v| sign * v).map_err(|_| bad())
}

/// Validates one field default and builds Java's error message when it does not fit.
pub(crate) fn check_field_default(
    nodes: &[Node],
    field: &str,
    ty: NodeId,
    default: &Json,
) -> Result<(), AvroError> {
    let mut validator = DefaultValidator {
        nodes,
        memo: HashMap::new(),
    };
    match validator.is_valid_default(ty, default, 0) {
        Ok(true) => Ok(()),
        Ok(false) => Err(AvroError::InvalidDefault(format!(
            "Invalid default for field {field}: {} not a {}",
            default.to_java_string(),
            print::to_json(nodes, ty, &HashSet::new())
        ))),
        Err(msg) => Err(AvroError::InvalidDefault(msg)),
    }
}

/// Java `Schema.isValidDefault` / `isValidValue` (Avro 1.12).
///
/// A record default is checked field by field, and a field missing from it is checked through
/// that field's own default; records reused by several fields would make Java's walk
/// exponential, so results are memoized per (type, JSON value) pair. The JSON values are never
/// modified during a check, so their addresses identify them.
struct DefaultValidator<'a> {
    nodes: &'a [Node],
    memo: HashMap<(NodeId, usize), bool>,
}

impl DefaultValidator<'_> {
    /// `Err` is what Java throws: a record whose fields are not parsed yet (`Schema fields not
    /// set yet`), or, our addition, defaults that refer to each other without end.
    fn is_valid_default(&mut self, ty: NodeId, value: &Json, depth: usize) -> Result<bool, String> {
        if depth > MAX_DEFAULT_DEPTH {
            return Err(
                "Invalid default: the default value nests too deeply (recursive defaults?)".into(),
            );
        }
        let key = (ty, value as *const Json as usize);
        if let Some(&known) = self.memo.get(&key) {
            return Ok(known);
        }
        let nodes = self.nodes;
        let valid = match &nodes[ty] {
            // Java's placeholder for a name defined later is a record without fields.
            Node::Unresolved { .. } => matches!(value, Json::Object(_)),
            Node::Record(r) => match value {
                Json::Object(members) => {
                    if !r.fields_set {
                        return Err("Schema fields not set yet".to_string());
                    }
                    let index: HashMap<&str, &Json> =
                        members.iter().map(|(k, v)| (k.as_str(), v)).collect();
                    let mut all = true;
                    for f in &r.fields {
                        let v = index.get(f.name.as_str()).copied().or(f.default.as_ref());
                        if !self.is_valid_value(f.ty, v, depth + 1)? {
                            all = false;
                            break;
                        }
                    }
                    all
                }
                _ => false,
            },
            Node::Enum(_) | Node::Fixed(_) => matches!(value, Json::Str(_)),
            Node::Primitive { ty: prim, .. } => match prim {
                AvroType::String | AvroType::Bytes => matches!(value, Json::Str(_)),
                AvroType::Int => value.is_java_int(),
                AvroType::Long => matches!(value, Json::Int(_)),
                AvroType::Float | AvroType::Double => value.is_number(),
                AvroType::Boolean => matches!(value, Json::Bool(_)),
                AvroType::Null => matches!(value, Json::Null),
                _ => false,
            },
            Node::Array { items, .. } => match value {
                Json::Array(elements) => {
                    let mut all = true;
                    for e in elements {
                        if !self.is_valid_default(*items, e, depth + 1)? {
                            all = false;
                            break;
                        }
                    }
                    all
                }
                _ => false,
            },
            Node::Map { values, .. } => match value {
                Json::Object(members) => {
                    let mut all = true;
                    for (_, v) in members {
                        if !self.is_valid_default(*values, v, depth + 1)? {
                            all = false;
                            break;
                        }
                    }
                    all
                }
                _ => false,
            },
            // Avro 1.12 accepts a union default that matches any branch (the spec says the first).
            Node::Union { branches } => {
                let mut any = false;
                for &b in branches {
                    if self.is_valid_value(b, Some(value), depth + 1)? {
                        any = true;
                        break;
                    }
                }
                any
            }
        };
        self.memo.insert(key, valid);
        Ok(valid)
    }

    /// Java `Schema.isValidValue`: a missing value is invalid; a union accepts any branch.
    fn is_valid_value(
        &mut self,
        ty: NodeId,
        value: Option<&Json>,
        depth: usize,
    ) -> Result<bool, String> {
        let Some(value) = value else {
            return Ok(false);
        };
        if let Node::Union { branches } = &self.nodes[ty] {
            for &b in branches {
                if self.is_valid_default(b, value, depth + 1)? {
                    return Ok(true);
                }
            }
            return Ok(false);
        }
        self.is_valid_default(ty, value, depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_double_parsing() {
        assert_eq!(java_parse_double("1.5").unwrap(), 1.5);
        assert_eq!(java_parse_double(" 2d ").unwrap(), 2.0);
        assert!(java_parse_double("NaN").unwrap().is_nan());
        assert_eq!(java_parse_double("-Infinity").unwrap(), f64::NEG_INFINITY);
        assert!(java_parse_double("inf").is_err());
        assert!(java_parse_double("abc").is_err());
        assert!(java_parse_double("").is_err());
    }

    #[test]
    fn name_validation() {
        assert!(validate_name("abc_1").is_ok());
        assert!(validate_name("_x").is_ok());
        assert!(validate_name("ünïcode").is_ok());
        assert_eq!(validate_name("").unwrap_err(), "Empty name");
        assert_eq!(
            validate_name("1a").unwrap_err(),
            "Illegal initial character: 1a"
        );
        assert_eq!(
            validate_name("a-b").unwrap_err(),
            "Illegal character in: a-b"
        );
    }
}
