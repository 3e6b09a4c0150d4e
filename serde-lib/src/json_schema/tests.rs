//! Unit tests for parsing, the texts and the model classification.

use super::model::{Criterion, Extra, Kind};
use super::{Draft, JsonSchema, JsonSchemaError};

fn lenient(text: &str) -> JsonSchema {
    JsonSchema::parse(text, &[], false).expect("schema loads")
}

fn root_kind(s: &JsonSchema) -> &Kind {
    &s.node(s.root()).kind
}

fn class(s: &JsonSchema) -> &'static str {
    root_kind(s).class_name()
}

#[test]
fn canonical_and_normalized_texts() {
    let s =
        lenient("{ \"type\" : \"object\",\n \"b\": 1.50, \"a\": [true, null, 1e3], \"b\": -0 }");
    assert_eq!(
        s.canonical(),
        r#"{"type":"object","b":0,"a":[true,null,1E+3]}"#
    );
    assert_eq!(
        s.normalized(),
        r#"{"a":[true,null,1E+3],"b":0,"type":"object"}"#
    );
    assert_eq!(lenient("true").canonical(), "true");
}

#[test]
fn not_json_or_not_a_schema() {
    assert!(matches!(
        JsonSchema::parse("{", &[], false),
        Err(JsonSchemaError::InvalidJson(_))
    ));
    assert!(matches!(
        JsonSchema::parse("12", &[], false),
        Err(JsonSchemaError::InvalidSchema(_))
    ));
    let deep = "{\"not\":".repeat(200) + "{}" + &"}".repeat(200);
    assert!(JsonSchema::parse(&deep, &[], false).is_err());
}

