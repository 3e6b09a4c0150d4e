//! A fast path for validating typed values: checks a `serde::Serialize` value against the
//! common part of JSON Schema while serde walks it, without building a `serde_json::Value`.
//!
//! A validating JSON serializer would otherwise turn every value into a `Value` (an `IndexMap`
//! per object, a `String` per key), validate that, and write it: building the `Value` is more
//! than half of the time (BENCHMARKS.md, "SerDe per record"). A [`Plan`] is compiled once per
//! schema; checking a value with it allocates nothing.
//!
//! **The contract is one-sided.** [`Verdict::Valid`] is given only when the `jsonschema`
//! validator certainly accepts `serde_json::to_value(value)`, and [`Verdict::Invalid`] only
//! when it certainly rejects it (`not` and `oneOf` need certain answers). Everything the plan
//! does not model exactly is [`Verdict::Unsure`]: keywords such as `pattern`, `format` (on
//! strings), `multipleOf`, `patternProperties`, `if`/`then`/`else`, references to other
//! documents, draft 4; values such as floats checked against `integer`, `i128`, byte strings,
//! data-carrying enum variants. Callers treat anything but `Valid` by running the full
//! validator, which also words the error.
//!
//! How serde values become JSON is serde_json's `to_value`: `None` and unit are `null`, unit
//! variants strings, non-finite floats `null`, newtypes their content.

use std::cell::Cell;
use std::cmp::Ordering;

use serde::ser::{self, Serialize};
use serde_json::{Map, Number, Value};

use super::Draft;

/// What a check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The validator certainly accepts the value.
    Valid,
    /// The validator certainly rejects the value.
    Invalid,
    /// The plan cannot tell; run the validator.
    Unsure,
}

impl Verdict {
    /// Both must hold: a certain failure wins over doubt.
    fn and(self, other: Verdict) -> Verdict {
        match (self, other) {
            (Verdict::Invalid, _) | (_, Verdict::Invalid) => Verdict::Invalid,
            (Verdict::Unsure, _) | (_, Verdict::Unsure) => Verdict::Unsure,
            _ => Verdict::Valid,
        }
    }
}

/// Values nested deeper than this are left to the validator.
const MAX_DEPTH: u32 = 64;
/// How many schema nodes one check may visit: combinators over recursive references could
/// otherwise branch exponentially before the depth bound. Past it the answer is `Unsure`.
const FUEL: u32 = 4096;
/// Objects with more required names than fit the bit set are left to the validator.
const MAX_REQUIRED: usize = 64;

/// Keywords that constrain instances in some draft and that the plan does not model: a node
/// using one is `Unsure` when reached. Every other keyword the plan does not know is an
/// annotation (`title`, `default`, `connect.type`, ...) and ignored, as the validator does.
const UNMODELLED: &[&str] = &[
    "multipleOf",
    "maxContains",
    "minContains",
    "maxProperties",
    "minProperties",
    "dependentRequired",
    "additionalItems",
    "prefixItems",
    "contains",
    "patternProperties",
    "propertyNames",
    "dependencies",
    "dependentSchemas",
    "unevaluatedItems",
    "unevaluatedProperties",
    "if",
    "then",
    "else",
    "$dynamicRef",
    "$recursiveRef",
    "extends",
    "disallow",
    "divisibleBy",
];

/// Keywords that only constrain strings and that the plan does not model: strings reaching a
/// node with one are `Unsure` (other instance types pass them, as in the validator).
const STRING_ONLY: &[&str] = &[
    "pattern",
    "format",
    "contentEncoding",
    "contentMediaType",
    "contentSchema",
];

/// Keywords that change how references resolve: a schema with one anywhere but as the root's
/// `$id` gets no plan.
const RESOLUTION: &[&str] = &[
    "$id",
    "$anchor",
    "$dynamicAnchor",
    "$recursiveAnchor",
    "$vocabulary",
];

const NULL: u8 = 1;
const BOOLEAN: u8 = 1 << 1;
const OBJECT: u8 = 1 << 2;
const ARRAY: u8 = 1 << 3;
const NUMBER: u8 = 1 << 4;
const INTEGER: u8 = 1 << 5;
const STRING: u8 = 1 << 6;
const ANY: u8 = u8::MAX;

/// What `additionalProperties` says about names outside `properties`.
#[derive(Debug, Clone, Copy)]
enum Additional {
    Any,
    Deny,
    Schema(usize),
}

