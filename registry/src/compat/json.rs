//! JSON Schema compatibility, as Confluent's `json/diff/SchemaDiff` computes it.
//!
//! [`diff`] lists the [`Difference`]s between an `original` schema (the writer: the previous
//! version for BACKWARD) and an `update` (the reader), each a Confluent `Difference.Type` and a
//! JSON path such as `#/properties/foo`. [`is_compatible`] says whether every difference is in
//! the policy's compatible set. Highlights of the rules (see the reference notes for the rest):
//!
//! - different schema classes are `TYPE_CHANGED`, except that anything may become `{}`/`true`
//!   and `false` may become anything;
//! - a non-combined schema may become a `oneOf`/`anyOf` that has a compatible branch
//!   (`SUM_TYPE_EXTENDED`), and an `allOf` may become one of its branches;
//! - combined schemas match their subschemas with a maximum bipartite matching;
//! - objects follow the content-model rules: adding an optional property to an *open* object is
//!   `OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL`, incompatible under [`Policy::Strict`].
//!
//! Recursive schemas are compared with memoization on node pairs; a pair met again while it is
//! being compared is assumed compatible, and the comparison is repeated with every assumption
//! that proved wrong seeded as incompatible until none does (a greatest fixed point).
//!
//! Under [`Policy::Lenient`] the policy also decides which `oneOf` branches and `allOf`
//! subschemas match, so the differences themselves depend on it: use [`diff_with_policy`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;

use charter_serde::json_schema::json::{Dec, Json};
use charter_serde::json_schema::model::{
    ArrayKeywords, Criterion, Kind, Node, NodeId, NumberKeywords, ObjectKeywords, StringKeywords,
};
use charter_serde::json_schema::JsonSchema;

/// One difference between two schemas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// Confluent's `Difference.Type`, e.g. `"PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"`.
    pub kind: &'static str,
    /// Where, e.g. `"#/properties/foo"` (`"#/"` for the root).
    pub path: String,
}

/// Confluent's `CompatibilityPolicy` for JSON Schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// The default.
    #[default]
    Strict,
    /// Also accepts adding optional properties to open objects, removing properties from
    /// closed ones and narrowing `additionalProperties`.
    Lenient,
}

/// Types compatible under [`Policy::Strict`] (`SchemaDiff.COMPATIBLE_CHANGES_STRICT`).
const COMPATIBLE_STRICT: &[&str] = &[
    "ID_CHANGED",
    "DESCRIPTION_CHANGED",
    "TITLE_CHANGED",
    "DEFAULT_CHANGED",
    "SCHEMA_REMOVED",
    "TYPE_EXTENDED",
    "MAX_LENGTH_INCREASED",
    "MAX_LENGTH_REMOVED",
    "MIN_LENGTH_DECREASED",
    "MIN_LENGTH_REMOVED",
    "PATTERN_REMOVED",
    "MAXIMUM_INCREASED",
    "MAXIMUM_REMOVED",
    "MINIMUM_DECREASED",
    "MINIMUM_REMOVED",
    "EXCLUSIVE_MAXIMUM_INCREASED",
    "EXCLUSIVE_MAXIMUM_REMOVED",
    "EXCLUSIVE_MINIMUM_DECREASED",
    "EXCLUSIVE_MINIMUM_REMOVED",
    "MULTIPLE_OF_REDUCED",
    "MULTIPLE_OF_REMOVED",
    "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED",
    "REQUIRED_ATTRIBUTE_REMOVED",
    "DEPENDENCY_ARRAY_NARROWED",
    "DEPENDENCY_ARRAY_REMOVED",
    "DEPENDENCY_SCHEMA_REMOVED",
    "MAX_PROPERTIES_INCREASED",
    "MAX_PROPERTIES_REMOVED",
    "MIN_PROPERTIES_DECREASED",
    "MIN_PROPERTIES_REMOVED",
    "ADDITIONAL_PROPERTIES_ADDED",
    "ADDITIONAL_PROPERTIES_EXTENDED",
    "UNEVALUATED_PROPERTIES_ADDED",
    "UNEVALUATED_PROPERTIES_EXTENDED",
    "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
    "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL",
    "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
    "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
    "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
    "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "MAX_ITEMS_INCREASED",
    "MAX_ITEMS_REMOVED",
    "MIN_ITEMS_DECREASED",
    "MIN_ITEMS_REMOVED",
    "MAX_CONTAINS_INCREASED",
    "MAX_CONTAINS_REMOVED",
    "MIN_CONTAINS_DECREASED",
    "MIN_CONTAINS_REMOVED",
    "UNIQUE_ITEMS_REMOVED",
    "ADDITIONAL_ITEMS_ADDED",
    "ADDITIONAL_ITEMS_EXTENDED",
    "UNEVALUATED_ITEMS_ADDED",
    "UNEVALUATED_ITEMS_EXTENDED",
    "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
    "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL",
    "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
    "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL",
    "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "ENUM_ARRAY_EXTENDED",
    "COMBINED_TYPE_EXTENDED",
    "PRODUCT_TYPE_NARROWED",
    "SUM_TYPE_EXTENDED",
    "NOT_TYPE_NARROWED",
];

/// Types [`Policy::Lenient`] accepts on top of the strict set.
const COMPATIBLE_LENIENT_EXTRA: &[&str] = &[
    "ADDITIONAL_PROPERTIES_NARROWED",
    "ADDITIONAL_PROPERTIES_REMOVED",
    "UNEVALUATED_PROPERTIES_NARROWED",
    "UNEVALUATED_PROPERTIES_REMOVED",
    "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL",
    "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
    "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
    "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
];

impl Policy {
    /// Whether a difference of type `kind` is compatible under this policy.
    pub fn allows(self, kind: &str) -> bool {
        COMPATIBLE_STRICT.contains(&kind)
            || (self == Policy::Lenient && COMPATIBLE_LENIENT_EXTRA.contains(&kind))
    }
}

