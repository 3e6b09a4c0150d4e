//! Protobuf compatibility: Confluent's `protobuf/diff` (`SchemaDiff`, `MessageSchemaDiff`,
//! `FieldSchemaDiff`, `EnumSchemaDiff`), reimplemented on [`ProtobufSchema`]'s element model.
//!
//! [`diff`] lists the [`Difference`]s between an `original` schema (the writer: the previous
//! version for BACKWARD) and an `update` (the reader). A change is compatible iff every
//! difference is in Confluent's `COMPATIBLE_CHANGES` ([`is_compatible`]).
//!
//! What is compared, in short:
//! - the package (any change is `PACKAGE_CHANGED`, incompatible);
//! - messages and enums by name at each level (removed messages are incompatible, except map
//!   entries; a changed position among the messages is `MESSAGE_MOVED`, compatible; every enum
//!   change is compatible);
//! - fields by number across the whole message, oneof members included; a field's type by kind
//!   (scalar — enums included — / message / map), scalars by wire-compatible group, message
//!   types by their name without the package, recursing into the referenced message when it
//!   comes from an import; labels only where both sides write one;
//! - oneofs: added/removed containers, new members, dropped members, fields moved out to the top
//!   level, and previously independent fields made mutually exclusive.
//!
//! Differences come in Confluent's order. Where Confluent iterates a `java.util.HashSet`
//! (message and enum names, enum constant numbers), the iteration order of that set is
//! reproduced, so the messages list the same way as Confluent's.

use std::collections::{BTreeSet, HashMap, HashSet};

use charter_serde::protobuf::{
    EnumElement, FieldElement, FieldType, Label, MessageElement, ProtobufSchema, Scalar, TypeKind,
};

/// One change found by [`diff`]: a Confluent `Difference.Type` and the path of the element
/// (`#/TestMessage/3`, `#/TestMessage/my_oneof/4`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The Confluent `Difference.Type` name, e.g. `FIELD_ADDED`.
    pub kind: &'static str,
    /// Path of the changed element, `#/` followed by names and numbers joined with `/`.
    pub path: String,
}

impl std::fmt::Display for Difference {
    /// `<TYPE> <path>`, as Confluent's tests print differences.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.path)
    }
}

/// Confluent's `SchemaDiff.COMPATIBLE_CHANGES`.
pub const COMPATIBLE_CHANGES: &[&str] = &[
    "MESSAGE_ADDED",
    "MESSAGE_MOVED",
    "ENUM_ADDED",
    "ENUM_REMOVED",
    "ENUM_CONST_ADDED",
    "ENUM_CONST_CHANGED",
    "ENUM_CONST_REMOVED",
    "FIELD_ADDED",
    "FIELD_REMOVED",
    "FIELD_NAME_CHANGED",
    "FIELD_STRING_OR_BYTES_LABEL_CHANGED",
    "ONEOF_ADDED",
    "ONEOF_REMOVED",
    "ONEOF_FIELD_ADDED",
    "ONEOF_FIELD_MOVED_TO_TOP_LEVEL",
];

impl Difference {
    /// Whether Confluent counts this difference as compatible.
    pub fn is_compatible(&self) -> bool {
        COMPATIBLE_CHANGES.contains(&self.kind)
    }