/// A name of `properties` or `required`.
#[derive(Debug)]
struct Name {
    name: Box<str>,
    /// The property's schema, when it has one.
    schema: Option<usize>,
    /// Its bit in the required set, when required.
    required: Option<u32>,
}

/// One compiled schema object.
#[derive(Debug)]
struct Node {
    /// A boolean schema, or a node whose keywords the plan does not model.
    fixed: Option<Verdict>,
    /// Whether the keywords below constrain anything (else the serde walk is skipped).
    has_own: bool,
    types: u8,
    /// `enum` and `const` (one member) lists.
    enums: Vec<Vec<Value>>,
    minimum: Option<Number>,
    maximum: Option<Number>,
    exclusive_minimum: Option<Number>,
    exclusive_maximum: Option<Number>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    strings_unsure: bool,
    items: Option<usize>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    names: Vec<Name>,
    required_mask: u64,
    additional: Additional,
    all_of: Vec<usize>,
    any_of: Option<Vec<usize>>,
    one_of: Option<Vec<usize>>,
    not: Option<usize>,
}

impl Node {
    fn fixed(v: Verdict) -> Node {
        Node {
            fixed: Some(v),
            has_own: false,
            types: ANY,
            enums: Vec::new(),
            minimum: None,
            maximum: None,
            exclusive_minimum: None,
            exclusive_maximum: None,
            min_length: None,
            max_length: None,
            strings_unsure: false,
            items: None,
            min_items: None,
            max_items: None,
            names: Vec::new(),
            required_mask: 0,
            additional: Additional::Any,
            all_of: Vec::new(),
            any_of: None,
            one_of: None,
            not: None,
        }
    }
}

/// A schema compiled for [`Plan::check`].
#[derive(Debug)]
pub(crate) struct Plan {
    nodes: Vec<Node>,
}

/// Whether the schema could not be compiled (the caller then always validates fully).
struct NoPlan;

impl Plan {
    /// Compiles `root` (a whole schema document of `draft`). `None` when the schema uses
    /// resolution keywords below the root or is a draft 4 schema; a node the plan cannot
    /// model is compiled as `Unsure` instead.
    pub(crate) fn compile(root: &Value, draft: Draft) -> Option<Plan> {
        if draft == Draft::Draft4 || !resolution_free(root, true) {
            return None;
        }
        let mut c = Compiler {
            root,
            siblings_with_ref: matches!(draft, Draft::Draft201909 | Draft::Draft202012),
            nodes: Vec::new(),
            depth: 0,
            by_pointer: Vec::new(),
        };
        c.compile(root, "").ok()?;
        Some(Plan { nodes: c.nodes })
    }

    /// Checks `value` as serde_json would represent it.
    pub(crate) fn check<T: Serialize + ?Sized>(&self, value: &T) -> Verdict {
        self.check_node(0, value, 0, &Cell::new(FUEL))
    }

    fn check_node<T: Serialize + ?Sized>(
        &self,
        id: usize,
        value: &T,
        depth: u32,
        fuel: &Cell<u32>,
    ) -> Verdict {
        let node = &self.nodes[id];
        if let Some(v) = node.fixed {
            return v;
        }
        if depth > MAX_DEPTH || fuel.get() == 0 {
            return Verdict::Unsure;
        }
        fuel.set(fuel.get() - 1);
        let mut verdict = Verdict::Valid;
        if node.has_own {
            verdict = match value.serialize(Walker {
                plan: self,
                node,
                depth,
                fuel,
            }) {
                Ok(()) => Verdict::Valid,
                Err(Stop(v)) => v,
            };
            if verdict == Verdict::Invalid {
                return verdict;
            }
        }
        for &s in &node.all_of {
            verdict = verdict.and(self.check_node(s, value, depth + 1, fuel));
            if verdict == Verdict::Invalid {
                return verdict;
            }
        }
        if let Some(branches) = &node.any_of {
            let mut any = Verdict::Invalid;
            for &b in branches {
                match self.check_node(b, value, depth + 1, fuel) {
                    Verdict::Valid => {
                        any = Verdict::Valid;
                        break;
                    }
                    Verdict::Unsure => any = Verdict::Unsure,
                    Verdict::Invalid => {}
                }
            }
            verdict = verdict.and(any);
        }
        if let Some(branches) = &node.one_of {
            let mut valid = 0;
            let mut unsure = false;
            for &b in branches {
                match self.check_node(b, value, depth + 1, fuel) {
                    Verdict::Valid => valid += 1,
                    Verdict::Unsure => unsure = true,
                    Verdict::Invalid => {}
                }
            }
            let one = match (valid, unsure) {
                (n, _) if n > 1 => Verdict::Invalid,
                (_, true) => Verdict::Unsure,
                (1, false) => Verdict::Valid,
                _ => Verdict::Invalid,
            };
            verdict = verdict.and(one);
        }
        if let Some(n) = node.not {
            let not = match self.check_node(n, value, depth + 1, fuel) {
                Verdict::Valid => Verdict::Invalid,
                Verdict::Invalid => Verdict::Valid,
                Verdict::Unsure => Verdict::Unsure,
            };
            verdict = verdict.and(not);
        }
        verdict
    }
}