impl Difference {
    /// Confluent's description template (`Difference.error()`) with the two `%s` filled in:
    /// `reader` is the schema that must read (the new one for BACKWARD), `writer` the other.
    /// Empty for types Confluent has no template for.
    pub fn description_as(&self, reader: &str, writer: &str) -> String {
        let p = &self.path;
        let k = self.kind;
        const KEYWORD_ADDED_OR_REMOVED: &[&str] = &[
            "MAXIMUM_ADDED",
            "MINIMUM_ADDED",
            "EXCLUSIVE_MAXIMUM_ADDED",
            "EXCLUSIVE_MINIMUM_ADDED",
            "MULTIPLE_OF_ADDED",
            "MAX_LENGTH_ADDED",
            "MIN_LENGTH_ADDED",
            "PATTERN_ADDED",
            "REQUIRED_ATTRIBUTE_ADDED",
            "MAX_PROPERTIES_ADDED",
            "MIN_PROPERTIES_ADDED",
            "DEPENDENCY_ARRAY_ADDED",
            "DEPENDENCY_SCHEMA_ADDED",
            "MAX_ITEMS_ADDED",
            "MIN_ITEMS_ADDED",
            "MAX_CONTAINS_ADDED",
            "MIN_CONTAINS_ADDED",
            "UNIQUE_ITEMS_ADDED",
            "ADDITIONAL_ITEMS_REMOVED",
            "ADDITIONAL_PROPERTIES_REMOVED",
            "UNEVALUATED_PROPERTIES_REMOVED",
            "UNEVALUATED_ITEMS_REMOVED",
        ];
        const VALUE_INCREASED: &[&str] = &[
            "MIN_LENGTH_INCREASED",
            "MINIMUM_INCREASED",
            "EXCLUSIVE_MINIMUM_INCREASED",
            "MIN_PROPERTIES_INCREASED",
            "MULTIPLE_OF_EXPANDED",
            "MIN_ITEMS_INCREASED",
            "MIN_CONTAINS_INCREASED",
        ];
        const VALUE_DECREASED: &[&str] = &[
            "MAX_LENGTH_DECREASED",
            "MAXIMUM_DECREASED",
            "MAX_ITEMS_DECREASED",
            "MAX_CONTAINS_DECREASED",
            "EXCLUSIVE_MAXIMUM_DECREASED",
            "MAX_PROPERTIES_DECREASED",
        ];
        const VALUE_CHANGED: &[&str] = &[
            "PATTERN_CHANGED",
            "MULTIPLE_OF_CHANGED",
            "DEPENDENCY_ARRAY_CHANGED",
        ];
        const TYPE_NARROWED: &[&str] = &[
            "ADDITIONAL_ITEMS_NARROWED",
            "ENUM_ARRAY_NARROWED",
            "SUM_TYPE_NARROWED",
            "ADDITIONAL_PROPERTIES_NARROWED",
            "UNEVALUATED_PROPERTIES_NARROWED",
            "UNEVALUATED_ITEMS_NARROWED",
        ];
        const TYPE_EXTENDED: &[&str] = &[
            "DEPENDENCY_ARRAY_EXTENDED",
            "PRODUCT_TYPE_EXTENDED",
            "SUM_TYPE_EXTENDED",
            "NOT_TYPE_EXTENDED",
        ];
        const TYPE_CHANGED: &[&str] = &[
            "TYPE_CHANGED",
            "TYPE_NARROWED",
            "COMBINED_TYPE_CHANGED",
            "COMBINED_TYPE_SUBSCHEMAS_CHANGED",
            "ENUM_ARRAY_CHANGED",
        ];
        const ADDED_TO_OPEN: &[&str] = &[
            "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
            "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL",
            "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
            "ITEM_ADDED_TO_OPEN_CONTENT_MODEL",
        ];
        if KEYWORD_ADDED_OR_REMOVED.contains(&k) {
            format!("The keyword at path '{p}' in the {reader} schema is not present in the {writer} schema")
        } else if VALUE_INCREASED.contains(&k) {
            format!("The value at path '{p}' in the {reader} schema is more than its value in the {writer} schema")
        } else if VALUE_DECREASED.contains(&k) {
            format!("The value at path '{p}' in the {reader} schema is less than its value in the {writer} schema")
        } else if VALUE_CHANGED.contains(&k) {
            format!("The value at path '{p}' is different between the {reader} and {writer} schema")
        } else if TYPE_NARROWED.contains(&k) {
            format!("An array or combined type at path '{p}' has fewer elements in the {reader} schema than the {writer} schema")
        } else if TYPE_EXTENDED.contains(&k) {
            format!("An array or combined type at path '{p}' has more elements in the {reader} schema than the {writer} schema")
        } else if TYPE_CHANGED.contains(&k) {
            format!("A type at path '{p}' is different between the {reader} schema and the {writer} schema")
        } else if ADDED_TO_OPEN.contains(&k) {
            format!("The {reader} schema has an open content model and has a property or item at path '{p}' which is missing in the {writer} schema")
        } else if k == "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL" {
            format!("The {reader} schema has an unopen content model and has a required property at path '{p}' which is missing in the {writer} schema")
        } else if k == "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL"
            || k == "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL"
        {
            format!("The {reader} schema has a closed content model and is missing a property or item present at path '{p}' in the {writer} schema")
        } else if k == "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            || k == "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
        {
            format!("A property or item is missing in the {reader} schema but present at path '{p}' in the {writer} schema and is not covered by its partially open content model")
        } else if k == "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            || k == "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
        {
            format!("The {reader} schema has a property or item at path '{p}' which is missing in the {writer} schema and is not covered by its partially open content model")
        } else {
            String::new()
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

impl std::fmt::Display for Difference {
    /// `<TYPE> <path>`, as Confluent's tests print differences.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.path)
    }
}

/// The differences between `original` (the writer) and `update` (the reader) under
/// [`Policy::Strict`].
pub fn diff(original: &JsonSchema, update: &JsonSchema) -> Vec<Difference> {
    diff_with_policy(original, update, Policy::Strict)
}

/// The differences under `policy`, which decides which `oneOf`/`anyOf` branches and `allOf`
/// subschemas count as matching (Confluent `SchemaDiff.compare(compatibleChanges, …)`).
pub fn diff_with_policy(
    original: &JsonSchema,
    update: &JsonSchema,
    policy: Policy,
) -> Vec<Difference> {
    // Deep reference chains recurse deeply: compare on a thread with a big stack, and bound the
    // depth so that even a hostile schema cannot overflow it.
    let spawned = std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("json-schema-diff".into())
            .stack_size(256 << 20)
            .spawn_scoped(scope, || run(original, update, policy, MAX_DEPTH))
            .ok()?;
        // A failure inside the comparison is reported as an incompatibility, never re-raised.
        Some(handle.join().unwrap_or_else(|_| {
            vec![Difference {
                kind: "TYPE_CHANGED",
                path: "#/".to_string(),
            }]
        }))
    });
    match spawned {
        Some(diffs) => diffs,
        None => run(original, update, policy, FALLBACK_MAX_DEPTH),
    }
}

/// Whether every difference is compatible under `policy`.
pub fn is_compatible(diffs: &[Difference], policy: Policy) -> bool {
    diffs.iter().all(|d| policy.allows(d.kind))
}

/// The incompatible differences as Confluent prints them for a BACKWARD check (reader = "new",
/// writer = "old"): `{errorType:"<TYPE>", description:"…"}`.
pub fn incompatibility_messages(diffs: &[Difference], policy: Policy) -> Vec<String> {
    incompatibility_messages_as(diffs, policy, "new", "old")
}

/// [`incompatibility_messages`] with the reader and writer wording given (Confluent's
/// `SchemaValidatorBuilder` uses `("old", "new")` when the old schema is the reader).
pub fn incompatibility_messages_as(
    diffs: &[Difference],
    policy: Policy,
    reader: &str,
    writer: &str,
) -> Vec<String> {
    diffs
        .iter()
        .filter(|d| !policy.allows(d.kind))
        .map(|d| d.to_confluent_message_as(reader, writer))
        .collect()
}

// ----------------------------------------------------------------------------- machinery

const MAX_DEPTH: usize = 4000;
const FALLBACK_MAX_DEPTH: usize = 64;
const MAX_PASSES: usize = 64;

/// A node of either schema: side 0 is `original`, side 1 `update`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct N {
    side: u8,
    id: NodeId,
}

type Pair = (N, N);

fn run(
    original: &JsonSchema,
    update: &JsonSchema,
    policy: Policy,
    max_depth: usize,
) -> Vec<Difference> {
    let schemas = [original, update];
    let root_o = N {
        side: 0,
        id: original.root(),
    };
    let root_u = N {
        side: 1,
        id: update.root(),
    };
    let mut seed: HashMap<Pair, Rc<Vec<Difference>>> = HashMap::new();
    let mut last = Vec::new();
    for _ in 0..MAX_PASSES {
        let mut sh = Shared {
            schemas,
            policy,
            memo: HashMap::new(),
            in_progress: HashSet::new(),
            seed: &seed,
            optimistic: HashSet::new(),
            keys: HashMap::new(),
            depth: 0,
            max_depth,
        };
        let mut ctx = Ctx::root();
        sh.compare(&mut ctx, Some(root_o), Some(root_u));
        // Assumptions ("a pair met again while being compared is compatible") that turned out
        // wrong: seed them as incompatible and compare again.
        let mut wrong: Vec<(Pair, Rc<Vec<Difference>>)> = Vec::new();
        for pair in &sh.optimistic {
            if let Some(result) = sh.memo.get(pair) {
                if !result.iter().all(|d| policy.allows(d.kind)) {
                    wrong.push((*pair, result.clone()));
                }
            }
        }
        last = ctx.diffs;
        if wrong.is_empty() {
            break;
        }
        for (pair, result) in wrong {
            seed.insert(pair, result);
        }
    }
    last
}