    /// Confluent's description (`Difference.error()`) with its two `%s` filled in: `reader` is
    /// the schema that must read (the new one for BACKWARD), `writer` the other. Empty for the
    /// types Confluent has no description for (the compatible ones).
    pub fn description_as(&self, reader: &str, writer: &str) -> String {
        let p = &self.path;
        match self.kind {
            "PACKAGE_CHANGED" => format!(
                "The package at '{p}' in the {reader} schema does not match the package in the {writer} schema"
            ),
            "MESSAGE_REMOVED" => format!(
                "The {reader} schema is missing a MESSAGE type at path '{p}' in the {writer} schema"
            ),
            "FIELD_KIND_CHANGED" => format!(
                "The type of a field at path '{p}' in the {reader} schema does not match the {writer} schema"
            ),
            "FIELD_SCALAR_KIND_CHANGED" => format!(
                "The kind of a SCALAR field at path '{p}' in the {reader} schema does not match its kind in the {writer} schema"
            ),
            "FIELD_NAMED_TYPE_CHANGED" => format!(
                "The type of a MESSAGE field at path '{p}' in the {reader} schema does not match its type in the {writer} schema"
            ),
            "FIELD_NUMERIC_LABEL_CHANGED" => format!(
                "The label for a NUMERIC field at path '{p}' in the {reader} schema does not match its label in the {writer} schema"
            ),
            "REQUIRED_FIELD_ADDED" => format!(
                "A required field  at path '{p}' in the {reader} schema is missing in the {writer} schema"
            ),
            "REQUIRED_FIELD_REMOVED" => format!(
                "The {reader} schema is missing a required field at path: '{p}' in the {writer} schema"
            ),
            "ONEOF_FIELD_REMOVED" => format!(
                "The {reader} schema is missing a oneof field at path '{p}' in the {writer} schema"
            ),
            "MULTIPLE_FIELDS_MOVED_TO_ONEOF" => format!(
                "Multiple fields in the oneof at path '{p}' in the {reader} schema are outside a oneof in the {writer} schema"
            ),
            "FIELD_MOVED_TO_EXISTING_ONEOF" => format!(
                "A field in the oneof at path '{p}' in the {reader} schema is outside an existing oneof in the {writer} schema"
            ),
            _ => String::new(),
        }
    }

    /// Confluent's verbose message, `{errorType:"<TYPE>", description:"…"}`.
    pub fn to_confluent_message_as(&self, reader: &str, writer: &str) -> String {
        format!(
            "{{errorType:\"{}\", description:\"{}\"}}",
            self.kind,
            self.description_as(reader, writer)
        )
    }
}

/// The differences between `original` (the writer) and `update` (the reader), in Confluent's
/// order (`SchemaDiff.compare(original, update)`).
pub fn diff(original: &ProtobufSchema, update: &ProtobufSchema) -> Vec<Difference> {
    let mut ctx = Ctx {
        original,
        update,
        path: Vec::new(),
        in_progress: HashSet::new(),
        diffs: Vec::new(),
        depth: 0,
    };
    let (o, u) = (original.file(), update.file());
    if o.package != u.package {
        ctx.add("PACKAGE_CHANGED");
    }
    ctx.compare_types(&o.messages, &o.enums, &u.messages, &u.enums);
    ctx.diffs
}

/// Whether every difference is compatible (Confluent: none outside `COMPATIBLE_CHANGES`).
pub fn is_compatible(diffs: &[Difference]) -> bool {
    diffs.iter().all(Difference::is_compatible)
}

/// The incompatible differences as Confluent prints them for a BACKWARD check (reader = "new",
/// writer = "old"): `{errorType:"<TYPE>", description:"…"}`.
pub fn incompatibility_messages(diffs: &[Difference]) -> Vec<String> {
    incompatibility_messages_as(diffs, "new", "old")
}

/// [`incompatibility_messages`] with the reader and writer wording given (Confluent's
/// `SchemaValidatorBuilder` uses `("old", "new")` when the old schema is the reader).
pub fn incompatibility_messages_as(
    diffs: &[Difference],
    reader: &str,
    writer: &str,
) -> Vec<String> {
    diffs
        .iter()
        .filter(|d| !d.is_compatible())
        .map(|d| d.to_confluent_message_as(reader, writer))
        .collect()
}

// ----------------------------------------------------------------------------- machinery

/// How deep message comparisons may nest (nested messages plus message-typed fields followed
/// into imports). Deeper structure is not compared; no real schema comes near.
const MAX_DEPTH: usize = 200;