/// Whether the schema `v` is free of resolution keywords (other than the root's `$id`). Walks
/// schema positions only, so a property *named* `$id` does not count; unknown keywords whose
/// values look like schemas are walked too (over-approximating is safe).
fn resolution_free(v: &Value, is_root: bool) -> bool {
    let Value::Object(m) = v else { return true };
    m.iter().all(|(k, child)| match k.as_str() {
        "$id" if is_root => true,
        k if RESOLUTION.contains(&k) => false,
        "properties" | "patternProperties" | "definitions" | "$defs" | "dependentSchemas"
        | "dependencies" => match child {
            Value::Object(named) => named.values().all(|s| resolution_free(s, false)),
            _ => true,
        },
        // Instances, not schemas.
        "enum" | "const" | "default" | "examples" | "required" => true,
        _ => match child {
            Value::Object(_) => resolution_free(child, false),
            Value::Array(list) => list.iter().all(|s| resolution_free(s, false)),
            _ => true,
        },
    })
}

struct Compiler<'a> {
    root: &'a Value,
    /// 2019-09 and later apply a `$ref`'s sibling keywords; earlier drafts ignore them.
    siblings_with_ref: bool,
    nodes: Vec<Node>,
    /// How deep `compile` is nested.
    depth: u32,
    /// `(JSON pointer, node)` of every compiled `$ref` target (recursive schemas end here).
    by_pointer: Vec<(String, usize)>,
}

impl<'a> Compiler<'a> {
    /// Compiles the schema `v` found at `pointer` into a new node; returns its index.
    fn compile(&mut self, v: &'a Value, pointer: &str) -> Result<usize, NoPlan> {
        if self.nodes.len() > 10_000 {
            return Err(NoPlan);
        }
        let id = self.nodes.len();
        self.nodes.push(Node::fixed(Verdict::Unsure));
        self.by_pointer.push((pointer.to_string(), id));
        // A chain of references could otherwise nest this recursion as deep as the schema
        // has nodes (schemas come from the registry, not from us); deeper nodes stay Unsure.
        if self.depth >= MAX_DEPTH {
            return Ok(id);
        }
        self.depth += 1;
        let node = match v {
            Value::Bool(true) => Node::fixed(Verdict::Valid),
            Value::Bool(false) => Node::fixed(Verdict::Invalid),
            Value::Object(m) => self.object(m, pointer)?,
            _ => Node::fixed(Verdict::Unsure),
        };
        self.depth -= 1;
        self.nodes[id] = node;
        Ok(id)
    }