struct Shared<'a> {
    schemas: [&'a JsonSchema; 2],
    policy: Policy,
    memo: HashMap<Pair, Rc<Vec<Difference>>>,
    in_progress: HashSet<Pair>,
    seed: &'a HashMap<Pair, Rc<Vec<Difference>>>,
    optimistic: HashSet<Pair>,
    keys: HashMap<N, Rc<str>>,
    depth: usize,
    max_depth: usize,
}

/// A comparison context: the current path and the differences found under it.
struct Ctx {
    path: Vec<String>,
    diffs: Vec<Difference>,
}

impl Ctx {
    fn root() -> Ctx {
        Ctx {
            path: Vec::new(),
            diffs: Vec::new(),
        }
    }

    fn sub(&self) -> Ctx {
        Ctx {
            path: self.path.clone(),
            diffs: Vec::new(),
        }
    }

    fn path_string(&self) -> String {
        format!("#/{}", self.path.join("/"))
    }

    fn add(&mut self, kind: &'static str) {
        let path = self.path_string();
        self.diffs.push(Difference { kind, path });
    }

    fn add_at(&mut self, attribute: &str, kind: &'static str) {
        self.path.push(attribute.to_string());
        self.add(kind);
        self.path.pop();
    }

    fn enter(&mut self, segment: impl Into<String>) {
        self.path.push(segment.into());
    }

    fn leave(&mut self) {
        self.path.pop();
    }

    fn add_rebased(&mut self, relative: &[Difference]) {
        if self.path.is_empty() {
            self.diffs.extend(relative.iter().cloned());
            return;
        }
        let prefix = self.path_string();
        for d in relative {
            let path = if d.path.len() <= 2 {
                prefix.clone()
            } else {
                format!("{prefix}/{}", &d.path[2..])
            };
            self.diffs.push(Difference { kind: d.kind, path });
        }
    }
}