struct Ctx<'a> {
    original: &'a ProtobufSchema,
    update: &'a ProtobufSchema,
    path: Vec<String>,
    /// Original messages being compared (Confluent's `Context.schemas`): a message reached again
    /// through its own fields has its fields skipped.
    in_progress: HashSet<String>,
    diffs: Vec<Difference>,
    depth: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Scalar,
    Map,
    Message,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScalarKind {
    GeneralNumber,
    SignedNumber,
    StringOrBytes,
    Fixed32,
    Fixed64,
    Float,
    Double,
}

fn kind(t: &FieldType) -> Kind {
    match t {
        FieldType::Scalar(_) | FieldType::Enum(_) => Kind::Scalar,
        FieldType::Map { .. } => Kind::Map,
        FieldType::Message(_) => Kind::Message,
    }
}

fn scalar_kind(t: &FieldType) -> ScalarKind {
    match t {
        FieldType::Scalar(s) => match s {
            Scalar::Int32 | Scalar::Int64 | Scalar::Uint32 | Scalar::Uint64 | Scalar::Bool => {
                ScalarKind::GeneralNumber
            }
            Scalar::Sint32 | Scalar::Sint64 => ScalarKind::SignedNumber,
            Scalar::String | Scalar::Bytes => ScalarKind::StringOrBytes,
            Scalar::Fixed32 | Scalar::Sfixed32 => ScalarKind::Fixed32,
            Scalar::Fixed64 | Scalar::Sfixed64 => ScalarKind::Fixed64,
            Scalar::Float => ScalarKind::Float,
            Scalar::Double => ScalarKind::Double,
        },
        _ => ScalarKind::GeneralNumber,
    }
}

impl<'a> Ctx<'a> {
    fn add(&mut self, kind: &'static str) {
        self.diffs.push(Difference {
            kind,
            path: format!("#/{}", self.path.join("/")),
        });
    }

    fn add_at(&mut self, parts: &[&str], kind: &'static str) {
        let n = self.path.len();
        self.path.extend(parts.iter().map(|p| p.to_string()));
        self.add(kind);
        self.path.truncate(n);
    }

    /// `SchemaDiff.compareTypeElements`: messages and enums of one level, matched by name.
    fn compare_types(
        &mut self,
        o_msgs: &'a [MessageElement],
        o_enums: &'a [EnumElement],
        u_msgs: &'a [MessageElement],
        u_enums: &'a [EnumElement],
    ) {
        let o_by_name: HashMap<&str, (usize, &MessageElement)> = o_msgs
            .iter()
            .enumerate()
            .map(|(i, m)| (m.name.as_str(), (i, m)))
            .collect();
        let u_by_name: HashMap<&str, (usize, &MessageElement)> = u_msgs
            .iter()
            .enumerate()
            .map(|(i, m)| (m.name.as_str(), (i, m)))
            .collect();
        let names = java_union_order(
            o_msgs.iter().map(|m| m.name.as_str()),
            u_msgs.iter().map(|m| m.name.as_str()),
            java_string_hash,
        );
        for name in names {
            self.path.push(name.to_string());
            match (o_by_name.get(name), u_by_name.get(name)) {
                (Some((_, o)), None) => {
                    if !o.is_map_entry {
                        self.add("MESSAGE_REMOVED");
                    }
                }
                (None, Some((_, u))) => {
                    if !u.is_map_entry {
                        self.add("MESSAGE_ADDED");
                    }
                }
                (Some((oi, o)), Some((ui, u))) => {
                    self.compare_messages(o, u);
                    if oi != ui {
                        // Message indexes are relative to the schema of each id: compatible.
                        self.add("MESSAGE_MOVED");
                    }
                }
                (None, None) => {}
            }
            self.path.pop();
        }

        let o_enum: HashMap<&str, &EnumElement> =
            o_enums.iter().map(|e| (e.name.as_str(), e)).collect();
        let u_enum: HashMap<&str, &EnumElement> =
            u_enums.iter().map(|e| (e.name.as_str(), e)).collect();
        let names = java_union_order(
            o_enums.iter().map(|e| e.name.as_str()),
            u_enums.iter().map(|e| e.name.as_str()),
            java_string_hash,
        );
        for name in names {
            self.path.push(name.to_string());
            match (o_enum.get(name), u_enum.get(name)) {
                (Some(_), None) => self.add("ENUM_REMOVED"),
                (None, Some(_)) => self.add("ENUM_ADDED"),
                (Some(o), Some(u)) => self.compare_enums(o, u),
                (None, None) => {}
            }
            self.path.pop();
        }
    }