    fn object(&mut self, m: &'a Map<String, Value>, pointer: &str) -> Result<Node, NoPlan> {
        let unsure = Ok(Node::fixed(Verdict::Unsure));
        let mut node = Node::fixed(Verdict::Valid);
        node.fixed = None;
        if let Some(r) = m.get("$ref") {
            let Some(target) = r.as_str().and_then(|r| self.reference(r)) else {
                return unsure;
            };
            node.all_of.push(target?);
            if !self.siblings_with_ref {
                return Ok(node);
            }
        }
        for (k, v) in m {
            let at = |key: &str| format!("{pointer}/{}", escape(key));
            match k.as_str() {
                "$ref" => {}
                "type" => match types(v) {
                    Some(t) => node.types = t,
                    None => return unsure,
                },
                "enum" => match v.as_array() {
                    Some(members) => node.enums.push(members.clone()),
                    None => return unsure,
                },
                "const" => node.enums.push(vec![v.clone()]),
                "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => {
                    let Value::Number(n) = v else { return unsure };
                    let slot = match k.as_str() {
                        "minimum" => &mut node.minimum,
                        "maximum" => &mut node.maximum,
                        "exclusiveMinimum" => &mut node.exclusive_minimum,
                        _ => &mut node.exclusive_maximum,
                    };
                    *slot = Some(n.clone());
                }
                "minLength" | "maxLength" | "minItems" | "maxItems" => {
                    let Some(n) = v.as_u64() else { return unsure };
                    let slot = match k.as_str() {
                        "minLength" => &mut node.min_length,
                        "maxLength" => &mut node.max_length,
                        "minItems" => &mut node.min_items,
                        _ => &mut node.max_items,
                    };
                    *slot = Some(n);
                }
                "uniqueItems" if v != &Value::Bool(false) => return unsure,
                "uniqueItems" => {}
                "items" => {
                    if !(v.is_object() || v.is_boolean()) {
                        return unsure;
                    }
                    node.items = Some(self.compile(v, &at("items"))?);
                }
                "properties" => {
                    let Some(props) = v.as_object() else {
                        return unsure;
                    };
                    for (name, schema) in props {
                        let s = self
                            .compile(schema, &format!("{}/{}", at("properties"), escape(name)))?;
                        name_entry(&mut node.names, name).schema = Some(s);
                    }
                }
                "required" => {
                    let Some(names) = v.as_array() else {
                        return unsure;
                    };
                    for name in names {
                        let Some(name) = name.as_str() else {
                            return unsure;
                        };
                        let bit = node.required_mask.count_ones();
                        let e = name_entry(&mut node.names, name);
                        if e.required.is_none() {
                            if bit as usize >= MAX_REQUIRED {
                                return unsure;
                            }
                            e.required = Some(bit);
                            node.required_mask |= 1 << bit;
                        }
                    }
                }
                "additionalProperties" => {
                    node.additional = match v {
                        Value::Bool(true) => Additional::Any,
                        Value::Bool(false) => Additional::Deny,
                        Value::Object(_) => {
                            Additional::Schema(self.compile(v, &at("additionalProperties"))?)
                        }
                        _ => return unsure,
                    };
                }
                "allOf" | "anyOf" | "oneOf" => {
                    let Some(list) = v.as_array().filter(|l| !l.is_empty()) else {
                        return unsure;
                    };
                    let mut ids = Vec::with_capacity(list.len());
                    for (i, s) in list.iter().enumerate() {
                        ids.push(self.compile(s, &format!("{}/{i}", at(k)))?);
                    }
                    match k.as_str() {
                        "allOf" => node.all_of.extend(ids),
                        "anyOf" => node.any_of = Some(ids),
                        _ => node.one_of = Some(ids),
                    }
                }
                "not" => node.not = Some(self.compile(v, &at("not"))?),
                k if STRING_ONLY.contains(&k) => node.strings_unsure = true,
                k if UNMODELLED.contains(&k) => return unsure,
                _ => {} // an annotation
            }
        }
        node.has_own = node.types != ANY
            || !node.enums.is_empty()
            || node.minimum.is_some()
            || node.maximum.is_some()
            || node.exclusive_minimum.is_some()
            || node.exclusive_maximum.is_some()
            || node.min_length.is_some()
            || node.max_length.is_some()
            || node.strings_unsure
            || node.items.is_some()
            || node.min_items.is_some()
            || node.max_items.is_some()
            || !node.names.is_empty()
            || !matches!(node.additional, Additional::Any);
        Ok(node)
    }

    /// The node of a `$ref` into this document (`#` or a `#/...` JSON pointer); `None` for
    /// references the plan does not follow (other documents, anchors).
    fn reference(&mut self, r: &str) -> Option<Result<usize, NoPlan>> {
        let pointer = r.strip_prefix('#')?;
        if !(pointer.is_empty() || pointer.starts_with('/')) {
            return None;
        }
        let pointer = percent_decode(pointer)?;
        if let Some((_, id)) = self.by_pointer.iter().find(|(p, _)| *p == pointer) {
            return Some(Ok(*id));
        }
        let target = self.root.pointer(&pointer)?;
        Some(self.compile(target, &pointer))
    }
}