impl<'a> Shared<'a> {
    fn node(&self, n: N) -> &'a Node {
        self.schemas[n.side as usize].node(n.id)
    }

    fn at(&self, n: N, id: NodeId) -> N {
        N { side: n.side, id }
    }

    fn compatible(&self, ctx: &Ctx) -> bool {
        ctx.diffs.iter().all(|d| self.policy.allows(d.kind))
    }

    /// Follows references to the schema they point to.
    fn normalize(&self, mut n: N) -> N {
        for _ in 0..64 {
            match &self.node(n).kind {
                Kind::Reference { target, .. } => n = self.at(n, *target),
                _ => break,
            }
        }
        n
    }

    fn compare(&mut self, ctx: &mut Ctx, original: Option<N>, update: Option<N>) {
        let (o, u) = match (original, update) {
            (None, None) => return,
            (None, Some(_)) => return ctx.add("SCHEMA_ADDED"),
            (Some(_), None) => return ctx.add("SCHEMA_REMOVED"),
            (Some(o), Some(u)) => (self.normalize(o), self.normalize(u)),
        };
        let relative = self.memoized((o, u));
        ctx.add_rebased(&relative);
    }

    fn memoized(&mut self, pair: Pair) -> Rc<Vec<Difference>> {
        if let Some(result) = self.memo.get(&pair) {
            return result.clone();
        }
        if self.in_progress.contains(&pair) {
            if let Some(seeded) = self.seed.get(&pair) {
                return seeded.clone();
            }
            self.optimistic.insert(pair);
            return Rc::new(Vec::new());
        }
        if self.depth >= self.max_depth {
            // Too deep to follow: refuse rather than guess.
            return Rc::new(vec![Difference {
                kind: "TYPE_CHANGED",
                path: "#/".to_string(),
            }]);
        }
        self.in_progress.insert(pair);
        self.depth += 1;
        let mut ctx = Ctx::root();
        self.compare_pair(&mut ctx, pair.0, pair.1);
        self.depth -= 1;
        self.in_progress.remove(&pair);
        let result = Rc::new(ctx.diffs);
        self.memo.insert(pair, result.clone());
        result
    }

    fn compare_pair(&mut self, ctx: &mut Ctx, o: N, u: N) {
        let on = self.node(o);
        let un = self.node(u);
        match (&on.kind, &un.kind) {
            (
                k,
                Kind::Combined {
                    criterion,
                    subschemas,
                    ..
                },
            ) if !matches!(k, Kind::Combined { .. }) => {
                if subschemas.len() == 1 {
                    let mut sub = ctx.sub();
                    self.compare(&mut sub, Some(o), Some(self.at(u, subschemas[0])));
                    if self.compatible(&sub) {
                        ctx.diffs.extend(sub.diffs);
                        return;
                    }
                } else if matches!(criterion, Criterion::AnyOf | Criterion::OneOf) {
                    for s in subschemas {
                        let mut sub = ctx.sub();
                        self.compare(&mut sub, Some(o), Some(self.at(u, *s)));
                        if self.compatible(&sub) {
                            ctx.diffs.extend(sub.diffs);
                            ctx.add("SUM_TYPE_EXTENDED");
                            return;
                        }
                    }
                }
            }
            (
                Kind::Combined {
                    criterion,
                    subschemas,
                    ..
                },
                k,
            ) if !matches!(k, Kind::Combined { .. }) => {
                if subschemas.len() == 1 {
                    let mut sub = ctx.sub();
                    self.compare(&mut sub, Some(self.at(o, subschemas[0])), Some(u));
                    if self.compatible(&sub) {
                        ctx.diffs.extend(sub.diffs);
                        return;
                    }
                } else if *criterion == Criterion::AllOf {
                    for s in subschemas {
                        let mut sub = ctx.sub();
                        self.compare(&mut sub, Some(self.at(o, *s)), Some(u));
                        if self.compatible(&sub) {
                            ctx.diffs.extend(sub.diffs);
                            ctx.add("PRODUCT_TYPE_NARROWED");
                            return;
                        }
                    }
                }
            }
            _ => {}
        }
        if std::mem::discriminant(&on.kind) != std::mem::discriminant(&un.kind) {
            if matches!(on.kind, Kind::False) || un.kind.is_empty_schema() {
                return;
            }
            if on.extra_str("connect.type") == Some("bytes")
                && un.extra_str("connect.type") == Some("bytes")
            {
                // Connect's decimal-as-bytes fix: both sides are "bytes".
                return;
            }
            return ctx.add("TYPE_CHANGED");
        }
        if on.id != un.id {
            ctx.add("ID_CHANGED");
        }
        if on.title != un.title {
            ctx.add("TITLE_CHANGED");
        }
        if on.description != un.description {
            ctx.add("DESCRIPTION_CHANGED");
        }
        if !defaults_equal(on.default.as_ref(), un.default.as_ref()) {
            ctx.add("DEFAULT_CHANGED");
        }
        match (&on.kind, &un.kind) {
            (Kind::String(a), Kind::String(b)) => compare_string(ctx, a, b),
            (Kind::Number(a), Kind::Number(b)) => compare_number(ctx, a, b),
            (Kind::Const(a), Kind::Const(b)) if !a.java_equals(b) => {
                ctx.add_at("const", "ENUM_ARRAY_CHANGED")
            }
            (Kind::Enum(a), Kind::Enum(b)) => compare_enum(ctx, a, b),
            (
                Kind::Combined {
                    criterion: ca,
                    subschemas: sa,
                    ..
                },
                Kind::Combined {
                    criterion: cb,
                    subschemas: sb,
                    ..
                },
            ) => self.compare_combined(ctx, o, u, (*ca, sa), (*cb, sb)),
            (Kind::Not(a), Kind::Not(b)) => {
                ctx.enter("not");
                let mut sub = ctx.sub();
                // Reversed: the update's negated schema must accept what the original's did.
                self.compare(&mut sub, Some(self.at(u, *b)), Some(self.at(o, *a)));
                if self.compatible(&sub) {
                    ctx.add("NOT_TYPE_NARROWED");
                } else {
                    ctx.add("NOT_TYPE_EXTENDED");
                }
                ctx.leave();
            }
            (Kind::Object(a), Kind::Object(b)) => self.compare_object(ctx, o, u, a, b),
            (Kind::Array(a), Kind::Array(b)) => self.compare_array(ctx, o, u, a, b),
            _ => {}
        }
    }

    // ------------------------------------------------------------------------ combined

    fn compare_combined(
        &mut self,
        ctx: &mut Ctx,
        o: N,
        u: N,
        (oc, os): (Criterion, &[NodeId]),
        (uc, us): (Criterion, &[NodeId]),
    ) {
        let change = if oc == uc {
            None
        } else {
            match uc {
                Criterion::AnyOf => Some("COMBINED_TYPE_EXTENDED"),
                // A singleton, or an allOf (every branch held), may become a oneOf.
                Criterion::OneOf if os.len() == 1 || oc == Criterion::AllOf => {
                    Some("COMBINED_TYPE_EXTENDED")
                }
                Criterion::AllOf if os.len() == 1 && us.len() == 1 => {
                    Some("COMBINED_TYPE_EXTENDED")
                }
                _ => Some("COMBINED_TYPE_CHANGED"),
            }
        };
        if let Some(kind) = change {
            ctx.add(kind);
            if kind == "COMBINED_TYPE_CHANGED" {
                return;
            }
        }
        // Duplicates collapse, as Confluent's LinkedHashSet of subschemas does.
        let originals = self.distinct(os.iter().map(|id| self.at(o, *id)).collect());
        let updates = self.distinct(us.iter().map(|id| self.at(u, *id)).collect());
        let (no, nu) = (originals.len(), updates.len());
        if no < nu {
            ctx.add(if uc == Criterion::AllOf {
                "PRODUCT_TYPE_EXTENDED"
            } else {
                "SUM_TYPE_EXTENDED"
            });
        } else if no > nu {
            // Fewer subschemas: narrowing an allOf (the original's) is compatible.
            ctx.add(if oc == Criterion::AllOf {
                "PRODUCT_TYPE_NARROWED"
            } else {
                "SUM_TYPE_NARROWED"
            });
        }
        let mut edges: Vec<(usize, usize, Vec<Difference>)> = Vec::new();
        for (i, orig) in originals.iter().enumerate() {
            ctx.enter(format!("{}/{i}", oc.as_str()));
            for (j, upd) in updates.iter().enumerate() {
                let mut sub = ctx.sub();
                self.compare(&mut sub, Some(*orig), Some(*upd));
                if self.compatible(&sub) {
                    edges.push((i, j, sub.diffs));
                }
            }
            ctx.leave();
        }
        let matching = max_matching(no, nu, &edges);
        for (i, j) in &matching {
            if let Some((_, _, diffs)) = edges.iter().find(|(a, b, _)| a == i && b == j) {
                ctx.diffs.extend(diffs.iter().cloned());
            }
        }
        if matching.len() < no.min(nu) {
            ctx.add("COMBINED_TYPE_SUBSCHEMAS_CHANGED");
        }
    }

    fn distinct(&mut self, nodes: Vec<N>) -> Vec<N> {
        let mut seen: HashSet<Rc<str>> = HashSet::new();
        let mut out = Vec::new();
        for n in nodes {
            let key = self.key(n, 0);
            if seen.insert(key) {
                out.push(n);
            }
        }
        out
    }

    /// A structural key standing for everit's `Schema.toString()`: equal keys, equal schemas.
    fn key(&mut self, n: N, depth: usize) -> Rc<str> {
        if let Some(k) = self.keys.get(&n) {
            return k.clone();
        }
        if depth > 256 {
            return Rc::from(format!("#node{}:{}", n.side, n.id));
        }
        let node = self.node(n);
        let mut s = String::new();
        s.push_str(node.kind.class_name());
        let child = |me: &mut Self, id: NodeId| me.key(me.at(n, id), depth + 1);
        let opt = |me: &mut Self, id: Option<NodeId>| match id {
            Some(id) => child(me, id).to_string(),
            None => "-".to_string(),
        };
        match &node.kind {
            Kind::String(k) => s.push_str(&format!("{k:?}")),
            Kind::Number(k) => s.push_str(&format!("{k:?}")),
            Kind::Enum(values) => {
                let mut v: Vec<String> = values.iter().map(sorted_json).collect();
                v.sort();
                v.dedup();
                s.push_str(&v.join(","));
            }
            Kind::Const(v) => s.push_str(&sorted_json(v)),
            Kind::Combined {
                criterion,
                subschemas,
                ..
            } => {
                s.push_str(criterion.as_str());
                for id in subschemas {
                    let k = child(self, *id);
                    s.push('[');
                    s.push_str(&k);
                    s.push(']');
                }
            }
            Kind::Not(id) => {
                let k = child(self, *id);
                s.push_str(&k);
            }
            Kind::Reference { value, .. } => s.push_str(value),
            Kind::Conditional {
                if_schema,
                then_schema,
                else_schema,
            } => {
                for id in [if_schema, then_schema, else_schema] {
                    let k = opt(self, *id);
                    s.push('[');
                    s.push_str(&k);
                    s.push(']');
                }
            }
            Kind::Object(k) => {
                let mut props: Vec<String> = Vec::new();
                for (name, id) in &k.properties {
                    props.push(format!("{name:?}:{}", child(self, *id)));
                }
                props.sort();
                let mut pats: Vec<String> = Vec::new();
                for (p, id) in &k.pattern_properties {
                    pats.push(format!("{p:?}:{}", child(self, *id)));
                }
                pats.sort();
                let mut sdeps: Vec<String> = Vec::new();
                for (p, id) in &k.schema_dependencies {
                    sdeps.push(format!("{p:?}:{}", child(self, *id)));
                }
                sdeps.sort();
                let mut pdeps: Vec<String> = k
                    .property_dependencies
                    .iter()
                    .map(|(p, l)| {
                        let mut l = l.clone();
                        l.sort();
                        format!("{p:?}:{l:?}")
                    })
                    .collect();
                pdeps.sort();
                let mut required = k.required.clone();
                required.sort();
                let addl = opt(self, k.additional_properties_schema);
                let names = opt(self, k.property_names);
                s.push_str(&format!(
                    "{{{}|{}|{}|{}|{}|{}|{:?}|{:?}|{:?}|{}|{}}}",
                    props.join(","),
                    pats.join(","),
                    sdeps.join(","),
                    pdeps.join(","),
                    required.join(","),
                    k.additional_properties,
                    k.min_properties,
                    k.max_properties,
                    k.requires_object,
                    addl,
                    names
                ));
            }
            Kind::Array(k) => {
                let all = opt(self, k.all_items);
                let items = match &k.item_schemas {
                    Some(ids) => {
                        let mut parts = Vec::new();
                        for id in ids {
                            parts.push(child(self, *id).to_string());
                        }
                        format!("[{}]", parts.join(","))
                    }
                    None => "-".to_string(),
                };
                let addl = opt(self, k.additional_items_schema);
                let contains = opt(self, k.contains);
                s.push_str(&format!(
                    "{{{all}|{items}|{addl}|{contains}|{}|{}|{:?}|{:?}|{}}}",
                    k.additional_items, k.unique_items, k.min_items, k.max_items, k.requires_array
                ));
            }
            _ => {}
        }
        s.push_str(&format!(
            "<{:?}|{:?}|{:?}|{}>",
            node.id,
            node.title,
            node.description,
            node.default.as_ref().map(sorted_json).unwrap_or_default()
        ));
        let mut extras: Vec<String> = Vec::new();
        for (k, v) in &node.unprocessed {
            let text = match v {
                charter_serde::json_schema::model::Extra::Json(j) => sorted_json(j),
                charter_serde::json_schema::model::Extra::Schema(id) => {
                    child(self, *id).to_string()
                }
            };
            extras.push(format!("{k:?}={text}"));
        }
        extras.sort();
        s.push_str(&extras.join(","));
        let key: Rc<str> = Rc::from(s);
        self.keys.insert(n, key.clone());
        key
    }

    // -------------------------------------------------------------------------- object

    fn compare_object(
        &mut self,
        ctx: &mut Ctx,
        o: N,
        u: N,
        a: &ObjectKeywords,
        b: &ObjectKeywords,
    ) {
        // required
        ctx.enter("required");
        for name in hash_map_order(a.properties.iter().map(|(k, _)| k.as_str())) {
            if b.property(name).is_none() {
                continue;
            }
            let was = a.is_required(name);
            let now = b.is_required(name);
            if was && !now {
                ctx.add_at(name, "REQUIRED_ATTRIBUTE_REMOVED");
            } else if !was && now {
                let has_default = b
                    .property(name)
                    .is_some_and(|id| self.node(self.at(u, id)).default.is_some());
                ctx.add_at(
                    name,
                    if has_default {
                        "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED"
                    } else {
                        "REQUIRED_ATTRIBUTE_ADDED"
                    },
                );
            }
        }
        ctx.leave();

        // properties
        ctx.enter("properties");
        let keys = hash_set_union_order(
            a.properties.iter().map(|(k, _)| k.as_str()),
            b.properties.iter().map(|(k, _)| k.as_str()),
        );
        for name in keys {
            ctx.enter(name);
            match (a.property(name), b.property(name)) {
                (Some(os), None) => self.property_removed(ctx, o, u, b, name, os),
                (None, Some(us)) => self.property_added(ctx, o, u, a, b, name, us),
                (Some(os), Some(us)) => {
                    self.compare(ctx, Some(self.at(o, os)), Some(self.at(u, us)))
                }
                (None, None) => {}
            }
            ctx.leave();
        }
        ctx.leave();

        // dependencies
        ctx.enter("dependencies");
        let keys = hash_set_union_order(
            a.property_dependencies.iter().map(|(k, _)| k.as_str()),
            b.property_dependencies.iter().map(|(k, _)| k.as_str()),
        );
        for name in keys {
            let od = a
                .property_dependencies
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v);
            let ud = b
                .property_dependencies
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v);
            match (od, ud) {
                (_, None) => ctx.add_at(name, "DEPENDENCY_ARRAY_REMOVED"),
                (None, Some(_)) => ctx.add_at(name, "DEPENDENCY_ARRAY_ADDED"),
                (Some(od), Some(ud)) => {
                    let ud_has_all = od.iter().all(|x| ud.contains(x));
                    let od_has_all = ud.iter().all(|x| od.contains(x));
                    if !(ud_has_all && od_has_all) {
                        ctx.add_at(
                            name,
                            if ud_has_all {
                                "DEPENDENCY_ARRAY_EXTENDED"
                            } else if od_has_all {
                                "DEPENDENCY_ARRAY_NARROWED"
                            } else {
                                "DEPENDENCY_ARRAY_CHANGED"
                            },
                        );
                    }
                }
            }
        }
        let keys = hash_set_union_order(
            a.schema_dependencies.iter().map(|(k, _)| k.as_str()),
            b.schema_dependencies.iter().map(|(k, _)| k.as_str()),
        );
        for name in keys {
            let os = a
                .schema_dependencies
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| *v);
            let us = b
                .schema_dependencies
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| *v);
            match (os, us) {
                (_, None) => ctx.add_at(name, "DEPENDENCY_SCHEMA_REMOVED"),
                (None, Some(_)) => ctx.add_at(name, "DEPENDENCY_SCHEMA_ADDED"),
                (Some(os), Some(us)) => {
                    ctx.enter(name);
                    self.compare(ctx, Some(self.at(o, os)), Some(self.at(u, us)));
                    ctx.leave();
                }
            }
        }
        ctx.leave();

        // additionalProperties
        ctx.enter("additionalProperties");
        if a.additional_properties != b.additional_properties {
            ctx.add(if b.additional_properties {
                "ADDITIONAL_PROPERTIES_ADDED"
            } else {
                "ADDITIONAL_PROPERTIES_REMOVED"
            });
        } else {
            match (
                a.additional_properties_schema,
                b.additional_properties_schema,
            ) {
                (None, Some(_)) => ctx.add("ADDITIONAL_PROPERTIES_NARROWED"),
                (Some(_), None) => ctx.add("ADDITIONAL_PROPERTIES_EXTENDED"),
                (Some(x), Some(y)) => self.compare(ctx, Some(self.at(o, x)), Some(self.at(u, y))),
                (None, None) => {}
            }
        }
        ctx.leave();

        // unevaluatedProperties (2019-09 / 2020-12)
        let (ou, uu) = (
            self.unevaluated(o, "unevaluatedProperties"),
            self.unevaluated(u, "unevaluatedProperties"),
        );
        self.compare_unevaluated(
            ctx,
            o,
            u,
            ou,
            uu,
            "unevaluatedProperties",
            "UNEVALUATED_PROPERTIES",
        );

        // attributes
        compare_bound(
            ctx,
            "maxProperties",
            &a.max_properties,
            &b.max_properties,
            "MAX_PROPERTIES",
        );
        compare_bound(
            ctx,
            "minProperties",
            &a.min_properties,
            &b.min_properties,
            "MIN_PROPERTIES",
        );
    }

    /// The `unevaluated*` schema kept beside a node, if it is a schema.
    fn unevaluated(&self, n: N, key: &str) -> Option<N> {
        self.node(n).extra_schema(key).map(|id| self.at(n, id))
    }

    #[allow(clippy::too_many_arguments)]
    fn compare_unevaluated(
        &mut self,
        ctx: &mut Ctx,
        _o: N,
        _u: N,
        ou: Option<N>,
        uu: Option<N>,
        segment: &str,
        prefix: &'static str,
    ) {
        let permits =
            |me: &Self, x: Option<N>| x.is_none_or(|x| !matches!(me.node(x).kind, Kind::False));
        let schema = |me: &Self, x: Option<N>| {
            x.filter(|x| {
                let k = &me.node(*x).kind;
                !matches!(k, Kind::False) && !k.is_empty_schema()
            })
        };
        ctx.enter(segment);
        let (po, pu) = (permits(self, ou), permits(self, uu));
        if po != pu {
            ctx.add(match (prefix, pu) {
                ("UNEVALUATED_PROPERTIES", true) => "UNEVALUATED_PROPERTIES_ADDED",
                ("UNEVALUATED_PROPERTIES", false) => "UNEVALUATED_PROPERTIES_REMOVED",
                (_, true) => "UNEVALUATED_ITEMS_ADDED",
                (_, false) => "UNEVALUATED_ITEMS_REMOVED",
            });
        } else {
            match (schema(self, ou), schema(self, uu)) {
                (None, Some(_)) => ctx.add(if prefix == "UNEVALUATED_PROPERTIES" {
                    "UNEVALUATED_PROPERTIES_NARROWED"
                } else {
                    "UNEVALUATED_ITEMS_NARROWED"
                }),
                (Some(_), None) => ctx.add(if prefix == "UNEVALUATED_PROPERTIES" {
                    "UNEVALUATED_PROPERTIES_EXTENDED"
                } else {
                    "UNEVALUATED_ITEMS_EXTENDED"
                }),
                (Some(x), Some(y)) => self.compare(ctx, Some(x), Some(y)),
                (None, None) => {}
            }
        }
        ctx.leave();
    }

    fn object_is_open(&self, n: N, k: &ObjectKeywords) -> bool {
        k.additional_properties
            && k.additional_properties_schema.is_none()
            && k.pattern_properties.is_empty()
            && self
                .unevaluated(n, "unevaluatedProperties")
                .is_none_or(|x| self.node(x).kind.is_empty_schema())
    }

    fn object_partial_schema(&self, n: N, k: &ObjectKeywords, name: &str) -> Option<N> {
        for (pattern, id) in &k.pattern_properties {
            if self.schemas[n.side as usize].pattern_matches(pattern, name) {
                return Some(self.at(n, *id));
            }
        }
        if let Some(id) = k.additional_properties_schema {
            return Some(self.at(n, id));
        }
        if k.additional_properties {
            if let Some(x) = self.unevaluated(n, "unevaluatedProperties") {
                let kind = &self.node(x).kind;
                if !matches!(kind, Kind::False) && !kind.is_empty_schema() {
                    return Some(x);
                }
            }
        }
        None
    }

    fn property_removed(
        &mut self,
        ctx: &mut Ctx,
        o: N,
        u: N,
        b: &ObjectKeywords,
        name: &str,
        os: NodeId,
    ) {
        if self.object_is_open(u, b) {
            return ctx.add("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL");
        }
        if let Some(partial) = self.object_partial_schema(u, b, name) {
            let mut sub = ctx.sub();
            self.compare(&mut sub, Some(self.at(o, os)), Some(partial));
            let ok = self.compatible(&sub);
            ctx.diffs.extend(sub.diffs);
            ctx.add(if ok {
                "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            } else {
                "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            });
        } else if matches!(self.node(self.at(o, os)).kind, Kind::False) {
            ctx.add("PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL");
        } else {
            ctx.add("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL");
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn property_added(
        &mut self,
        ctx: &mut Ctx,
        o: N,
        u: N,
        a: &ObjectKeywords,
        b: &ObjectKeywords,
        name: &str,
        us: NodeId,
    ) {
        let added = self.node(self.at(u, us));
        let required = b.is_required(name);
        let has_default = added.default.is_some();
        if self.object_is_open(o, a) {
            return ctx.add(if added.kind.is_empty_schema() {
                "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"
            } else if required && has_default {
                "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL"
            } else if required {
                "REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"
            } else {
                "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"
            });
        }
        if let Some(partial) = self.object_partial_schema(o, a, name) {
            let mut sub = ctx.sub();
            self.compare(&mut sub, Some(partial), Some(self.at(u, us)));
            let ok = self.compatible(&sub);
            ctx.diffs.extend(sub.diffs);
            ctx.add(if ok {
                "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            } else {
                "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            });
        }
        ctx.add(if !required {
            "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"
        } else if has_default {
            "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL"
        } else {
            "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"
        });
    }

    // --------------------------------------------------------------------------- array

    fn compare_array(&mut self, ctx: &mut Ctx, o: N, u: N, a: &ArrayKeywords, b: &ArrayKeywords) {
        ctx.enter("items");
        self.compare(
            ctx,
            a.all_items.map(|i| self.at(o, i)),
            b.all_items.map(|i| self.at(u, i)),
        );
        ctx.leave();

        let oi: &[NodeId] = a.item_schemas.as_deref().unwrap_or(&[]);
        let ui: &[NodeId] = b.item_schemas.as_deref().unwrap_or(&[]);
        let common = oi.len().min(ui.len());
        for index in 0..common {
            ctx.enter(format!("items/{index}"));
            self.compare(
                ctx,
                Some(self.at(o, oi[index])),
                Some(self.at(u, ui[index])),
            );
            ctx.leave();
        }
        for (index, os) in oi.iter().enumerate().skip(common) {
            ctx.enter(format!("items/{index}"));
            if self.array_is_open(u, b) {
                ctx.add("ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL");
            } else if let Some(partial) = self.array_partial_schema(u, b) {
                let mut sub = ctx.sub();
                self.compare(&mut sub, Some(self.at(o, *os)), Some(partial));
                let ok = self.compatible(&sub);
                ctx.diffs.extend(sub.diffs);
                ctx.add(if ok {
                    "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                } else {
                    "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                });
            } else if matches!(self.node(self.at(o, *os)).kind, Kind::False) {
                ctx.add("ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL");
            } else {
                ctx.add("ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL");
            }
            ctx.leave();
        }
        for (index, us) in ui.iter().enumerate().skip(common) {
            ctx.enter(format!("items/{index}"));
            if self.array_is_open(o, a) {
                ctx.add(if self.node(self.at(u, *us)).kind.is_empty_schema() {
                    "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL"
                } else {
                    "ITEM_ADDED_TO_OPEN_CONTENT_MODEL"
                });
            } else if let Some(partial) = self.array_partial_schema(o, a) {
                let mut sub = ctx.sub();
                self.compare(&mut sub, Some(partial), Some(self.at(u, *us)));
                let ok = self.compatible(&sub);
                ctx.diffs.extend(sub.diffs);
                ctx.add(if ok {
                    "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                } else {
                    "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                });
            } else {
                ctx.add("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL");
            }
            ctx.leave();
        }

        ctx.enter("additionalItems");
        if a.additional_items != b.additional_items {
            ctx.add(if a.additional_items {
                "ADDITIONAL_ITEMS_REMOVED"
            } else {
                "ADDITIONAL_ITEMS_ADDED"
            });
        } else {
            match (a.additional_items_schema, b.additional_items_schema) {
                (None, Some(_)) => ctx.add("ADDITIONAL_ITEMS_NARROWED"),
                (Some(_), None) => ctx.add("ADDITIONAL_ITEMS_EXTENDED"),
                (Some(x), Some(y)) => self.compare(ctx, Some(self.at(o, x)), Some(self.at(u, y))),
                (None, None) => {}
            }
        }
        ctx.leave();

        let (ou, uu) = (
            self.unevaluated(o, "unevaluatedItems"),
            self.unevaluated(u, "unevaluatedItems"),
        );
        self.compare_unevaluated(ctx, o, u, ou, uu, "unevaluatedItems", "UNEVALUATED_ITEMS");

        compare_bound(ctx, "maxItems", &a.max_items, &b.max_items, "MAX_ITEMS");
        compare_bound(ctx, "minItems", &a.min_items, &b.min_items, "MIN_ITEMS");
        let (on, un) = (self.node(o), self.node(u));
        compare_bound(
            ctx,
            "maxContains",
            &on.extra_number("maxContains").cloned(),
            &un.extra_number("maxContains").cloned(),
            "MAX_CONTAINS",
        );
        compare_bound(
            ctx,
            "minContains",
            &on.extra_number("minContains").cloned(),
            &un.extra_number("minContains").cloned(),
            "MIN_CONTAINS",
        );
        if a.unique_items != b.unique_items {
            ctx.add_at(
                "uniqueItems",
                if a.unique_items {
                    "UNIQUE_ITEMS_REMOVED"
                } else {
                    "UNIQUE_ITEMS_ADDED"
                },
            );
        }
    }

    fn array_is_open(&self, n: N, k: &ArrayKeywords) -> bool {
        k.additional_items
            && k.additional_items_schema.is_none()
            && self
                .unevaluated(n, "unevaluatedItems")
                .is_none_or(|x| self.node(x).kind.is_empty_schema())
    }

    fn array_partial_schema(&self, n: N, k: &ArrayKeywords) -> Option<N> {
        if let Some(id) = k.additional_items_schema {
            return Some(self.at(n, id));
        }
        if k.additional_items {
            if let Some(x) = self.unevaluated(n, "unevaluatedItems") {
                let kind = &self.node(x).kind;
                if !matches!(kind, Kind::False) && !kind.is_empty_schema() {
                    return Some(x);
                }
            }
        }
        None
    }
}

// ------------------------------------------------------------------------------ keywords

fn defaults_equal(a: Option<&Json>, b: Option<&Json>) -> bool {
    match (a, b) {
        (None, None) => true,
        // Objects and arrays become org.json JSONObject/JSONArray, which compare by identity:
        // Confluent always sees such defaults as changed.
        (Some(Json::Object(_) | Json::Array(_)), _)
        | (_, Some(Json::Object(_) | Json::Array(_))) => false,
        (Some(x), Some(y)) => x.java_equals(y),
        _ => false,
    }
}

fn sorted_json(v: &Json) -> String {
    charter_serde::json_schema::json::to_sorted_compact(v)
}

/// The usual ADDED / REMOVED / INCREASED / DECREASED for a numeric keyword.
fn compare_bound(
    ctx: &mut Ctx,
    attribute: &str,
    original: &Option<Dec>,
    update: &Option<Dec>,
    prefix: &str,
) {
    let kind = match (original, update) {
        (None, None) => return,
        (None, Some(_)) => "ADDED",
        (Some(_), None) => "REMOVED",
        (Some(a), Some(b)) => match a.cmp_value(b) {
            std::cmp::Ordering::Less => "INCREASED",
            std::cmp::Ordering::Greater => "DECREASED",
            std::cmp::Ordering::Equal => return,
        },
    };
    ctx.add_at(attribute, difference_type(prefix, kind));
}

/// `<prefix>_<suffix>` as one of the known `&'static str` difference types.
fn difference_type(prefix: &str, suffix: &str) -> &'static str {
    const TYPES: &[&str] = &[
        "MAX_LENGTH_ADDED",
        "MAX_LENGTH_REMOVED",
        "MAX_LENGTH_INCREASED",
        "MAX_LENGTH_DECREASED",
        "MIN_LENGTH_ADDED",
        "MIN_LENGTH_REMOVED",
        "MIN_LENGTH_INCREASED",
        "MIN_LENGTH_DECREASED",
        "MAXIMUM_ADDED",
        "MAXIMUM_REMOVED",
        "MAXIMUM_INCREASED",
        "MAXIMUM_DECREASED",
        "MINIMUM_ADDED",
        "MINIMUM_REMOVED",
        "MINIMUM_INCREASED",
        "MINIMUM_DECREASED",
        "EXCLUSIVE_MAXIMUM_ADDED",
        "EXCLUSIVE_MAXIMUM_REMOVED",
        "EXCLUSIVE_MAXIMUM_INCREASED",
        "EXCLUSIVE_MAXIMUM_DECREASED",
        "EXCLUSIVE_MINIMUM_ADDED",
        "EXCLUSIVE_MINIMUM_REMOVED",
        "EXCLUSIVE_MINIMUM_INCREASED",
        "EXCLUSIVE_MINIMUM_DECREASED",
        "MAX_PROPERTIES_ADDED",
        "MAX_PROPERTIES_REMOVED",
        "MAX_PROPERTIES_INCREASED",
        "MAX_PROPERTIES_DECREASED",
        "MIN_PROPERTIES_ADDED",
        "MIN_PROPERTIES_REMOVED",
        "MIN_PROPERTIES_INCREASED",
        "MIN_PROPERTIES_DECREASED",
        "MAX_ITEMS_ADDED",
        "MAX_ITEMS_REMOVED",
        "MAX_ITEMS_INCREASED",
        "MAX_ITEMS_DECREASED",
        "MIN_ITEMS_ADDED",
        "MIN_ITEMS_REMOVED",
        "MIN_ITEMS_INCREASED",
        "MIN_ITEMS_DECREASED",
        "MAX_CONTAINS_ADDED",
        "MAX_CONTAINS_REMOVED",
        "MAX_CONTAINS_INCREASED",
        "MAX_CONTAINS_DECREASED",
        "MIN_CONTAINS_ADDED",
        "MIN_CONTAINS_REMOVED",
        "MIN_CONTAINS_INCREASED",
        "MIN_CONTAINS_DECREASED",
    ];
    TYPES
        .iter()
        .copied()
        .find(|t| {
            t.len() == prefix.len() + 1 + suffix.len()
                && t.starts_with(prefix)
                && t.ends_with(suffix)
        })
        .unwrap_or("TYPE_CHANGED")
}

fn compare_string(ctx: &mut Ctx, a: &StringKeywords, b: &StringKeywords) {
    compare_bound(ctx, "maxLength", &a.max_length, &b.max_length, "MAX_LENGTH");
    compare_bound(ctx, "minLength", &a.min_length, &b.min_length, "MIN_LENGTH");
    match (&a.pattern, &b.pattern) {
        (None, Some(_)) => ctx.add_at("pattern", "PATTERN_ADDED"),
        (Some(_), None) => ctx.add_at("pattern", "PATTERN_REMOVED"),
        (Some(x), Some(y)) if x != y => ctx.add_at("pattern", "PATTERN_CHANGED"),
        _ => {}
    }
}

fn compare_number(ctx: &mut Ctx, a: &NumberKeywords, b: &NumberKeywords) {
    use std::cmp::Ordering::*;
    compare_bound(ctx, "maximum", &a.maximum, &b.maximum, "MAXIMUM");
    compare_bound(ctx, "minimum", &a.minimum, &b.minimum, "MINIMUM");
    match (&a.exclusive_maximum, &b.exclusive_maximum) {
        (None, None) => {}
        (None, Some(_)) => ctx.add_at("exclusiveMaximum", "EXCLUSIVE_MAXIMUM_ADDED"),
        (Some(_), None) => ctx.add_at("exclusiveMaximum", "EXCLUSIVE_MAXIMUM_REMOVED"),
        (Some(x), Some(y)) => match x.cmp_value(y) {
            Equal => {}
            Less => ctx.add_at("exclusiveMaximum", "EXCLUSIVE_MAXIMUM_INCREASED"),
            Greater => {
                // Confluent compares this branch against the update's `maximum`.
                let against = b.maximum.as_ref().unwrap_or(y);
                if x.cmp_value(against) == Greater {
                    ctx.add_at("exclusiveMaximum", "EXCLUSIVE_MAXIMUM_DECREASED");
                }
            }
        },
    }
    compare_bound(
        ctx,
        "exclusiveMinimum",
        &a.exclusive_minimum,
        &b.exclusive_minimum,
        "EXCLUSIVE_MINIMUM",
    );
    match (&a.multiple_of, &b.multiple_of) {
        (None, None) => {}
        (None, Some(_)) => ctx.add_at("multipleOf", "MULTIPLE_OF_ADDED"),
        (Some(_), None) => ctx.add_at("multipleOf", "MULTIPLE_OF_REMOVED"),
        (Some(x), Some(y)) => {
            if x.cmp_value(y) != Equal {
                ctx.add_at(
                    "multipleOf",
                    if y.is_multiple_of(x) {
                        "MULTIPLE_OF_EXPANDED"
                    } else if x.is_multiple_of(y) {
                        "MULTIPLE_OF_REDUCED"
                    } else {
                        "MULTIPLE_OF_CHANGED"
                    },
                );
            }
        }
    }
    if a.requires_integer != b.requires_integer {
        ctx.add(if a.requires_integer {
            "TYPE_EXTENDED"
        } else {
            "TYPE_NARROWED"
        });
    }
}

fn compare_enum(ctx: &mut Ctx, a: &[Json], b: &[Json]) {
    let contains_all =
        |big: &[Json], small: &[Json]| small.iter().all(|x| big.iter().any(|y| x.java_equals(y)));
    let b_has_a = contains_all(b, a);
    let a_has_b = contains_all(a, b);
    if b_has_a && a_has_b {
        return;
    }
    ctx.add_at(
        "enum",
        if b_has_a {
            "ENUM_ARRAY_EXTENDED"
        } else if a_has_b {
            "ENUM_ARRAY_NARROWED"
        } else {
            "ENUM_ARRAY_CHANGED"
        },
    );
}

// --------------------------------------------------------------------- matching, ordering

/// A maximum bipartite matching between `no` originals and `nu` updates over `edges`
/// (Confluent uses Hopcroft–Karp; any maximum matching has the size that decides
/// compatibility). Returned in original order.
fn max_matching(
    no: usize,
    nu: usize,
    edges: &[(usize, usize, Vec<Difference>)],
) -> Vec<(usize, usize)> {
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); no];
    for (i, j, _) in edges {
        if *i < no && *j < nu {
            adj[*i].push(*j);
        }
    }
    let mut match_u: Vec<Option<usize>> = vec![None; nu];
    let mut match_o: Vec<Option<usize>> = vec![None; no];
    // Greedy start, as Confluent's initial matching.
    for i in 0..no {
        if let Some(&j) = adj[i].iter().find(|j| match_u[**j].is_none()) {
            match_u[j] = Some(i);
            match_o[i] = Some(j);
        }
    }
    // Augmenting paths, found breadth-first (no recursion).
    for start in 0..no {
        if match_o[start].is_some() {
            continue;
        }
        let mut parent_u: Vec<Option<usize>> = vec![None; nu];
        let mut visited_o = vec![false; no];
        let mut queue = VecDeque::from([start]);
        visited_o[start] = true;
        let mut end: Option<usize> = None;
        'bfs: while let Some(i) = queue.pop_front() {
            for &j in &adj[i] {
                if parent_u[j].is_some() {
                    continue;
                }
                parent_u[j] = Some(i);
                match match_u[j] {
                    None => {
                        end = Some(j);
                        break 'bfs;
                    }
                    Some(next) => {
                        if !visited_o[next] {
                            visited_o[next] = true;
                            queue.push_back(next);
                        }
                    }
                }
            }
        }
        let mut j_opt = end;
        while let Some(j) = j_opt {
            let Some(i) = parent_u[j] else { break };
            let previous = match_o[i];
            match_o[i] = Some(j);
            match_u[j] = Some(i);
            j_opt = previous;
        }
    }
    match_o
        .iter()
        .enumerate()
        .filter_map(|(i, j)| j.map(|j| (i, j)))
        .collect()
}

fn java_hash(s: &str) -> u32 {
    let h = s
        .encode_utf16()
        .fold(0u32, |h, c| h.wrapping_mul(31).wrapping_add(c as u32));
    h ^ (h >> 16)
}

fn capacity_for(mut cap: usize, size: usize) -> usize {
    while size > cap / 4 * 3 && cap < (1 << 30) {
        cap *= 2;
    }
    cap
}

fn bucket_sort(keys: Vec<&str>, cap: usize) -> Vec<&str> {
    let mut keyed: Vec<(usize, &str)> = keys
        .into_iter()
        .map(|k| ((java_hash(k) as usize) & (cap - 1), k))
        .collect();
    keyed.sort_by_key(|(bucket, _)| *bucket);
    keyed.into_iter().map(|(_, k)| k).collect()
}

fn distinct<'a>(keys: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for k in keys {
        if seen.insert(k) {
            out.push(k);
        }
    }
    out
}

/// Iteration order of a Java `HashMap<String, _>` filled with `keys` in order.
fn hash_map_order<'a>(keys: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let keys = distinct(keys);
    let cap = capacity_for(16, keys.len());
    bucket_sort(keys, cap)
}

/// Iteration order of `new HashSet<>(first.keySet())` after `addAll(second.keySet())`, both
/// being Java `HashMap`s filled in document order — the order in which Confluent reports
/// property and dependency differences.
fn hash_set_union_order<'a>(
    first: impl Iterator<Item = &'a str>,
    second: impl Iterator<Item = &'a str>,
) -> Vec<&'a str> {
    let first = hash_map_order(first);
    let second = hash_map_order(second);
    let initial = ((first.len() as f32 / 0.75) as usize + 1).max(16);
    let mut cap = initial.next_power_of_two();
    let mut all = first.clone();
    for k in second {
        if !first.contains(&k) {
            all.push(k);
        }
    }
    cap = capacity_for(cap, all.len());
    bucket_sort(all, cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> JsonSchema {
        JsonSchema::parse(s, &[], false).expect("valid schema")
    }

    fn changes(old: &str, new: &str) -> Vec<String> {
        diff(&parse(old), &parse(new))
            .iter()
            .map(|d| d.to_string())
            .collect()
    }

    #[test]
    fn java_hash_order() {
        assert_eq!(
            hash_set_union_order(["foo"].into_iter(), ["bar"].into_iter()),
            ["bar", "foo"]
        );
        assert_eq!(java_hash(""), 0);
    }

    #[test]
    fn basic_differences() {
        assert_eq!(
            changes(r#"{"type":"object"}"#, r#"{"type":"array"}"#),
            ["TYPE_CHANGED #/"]
        );
        assert_eq!(
            changes(
                r#"{"properties":{"foo":{"type":"string"}}}"#,
                r#"{"properties":{"foo":{"type":"string"},"bar":{"type":"number"}}}"#
            ),
            ["OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL #/properties/bar"]
        );
        assert!(changes("{}", "{}").is_empty());
        assert_eq!(changes("true", "false"), ["TYPE_CHANGED #/"]);
        assert!(changes("false", r#"{"type":"string"}"#).is_empty());
    }

    #[test]
    fn policies() {
        let old = parse(r#"{"properties":{"a":{"type":"string"}}}"#);
        let new = parse(r#"{"properties":{"a":{"type":"string"},"b":{"type":"string"}}}"#);
        let d = diff(&old, &new);
        assert!(!is_compatible(&d, Policy::Strict));
        assert!(is_compatible(&d, Policy::Lenient));
        assert_eq!(
            incompatibility_messages(&d, Policy::Strict),
            ["{errorType:\"OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL\", description:\"The new schema has an open content model and has a property or item at path '#/properties/b' which is missing in the old schema\"}"]
        );
        assert!(incompatibility_messages(&d, Policy::Lenient).is_empty());
    }

    #[test]
    fn self_recursive_schema_terminates() {
        let s = r##"{"definitions":{"n":{"type":"object","properties":{"next":{"$ref":"#/definitions/n"},"v":{"type":"string"}}}},"$ref":"#/definitions/n"}"##;
        let t = r##"{"definitions":{"n":{"type":"object","properties":{"next":{"$ref":"#/definitions/n"},"v":{"type":"number"}}}},"$ref":"#/definitions/n"}"##;
        assert!(changes(s, s).is_empty());
        // The recursion is reported too: the second pass seeds the cycle with the first pass's
        // differences, as Confluent's fixpoint does.
        assert_eq!(
            changes(s, t),
            [
                "TYPE_CHANGED #/properties/next/properties/v",
                "TYPE_CHANGED #/properties/v"
            ]
        );
    }

    #[test]
    fn deep_reference_chain_is_bounded() {
        let n = 6000;
        let mut defs = Vec::new();
        for i in 0..n {
            defs.push(format!(r##""d{i}":{{"type":"object","properties":{{"x":{{"$ref":"#/definitions/d{}"}}}}}}"##, i + 1));
        }
        defs.push(format!(r#""d{n}":{{"type":"string"}}"#));
        let s = format!(
            r##"{{"definitions":{{{}}},"$ref":"#/definitions/d0"}}"##,
            defs.join(",")
        );
        let a = parse(&s);
        let d = diff(&a, &a);
        // Deeper than the comparison follows: reported, not crashed.
        assert!(!is_compatible(&d, Policy::Strict));
    }

    #[test]
    fn matching_is_maximum() {
        let edges = vec![(0, 0, vec![]), (0, 1, vec![]), (1, 0, vec![])];
        assert_eq!(max_matching(2, 2, &edges).len(), 2);
    }
}