    /// `EnumSchemaDiff.compare`: constants matched by number.
    fn compare_enums(&mut self, o: &EnumElement, u: &EnumElement) {
        let mut o_by: HashMap<i32, &str> = HashMap::new();
        for v in &o.values {
            o_by.insert(v.number, v.name.as_str());
        }
        let mut u_by: HashMap<i32, &str> = HashMap::new();
        for v in &u.values {
            u_by.insert(v.number, v.name.as_str());
        }
        // Java puts later duplicates over earlier ones but keeps the first insertion position.
        let numbers = java_union_order(
            o.values.iter().map(|v| v.number),
            u.values.iter().map(|v| v.number),
            |n| *n,
        );
        for n in numbers {
            let tag = n.to_string();
            match (o_by.get(&n), u_by.get(&n)) {
                (Some(_), None) => self.add_at(&[&tag], "ENUM_CONST_REMOVED"),
                (None, Some(_)) => self.add_at(&[&tag], "ENUM_CONST_ADDED"),
                (Some(a), Some(b)) if a != b => self.add_at(&[&tag], "ENUM_CONST_CHANGED"),
                _ => {}
            }
        }
    }

    /// `MessageSchemaDiff.compare`.
    fn compare_messages(&mut self, o: &'a MessageElement, u: &'a MessageElement) {
        if self.depth >= MAX_DEPTH {
            return;
        }
        self.depth += 1;
        let entered = self.in_progress.insert(o.full_name.clone());
        if entered {
            self.compare_fields(o, u);
        }
        self.compare_types(&o.messages, &o.enums, &u.messages, &u.enums);
        if entered {
            self.in_progress.remove(&o.full_name);
        }
        self.depth -= 1;
    }