fn name_entry<'n>(names: &'n mut Vec<Name>, name: &str) -> &'n mut Name {
    let i = match names.iter().position(|n| &*n.name == name) {
        Some(i) => i,
        None => {
            names.push(Name {
                name: name.into(),
                schema: None,
                required: None,
            });
            names.len() - 1
        }
    };
    &mut names[i]
}

/// A JSON pointer token for `key` (`~` and `/` escaped).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Decodes `%XX` escapes of a URI fragment; `None` when malformed.
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn types(v: &Value) -> Option<u8> {
    let one = |t: &Value| match t.as_str()? {
        "null" => Some(NULL),
        "boolean" => Some(BOOLEAN),
        "object" => Some(OBJECT),
        "array" => Some(ARRAY),
        "number" => Some(NUMBER),
        "integer" => Some(INTEGER),
        "string" => Some(STRING),
        _ => None,
    };
    match v {
        Value::Array(list) => list.iter().try_fold(0, |acc, t| Some(acc | one(t)?)),
        t => one(t),
    }
}

/// A number as serde_json holds it.
#[derive(Debug, Clone, Copy)]
enum Num {
    I(i64),
    U(u64),
    F(f64),
}

impl Num {
    fn of(n: &Number) -> Option<Num> {
        if let Some(u) = n.as_u64() {
            Some(Num::U(u))
        } else if let Some(i) = n.as_i64() {
            Some(Num::I(i))
        } else {
            n.as_f64().map(Num::F)
        }
    }

    fn int(self) -> Option<i128> {
        match self {
            Num::I(i) => Some(i128::from(i)),
            Num::U(u) => Some(i128::from(u)),
            Num::F(_) => None,
        }
    }

    /// Exact numeric comparison (1 == 1.0; no rounding of large integers through f64).
    fn cmp(self, other: Num) -> Option<Ordering> {
        match (self.int(), other.int(), self, other) {
            (Some(a), Some(b), _, _) => Some(a.cmp(&b)),
            (Some(a), None, _, Num::F(f)) => int_vs_float(a, f),
            (None, Some(b), Num::F(f), _) => int_vs_float(b, f).map(Ordering::reverse),
            (_, _, Num::F(a), Num::F(b)) => a.partial_cmp(&b),
            _ => None,
        }
    }
}

/// Compares an integer (|i| < 2^64) with a float, exactly.
fn int_vs_float(i: i128, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f >= 1e20 {
        return Some(Ordering::Less);
    }
    if f <= -1e20 {
        return Some(Ordering::Greater);
    }
    let floor = f.floor();
    // Exact: |floor| < 1e20 fits an i128 and is an integer.
    match i.cmp(&(floor as i128)) {
        Ordering::Equal if floor == f => Some(Ordering::Equal),
        Ordering::Equal => Some(Ordering::Less),
        o => Some(o),
    }
}

/// A scalar the walker met, for `enum`/`const`.
#[derive(Debug, Clone, Copy)]
enum Scalar<'v> {
    Null,
    Bool(bool),
    Num(Num),
    Str(&'v str),
}

impl Scalar<'_> {
    /// Whether the JSON value `member` equals this scalar; `None` when unsure.
    fn equals(self, member: &Value) -> Option<bool> {
        Some(match (self, member) {
            (Scalar::Null, Value::Null) => true,
            (Scalar::Bool(a), Value::Bool(b)) => a == *b,
            (Scalar::Str(a), Value::String(b)) => a == b,
            (Scalar::Num(a), Value::Number(b)) => a.cmp(Num::of(b)?)? == Ordering::Equal,
            _ => false,
        })
    }
}

/// Why a walk stopped: a certain failure or doubt.
#[derive(Debug)]
struct Stop(Verdict);

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::error::Error for Stop {}

impl ser::Error for Stop {
    /// The value's own `Serialize` failed: the full path reports it.
    fn custom<M: std::fmt::Display>(_msg: M) -> Self {
        Stop(Verdict::Unsure)
    }
}

const INVALID: Stop = Stop(Verdict::Invalid);
const UNSURE: Stop = Stop(Verdict::Unsure);

fn require(ok: bool) -> Result<(), Stop> {
    if ok {
        Ok(())
    } else {
        Err(INVALID)
    }
}

fn verdict(v: Verdict) -> Result<(), Stop> {
    match v {
        Verdict::Valid => Ok(()),
        v => Err(Stop(v)),
    }
}

