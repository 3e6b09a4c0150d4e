//! The plan against the `jsonschema` validator on random schemas and values: a `Valid` must
//! be accepted by the validator and an `Invalid` rejected, always. The run also counts how
//! often the plan decides at all, so that a plan that answers `Unsure` to everything fails.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{Plan, Verdict};
use crate::json_schema::Draft;

/// xorshift64*: deterministic, so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const KEYS: &[&str] = &["a", "b", "c", "d"];
const TYPES: &[&str] = &[
    "null", "boolean", "object", "array", "number", "integer", "string",
];

fn number(r: &mut Rng) -> Value {
    match r.below(6) {
        0 => json!(r.below(10) as i64 - 5),
        1 => json!((r.below(40) as f64 - 20.0) / 4.0),
        2 => json!(u64::MAX - r.below(3)),
        3 => json!(i64::MIN + r.below(3) as i64),
        4 => json!(r.below(5) as f64),
        _ => json!(9_007_199_254_740_993u64 + r.below(3)),
    }
}

fn scalar(r: &mut Rng) -> Value {
    match r.below(5) {
        0 => Value::Null,
        1 => json!(r.chance(50)),
        2 => number(r),
        3 => json!(*r.pick(&["", "x", "ab", "é✓", "abcd", "NEW"])),
        _ => json!(*r.pick(KEYS)),
    }
}