    fn compare_fields(&mut self, o: &'a MessageElement, u: &'a MessageElement) {
        let (o_by_tag, o_tag_oneof) = collect_fields(o);
        let (u_by_tag, u_tag_oneof) = collect_fields(u);
        let o_oneofs: HashMap<&str, &[FieldElement]> = o
            .oneofs
            .iter()
            .map(|x| (x.name.as_str(), x.fields.as_slice()))
            .collect();
        let u_oneof_names: HashSet<&str> = u.oneofs.iter().map(|x| x.name.as_str()).collect();

        // A oneof removed by name none of whose members survive anywhere is a complete
        // deletion (compatible); members dropped from a oneof that partly survives are reported
        // below.
        let completely_deleted: HashSet<&str> = o
            .oneofs
            .iter()
            .filter(|x| !u_oneof_names.contains(x.name.as_str()))
            .filter(|x| !x.fields.iter().any(|f| u_by_tag.contains_key(&f.number)))
            .map(|x| x.name.as_str())
            .collect();

        // Newly introduced mutual exclusivity: the pre-existing members of an update oneof must
        // come from a single original group (one original oneof, or one top-level field).
        for oneof in &u.oneofs {
            let mut groups: HashSet<String> = HashSet::new();
            let mut top_level_moved_in = 0;
            for f in &oneof.fields {
                if let Some(orig_oneof) = o_tag_oneof.get(&f.number) {
                    groups.insert(format!("oneof:{orig_oneof}"));
                } else if o_by_tag.contains_key(&f.number) {
                    groups.insert(format!("field:{}", f.number));
                    top_level_moved_in += 1;
                }
            }
            if groups.len() > 1 {
                let kind = if top_level_moved_in > 1 {
                    "MULTIPLE_FIELDS_MOVED_TO_ONEOF"
                } else {
                    "FIELD_MOVED_TO_EXISTING_ONEOF"
                };
                self.add_at(&[&oneof.name], kind);
            }
        }

        // Oneof containers added or removed, in name order.
        let all_oneofs: BTreeSet<&str> = o_oneofs
            .keys()
            .copied()
            .chain(u_oneof_names.iter().copied())
            .collect();
        for name in all_oneofs {
            if !u_oneof_names.contains(name) {
                self.add_at(&[name], "ONEOF_REMOVED");
            } else if !o_oneofs.contains_key(name) {
                self.add_at(&[name], "ONEOF_ADDED");
            }
        }

        // Every field by number, in number order.
        let all_tags: BTreeSet<i32> = o_by_tag.keys().chain(u_by_tag.keys()).copied().collect();
        for tag in all_tags {
            let t = tag.to_string();
            let of = o_by_tag.get(&tag).copied();
            let uf = u_by_tag.get(&tag).copied();
            let o_oneof = o_tag_oneof.get(&tag).copied();
            let u_oneof = u_tag_oneof.get(&tag).copied();
            match (of, uf) {
                (Some(of), None) => match o_oneof {
                    Some(oo) => {
                        if !completely_deleted.contains(oo) {
                            self.add_at(&[oo, &t], "ONEOF_FIELD_REMOVED");
                        }
                    }
                    None => {
                        let kind = if of.label == Some(Label::Required) {
                            "REQUIRED_FIELD_REMOVED"
                        } else {
                            "FIELD_REMOVED"
                        };
                        self.add_at(&[&t], kind);
                    }
                },
                (None, Some(uf)) => match u_oneof {
                    Some(uo) => self.add_at(&[uo, &t], "ONEOF_FIELD_ADDED"),
                    None => {
                        let kind = if uf.label == Some(Label::Required) {
                            "REQUIRED_FIELD_ADDED"
                        } else {
                            "FIELD_ADDED"
                        };
                        self.add_at(&[&t], kind);
                    }
                },
                (Some(of), Some(uf)) => {
                    if o_oneof.is_some() && u_oneof.is_none() {
                        self.add_at(&[&t], "ONEOF_FIELD_MOVED_TO_TOP_LEVEL");
                    }
                    let n = self.path.len();
                    if let Some(uo) = u_oneof {
                        self.path.push(uo.to_string());
                    }
                    self.path.push(t.clone());
                    self.compare_field(of, uf);
                    self.path.truncate(n);
                }
                (None, None) => {}
            }
        }
    }

    /// `FieldSchemaDiff.compare`.
    fn compare_field(&mut self, o: &'a FieldElement, u: &'a FieldElement) {
        if o.name != u.name {
            self.add("FIELD_NAME_CHANGED");
        }
        self.compare_labels_and_types(o.label, u.label, &o.field_type, &u.field_type);
    }

    fn compare_labels_and_types(
        &mut self,
        o_label: Option<Label>,
        u_label: Option<Label>,
        o_type: &FieldType,
        u_type: &FieldType,
    ) {
        let (ok, uk) = (kind(o_type), kind(u_type));
        if ok != uk {
            self.add("FIELD_KIND_CHANGED");
            return;
        }
        match ok {
            Kind::Scalar => {
                let (os, us) = (scalar_kind(o_type), scalar_kind(u_type));
                if os != us {
                    self.add("FIELD_SCALAR_KIND_CHANGED");
                } else if let (Some(a), Some(b)) = (o_label, u_label) {
                    if a != b {
                        if os == ScalarKind::StringOrBytes {
                            self.add("FIELD_STRING_OR_BYTES_LABEL_CHANGED");
                        } else {
                            self.add("FIELD_NUMERIC_LABEL_CHANGED");
                        }
                    }
                }
            }
            Kind::Message => {
                if let (FieldType::Message(a), FieldType::Message(b)) = (o_type, u_type) {
                    self.compare_message_types(a, b);
                }
            }
            Kind::Map => {
                if let (
                    FieldType::Map { key: ok, value: ov },
                    FieldType::Map { key: uk, value: uv },
                ) = (o_type, u_type)
                {
                    self.compare_labels_and_types(None, None, ok, uk);
                    self.compare_labels_and_types(None, None, ov, uv);
                }
            }
        }
    }