/// Checks one value against one node's own keywords (not its `allOf`/`anyOf`/... lists).
struct Walker<'p> {
    plan: &'p Plan,
    node: &'p Node,
    depth: u32,
    fuel: &'p Cell<u32>,
}

impl Walker<'_> {
    fn of_type(&self, t: u8) -> Result<(), Stop> {
        require(self.node.types & t != 0)
    }

    fn enums(&self, s: Scalar<'_>) -> Result<(), Stop> {
        for members in &self.node.enums {
            let mut found = false;
            for m in members {
                match s.equals(m) {
                    Some(true) => {
                        found = true;
                        break;
                    }
                    Some(false) => {}
                    None => return Err(UNSURE),
                }
            }
            require(found)?;
        }
        Ok(())
    }

    /// `enum`/`const` for an array or object: certainly invalid when a list has only scalar
    /// members (no scalar equals it), unsure when every list has a compound one.
    fn enums_compound(&self) -> Result<(), Stop> {
        let compound = |m: &Value| m.is_array() || m.is_object();
        let enums = &self.node.enums;
        if enums.is_empty() {
            Ok(())
        } else if enums.iter().any(|members| !members.iter().any(compound)) {
            Err(INVALID)
        } else {
            Err(UNSURE)
        }
    }

    fn null(&self) -> Result<(), Stop> {
        self.of_type(NULL)?;
        self.enums(Scalar::Null)
    }

    fn number(&self, n: Num) -> Result<(), Stop> {
        let t = self.node.types;
        match n {
            Num::F(f) if t & NUMBER == 0 => {
                // 1.0 is an integer for the validator in drafts 6+; leave it to it.
                if t & INTEGER != 0 && f.fract() == 0.0 {
                    return Err(UNSURE);
                }
                return Err(INVALID);
            }
            Num::F(_) => {}
            _ => self.of_type(NUMBER | INTEGER)?,
        }
        let bound = |limit: &Option<Number>, ok: fn(Ordering) -> bool| -> Result<(), Stop> {
            match limit {
                None => Ok(()),
                Some(l) => match Num::of(l).and_then(|l| n.cmp(l)) {
                    Some(o) => require(ok(o)),
                    None => Err(UNSURE),
                },
            }
        };
        bound(&self.node.minimum, |o| o != Ordering::Less)?;
        bound(&self.node.maximum, |o| o != Ordering::Greater)?;
        bound(&self.node.exclusive_minimum, |o| o == Ordering::Greater)?;
        bound(&self.node.exclusive_maximum, |o| o == Ordering::Less)?;
        self.enums(Scalar::Num(n))
    }

    fn float(&self, f: f64) -> Result<(), Stop> {
        if f.is_finite() {
            self.number(Num::F(f))
        } else {
            self.null() // serde_json writes non-finite floats as null
        }
    }

    fn string(&self, s: &str) -> Result<(), Stop> {
        self.of_type(STRING)?;
        if self.node.strings_unsure {
            return Err(UNSURE);
        }
        if self.node.min_length.is_some() || self.node.max_length.is_some() {
            let chars = s.chars().count() as u64;
            require(self.node.min_length.is_none_or(|m| chars >= m))?;
            require(self.node.max_length.is_none_or(|m| chars <= m))?;
        }
        self.enums(Scalar::Str(s))
    }
}

/// The elements of an array.
struct ArrayWalker<'p> {
    plan: &'p Plan,
    node: &'p Node,
    depth: u32,
    fuel: &'p Cell<u32>,
    count: u64,
}

impl ArrayWalker<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        self.count += 1;
        match self.node.items {
            Some(items) => verdict(
                self.plan
                    .check_node(items, value, self.depth + 1, self.fuel),
            ),
            None => Ok(()),
        }
    }

    fn finish(self) -> Result<(), Stop> {
        require(self.node.min_items.is_none_or(|m| self.count >= m))?;
        require(self.node.max_items.is_none_or(|m| self.count <= m))
    }
}

/// The entries of an object (a struct or a map).
struct ObjectWalker<'p> {
    plan: &'p Plan,
    node: &'p Node,
    depth: u32,
    fuel: &'p Cell<u32>,
    seen_required: u64,
    /// A map may repeat a key, and serde_json keeps the last value: a failing value is then
    /// not a certain failure.
    is_map: bool,
    /// The schema of the value whose key came last (maps).
    pending: Option<usize>,
}