#[test]
fn strict_parse_checks_the_meta_schema() {
    assert!(JsonSchema::parse(r#"{"type":"strin"}"#, &[], true).is_err());
    assert!(JsonSchema::parse(r#"{"type":"strin"}"#, &[], false).is_ok());
    assert!(JsonSchema::parse(r#"{"minLength":-1}"#, &[], true).is_err());
    assert!(JsonSchema::parse(r#"{"required":"a"}"#, &[], true).is_err());
    let modern = r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","prefixItems":[{"type":"string"}],"items":false}"#;
    assert!(JsonSchema::parse(modern, &[], true).is_ok());
    let draft4 = r#"{"$schema":"http://json-schema.org/draft-04/schema#","exclusiveMaximum":true,"maximum":3}"#;
    assert_eq!(
        JsonSchema::parse(draft4, &[], true).map(|s| s.draft()),
        Ok(Draft::Draft4)
    );
    // Top-level property names may not start with "$$".
    assert!(JsonSchema::parse(r#"{"properties":{"$$x":{}}}"#, &[], true).is_err());
    assert!(JsonSchema::parse(r#"{"properties":{"$$x":{}}}"#, &[], false).is_ok());
}

#[test]
fn unresolvable_references() {
    let text = r##"{"properties":{"a":{"$ref":"#/definitions/missing"}}}"##;
    let err = JsonSchema::parse(text, &[], true).expect_err("strict refuses");
    assert!(err.to_string().contains("#/definitions/missing"), "{err}");
    // Stored versions still load; the reference points to an empty schema.
    let s = lenient(text);
    let Kind::Object(obj) = root_kind(&s) else {
        panic!("object expected")
    };
    let prop = s.node(obj.properties[0].1);
    let Kind::Reference { target, .. } = prop.kind else {
        panic!("reference expected")
    };
    assert_eq!(s.node(target).kind, Kind::Empty);
}

#[test]
fn everit_classification() {
    assert_eq!(class(&lenient("{}")), "EmptySchema");
    assert_eq!(class(&lenient("true")), "TrueSchema");
    assert_eq!(class(&lenient("false")), "FalseSchema");
    assert_eq!(class(&lenient(r#"{"title":"x"}"#)), "EmptySchema");
    assert_eq!(class(&lenient(r#"{"properties":{}}"#)), "ObjectSchema");
    assert_eq!(class(&lenient(r#"{"items":{}}"#)), "ArraySchema");
    assert_eq!(class(&lenient(r#"{"maxLength":3}"#)), "StringSchema");
    assert_eq!(class(&lenient(r#"{"const":1}"#)), "ConstSchema");
    // const is not a draft 4 keyword.
    let d4 = lenient(r#"{"$schema":"http://json-schema.org/draft-04/schema#","const":1}"#);
    assert_eq!(class(&d4), "EmptySchema");
    assert!(d4.node(d4.root()).extra("const").is_some());
    // A type array is an anyOf of typed schemas sharing the keywords.
    let s = lenient(r#"{"type":["string","null"],"maxLength":3}"#);
    let Kind::Combined {
        criterion: Criterion::AnyOf,
        subschemas,
        synthetic: false,
    } = root_kind(&s)
    else {
        panic!("anyOf expected")
    };
    let Kind::String(k) = &s.node(subschemas[0]).kind else {
        panic!("string expected")
    };
    assert!(k.requires_string && k.max_length.is_some());
    // Several keyword groups: a synthetic allOf in everit's order (const before the type).
    let s = lenient(r#"{"type":"string","const":"x","minimum":1}"#);
    let Kind::Combined {
        criterion: Criterion::AllOf,
        subschemas,
        synthetic: true,
    } = root_kind(&s)
    else {
        panic!("synthetic allOf expected")
    };
    let classes: Vec<_> = subschemas
        .iter()
        .map(|id| s.node(*id).kind.class_name())
        .collect();
    assert_eq!(classes, ["ConstSchema", "StringSchema", "NumberSchema"]);
    // $ref wins over its siblings, which stay unprocessed.
    let s = lenient(
        r##"{"$ref":"#/definitions/a","type":"object","definitions":{"a":{"type":"string"}}}"##,
    );
    assert_eq!(class(&s), "ReferenceSchema");
    assert!(s.node(s.root()).extra("type").is_some());
    // Unknown keywords are kept.
    let s = lenient(r#"{"type":"string","connect.type":"bytes"}"#);
    assert_eq!(s.node(s.root()).extra_str("connect.type"), Some("bytes"));
}

#[test]
fn modern_translation() {
    const S: &str = r#""$schema":"https://json-schema.org/draft/2020-12/schema""#;
    let m = |body: &str| lenient(&format!("{{{S}{body}}}"));
    // Nothing that validates: an empty schema, even with "properties": {}.
    assert_eq!(class(&m("")), "EmptySchema");
    assert_eq!(class(&m(r#","properties":{}"#)), "EmptySchema");
    assert_eq!(class(&m(r#","format":"email""#)), "EmptySchema");
    // The root $id is the document's base, not an id.
    assert_eq!(
        m(r#","$id":"urn:x""#)
            .node(m(r#","$id":"urn:x""#).root())
            .id,
        None
    );
    // Keywords of one class merge.
    let s = m(
        r#","type":"object","properties":{"a":{}},"required":["a"],"additionalProperties":false"#,
    );
    let Kind::Object(o) = root_kind(&s) else {
        panic!("object expected")
    };
    assert!(o.requires_object && !o.additional_properties && o.is_required("a"));
    // items beside prefixItems is the schema of additional items; items:false closes the array.
    let s = m(r#","prefixItems":[{}],"items":{"type":"string"}"#);
    let Kind::Array(a) = root_kind(&s) else {
        panic!("array expected")
    };
    assert!(
        a.additional_items_schema.is_some() && a.item_schemas.as_ref().map(Vec::len) == Some(1)
    );
    let s = m(r#","items":false"#);
    let Kind::Array(a) = root_kind(&s) else {
        panic!("array expected")
    };
    assert!(!a.additional_items && a.all_items.is_none());
    // contains records minContains (1 when absent).
    let s = m(r#","contains":{"type":"number"}"#);
    assert!(s.node(s.root()).extra_number("minContains").is_some());
    // $ref beside other keywords is kept: a generated allOf.
    let s = m(r##","$defs":{"b":{"type":"object"}},"$ref":"#/$defs/b","properties":{"x":{}}"##);
    let Kind::Combined {
        criterion: Criterion::AllOf,
        subschemas,
        ..
    } = root_kind(&s)
    else {
        panic!("allOf expected")
    };
    assert_eq!(subschemas.len(), 2);
    // unevaluatedProperties is a schema kept beside the object.
    let s = m(r#","unevaluatedProperties":{"type":"string"}"#);
    assert!(matches!(
        s.node(s.root()).extra("unevaluatedProperties"),
        Some(Extra::Schema(_))
    ));
    // A type array absorbs keywords of a listed type.
    let s = m(r#","type":["string","null"],"maxLength":2"#);
    let Kind::Combined {
        criterion: Criterion::AnyOf,
        subschemas,
        ..
    } = root_kind(&s)
    else {
        panic!("anyOf expected")
    };
    assert_eq!(subschemas.len(), 2);
}

#[test]
fn recursive_references_share_their_target() {
    let s = lenient(
        r##"{"definitions":{"n":{"type":"object","properties":{"next":{"$ref":"#/definitions/n"}}}},"$ref":"#/definitions/n"}"##,
    );
    let Kind::Reference { target, .. } = *root_kind(&s) else {
        panic!("reference expected")
    };
    let Kind::Object(o) = &s.node(target).kind else {
        panic!("object expected")
    };
    let Kind::Reference { target: inner, .. } = s.node(o.properties[0].1).kind else {
        panic!("reference expected")
    };
    assert_eq!(inner, target);
}

#[test]
fn references_to_other_schemas() {
    let other = r#"{"$id":"http://example.com/other.json","definitions":{"x":{"type":"integer"}},"type":"string"}"#;
    let main = r##"{"$id":"http://example.com/main.json","properties":{"a":{"$ref":"other.json"},"b":{"$ref":"other.json#/definitions/x"}}}"##;
    let s = JsonSchema::parse(main, &[("other.json", other)], true).expect("resolves");
    let Kind::Object(o) = root_kind(&s) else {
        panic!("object expected")
    };
    let target = |i: usize| match s.node(o.properties[i].1).kind {
        Kind::Reference { target, .. } => s.node(target).kind.class_name(),
        _ => "?",
    };
    assert_eq!(target(0), "StringSchema");
    assert_eq!(target(1), "NumberSchema");
    // Without the reference the strict parse fails.
    assert!(JsonSchema::parse(main, &[], true).is_err());
    // Names that are not absolute, without any $id.
    let s = JsonSchema::parse(
        r#"{"properties":{"a":{"$ref":"address.json"}}}"#,
        &[("address.json", r#"{"type":"object"}"#)],
        true,
    );
    assert!(s.is_ok());
    assert!(matches!(
        JsonSchema::parse("{}", &[("x", "{")], false),
        Err(JsonSchemaError::InvalidReference { .. })
    ));
}

#[test]
fn anchors_and_ids() {
    let s = JsonSchema::parse(
        r##"{"definitions":{"a":{"$id":"#thing","type":"string"}},"properties":{"p":{"$ref":"#thing"}}}"##,
        &[],
        true,
    );
    assert!(s.is_ok(), "{s:?}");
    let s = JsonSchema::parse(
        r##"{"$schema":"https://json-schema.org/draft/2020-12/schema","$defs":{"a":{"$anchor":"thing","type":"string"}},"properties":{"p":{"$ref":"#thing"}}}"##,
        &[],
        true,
    );
    assert!(s.is_ok(), "{s:?}");
}

#[test]
fn pattern_matching_is_a_search() {
    let s = lenient(r#"{"patternProperties":{"^S_":{},"x$":{},"(":{}}}"#);
    assert!(s.pattern_matches("^S_", "S_1"));
    assert!(!s.pattern_matches("^S_", "aS_1"));
    assert!(s.pattern_matches("x$", "abx"));
    assert!(!s.pattern_matches("(", "("));
}

#[test]
fn schemas_are_shareable() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<JsonSchema>();
    assert_eq!(lenient("{}"), lenient(" { } "));
}

#[test]
fn formats_of_the_schema_itself_are_not_asserted() {
    // Java accepts these; the meta-schema's "regex" / "uri-reference" formats would not.
    for t in [
        r#"{"pattern":"(?i)abc"}"#,
        r##"{"$ref":"#/definitions/a b","definitions":{"a b":{}}}"##,
        r#"{"$id":"not a uri"}"#,
        r#"{"type":"string","format":"whatever"}"#,
    ] {
        assert!(JsonSchema::parse(t, &[], true).is_ok(), "{t}");
    }
}

#[test]
fn exponential_type_arrays_are_refused() {
    // Every branch of a type array gets its own copy of the object keywords.
    let mut t = r#"{"type":"string"}"#.to_string();
    for _ in 0..30 {
        t = format!(r#"{{"type":["object","object","object"],"properties":{{"a":{t}}}}}"#);
    }
    let err = JsonSchema::parse(&t, &[], false).expect_err("too large");
    assert!(err.to_string().contains("too large"), "{err}");
}
