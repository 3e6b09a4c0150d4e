//! Turns schema JSON into the [`model`](super::model), the way Confluent does:
//!
//! * drafts 4, 6 and 7 go through the everit loader: a `$ref` object is a reference and nothing
//!   else; otherwise the keyword groups are extracted in everit's order (`enum`, `allOf`,
//!   `oneOf`, `anyOf`, `not`, `const`, `type`, then keywords "sniffed" without a `type`), and
//!   several groups become a synthetic `allOf`;
//! * 2019-09 and 2020-12 go through json-sKema and Confluent's `SchemaTranslator`: every keyword
//!   becomes a fragment, fragments of the same class are merged and the rest form a generated
//!   `allOf` (so `{"properties":{}}` is `{}` there, and a `$ref` beside `properties` is kept).
//!
//! `$ref` targets are loaded once per location through a work queue, so reference chains do not
//! deepen the recursion and cycles become cycles in the node graph.

use std::collections::{HashMap, HashSet, VecDeque};

use super::json::{Dec, Json};
use super::model::{
    ArrayKeywords, Criterion, Extra, Kind, Node, NodeId, NumberKeywords, ObjectKeywords,
    StringKeywords,
};
use super::uri::Uri;

/// The JSON Schema dialect, from `$schema` (draft 7 when absent or unknown, as Confluent does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Draft {
    /// Draft 4.
    Draft4,
    /// Draft 6.
    Draft6,
    /// Draft 7 (also the default).
    Draft7,
    /// Draft 2019-09.
    Draft201909,
    /// Draft 2020-12.
    Draft202012,
}

impl Draft {
    /// The draft named by a `$schema` URL, if it is one of the five.
    pub fn from_url(url: &str) -> Option<Draft> {
        let u = url.trim();
        let u = u
            .strip_prefix("https://")
            .or_else(|| u.strip_prefix("http://"))
            .unwrap_or(u);
        let u = u.trim_end_matches('#').trim_end_matches('/');
        match u {
            "json-schema.org/draft-04/schema" => Some(Draft::Draft4),
            "json-schema.org/draft-06/schema" => Some(Draft::Draft6),
            "json-schema.org/draft-07/schema" => Some(Draft::Draft7),
            "json-schema.org/draft/2019-09/schema" => Some(Draft::Draft201909),
            "json-schema.org/draft/2020-12/schema" => Some(Draft::Draft202012),
            _ => None,
        }
    }

    /// The draft of a schema document.
    pub fn of(doc: &Json) -> Draft {
        doc.get("$schema")
            .and_then(Json::as_str)
            .and_then(Draft::from_url)
            .unwrap_or(Draft::Draft7)
    }

    fn modern(self) -> bool {
        matches!(self, Draft::Draft201909 | Draft::Draft202012)
    }

    fn id_keyword(self) -> &'static str {
        if self == Draft::Draft4 {
            "id"
        } else {
            "$id"
        }
    }
}

/// The loaded model.
pub(crate) struct Loaded {
    /// True when the schema was too large to load completely.
    pub exhausted: bool,
    pub nodes: Vec<Node>,
    pub root: NodeId,
    pub patterns: HashMap<String, Option<fancy_regex::Regex>>,
}

const ARRAY_KW_V4: &[&str] = &[
    "items",
    "additionalItems",
    "minItems",
    "maxItems",
    "uniqueItems",
];
const ARRAY_KW_V6: &[&str] = &[
    "items",
    "additionalItems",
    "minItems",
    "maxItems",
    "uniqueItems",
    "contains",
];
const OBJECT_KW_V4: &[&str] = &[
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "dependencies",
    "patternProperties",
    "additionalProperties",
];
const OBJECT_KW_V6: &[&str] = &[
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "dependencies",
    "patternProperties",
    "additionalProperties",
    "propertyNames",
];
const NUMBER_KW: &[&str] = &[
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
];
const STRING_KW: &[&str] = &["minLength", "maxLength", "pattern", "format"];
const CONDITIONAL_KW: &[&str] = &["if", "then", "else"];

/// Keywords json-sKema understands; anything else is an unprocessed property.
const KNOWN_MODERN: &[&str] = &[
    "$schema",
    "$id",
    "$anchor",
    "$dynamicAnchor",
    "$dynamicRef",
    "$recursiveAnchor",
    "$recursiveRef",
    "$ref",
    "$vocabulary",
    "$comment",
    "$defs",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "dependentSchemas",
    "dependentRequired",
    "prefixItems",
    "items",
    "additionalItems",
    "contains",
    "minContains",
    "maxContains",
    "properties",
    "patternProperties",
    "additionalProperties",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "type",
    "enum",
    "const",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxProperties",
    "minProperties",
    "required",
    "title",
    "description",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "examples",
    "format",
    "contentEncoding",
    "contentMediaType",
    "contentSchema",
];

struct Doc {
    json: Json,
    base: Uri,
}

/// A location inside a document: document index and JSON pointer segments.
type Loc = (usize, Vec<String>);

struct Loader {
    draft: Draft,
    docs: Vec<Doc>,
    /// Reference names (as given, and resolved) → document.
    ref_names: Vec<(String, String, usize)>,
    ids: HashMap<String, Loc>,
    anchors: HashMap<String, Loc>,
    nodes: Vec<Node>,
    targets: HashMap<Loc, NodeId>,
    queue: VecDeque<(Loc, NodeId)>,
    patterns: HashMap<String, Option<fancy_regex::Regex>>,
    /// Problems a strict parse refuses (unresolvable references, malformed keywords).
    problems: Vec<String>,
    /// Set when the model outgrew [`MAX_NODES`].
    exhausted: bool,
}

/// Upper bound on model nodes. everit copies the object keywords into every branch of a `type`
/// array, so nested type arrays grow exponentially; past this the schema is refused.
pub(crate) const MAX_NODES: usize = 200_000;

const DEFAULT_BASE: &str = "mem://input/";