impl ObjectWalker<'_> {
    /// Looks `key` up: records it as seen, and says which schema its value must satisfy
    /// (`None`: anything).
    fn key(&mut self, key: &str) -> Result<Option<usize>, Stop> {
        match self.node.names.iter().find(|n| &*n.name == key) {
            Some(n) => {
                if let Some(bit) = n.required {
                    self.seen_required |= 1 << bit;
                }
                match n.schema {
                    Some(s) => Ok(Some(s)),
                    None => self.additional(),
                }
            }
            None => self.additional(),
        }
    }

    fn additional(&self) -> Result<Option<usize>, Stop> {
        match self.node.additional {
            Additional::Any => Ok(None),
            Additional::Deny => Err(INVALID),
            Additional::Schema(s) => Ok(Some(s)),
        }
    }

    fn value<T: Serialize + ?Sized>(&self, schema: Option<usize>, value: &T) -> Result<(), Stop> {
        let Some(s) = schema else { return Ok(()) };
        match self.plan.check_node(s, value, self.depth + 1, self.fuel) {
            Verdict::Valid => Ok(()),
            Verdict::Invalid if !self.is_map => Err(INVALID),
            _ => Err(UNSURE),
        }
    }

    fn finish(self) -> Result<(), Stop> {
        require(self.seen_required == self.node.required_mask)
    }
}

impl<'p> ser::Serializer for Walker<'p> {
    type Ok = ();
    type Error = Stop;
    type SerializeSeq = ArrayWalker<'p>;
    type SerializeTuple = ArrayWalker<'p>;
    type SerializeTupleStruct = ArrayWalker<'p>;
    type SerializeTupleVariant = ser::Impossible<(), Stop>;
    type SerializeMap = ObjectWalker<'p>;
    type SerializeStruct = ObjectWalker<'p>;
    type SerializeStructVariant = ser::Impossible<(), Stop>;