    /// `FieldSchemaDiff.compareMessageTypes`: same name without the package, and, for types
    /// that do not both come from the schema itself, a compatible referenced message.
    fn compare_message_types(&mut self, o_name: &str, u_name: &str) {
        let (Some(ot), Some(ut)) = (
            self.original.find_type(o_name),
            self.update.find_type(u_name),
        ) else {
            if o_name != u_name {
                self.add("FIELD_NAMED_TYPE_CHANGED");
            }
            return;
        };
        let o_local = local_name(o_name, ot.file.package.as_deref());
        let u_local = local_name(u_name, ut.file.package.as_deref());
        if o_local != u_local {
            self.add("FIELD_NAMED_TYPE_CHANGED");
            return;
        }
        // Both defined in the schema itself: compared where they are declared (Confluent skips
        // types of the same reference subject-version; the schema is its own "reference").
        if ot.in_schema && ut.in_schema {
            return;
        }
        // The same imported file on both sides compares equal: skip the walk.
        if !ot.in_schema && !ut.in_schema && ot.file == ut.file {
            return;
        }
        let (TypeKind::Message(om), TypeKind::Message(um)) = (ot.kind, ut.kind) else {
            return;
        };
        let saved = std::mem::replace(
            &mut self.path,
            o_local.split('.').map(str::to_string).collect(),
        );
        let start = self.diffs.len();
        self.compare_messages(om, um);
        self.path = saved;
        if !is_compatible(&self.diffs[start..]) {
            self.add("FIELD_NAMED_TYPE_CHANGED");
        }
    }
}

/// Fields by number (top-level and oneof members alike) and the oneof of each member.
#[allow(clippy::type_complexity)]
fn collect_fields(m: &MessageElement) -> (HashMap<i32, &FieldElement>, HashMap<i32, &str>) {
    let mut by_tag = HashMap::new();
    let mut tag_oneof = HashMap::new();
    for f in &m.fields {
        by_tag.insert(f.number, f);
    }
    for o in &m.oneofs {
        for f in &o.fields {
            by_tag.insert(f.number, f);
            tag_oneof.insert(f.number, o.name.as_str());
        }
    }
    (by_tag, tag_oneof)
}

fn local_name<'n>(full: &'n str, package: Option<&str>) -> &'n str {
    match package {
        Some(p) if !p.is_empty() => full
            .strip_prefix(p)
            .and_then(|r| r.strip_prefix('.'))
            .unwrap_or(full),
        _ => full,
    }
}

// ------------------------------------------------------------- java.util.HashSet iteration order