/// Loads `root` (with `references` as `(name, document)` pairs).
pub(crate) fn load(root: &Json, references: &[(String, Json)]) -> (Loaded, Vec<String>) {
    let draft = Draft::of(root);
    let default_base = Uri::parse(DEFAULT_BASE);
    let mut loader = Loader {
        draft,
        docs: Vec::new(),
        ref_names: Vec::new(),
        ids: HashMap::new(),
        anchors: HashMap::new(),
        nodes: Vec::new(),
        targets: HashMap::new(),
        queue: VecDeque::new(),
        patterns: HashMap::new(),
        problems: Vec::new(),
        exhausted: false,
    };
    let root_base = doc_base(root, &default_base, draft);
    loader.docs.push(Doc {
        json: root.clone(),
        base: root_base.clone(),
    });
    for (name, json) in references {
        let registered = root_base.resolve(name).without_fragment();
        let base = doc_base(json, &registered, draft);
        let index = loader.docs.len();
        loader
            .ref_names
            .push((name.clone(), registered.to_string(), index));
        loader.docs.push(Doc {
            json: json.clone(),
            base,
        });
    }
    for d in 0..loader.docs.len() {
        let base = loader.docs[d].base.clone();
        loader
            .ids
            .entry(base.to_string())
            .or_insert((d, Vec::new()));
        let json = loader.docs[d].json.clone();
        loader.index(d, &json, &mut Vec::new(), &base, true);
    }
    let root_node = loader.build(root, &root_base, true);
    let root_id = loader.push(root_node);
    while let Some(((doc, ptr), id)) = loader.queue.pop_front() {
        if loader.nodes.len() >= MAX_NODES {
            loader.exhausted = true;
            break;
        }
        let (json, base) = match loader.locate(doc, &ptr) {
            Some(found) => found,
            None => (Json::Object(Vec::new()), loader.docs[doc].base.clone()),
        };
        let node = loader.build(&json, &base, ptr.is_empty());
        loader.nodes[id] = node;
    }
    let problems = std::mem::take(&mut loader.problems);
    (
        Loaded {
            exhausted: loader.exhausted,
            nodes: loader.nodes,
            root: root_id,
            patterns: loader.patterns,
        },
        problems,
    )
}

fn doc_base(doc: &Json, fallback: &Uri, draft: Draft) -> Uri {
    match doc.get(draft.id_keyword()).and_then(Json::as_str) {
        Some(id) if !id.starts_with('#') => fallback.resolve(id).without_fragment(),
        _ => fallback.without_fragment(),
    }
}

fn members(v: &Json) -> Option<&[(String, Json)]> {
    match v {
        Json::Object(m) => Some(m),
        _ => None,
    }
}

fn get<'a>(m: &'a [(String, Json)], key: &str) -> Option<&'a Json> {
    m.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

fn number_of(v: &Json) -> Option<Dec> {
    match v {
        Json::Number(n) => Some(n.value().clone()),
        _ => None,
    }
}

fn one_json() -> Json {
    match super::json::parse("1") {
        Ok(v) => v,
        Err(_) => Json::Null,
    }
}

impl Loader {
    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn problem(&mut self, msg: String) {
        if self.problems.len() < 16 {
            self.problems.push(msg);
        }
    }