    fn serialize_bool(self, v: bool) -> Result<(), Stop> {
        self.of_type(BOOLEAN)?;
        self.enums(Scalar::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<(), Stop> {
        self.number(Num::I(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Stop> {
        self.number(Num::I(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Stop> {
        self.number(Num::I(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Stop> {
        self.number(Num::I(v))
    }
    fn serialize_u8(self, v: u8) -> Result<(), Stop> {
        self.number(Num::U(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Stop> {
        self.number(Num::U(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Stop> {
        self.number(Num::U(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Stop> {
        self.number(Num::U(v))
    }
    fn serialize_i128(self, _v: i128) -> Result<(), Stop> {
        Err(UNSURE)
    }
    fn serialize_u128(self, _v: u128) -> Result<(), Stop> {
        Err(UNSURE)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Stop> {
        let n = &self.node;
        // How serde_json widens an f32 is its business: only decide on the type.
        let bounded = n.minimum.is_some()
            || n.maximum.is_some()
            || n.exclusive_minimum.is_some()
            || n.exclusive_maximum.is_some()
            || !n.enums.is_empty();
        if bounded && v.is_finite() {
            return Err(UNSURE);
        }
        self.float(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Stop> {
        self.float(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Stop> {
        self.string(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Stop> {
        self.string(v)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Stop> {
        Err(UNSURE)
    }
    fn serialize_none(self) -> Result<(), Stop> {
        self.null()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Stop> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Stop> {
        self.null()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Stop> {
        self.null()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Stop> {
        self.string(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Stop> {
        Err(UNSURE)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<ArrayWalker<'p>, Stop> {
        self.of_type(ARRAY)?;
        self.enums_compound()?;
        Ok(ArrayWalker {
            plan: self.plan,
            node: self.node,
            depth: self.depth,
            fuel: self.fuel,
            count: 0,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<ArrayWalker<'p>, Stop> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<ArrayWalker<'p>, Stop> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Stop> {
        Err(UNSURE)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<ObjectWalker<'p>, Stop> {
        self.object(true)
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<ObjectWalker<'p>, Stop> {
        self.object(false)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Stop> {
        Err(UNSURE)
    }
}

impl<'p> Walker<'p> {
    fn object(self, is_map: bool) -> Result<ObjectWalker<'p>, Stop> {
        self.of_type(OBJECT)?;
        self.enums_compound()?;
        Ok(ObjectWalker {
            plan: self.plan,
            node: self.node,
            depth: self.depth,
            fuel: self.fuel,
            seen_required: 0,
            is_map,
            pending: None,
        })
    }
}

/// Sequences, tuples and tuple structs are all JSON arrays.
macro_rules! array_walker {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for ArrayWalker<'_> {
            type Ok = ();
            type Error = Stop;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
                self.element(value)
            }
            fn end(self) -> Result<(), Stop> {
                self.finish()
            }
        }
    )*};
}

array_walker!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field
);

impl ser::SerializeStruct for ObjectWalker<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        let schema = self.key(key)?;
        self.value(schema, value)
    }
    fn end(self) -> Result<(), Stop> {
        self.finish()
    }
}

impl ser::SerializeMap for ObjectWalker<'_> {
    type Ok = ();
    type Error = Stop;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Stop> {
        self.pending = key.serialize(KeyLookup(self))?;
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        let schema = self.pending.take();
        self.value(schema, value)
    }
    fn end(self) -> Result<(), Stop> {
        self.finish()
    }
}

/// Looks a map key up in its object's schema. Only keys that serialize as strings are
/// decided; serde_json's conversions of other keys (numbers, booleans) are its own business.
struct KeyLookup<'w, 'p>(&'w mut ObjectWalker<'p>);

impl ser::Serializer for KeyLookup<'_, '_> {
    type Ok = Option<usize>;
    type Error = Stop;
    type SerializeSeq = ser::Impossible<Option<usize>, Stop>;
    type SerializeTuple = ser::Impossible<Option<usize>, Stop>;
    type SerializeTupleStruct = ser::Impossible<Option<usize>, Stop>;
    type SerializeTupleVariant = ser::Impossible<Option<usize>, Stop>;
    type SerializeMap = ser::Impossible<Option<usize>, Stop>;
    type SerializeStruct = ser::Impossible<Option<usize>, Stop>;
    type SerializeStructVariant = ser::Impossible<Option<usize>, Stop>;

    fn serialize_str(self, v: &str) -> Result<Option<usize>, Stop> {
        self.0.key(v)
    }
    fn serialize_bool(self, _v: bool) -> Result<Option<usize>, Stop> {
        Err(UNSURE)
    }
    fn serialize_i8(self, _v: i8) -> Result<Option<usize>, Stop> {
        Err(UNSURE)
    }
    fn serialize_i16(self, _v: i16) -> Result<Option<usize>, Stop> {
        Err(UNSURE)
    }
    fn serialize_i32(self, _v: i32) -> Result<Option<usize>, Stop> {
        Err(UNSURE)
    }
    fn serialize_i64(self, _v: i64) -> Result<Option<usize>, Stop> {
        Err(UNSURE)
    }
    fn serialize_u8(self, _v: u8) -> Result<Option<usize>, Stop> {
        Err(UNSURE)
    }
    fn serialize_u16(self, _v: u16) -> Result<Option<usize>, Stop> {
        Err(UNSURE)
    }
    fn serialize_u32(self, _v: u32) -> Result<Option<usize>, Stop> {
        Err(UNSURE)
    }
    fn serialize_u64(self, _v: u64) -> Result<Option<usize>, Stop> {
        Err(UNSURE)
    }
    fn serialize_f32(self, _v: f32) -> Result<Option<usize>, Stop> {
        Err(UNSURE)
    }
    fn serialize_f64(self, _v: f64) -> Result<Option<usize>, Stop> {
        Err(UNSURE)
    }
    fn serialize_char(self, v: char) -> Result<Option<usize>, Stop> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<Option<usize>, Stop> {
        Err(UNSURE)
    }
    fn serialize_none(self) -> Result<Option<usize>, Stop> {
        Err(UNSURE)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<Option<usize>, Stop> {
        Err(UNSURE)
    }
    fn serialize_unit(self) -> Result<Option<usize>, Stop> {
        Err(UNSURE)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Option<usize>, Stop> {
        Err(UNSURE)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Option<usize>, Stop> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Option<usize>, Stop> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<Option<usize>, Stop> {
        Err(UNSURE)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Stop> {
        Err(UNSURE)
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Stop> {
        Err(UNSURE)
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Stop> {
        Err(UNSURE)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Stop> {
        Err(UNSURE)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Stop> {
        Err(UNSURE)
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Stop> {
        Err(UNSURE)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Stop> {
        Err(UNSURE)
    }
}

#[cfg(test)]
mod tests;