fn schema(r: &mut Rng, depth: u32) -> Value {
    if depth > 3 || r.chance(10) {
        return match r.below(3) {
            0 => json!(true),
            1 => json!(false),
            _ => json!({}),
        };
    }
    let mut m = Map::new();
    let keywords = 1 + r.below(3);
    for _ in 0..keywords {
        match r.below(22) {
            0 | 1 => {
                let t = if r.chance(70) {
                    json!(*r.pick(TYPES))
                } else {
                    json!([*r.pick(TYPES), *r.pick(TYPES)])
                };
                m.insert("type".into(), t);
            }
            2 => {
                let mut members: Vec<Value> = (0..1 + r.below(3)).map(|_| scalar(r)).collect();
                if r.chance(15) {
                    members.push(json!({"a": 1}));
                }
                m.insert("enum".into(), Value::Array(members));
            }
            3 => {
                m.insert("const".into(), scalar(r));
            }
            4 => {
                let k = *r.pick(&["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]);
                m.insert(k.into(), number(r));
            }
            5 => {
                let k = *r.pick(&["minLength", "maxLength", "minItems", "maxItems"]);
                m.insert(k.into(), json!(r.below(4)));
            }
            6 | 7 => {
                let mut props = Map::new();
                for _ in 0..1 + r.below(3) {
                    props.insert((*r.pick(KEYS)).into(), schema(r, depth + 1));
                }
                m.insert("properties".into(), Value::Object(props));
            }
            8 => {
                let req: Vec<Value> = (0..1 + r.below(2)).map(|_| json!(*r.pick(KEYS))).collect();
                m.insert("required".into(), Value::Array(req));
            }
            9 => {
                let a = if r.chance(50) {
                    json!(r.chance(50))
                } else {
                    schema(r, depth + 1)
                };
                m.insert("additionalProperties".into(), a);
            }
            10 => {
                m.insert("items".into(), schema(r, depth + 1));
            }
            11..=13 => {
                let k = *r.pick(&["allOf", "anyOf", "oneOf"]);
                let list: Vec<Value> = (0..1 + r.below(3)).map(|_| schema(r, depth + 1)).collect();
                m.insert(k.into(), Value::Array(list));
            }
            14 => {
                m.insert("not".into(), schema(r, depth + 1));
            }
            15 | 16 => {
                m.insert(
                    "$ref".into(),
                    json!(format!("#/definitions/d{}", r.below(2))),
                );
            }
            17 => {
                m.insert("pattern".into(), json!("^a"));
            }
            18 => {
                m.insert("format".into(), json!("date"));
            }
            19 => {
                m.insert("multipleOf".into(), json!(2));
            }
            20 => {
                m.insert("uniqueItems".into(), json!(r.chance(50)));
            }
            _ => {
                m.insert("title".into(), json!("an annotation"));
            }
        }
    }
    Value::Object(m)
}

fn value(r: &mut Rng, depth: u32) -> Value {
    if depth > 3 {
        return scalar(r);
    }
    match r.below(8) {
        0..=3 => scalar(r),
        4 | 5 => {
            let mut m = Map::new();
            for _ in 0..r.below(4) {
                m.insert((*r.pick(KEYS)).into(), value(r, depth + 1));
            }
            Value::Object(m)
        }
        _ => Value::Array((0..r.below(4)).map(|_| value(r, depth + 1)).collect()),
    }
}

/// A typed value: a struct (not a map), so `Invalid` can be certain for its fields.
#[derive(Debug, Serialize)]
struct Typed {
    a: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    b: Option<String>,
    c: Vec<f64>,
    d: Option<Box<Typed>>,
}

fn typed(r: &mut Rng, depth: u32) -> Typed {
    Typed {
        a: r.below(10) as i64 - 5,
        b: r.chance(60)
            .then(|| (*r.pick(&["", "x", "ab", "é✓", "abcd"])).to_string()),
        c: (0..r.below(4))
            .map(|_| match r.below(3) {
                0 => (r.below(8) as f64) / 2.0,
                1 => f64::NAN,
                _ => r.below(5) as f64,
            })
            .collect(),
        d: (depth < 2 && r.chance(40)).then(|| Box::new(typed(r, depth + 1))),
    }
}

#[derive(Default, Debug)]
struct Tally {
    valid: u32,
    invalid: u32,
    unsure: u32,
}

fn compare<T: Serialize>(
    plan: &Plan,
    validator: &jsonschema::Validator,
    value: &T,
    tally: &mut Tally,
    what: &dyn Fn() -> String,
) {
    let truth = validator.is_valid(&serde_json::to_value(value).unwrap());
    match plan.check(value) {
        Verdict::Valid => {
            assert!(
                truth,
                "the plan accepted what the validator rejects: {}",
                what()
            );
            tally.valid += 1;
        }
        Verdict::Invalid => {
            assert!(
                !truth,
                "the plan rejected what the validator accepts: {}",
                what()
            );
            tally.invalid += 1;
        }
        Verdict::Unsure => tally.unsure += 1,
    }
}

fn run(draft: Draft, seed: u64, schemas: u32) -> (Tally, Tally) {
    let (dialect, spec) = match draft {
        Draft::Draft7 => (
            "http://json-schema.org/draft-07/schema#",
            jsonschema::Draft::Draft7,
        ),
        _ => (
            "https://json-schema.org/draft/2020-12/schema",
            jsonschema::Draft::Draft202012,
        ),
    };
    let mut r = Rng(seed);
    let (mut untyped, mut typed_tally) = (Tally::default(), Tally::default());
    for _ in 0..schemas {
        let mut s = schema(&mut r, 0);
        if let Value::Object(m) = &mut s {
            m.insert("$schema".into(), json!(dialect));
            let defs = json!({"d0": schema(&mut r, 2), "d1": {"$ref": "#/definitions/d0", "type": "object"}});
            m.insert("definitions".into(), defs);
        }
        let Ok(validator) = jsonschema::options().with_draft(spec).build(&s) else {
            continue;
        };
        let Some(plan) = Plan::compile(&s, draft) else {
            continue;
        };
        for _ in 0..20 {
            let v = value(&mut r, 0);
            compare(&plan, &validator, &v, &mut untyped, &|| {
                format!("{s} / {v}")
            });
            let t = typed(&mut r, 0);
            compare(&plan, &validator, &t, &mut typed_tally, &|| {
                format!("{s} / {t:?}")
            });
        }
    }
    (untyped, typed_tally)
}

#[test]
fn the_plan_never_contradicts_the_validator() {
    for (draft, seed) in [
        (Draft::Draft7, 0x5eed_0001),
        (Draft::Draft202012, 0x5eed_0002),
    ] {
        let (untyped, typed) = run(draft, seed, 3000);
        eprintln!("{draft:?}: values {untyped:?}, structs {typed:?}");
        // The plan must decide a fair share, or the fast path would never run.
        for t in [&untyped, &typed] {
            let all = t.valid + t.invalid + t.unsure;
            assert!(t.valid * 10 > all, "too few certain Valid: {t:?}");
            assert!(t.invalid * 10 > all, "too few certain Invalid: {t:?}");
        }
    }
}

#[test]
fn serde_values_are_seen_as_serde_json_writes_them() {
    let plan = |s: Value| Plan::compile(&s, Draft::Draft7).unwrap();
    // Non-finite floats are null; unit variants strings; None null; newtypes transparent.
    assert_eq!(
        plan(json!({"type": "null"})).check(&f64::NAN),
        Verdict::Valid
    );
    #[derive(Serialize)]
    enum E {
        Red,
    }
    #[derive(Serialize)]
    struct N(u8);
    let s = plan(json!({"enum": ["Red"]}));
    assert_eq!(s.check(&E::Red), Verdict::Valid);
    assert_eq!(
        plan(json!({"type": "null"})).check(&None::<u8>),
        Verdict::Valid
    );
    assert_eq!(plan(json!({"maximum": 3})).check(&N(3)), Verdict::Valid);
    assert_eq!(plan(json!({"maximum": 3})).check(&N(4)), Verdict::Invalid);
    // 2.0 is an integer to the validator; the plan leaves that to it.
    assert_eq!(
        plan(json!({"type": "integer"})).check(&2.0),
        Verdict::Unsure
    );
    assert_eq!(
        plan(json!({"type": "integer"})).check(&2.5),
        Verdict::Invalid
    );
    // Exact comparison of large integers (2^53 + 1 is not 2^53).
    let big = plan(json!({"maximum": 9_007_199_254_740_992u64}));
    assert_eq!(big.check(&9_007_199_254_740_993u64), Verdict::Invalid);
    // Strings are counted in characters.
    assert_eq!(plan(json!({"maxLength": 2})).check("é✓"), Verdict::Valid);
    // Keywords the plan does not model leave it unsure.
    assert_eq!(plan(json!({"pattern": "^a"})).check("abc"), Verdict::Unsure);
    assert_eq!(plan(json!({"pattern": "^a"})).check(&1), Verdict::Valid);
    assert_eq!(plan(json!({"multipleOf": 2})).check(&4), Verdict::Unsure);
    // A property named `$id` is no resolution keyword; a nested `$id` keyword is.
    assert!(Plan::compile(
        &json!({"properties": {"$id": {"type": "string"}}}),
        Draft::Draft7
    )
    .is_some());
    assert!(Plan::compile(&json!({"items": {"$id": "x.json"}}), Draft::Draft7).is_none());
    assert!(Plan::compile(&json!({}), Draft::Draft4).is_none());
}

#[test]
fn long_reference_chains_compile_without_deep_recursion() {
    // d0 -> d1 -> ... -> d9999 -> {"type": "string"}: compiled to a bounded depth, the rest
    // left Unsure (the full validator decides), and no stack overflow.
    let mut defs = Map::new();
    for i in 0..10_000 {
        defs.insert(
            format!("d{i}"),
            json!({"$ref": format!("#/definitions/d{}", i + 1)}),
        );
    }
    defs.insert("d10000".into(), json!({"type": "string"}));
    let schema = json!({"$ref": "#/definitions/d0", "definitions": defs});
    let plan = Plan::compile(&schema, Draft::Draft7).expect("a plan");
    assert_eq!(plan.check("x"), Verdict::Unsure);
}