    /// Registers `$id`s and anchors of one document.
    fn index(&mut self, doc: usize, v: &Json, ptr: &mut Vec<String>, base: &Uri, is_root: bool) {
        match v {
            Json::Object(m) => {
                let mut base = base.clone();
                if let Some(id) = get(m, self.draft.id_keyword()).and_then(Json::as_str) {
                    if let Some(anchor) = id.strip_prefix('#') {
                        if !self.draft.modern() && !anchor.is_empty() {
                            let key = format!("{base}#{anchor}");
                            self.anchors.entry(key).or_insert((doc, ptr.clone()));
                        }
                    } else {
                        let resolved = base.resolve(id);
                        let new_base = resolved.without_fragment();
                        if !is_root {
                            self.ids
                                .entry(new_base.to_string())
                                .or_insert((doc, ptr.clone()));
                        }
                        if let Some(fr) = resolved.fragment.as_deref() {
                            if !fr.is_empty() && !fr.starts_with('/') {
                                self.anchors
                                    .entry(format!("{new_base}#{fr}"))
                                    .or_insert((doc, ptr.clone()));
                            }
                        }
                        base = new_base;
                    }
                }
                if self.draft.modern() {
                    for key in ["$anchor", "$dynamicAnchor"] {
                        if let Some(a) = get(m, key).and_then(Json::as_str) {
                            self.anchors
                                .entry(format!("{base}#{a}"))
                                .or_insert((doc, ptr.clone()));
                        }
                    }
                }
                for (k, child) in m {
                    if matches!(k.as_str(), "enum" | "const" | "default" | "examples") {
                        continue;
                    }
                    ptr.push(k.clone());
                    self.index(doc, child, ptr, &base, false);
                    ptr.pop();
                }
            }
            Json::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    ptr.push(i.to_string());
                    self.index(doc, child, ptr, base, false);
                    ptr.pop();
                }
            }
            _ => {}
        }
    }

    /// The JSON at a location and the base URI in effect there.
    fn locate(&self, doc: usize, ptr: &[String]) -> Option<(Json, Uri)> {
        let d = self.docs.get(doc)?;
        let mut cur = &d.json;
        let mut base = d.base.clone();
        for seg in ptr {
            if let Some(m) = members(cur) {
                if let Some(id) = get(m, self.draft.id_keyword()).and_then(Json::as_str) {
                    if !id.starts_with('#') && !std::ptr::eq(cur, &d.json) {
                        base = base.resolve(id).without_fragment();
                    }
                }
            }
            cur = match cur {
                Json::Object(m) => get(m, seg)?,
                Json::Array(items) => items.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        if let Some(m) = members(cur) {
            if let Some(id) = get(m, self.draft.id_keyword()).and_then(Json::as_str) {
                if !id.starts_with('#') && !ptr.is_empty() {
                    base = base.resolve(id).without_fragment();
                }
            }
        }
        Some((cur.clone(), base))
    }

    /// Finds the location a `$ref` points to.
    fn resolve_ref(&self, base: &Uri, reference: &str) -> Option<Loc> {
        let abs = base.resolve(reference);
        let frag = abs.fragment.clone().unwrap_or_default();
        let doc_uri = abs.without_fragment().to_string();
        let raw_doc = reference.split('#').next().unwrap_or("");
        let (doc, prefix) = if let Some(loc) = self.ids.get(&doc_uri) {
            loc.clone()
        } else if let Some((_, _, d)) = self.ref_names.iter().find(|(name, resolved, _)| {
            *resolved == doc_uri
                || (!raw_doc.is_empty()
                    && (name == raw_doc
                        || name.trim_start_matches("./") == raw_doc.trim_start_matches("./")))
        }) {
            (*d, Vec::new())
        } else {
            return None;
        };
        if frag.is_empty() {
            return Some((doc, prefix));
        }
        if let Some(pointer) = frag.strip_prefix('/') {
            let mut ptr = prefix;
            for seg in pointer.split('/') {
                ptr.push(percent_decode(seg).replace("~1", "/").replace("~0", "~"));
            }
            self.locate(doc, &ptr)?;
            return Some((doc, ptr));
        }
        let key = format!("{doc_uri}#{frag}");
        if let Some(loc) = self.anchors.get(&key) {
            return Some(loc.clone());
        }
        // An anchor registered under another base of the same document.
        let suffix = format!("#{frag}");
        self.anchors
            .iter()
            .find(|(k, (d, _))| *d == doc && k.ends_with(&suffix))
            .map(|(_, loc)| loc.clone())
    }

    /// A reference node for `value` at `base`.
    fn reference(&mut self, value: &str, base: &Uri) -> Node {
        let target = match self.resolve_ref(base, value) {
            Some(loc) => match self.targets.get(&loc) {
                Some(id) => *id,
                None => {
                    let id = self.push(Node::new(Kind::Empty));
                    self.targets.insert(loc.clone(), id);
                    self.queue.push_back((loc, id));
                    id
                }
            },
            None => {
                self.problem(format!("unable to resolve reference \"{value}\""));
                self.push(Node::new(Kind::Empty))
            }
        };
        Node::new(Kind::Reference {
            value: value.to_string(),
            target,
        })
    }

    fn build(&mut self, v: &Json, base: &Uri, is_root: bool) -> Node {
        if self.draft.modern() {
            self.build_modern(v, base, is_root)
        } else {
            self.build_everit(v, base)
        }
    }

    fn child(&mut self, v: &Json, base: &Uri) -> NodeId {
        if self.nodes.len() >= MAX_NODES {
            self.exhausted = true;
            return self.push(Node::new(Kind::Empty));
        }
        let node = self.build(v, base, false);
        self.push(node)
    }

    fn not_a_schema(&mut self, what: &str) -> Node {
        self.problem(format!("{what} is not a schema"));
        Node::new(Kind::Empty)
    }

    fn compile_pattern(&mut self, pattern: &str) {
        if !self.patterns.contains_key(pattern) {
            let compiled = fancy_regex::Regex::new(pattern).ok();
            self.patterns.insert(pattern.to_string(), compiled);
        }
    }

    fn integer_keyword(&mut self, m: &[(String, Json)], key: &str) -> Option<Dec> {
        let v = get(m, key)?;
        match number_of(v) {
            Some(d) if d.to_i64().is_some() => Some(d),
            _ => {
                self.problem(format!("\"{key}\" must be an integer"));
                None
            }
        }
    }

    fn number_keyword(&mut self, m: &[(String, Json)], key: &str) -> Option<Dec> {
        let v = get(m, key)?;
        match number_of(v) {
            Some(d) => Some(d),
            None => {
                self.problem(format!("\"{key}\" must be a number"));
                None
            }
        }
    }

    fn string_list(&mut self, v: &Json, key: &str) -> Vec<String> {
        match v {
            Json::Array(items) => items
                .iter()
                .filter_map(|i| match i {
                    Json::String(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
            _ => {
                self.problem(format!("\"{key}\" must be an array of strings"));
                Vec::new()
            }
        }
    }

    fn common(&mut self, node: &mut Node, m: &[(String, Json)], id_keyword: &str) {
        if let Some(Json::String(s)) = get(m, id_keyword) {
            node.id = Some(s.clone());
        }
        if let Some(Json::String(s)) = get(m, "title") {
            node.title = Some(s.clone());
        }
        if let Some(Json::String(s)) = get(m, "description") {
            node.description = Some(s.clone());
        }
        if let Some(v) = get(m, "default") {
            node.default = Some(v.clone());
        }
    }

    // ------------------------------------------------------------------ everit (4, 6, 7)

    fn build_everit(&mut self, v: &Json, base: &Uri) -> Node {
        let m = match v {
            Json::Bool(true) => return Node::new(Kind::True),
            Json::Bool(false) => return Node::new(Kind::False),
            Json::Object(m) => m,
            _ => return self.not_a_schema("a non-object value"),
        };
        let draft = self.draft;
        let id_kw = draft.id_keyword();
        let base = match get(m, id_kw).and_then(Json::as_str) {
            Some(id) if !id.starts_with('#') => base.resolve(id).without_fragment(),
            _ => base.clone(),
        };
        let mut consumed: HashSet<&str> = HashSet::new();
        let mut frags: Vec<Node> = Vec::new();
        if let Some(r) = get(m, "$ref") {
            consumed.insert("$ref");
            match r {
                Json::String(s) => frags.push(self.reference(s, &base)),
                _ => self.problem("\"$ref\" must be a string".to_string()),
            }
        } else {
            if let Some(e) = get(m, "enum") {
                consumed.insert("enum");
                match e {
                    Json::Array(values) => frags.push(Node::new(Kind::Enum(values.clone()))),
                    _ => self.problem("\"enum\" must be an array".to_string()),
                }
            }
            // everit collects the present combination keywords into a HashSet: this is its order.
            for (key, criterion) in [
                ("allOf", Criterion::AllOf),
                ("oneOf", Criterion::OneOf),
                ("anyOf", Criterion::AnyOf),
            ] {
                if let Some(list) = get(m, key) {
                    consumed.insert(key);
                    match list {
                        Json::Array(items) => {
                            let subschemas = items.iter().map(|i| self.child(i, &base)).collect();
                            frags.push(Node::new(Kind::Combined {
                                criterion,
                                subschemas,
                                synthetic: false,
                            }));
                        }
                        _ => self.problem(format!("\"{key}\" must be an array")),
                    }
                }
            }
            if let Some(n) = get(m, "not") {
                consumed.insert("not");
                let inner = self.child(n, &base);
                frags.push(Node::new(Kind::Not(inner)));
            }
            if draft != Draft::Draft4 {
                if let Some(c) = get(m, "const") {
                    consumed.insert("const");
                    frags.push(Node::new(Kind::Const(c.clone())));
                }
            }
            if let Some(t) = get(m, "type") {
                consumed.insert("type");
                match t {
                    Json::String(name) => {
                        if let Some(node) = self.everit_typed(name, m, &mut consumed, &base) {
                            frags.push(node);
                        }
                    }
                    Json::Array(names) => {
                        let mut subschemas = Vec::new();
                        for name in names {
                            match name {
                                Json::String(name) => {
                                    if let Some(node) =
                                        self.everit_typed(name, m, &mut consumed, &base)
                                    {
                                        subschemas.push(self.push(node));
                                    }
                                }
                                _ => self.problem("\"type\" entries must be strings".to_string()),
                            }
                        }
                        frags.push(Node::new(Kind::Combined {
                            criterion: Criterion::AnyOf,
                            subschemas,
                            synthetic: false,
                        }));
                    }
                    _ => self.problem("\"type\" must be a string or an array".to_string()),
                }
            }
            let remaining = |keys: &[&str], consumed: &HashSet<&str>| {
                keys.iter()
                    .any(|k| !consumed.contains(k) && get(m, k).is_some())
            };
            let array_kw = if draft == Draft::Draft4 {
                ARRAY_KW_V4
            } else {
                ARRAY_KW_V6
            };
            let object_kw = if draft == Draft::Draft4 {
                OBJECT_KW_V4
            } else {
                OBJECT_KW_V6
            };
            if remaining(array_kw, &consumed) {
                consumed.extend(array_kw.iter().copied());
                let a = self.everit_array(m, &base, false);
                frags.push(a);
            }
            if remaining(object_kw, &consumed) {
                consumed.extend(object_kw.iter().copied());
                let o = self.everit_object(m, &base, false);
                frags.push(o);
            }
            if remaining(NUMBER_KW, &consumed) {
                consumed.extend(NUMBER_KW.iter().copied());
                let n = self.everit_number(m, false, false);
                frags.push(n);
            }
            if remaining(STRING_KW, &consumed) {
                consumed.extend(STRING_KW.iter().copied());
                let s = self.everit_string(m, false);
                frags.push(s);
            }
            if draft == Draft::Draft7 && remaining(CONDITIONAL_KW, &consumed) {
                consumed.extend(CONDITIONAL_KW.iter().copied());
                let if_schema = get(m, "if").map(|v| self.child(v, &base));
                let then_schema = get(m, "then").map(|v| self.child(v, &base));
                let else_schema = get(m, "else").map(|v| self.child(v, &base));
                frags.push(Node::new(Kind::Conditional {
                    if_schema,
                    then_schema,
                    else_schema,
                }));
            }
        }
        let mut node = match frags.len() {
            0 => Node::new(Kind::Empty),
            1 => frags.pop().unwrap_or_else(|| Node::new(Kind::Empty)),
            _ => {
                let subschemas = frags.into_iter().map(|f| self.push(f)).collect();
                Node::new(Kind::Combined {
                    criterion: Criterion::AllOf,
                    subschemas,
                    synthetic: true,
                })
            }
        };
        consumed.insert(id_kw);
        consumed.insert("title");
        consumed.insert("description");
        consumed.insert("examples");
        consumed.insert("default");
        if draft == Draft::Draft7 {
            consumed.insert("readOnly");
            consumed.insert("writeOnly");
        }
        self.common(&mut node, m, id_kw);
        node.unprocessed = m
            .iter()
            .filter(|(k, _)| !consumed.contains(k.as_str()))
            .map(|(k, v)| (k.clone(), Extra::Json(v.clone())))
            .collect();
        node
    }

    fn everit_typed<'m>(
        &mut self,
        name: &str,
        m: &'m [(String, Json)],
        consumed: &mut HashSet<&'m str>,
        base: &Uri,
    ) -> Option<Node> {
        let draft = self.draft;
        let mark = |keys: &[&'static str], consumed: &mut HashSet<&'m str>| {
            for k in keys {
                consumed.insert(k);
            }
        };
        match name {
            "string" => {
                mark(STRING_KW, consumed);
                Some(self.everit_string(m, true))
            }
            "integer" => {
                mark(NUMBER_KW, consumed);
                Some(self.everit_number(m, true, true))
            }
            "number" => {
                mark(NUMBER_KW, consumed);
                Some(self.everit_number(m, true, false))
            }
            "boolean" => Some(Node::new(Kind::Boolean)),
            "null" => Some(Node::new(Kind::Null)),
            "array" => {
                mark(
                    if draft == Draft::Draft4 {
                        ARRAY_KW_V4
                    } else {
                        ARRAY_KW_V6
                    },
                    consumed,
                );
                Some(self.everit_array(m, base, true))
            }
            "object" => {
                mark(
                    if draft == Draft::Draft4 {
                        OBJECT_KW_V4
                    } else {
                        OBJECT_KW_V6
                    },
                    consumed,
                );
                Some(self.everit_object(m, base, true))
            }
            other => {
                self.problem(format!("unknown type: [{other}]"));
                None
            }
        }
    }

    fn everit_string(&mut self, m: &[(String, Json)], requires: bool) -> Node {
        let mut kw = StringKeywords {
            requires_string: requires,
            min_length: self.integer_keyword(m, "minLength"),
            max_length: self.integer_keyword(m, "maxLength"),
            ..StringKeywords::default()
        };
        match get(m, "pattern") {
            Some(Json::String(p)) => {
                self.compile_pattern(p);
                kw.pattern = Some(p.clone());
            }
            Some(_) => self.problem("\"pattern\" must be a string".to_string()),
            None => {}
        }
        if let Some(Json::String(f)) = get(m, "format") {
            kw.format = Some(f.clone());
        }
        Node::new(Kind::String(kw))
    }

    fn everit_number(&mut self, m: &[(String, Json)], requires: bool, integer: bool) -> Node {
        let mut kw = NumberKeywords {
            requires_number: requires,
            requires_integer: integer,
            minimum: self.number_keyword(m, "minimum"),
            maximum: self.number_keyword(m, "maximum"),
            multiple_of: self.number_keyword(m, "multipleOf"),
            ..NumberKeywords::default()
        };
        if kw.multiple_of.as_ref().is_some_and(Dec::is_zero) {
            self.problem("multipleOf should not be 0".to_string());
        }
        for (key, slot) in [
            ("exclusiveMinimum", &mut kw.exclusive_minimum),
            ("exclusiveMaximum", &mut kw.exclusive_maximum),
        ] {
            match get(m, key) {
                None => {}
                Some(Json::Bool(_)) if self.draft == Draft::Draft4 => {}
                Some(Json::Number(n)) if self.draft != Draft::Draft4 => {
                    *slot = Some(n.value().clone())
                }
                Some(_) => self.problem(format!("\"{key}\" has the wrong type")),
            }
        }
        Node::new(Kind::Number(kw))
    }

    fn everit_object(&mut self, m: &[(String, Json)], base: &Uri, requires: bool) -> Node {
        let mut kw = ObjectKeywords {
            requires_object: requires,
            min_properties: self.integer_keyword(m, "minProperties"),
            max_properties: self.integer_keyword(m, "maxProperties"),
            ..ObjectKeywords::default()
        };
        let id_kw = self.draft.id_keyword();
        match get(m, "properties") {
            Some(Json::Object(props)) => {
                for (name, schema) in props {
                    if name == id_kw && !matches!(schema, Json::Object(_)) {
                        continue;
                    }
                    let id = self.child(schema, base);
                    set_entry(&mut kw.properties, name, id);
                }
            }
            Some(_) => self.problem("\"properties\" must be an object".to_string()),
            None => {}
        }
        match get(m, "additionalProperties") {
            None => {}
            Some(Json::Bool(b)) => kw.additional_properties = *b,
            Some(v @ Json::Object(_)) => {
                kw.additional_properties_schema = Some(self.child(v, base))
            }
            Some(_) => self.problem("\"additionalProperties\" has the wrong type".to_string()),
        }
        if let Some(r) = get(m, "required") {
            kw.required = self.string_list(r, "required");
        }
        match get(m, "patternProperties") {
            Some(Json::Object(pats)) => {
                for (pattern, schema) in pats {
                    self.compile_pattern(pattern);
                    let id = self.child(schema, base);
                    set_entry(&mut kw.pattern_properties, pattern, id);
                }
            }
            Some(_) => self.problem("\"patternProperties\" must be an object".to_string()),
            None => {}
        }
        match get(m, "dependencies") {
            Some(Json::Object(deps)) => {
                for (name, dep) in deps {
                    match dep {
                        Json::Array(_) => {
                            let list = dedup(self.string_list(dep, "dependencies"));
                            set_entry(&mut kw.property_dependencies, name, list);
                        }
                        Json::Object(_) | Json::Bool(_) => {
                            let id = self.child(dep, base);
                            set_entry(&mut kw.schema_dependencies, name, id);
                        }
                        _ => {
                            self.problem("\"dependencies\" entries have the wrong type".to_string())
                        }
                    }
                }
            }
            Some(_) => self.problem("\"dependencies\" must be an object".to_string()),
            None => {}
        }
        if self.draft != Draft::Draft4 {
            if let Some(pn) = get(m, "propertyNames") {
                kw.property_names = Some(self.child(pn, base));
            }
        }
        Node::new(Kind::Object(Box::new(kw)))
    }

    fn everit_array(&mut self, m: &[(String, Json)], base: &Uri, requires: bool) -> Node {
        let mut kw = ArrayKeywords {
            requires_array: requires,
            min_items: self.integer_keyword(m, "minItems"),
            max_items: self.integer_keyword(m, "maxItems"),
            ..ArrayKeywords::default()
        };
        match get(m, "uniqueItems") {
            Some(Json::Bool(b)) => kw.unique_items = *b,
            Some(_) => self.problem("\"uniqueItems\" must be a boolean".to_string()),
            None => {}
        }
        match get(m, "additionalItems") {
            None => {}
            Some(Json::Bool(b)) => kw.additional_items = *b,
            Some(v @ Json::Object(_)) => kw.additional_items_schema = Some(self.child(v, base)),
            Some(_) => self.problem("\"additionalItems\" has the wrong type".to_string()),
        }
        match get(m, "items") {
            None => {}
            Some(Json::Array(items)) => {
                let ids = items.iter().map(|i| self.child(i, base)).collect();
                kw.item_schemas = Some(ids);
            }
            Some(v) => kw.all_items = Some(self.child(v, base)),
        }
        if self.draft != Draft::Draft4 {
            if let Some(c) = get(m, "contains") {
                kw.contains = Some(self.child(c, base));
            }
        }
        Node::new(Kind::Array(Box::new(kw)))
    }

    // ------------------------------------------------------------ 2019-09 / 2020-12

    fn build_modern(&mut self, v: &Json, base: &Uri, is_root: bool) -> Node {
        let m = match v {
            Json::Bool(true) => return Node::new(Kind::True),
            Json::Bool(false) => return Node::new(Kind::False),
            Json::Object(m) => m,
            _ => return self.not_a_schema("a non-object value"),
        };
        let base = match get(m, "$id").and_then(Json::as_str) {
            Some(id) if !id.starts_with('#') => base.resolve(id).without_fragment(),
            _ => base.clone(),
        };
        let prefix_count = match get(m, "prefixItems") {
            Some(Json::Array(a)) => a.len(),
            _ => 0,
        };
        let mut frags: Vec<Node> = Vec::new();
        let mut properties: Option<&[(String, Json)]> = None;
        let mut patterns: Option<&[(String, Json)]> = None;
        let mut unevaluated_items: Option<&Json> = None;
        let mut unevaluated_properties: Option<&Json> = None;
        let mut unknown: Vec<(String, Extra)> = Vec::new();
        for (key, value) in m {
            match key.as_str() {
                "minLength" | "maxLength" => {
                    let d = self.integer_keyword(m, key);
                    let mut kw = StringKeywords::default();
                    if key == "minLength" {
                        kw.min_length = d;
                    } else {
                        kw.max_length = d;
                    }
                    frags.push(Node::new(Kind::String(kw)));
                }
                "pattern" => match value {
                    Json::String(p) => {
                        self.compile_pattern(p);
                        frags.push(Node::new(Kind::String(StringKeywords {
                            pattern: Some(p.clone()),
                            ..StringKeywords::default()
                        })));
                    }
                    _ => self.problem("\"pattern\" must be a string".to_string()),
                },
                "allOf" | "anyOf" | "oneOf" => {
                    let criterion = match key.as_str() {
                        "allOf" => Criterion::AllOf,
                        "anyOf" => Criterion::AnyOf,
                        _ => Criterion::OneOf,
                    };
                    match value {
                        Json::Array(items) => {
                            let mut subschemas = Vec::new();
                            for item in items {
                                let child = self.build_modern(item, &base, false);
                                self.flatten_into(child, &mut subschemas);
                            }
                            frags.push(Node::new(Kind::Combined {
                                criterion,
                                subschemas,
                                synthetic: false,
                            }));
                        }
                        _ => self.problem(format!("\"{key}\" must be an array")),
                    }
                }
                "additionalProperties" => {
                    let child = self.build_modern(value, &base, false);
                    let mut kw = ObjectKeywords::default();
                    match child.kind {
                        Kind::False => kw.additional_properties = false,
                        Kind::True => {}
                        _ => kw.additional_properties_schema = Some(self.push(child)),
                    }
                    frags.push(Node::new(Kind::Object(Box::new(kw))));
                }
                "properties" => match value {
                    Json::Object(p) => properties = Some(p),
                    _ => self.problem("\"properties\" must be an object".to_string()),
                },
                "patternProperties" => match value {
                    Json::Object(p) => patterns = Some(p),
                    _ => self.problem("\"patternProperties\" must be an object".to_string()),
                },
                "$ref" | "$dynamicRef" | "$recursiveRef" => match value {
                    Json::String(s) => {
                        let r = self.reference(s, &base);
                        frags.push(r);
                    }
                    _ => self.problem(format!("\"{key}\" must be a string")),
                },
                "const" => frags.push(Node::new(Kind::Const(value.clone()))),
                "enum" => match value {
                    Json::Array(values) => frags.push(Node::new(Kind::Enum(values.clone()))),
                    _ => self.problem("\"enum\" must be an array".to_string()),
                },
                "type" => match value {
                    Json::String(t) => {
                        if let Some(n) = self.modern_type(t) {
                            frags.push(n);
                        }
                    }
                    Json::Array(ts) => {
                        let mut subschemas = Vec::new();
                        for t in ts {
                            match t.as_str().and_then(|t| self.modern_type(t)) {
                                Some(n) => subschemas.push(self.push(n)),
                                None => self.problem("invalid \"type\" entry".to_string()),
                            }
                        }
                        frags.push(Node::new(Kind::Combined {
                            criterion: Criterion::AnyOf,
                            subschemas,
                            synthetic: true,
                        }));
                    }
                    _ => self.problem("\"type\" must be a string or an array".to_string()),
                },
                "not" => {
                    let inner = self.child(value, &base);
                    frags.push(Node::new(Kind::Not(inner)));
                }
                "required" => {
                    let required = self.string_list(value, "required");
                    frags.push(Node::new(Kind::Object(Box::new(ObjectKeywords {
                        required,
                        ..ObjectKeywords::default()
                    }))));
                }
                "maximum" | "minimum" | "exclusiveMaximum" | "exclusiveMinimum" | "multipleOf" => {
                    let d = self.number_keyword(m, key);
                    let mut kw = NumberKeywords::default();
                    match key.as_str() {
                        "maximum" => kw.maximum = d,
                        "minimum" => kw.minimum = d,
                        "exclusiveMaximum" => kw.exclusive_maximum = d,
                        "exclusiveMinimum" => kw.exclusive_minimum = d,
                        _ => kw.multiple_of = d,
                    }
                    frags.push(Node::new(Kind::Number(kw)));
                }
                "uniqueItems" => match value {
                    Json::Bool(b) => frags.push(Node::new(Kind::Array(Box::new(ArrayKeywords {
                        unique_items: *b,
                        ..ArrayKeywords::default()
                    })))),
                    _ => self.problem("\"uniqueItems\" must be a boolean".to_string()),
                },
                "items" => {
                    let mut kw = ArrayKeywords::default();
                    if let Json::Array(items) = value {
                        // 2019-09 tuple form.
                        kw.item_schemas =
                            Some(items.iter().map(|i| self.child(i, &base)).collect());
                    } else {
                        let child = self.build_modern(value, &base, false);
                        match child.kind {
                            Kind::False => kw.additional_items = false,
                            Kind::True => {}
                            _ if prefix_count == 0 => kw.all_items = Some(self.push(child)),
                            _ => kw.additional_items_schema = Some(self.push(child)),
                        }
                    }
                    frags.push(Node::new(Kind::Array(Box::new(kw))));
                }
                "additionalItems" => {
                    let child = self.build_modern(value, &base, false);
                    let mut kw = ArrayKeywords::default();
                    match child.kind {
                        Kind::False => kw.additional_items = false,
                        Kind::True => {}
                        _ => kw.additional_items_schema = Some(self.push(child)),
                    }
                    frags.push(Node::new(Kind::Array(Box::new(kw))));
                }
                "prefixItems" => match value {
                    Json::Array(items) => {
                        let ids = items.iter().map(|i| self.child(i, &base)).collect();
                        frags.push(Node::new(Kind::Array(Box::new(ArrayKeywords {
                            item_schemas: Some(ids),
                            ..ArrayKeywords::default()
                        }))));
                    }
                    _ => self.problem("\"prefixItems\" must be an array".to_string()),
                },
                "contains" => {
                    let contains = self.child(value, &base);
                    let mut node = Node::new(Kind::Array(Box::new(ArrayKeywords {
                        contains: Some(contains),
                        ..ArrayKeywords::default()
                    })));
                    let min = match get(m, "minContains") {
                        Some(v @ Json::Number(_)) => v.clone(),
                        _ => one_json(),
                    };
                    node.unprocessed
                        .push(("minContains".to_string(), Extra::Json(min)));
                    if let Some(v @ Json::Number(_)) = get(m, "maxContains") {
                        node.unprocessed
                            .push(("maxContains".to_string(), Extra::Json(v.clone())));
                    }
                    frags.push(node);
                }
                "if" => {
                    let if_schema = Some(self.child(value, &base));
                    let then_schema = get(m, "then").map(|v| self.child(v, &base));
                    let else_schema = get(m, "else").map(|v| self.child(v, &base));
                    frags.push(Node::new(Kind::Conditional {
                        if_schema,
                        then_schema,
                        else_schema,
                    }));
                }
                "dependentSchemas" => match value {
                    Json::Object(deps) => {
                        let mut kw = ObjectKeywords::default();
                        for (name, dep) in deps {
                            let id = self.child(dep, &base);
                            set_entry(&mut kw.schema_dependencies, name, id);
                        }
                        frags.push(Node::new(Kind::Object(Box::new(kw))));
                    }
                    _ => self.problem("\"dependentSchemas\" must be an object".to_string()),
                },
                "dependentRequired" => match value {
                    Json::Object(deps) => {
                        let mut kw = ObjectKeywords::default();
                        for (name, dep) in deps {
                            let list = dedup(self.string_list(dep, "dependentRequired"));
                            set_entry(&mut kw.property_dependencies, name, list);
                        }
                        frags.push(Node::new(Kind::Object(Box::new(kw))));
                    }
                    _ => self.problem("\"dependentRequired\" must be an object".to_string()),
                },
                "minItems" | "maxItems" => {
                    let d = self.integer_keyword(m, key);
                    let mut kw = ArrayKeywords::default();
                    if key == "minItems" {
                        kw.min_items = d;
                    } else {
                        kw.max_items = d;
                    }
                    frags.push(Node::new(Kind::Array(Box::new(kw))));
                }
                "minProperties" | "maxProperties" => {
                    let d = self.integer_keyword(m, key);
                    let mut kw = ObjectKeywords::default();
                    if key == "minProperties" {
                        kw.min_properties = d;
                    } else {
                        kw.max_properties = d;
                    }
                    frags.push(Node::new(Kind::Object(Box::new(kw))));
                }
                "unevaluatedItems" => unevaluated_items = Some(value),
                "unevaluatedProperties" => unevaluated_properties = Some(value),
                "propertyNames" => {
                    let pn = self.child(value, &base);
                    frags.push(Node::new(Kind::Object(Box::new(ObjectKeywords {
                        property_names: Some(pn),
                        ..ObjectKeywords::default()
                    }))));
                }
                "$defs" => {
                    if matches!(value, Json::Object(d) if !d.is_empty()) {
                        unknown.push((key.clone(), Extra::Json(value.clone())));
                    }
                }
                k if KNOWN_MODERN.contains(&k) => {}
                _ => unknown.push((key.clone(), Extra::Json(value.clone()))),
            }
        }
        // visitChildren: the keyword fragments, folded.
        let mut acc: Option<Node> = None;
        for frag in frags {
            acc = Some(match acc {
                None => frag,
                Some(prev) => self.join(prev, frag, None),
            });
        }
        let mut acc = acc.unwrap_or_else(|| generated_all(Vec::new()));
        if let Some(props) = properties {
            let mut props_acc: Option<Node> = None;
            for (name, schema) in props {
                let id = self.child(schema, &base);
                let frag = Node::new(Kind::Object(Box::new(ObjectKeywords {
                    properties: vec![(name.clone(), id)],
                    ..ObjectKeywords::default()
                })));
                props_acc = Some(match props_acc {
                    None => frag,
                    Some(prev) => self.join(prev, frag, None),
                });
            }
            if let Some(p) = props_acc {
                acc = self.join(acc, p, None);
            }
        }
        if let Some(pats) = patterns {
            let mut pats_acc: Option<Node> = None;
            for (pattern, schema) in pats {
                self.compile_pattern(pattern);
                let id = self.child(schema, &base);
                let frag = Node::new(Kind::Object(Box::new(ObjectKeywords {
                    pattern_properties: vec![(pattern.clone(), id)],
                    ..ObjectKeywords::default()
                })));
                pats_acc = Some(match pats_acc {
                    None => frag,
                    Some(prev) => self.join(prev, frag, None),
                });
            }
            if let Some(p) = pats_acc {
                acc = self.join(acc, p, None);
            }
        }
        if let Some(ui) = unevaluated_items {
            let id = self.child(ui, &base);
            let mut frag = Node::new(Kind::Array(Box::default()));
            frag.unprocessed
                .push(("unevaluatedItems".to_string(), Extra::Schema(id)));
            acc = self.join(acc, frag, None);
        }
        if let Some(up) = unevaluated_properties {
            let id = self.child(up, &base);
            let mut frag = Node::new(Kind::Object(Box::default()));
            frag.unprocessed
                .push(("unevaluatedProperties".to_string(), Extra::Schema(id)));
            acc = self.join(acc, frag, None);
        }
        // visitCompositeSchema: unwrap a generated allOf of zero or one schema.
        let mut node = match acc.kind {
            Kind::Combined {
                criterion: Criterion::AllOf,
                ref subschemas,
                synthetic: true,
            } if subschemas.len() <= 1 => match subschemas.first() {
                None => Node::new(Kind::Empty),
                Some(only) => self.nodes[*only].clone(),
            },
            _ => acc,
        };
        if !is_root {
            if let Some(Json::String(id)) = get(m, "$id") {
                node.id = Some(id.clone());
            }
        }
        if let Some(Json::String(s)) = get(m, "title") {
            node.title = Some(s.clone());
        }
        if let Some(Json::String(s)) = get(m, "description") {
            node.description = Some(s.clone());
        }
        if let Some(v) = get(m, "default") {
            node.default = Some(v.clone());
        }
        if !unknown.is_empty() {
            node.unprocessed = unknown;
        }
        node
    }

    fn modern_type(&mut self, name: &str) -> Option<Node> {
        let kind = match name {
            "string" => Kind::String(StringKeywords {
                requires_string: true,
                ..StringKeywords::default()
            }),
            "integer" => Kind::Number(NumberKeywords {
                requires_number: true,
                requires_integer: true,
                ..NumberKeywords::default()
            }),
            "number" => Kind::Number(NumberKeywords {
                requires_number: true,
                ..NumberKeywords::default()
            }),
            "boolean" => Kind::Boolean,
            "null" => Kind::Null,
            "array" => Kind::Array(Box::new(ArrayKeywords {
                requires_array: true,
                ..ArrayKeywords::default()
            })),
            "object" => Kind::Object(Box::new(ObjectKeywords {
                requires_object: true,
                ..ObjectKeywords::default()
            })),
            other => {
                self.problem(format!("unknown type: [{other}]"));
                return None;
            }
        };
        Some(Node::new(kind))
    }

    /// Adds a translated child to a combination's list, unwrapping a generated `allOf`.
    fn flatten_into(&mut self, node: Node, out: &mut Vec<NodeId>) {
        match node.kind {
            Kind::Combined {
                criterion: Criterion::AllOf,
                subschemas,
                synthetic: true,
            } => out.extend(subschemas),
            _ => out.push(self.push(node)),
        }
    }

    fn flatten(&mut self, node: Node) -> Vec<NodeId> {
        let mut out = Vec::new();
        self.flatten_into(node, &mut out);
        out
    }

    /// `SchemaTranslator.SchemaContext.join` for two keyword fragments of one object.
    fn join(&mut self, prev: Node, cur: Node, _parent: Option<Criterion>) -> Node {
        if same_mergeable_class(&prev.kind, &cur.kind) {
            return merge(prev, cur);
        }
        if let Some(subs) = generated_any_subs(&prev) {
            if subs
                .iter()
                .any(|s| same_class(&self.nodes[*s].kind, &cur.kind))
            {
                let list = self.accumulate(subs.to_vec(), cur);
                return Node::new(Kind::Combined {
                    criterion: Criterion::AnyOf,
                    subschemas: list,
                    synthetic: true,
                });
            }
        }
        if let Some(subs) = generated_any_subs(&cur) {
            if subs
                .iter()
                .any(|s| same_class(&self.nodes[*s].kind, &prev.kind))
            {
                let list = self.accumulate(subs.to_vec(), prev);
                return Node::new(Kind::Combined {
                    criterion: Criterion::AnyOf,
                    subschemas: list,
                    synthetic: true,
                });
            }
        }
        let mut list = self.flatten(prev);
        list.extend(self.flatten(cur));
        let mut merged: Vec<NodeId> = Vec::new();
        for id in list {
            let node = self.nodes[id].clone();
            merged = self.accumulate(merged, node);
        }
        generated_all(merged)
    }

    /// Merges `cur` into the first schema of the same mergeable class, else appends it.
    fn accumulate(&mut self, mut list: Vec<NodeId>, cur: Node) -> Vec<NodeId> {
        for slot in list.iter_mut() {
            let existing = &self.nodes[*slot];
            if same_mergeable_class(&existing.kind, &cur.kind) {
                let merged = merge(existing.clone(), cur);
                *slot = self.push(merged);
                return list;
            }
        }
        list.push(self.push(cur));
        list
    }
}

fn generated_all(subschemas: Vec<NodeId>) -> Node {
    Node::new(Kind::Combined {
        criterion: Criterion::AllOf,
        subschemas,
        synthetic: true,
    })
}

fn generated_any_subs(node: &Node) -> Option<&[NodeId]> {
    match &node.kind {
        Kind::Combined {
            criterion: Criterion::AnyOf,
            subschemas,
            synthetic: true,
        } => Some(subschemas),
        _ => None,
    }
}

fn same_class(a: &Kind, b: &Kind) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn same_mergeable_class(a: &Kind, b: &Kind) -> bool {
    matches!(
        (a, b),
        (Kind::Array(_), Kind::Array(_))
            | (Kind::Number(_), Kind::Number(_))
            | (Kind::Object(_), Kind::Object(_))
            | (Kind::String(_), Kind::String(_))
    )
}

fn set_entry<T>(list: &mut Vec<(String, T)>, key: &str, value: T) {
    if let Some(slot) = list.iter_mut().find(|(k, _)| k == key) {
        slot.1 = value;
    } else {
        list.push((key.to_string(), value));
    }
}

fn dedup(list: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in list {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// `SchemaUtils.merge(toBuilder(prev), cur)`: `cur`'s values win, flags are or-ed, maps and
/// lists are united, and the unprocessed properties are `cur`'s.
fn merge(prev: Node, cur: Node) -> Node {
    let kind = match (prev.kind, cur.kind) {
        (Kind::String(a), Kind::String(b)) => Kind::String(StringKeywords {
            requires_string: a.requires_string || b.requires_string,
            min_length: b.min_length.or(a.min_length),
            max_length: b.max_length.or(a.max_length),
            pattern: b.pattern.or(a.pattern),
            format: b.format.or(a.format),
        }),
        (Kind::Number(a), Kind::Number(b)) => Kind::Number(NumberKeywords {
            requires_number: a.requires_number || b.requires_number,
            requires_integer: a.requires_integer || b.requires_integer,
            minimum: b.minimum.or(a.minimum),
            maximum: b.maximum.or(a.maximum),
            exclusive_minimum: b.exclusive_minimum.or(a.exclusive_minimum),
            exclusive_maximum: b.exclusive_maximum.or(a.exclusive_maximum),
            multiple_of: b.multiple_of.or(a.multiple_of),
        }),
        (Kind::Object(a), Kind::Object(b)) => {
            let mut kw = *a;
            let b = *b;
            kw.requires_object |= b.requires_object;
            for (k, v) in b.properties {
                set_entry(&mut kw.properties, &k, v);
            }
            for (k, v) in b.pattern_properties {
                set_entry(&mut kw.pattern_properties, &k, v);
            }
            kw.additional_properties &= b.additional_properties;
            kw.additional_properties_schema = b
                .additional_properties_schema
                .or(kw.additional_properties_schema);
            kw.required.extend(b.required);
            kw.min_properties = b.min_properties.or(kw.min_properties);
            kw.max_properties = b.max_properties.or(kw.max_properties);
            for (k, v) in b.property_dependencies {
                if let Some(slot) = kw.property_dependencies.iter_mut().find(|(x, _)| *x == k) {
                    for d in v {
                        if !slot.1.contains(&d) {
                            slot.1.push(d);
                        }
                    }
                } else {
                    kw.property_dependencies.push((k, v));
                }
            }
            for (k, v) in b.schema_dependencies {
                set_entry(&mut kw.schema_dependencies, &k, v);
            }
            kw.property_names = b.property_names.or(kw.property_names);
            Kind::Object(Box::new(kw))
        }
        (Kind::Array(a), Kind::Array(b)) => {
            let mut kw = *a;
            let b = *b;
            kw.requires_array |= b.requires_array;
            kw.min_items = b.min_items.or(kw.min_items);
            kw.max_items = b.max_items.or(kw.max_items);
            kw.unique_items |= b.unique_items;
            kw.all_items = b.all_items.or(kw.all_items);
            if let Some(items) = b.item_schemas {
                kw.item_schemas.get_or_insert_with(Vec::new).extend(items);
            }
            kw.additional_items &= b.additional_items;
            kw.additional_items_schema = b.additional_items_schema.or(kw.additional_items_schema);
            kw.contains = b.contains.or(kw.contains);
            Kind::Array(Box::new(kw))
        }
        (a, _) => a,
    };
    Node {
        kind,
        id: cur.id.or(prev.id),
        title: cur.title.or(prev.title),
        description: cur.description.or(prev.description),
        default: cur.default.or(prev.default),
        unprocessed: cur.unprocessed,
    }
}