/// Java's `String.hashCode` (over UTF-16 code units).
fn java_string_hash(s: &&str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// A `java.util.HashMap` key set, enough to reproduce its iteration order: buckets by spread
/// hash, each bucket in insertion order, doubled (order-preserving split) past 3/4 full.
struct JavaHashSet<K> {
    table: Vec<Vec<(i32, K)>>,
    size: usize,
}

impl<K: PartialEq + Clone> JavaHashSet<K> {
    fn with_capacity(capacity: usize) -> Self {
        JavaHashSet {
            table: vec![Vec::new(); capacity.next_power_of_two().max(1)],
            size: 0,
        }
    }

    fn insert(&mut self, key: K, hash: i32) {
        let h = hash ^ ((hash as u32) >> 16) as i32;
        let n = self.table.len();
        let bucket = &mut self.table[(h as u32 as usize) & (n - 1)];
        if bucket.iter().any(|(_, k)| *k == key) {
            return;
        }
        bucket.push((h, key));
        self.size += 1;
        if self.size > n * 3 / 4 {
            let mut table = vec![Vec::new(); n * 2];
            for bucket in std::mem::take(&mut self.table) {
                for (h, k) in bucket {
                    table[(h as u32 as usize) & (n * 2 - 1)].push((h, k));
                }
            }
            self.table = table;
        }
    }

    fn keys(&self) -> Vec<K> {
        self.table
            .iter()
            .flat_map(|b| b.iter().map(|(_, k)| k.clone()))
            .collect()
    }
}

/// The iteration order of Confluent's `new HashSet<>(originalMap.keySet())` followed by
/// `addAll(updateMap.keySet())`, where both maps are default `HashMap`s filled in declaration
/// order.
fn java_union_order<K, I, J, H>(original: I, update: J, hash: H) -> Vec<K>
where
    K: PartialEq + Clone,
    I: Iterator<Item = K>,
    J: Iterator<Item = K>,
    H: Fn(&K) -> i32,
{
    let fill = |items: &mut dyn Iterator<Item = K>| {
        let mut map = JavaHashSet::with_capacity(16);
        for k in items {
            let h = hash(&k);
            map.insert(k, h);
        }
        map.keys()
    };
    let mut original = original;
    let mut update = update;
    let o_keys = fill(&mut original);
    let u_keys = fill(&mut update);
    // HashSet(Collection c): capacity max(c.size() / .75 + 1, 16).
    let capacity = ((o_keys.len() as f32 / 0.75) as usize + 1).max(16);
    let mut all = JavaHashSet::with_capacity(capacity);
    for k in o_keys.into_iter().chain(u_keys) {
        let h = hash(&k);
        all.insert(k, h);
    }
    all.keys()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_of_strings() {
        assert_eq!(java_string_hash(&"TestMessage"), {
            let mut h: i32 = 0;
            for c in "TestMessage".chars() {
                h = h.wrapping_mul(31).wrapping_add(c as i32);
            }
            h
        });
        assert_eq!(java_string_hash(&""), 0);
        assert_eq!(java_string_hash(&"a"), 97);
    }

    #[test]
    fn java_set_order_of_small_ints_is_ascending() {
        let order = java_union_order([3, 1, 2].into_iter(), [5, 0].into_iter(), |n| *n);
        assert_eq!(order, vec![0, 1, 2, 3, 5]);
    }

    fn schema(text: &str) -> ProtobufSchema {
        ProtobufSchema::parse(text, &[], true).expect("schema parses")
    }

    fn changes(old: &str, new: &str) -> Vec<String> {
        diff(&schema(old), &schema(new))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn required_fields_in_proto2() {
        let old = "syntax = \"proto2\"; message M { optional int32 a = 1; }";
        let new = "syntax = \"proto2\"; message M { optional int32 a = 1; required string b = 2; }";
        assert_eq!(changes(old, new), vec!["REQUIRED_FIELD_ADDED #/M/2"]);
        assert_eq!(changes(new, old), vec!["REQUIRED_FIELD_REMOVED #/M/2"]);
        let msgs = incompatibility_messages(&diff(&schema(old), &schema(new)));
        assert_eq!(
            msgs,
            vec![
                "{errorType:\"REQUIRED_FIELD_ADDED\", description:\"A required field  at path '#/M/2' in the new schema is missing in the old schema\"}"
            ]
        );
    }

    #[test]
    fn enum_constant_changes() {
        let old = "syntax = \"proto3\"; enum E { A = 0; B = 1; C = 2; }";
        let new = "syntax = \"proto3\"; enum E { A = 0; BB = 1; D = 3; }";
        assert_eq!(
            changes(old, new),
            vec![
                "ENUM_CONST_CHANGED #/E/1",
                "ENUM_CONST_REMOVED #/E/2",
                "ENUM_CONST_ADDED #/E/3"
            ]
        );
        assert!(is_compatible(&diff(&schema(old), &schema(new))));
    }

    #[test]
    fn maps_compare_keys_and_values() {
        let old = "syntax = \"proto3\"; message M { map<string, int32> m = 1; }";
        let new = "syntax = \"proto3\"; message M { map<string, string> m = 1; }";
        assert_eq!(changes(old, new), vec!["FIELD_SCALAR_KIND_CHANGED #/M/1"]);
        let new = "syntax = \"proto3\"; message M { map<int64, int32> m = 1; }";
        assert_eq!(changes(old, new), vec!["FIELD_SCALAR_KIND_CHANGED #/M/1"]);
        let new = "syntax = \"proto3\"; message M { repeated int32 m = 1; }";
        assert_eq!(changes(old, new), vec!["FIELD_KIND_CHANGED #/M/1"]);
    }

    #[test]
    fn self_referencing_imports_terminate() {
        let dep1 = "syntax = \"proto3\"; package d; message Node { Node next = 1; int32 v = 2; }";
        let dep2 = "syntax = \"proto3\"; package d; message Node { Node next = 1; string v = 2; }";
        let root = "syntax = \"proto3\"; import \"d.proto\"; message M { d.Node n = 1; }";
        let a = ProtobufSchema::parse(root, &[("d.proto", dep1)], true).unwrap();
        let b = ProtobufSchema::parse(root, &[("d.proto", dep2)], true).unwrap();
        let got: Vec<String> = diff(&a, &b).iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            vec![
                "FIELD_SCALAR_KIND_CHANGED #/Node/2",
                "FIELD_NAMED_TYPE_CHANGED #/M/1"
            ]
        );
    }

    /// A long chain of imported message types, different at the far end: bounded depth, no
    /// stack overflow on a default 2 MiB test thread.
    #[test]
    fn deep_import_chains_are_bounded() {
        let chain = |last: &str| {
            let mut t = String::from("syntax = \"proto3\"; package d;\n");
            for i in 0..400 {
                t.push_str(&format!("message M{i} {{ M{} next = 1; }}\n", i + 1));
            }
            t.push_str(&format!("message M400 {{ {last} v = 1; }}\n"));
            t
        };
        let root = "syntax = \"proto3\"; import \"d.proto\"; message R { d.M0 m = 1; }";
        let (d1, d2) = (chain("int32"), chain("string"));
        let a = ProtobufSchema::parse(root, &[("d.proto", d1.as_str())], true).unwrap();
        let b = ProtobufSchema::parse(root, &[("d.proto", d2.as_str())], true).unwrap();
        let _ = diff(&a, &b);
        let _ = diff(&b, &a);
        // A short chain is followed to the end.
        let short = |last: &str| {
            format!(
                "syntax = \"proto3\"; package d; message M0 {{ M1 next = 1; }} \
                 message M1 {{ {last} v = 1; }}"
            )
        };
        let (d1, d2) = (short("int32"), short("string"));
        let a = ProtobufSchema::parse(root, &[("d.proto", d1.as_str())], true).unwrap();
        let b = ProtobufSchema::parse(root, &[("d.proto", d2.as_str())], true).unwrap();
        let got: Vec<String> = diff(&a, &b).iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            vec![
                "FIELD_SCALAR_KIND_CHANGED #/M1/1",
                "FIELD_NAMED_TYPE_CHANGED #/M0/1",
                "FIELD_NAMED_TYPE_CHANGED #/R/1"
            ]
        );
    }

    #[test]
    fn identical_schemas_have_no_differences() {
        let s = "syntax = \"proto3\"; import \"google/protobuf/timestamp.proto\"; \
                 message M { google.protobuf.Timestamp t = 1; oneof o { int32 a = 2; string b = 3; } }";
        assert!(changes(s, s).is_empty());
    }
}
