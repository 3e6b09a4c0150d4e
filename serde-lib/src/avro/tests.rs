//! Parsing and printing, checked against what Java prints.
//!
//! Expected texts come from Confluent's tests (`AvroSchemaTest`, the API reference's example
//! exchange) or follow Avro 1.12's `Schema.toJson` / Confluent's `AvroSchemaUtils` line by line;
//! the test names say which.

use super::{AvroError, AvroSchema, AvroType, ParseOptions};

const STRICT: ParseOptions = ParseOptions { validate: true };
const LENIENT: ParseOptions = ParseOptions { validate: false };

fn canonical(text: &str) -> String {
    AvroSchema::parse(text, &[], STRICT)
        .unwrap_or_else(|e| panic!("{text} should parse: {e}"))
        .canonical()
}

fn strict_error(text: &str) -> String {
    match AvroSchema::parse(text, &[], STRICT) {
        Ok(s) => panic!("{text} should be rejected, got {}", s.canonical()),
        Err(e) => e.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Canonical form

#[test]
fn api_reference_example() {
    assert_eq!(
        canonical(
            r#"{"type": "record", "name": "User", "fields": [{"name": "name", "type": "string"}]}"#
        ),
        r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"}]}"#
    );
}

#[test]
fn confluent_test_normalization_doc_escapes() {
    // Confluent AvroSchemaTest#testNormalization: canonical and normalized are the same text.
    let text = r#"{"type":"record","name":"myrecord","doc":"hi\"there","fields":[{"type":"string","name":"f1","doc":"bye\"now"}]}"#;
    let expected = r#"{"type":"record","name":"myrecord","doc":"hi\"there","fields":[{"name":"f1","type":"string","doc":"bye\"now"}]}"#;
    let schema = AvroSchema::parse(text, &[], STRICT).unwrap();
    assert_eq!(schema.canonical(), expected);
    assert_eq!(schema.normalized(), expected);
}

#[test]
fn confluent_test_normalization_keeps_primitive_metadata() {
    // Confluent AvroSchemaTest#testNormalizationPreservesMetadataForPrimitiveTypes.
    let text = r#"{"connect.name": "some.scope.Envelope","fields": [{"default": null,"name": "before","type": ["null",{"connect.name": "some.scope.Value","fields": [{"name": "created_at","type": {"connect.name": "io.debezium.time.Timestamp","connect.version": 1,"type": "long"}},{"name":"normal_long","type":"long"}],"name": "Value","type": "record"}]},{"default": null,"name": "after","type": ["null","Value"]}],"name": "Envelope","namespace": "some.scope","type": "record"}"#;
    let expected = concat!(
        r#"{"type":"record","name":"Envelope","namespace":"some.scope","fields":["#,
        r#"{"name":"before","type":["null",{"type":"record","name":"Value","fields":["#,
        r#"{"name":"created_at","type":{"type":"long","connect.name":"io.debezium.time.Timestamp","connect.version":1}},"#,
        r#"{"name":"normal_long","type":"long"}],"connect.name":"some.scope.Value"}],"default":null},"#,
        r#"{"name":"after","type":["null","Value"],"default":null}],"connect.name":"some.scope.Envelope"}"#
    );
    let schema = AvroSchema::parse(text, &[], STRICT).unwrap();
    assert_eq!(schema.canonical(), expected);
    assert_eq!(schema.normalized(), expected);
}

#[test]
fn primitives_print_bare_unless_they_have_properties() {
    assert_eq!(canonical(r#""string""#), r#""string""#);
    assert_eq!(canonical(r#"{"type":"string"}"#), r#""string""#);
    // Reserved keys are dropped from a primitive, anything else is a property.
    assert_eq!(
        canonical(r#"{"type":"string","name":"x","doc":"d","avro.java.string":"String"}"#),
        r#"{"type":"string","avro.java.string":"String"}"#
    );
    assert_eq!(
        canonical(r#"{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}"#),
        r#"{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}"#
    );
}

#[test]
fn key_order_of_every_kind() {
    // Schema.toJson: record = type, name, namespace, doc, fields, props, aliases;
    // field = name, type, doc, default, order (when not ascending), aliases, props.
    let text = r#"{"aliases":["Old"],"x-prop":true,"fields":[
        {"x":1,"aliases":["g"],"order":"DESCENDING","default":"a","doc":"fd","type":"string","name":"f"},
        {"name":"e","type":{"x":2,"aliases":["E0"],"default":"B","symbols":["A","B"],"doc":"ed","name":"E","type":"enum"}},
        {"name":"fx","type":{"x":3,"aliases":["F0"],"size":4,"doc":"xd","name":"F","type":"fixed"}},
        {"name":"m","type":{"x":4,"values":"int","type":"map"}},
        {"name":"a","type":{"x":5,"items":"E","type":"array"},"order":"ignore"}
    ],"doc":"rd","namespace":"ns","name":"R","type":"error"}"#;
    assert_eq!(
        canonical(text),
        concat!(
            r#"{"type":"error","name":"R","namespace":"ns","doc":"rd","fields":["#,
            r#"{"name":"f","type":"string","doc":"fd","default":"a","order":"descending","aliases":["g"],"x":1},"#,
            r#"{"name":"e","type":{"type":"enum","name":"E","doc":"ed","symbols":["A","B"],"default":"B","x":2,"aliases":["E0"]}},"#,
            r#"{"name":"fx","type":{"type":"fixed","name":"F","doc":"xd","size":4,"x":3,"aliases":["F0"]}},"#,
            r#"{"name":"m","type":{"type":"map","values":"int","x":4}},"#,
            r#"{"name":"a","type":{"type":"array","items":"E","x":5},"order":"ignore"}"#,
            r#"],"x-prop":true,"aliases":["Old"]}"#
        )
    );
}

#[test]
fn namespaces_are_written_only_where_they_change() {
    let text = r#"{"type":"record","name":"a.b.R","fields":[
        {"name":"same","type":{"type":"record","name":"S","fields":[]}},
        {"name":"other","type":{"type":"record","name":"T","namespace":"c","fields":[
            {"name":"back","type":{"type":"enum","name":"a.b.E","symbols":["X"]}}]}},
        {"name":"none","type":{"type":"fixed","name":"N","namespace":"","size":1}},
        {"name":"r1","type":"S"},{"name":"r2","type":"c.T"},{"name":"r3","type":"N"},{"name":"r4","type":"E"}
    ]}"#;
    assert_eq!(
        canonical(text),
        concat!(
            r#"{"type":"record","name":"R","namespace":"a.b","fields":["#,
            r#"{"name":"same","type":{"type":"record","name":"S","fields":[]}},"#,
            r#"{"name":"other","type":{"type":"record","name":"T","namespace":"c","fields":["#,
            r#"{"name":"back","type":{"type":"enum","name":"E","namespace":"a.b","symbols":["X"]}}]}},"#,
            r#"{"name":"none","type":{"type":"fixed","name":"N","namespace":"","size":1}},"#,
            r#"{"name":"r1","type":"S"},{"name":"r2","type":"c.T"},{"name":"r3","type":"N"},{"name":"r4","type":"E"}]}"#
        )
    );
}

#[test]
fn references_to_types_named_like_avro_types_stay_qualified() {
    // Name.getQualified writes the full name when the simple name is a type name.
    let text = r#"{"type":"record","name":"R","namespace":"x","fields":[
        {"name":"a","type":{"type":"fixed","name":"map","size":2}},{"name":"b","type":"map"}]}"#;
    // "map" inside a namespace is the type keyword when written bare; Java keeps `x.map`.
    let text = text.replace(r#""type":"map"}"#, r#""type":"x.map"}"#);
    assert_eq!(
        canonical(&text),
        r#"{"type":"record","name":"R","namespace":"x","fields":[{"name":"a","type":{"type":"fixed","name":"map","size":2}},{"name":"b","type":"x.map"}]}"#
    );
}

#[test]
fn aliases_are_written_relative_to_the_type_namespace() {
    let text = r#"{"type":"enum","name":"E","namespace":"a","aliases":["Old","b.Other","Old"],"symbols":["X"]}"#;
    let schema = AvroSchema::parse(text, &[], STRICT).unwrap();
    assert_eq!(
        schema.canonical(),
        r#"{"type":"enum","name":"E","namespace":"a","symbols":["X"],"aliases":["Old","b.Other"]}"#
    );
    assert_eq!(schema.root().aliases(), vec!["a.Old", "b.Other"]);
}

#[test]
fn numbers_are_printed_as_jackson_prints_them() {
    let text = r#"{"type":"record","name":"R","fields":[
        {"name":"d","type":"double","default":1e3},
        {"name":"e","type":"double","default":0},
        {"name":"f","type":"float","default":"1.5"},
        {"name":"g","type":"double","default":"NaN"},
        {"name":"l","type":"long","default":4000000000},
        {"name":"p","type":{"type":"int","x":123456789012345678901234567890,"y":1.0E-10}}]}"#;
    assert_eq!(
        canonical(text),
        concat!(
            r#"{"type":"record","name":"R","fields":["#,
            r#"{"name":"d","type":"double","default":1000.0},"#,
            r#"{"name":"e","type":"double","default":0},"#,
            r#"{"name":"f","type":"float","default":1.5},"#,
            r#"{"name":"g","type":"double","default":"NaN"},"#,
            r#"{"name":"l","type":"long","default":4000000000},"#,
            r#"{"name":"p","type":{"type":"int","x":123456789012345678901234567890,"y":1.0E-10}}]}"#
        )
    );
}

#[test]
fn recursive_types_print_by_name() {
    let text = r#"{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"],"default":null}]}"#;
    assert_eq!(canonical(text), text);
}

#[test]
fn forward_references_resolve_when_the_document_ends() {
    // Avro 1.12 accepts a name used before its definition; it is printed in full at first use.
    let text = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"E"},{"name":"b","type":{"type":"enum","name":"E","symbols":["X"]}}]}"#;
    assert_eq!(
        canonical(text),
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"enum","name":"E","symbols":["X"]}},{"name":"b","type":"E"}]}"#
    );
}

#[test]
fn comments_are_allowed() {
    assert_eq!(canonical("/* a */ \"int\" // b"), r#""int""#);
}

// ---------------------------------------------------------------------------------------------
// Rejections

#[test]
fn structural_errors() {
    assert_eq!(strict_error(r#""Foo""#), "Undefined schema: Foo");
    assert_eq!(
        strict_error(
            r#"{"type":"record","name":"R","namespace":"n","fields":[{"name":"f","type":"Foo"}]}"#
        ),
        "Undefined schema: n.Foo"
    );
    assert_eq!(strict_error(r#"{"name":"x"}"#), r#"No type: {"name":"x"}"#);
    // Only a field's type may be a nested schema object.
    assert_eq!(
        strict_error(r#"{"type":{"type":"string"}}"#),
        r#"No type: {"type":{"type":"string"}}"#
    );
    assert_eq!(
        strict_error(r#"{"type":"record","name":"R"}"#),
        r#"Record has no fields: {"type":"record","name":"R"}"#
    );
    assert_eq!(
        strict_error(r#"{"type":"enum","name":"E"}"#),
        r#"Enum has no symbols: {"type":"enum","name":"E"}"#
    );
    assert_eq!(
        strict_error(r#"{"type":"fixed","name":"F","size":-1}"#),
        "Malformed data. Length is negative: -1"
    );
    assert_eq!(
        strict_error(r#"["null",["int"]]"#),
        r#"Nested union: ["null",["int"]]"#
    );
    assert_eq!(
        strict_error(r#"["string","int","string"]"#),
        "Duplicate in union:string"
    );
    assert_eq!(
        strict_error(r#"[{"type":"array","items":"int"},{"type":"array","items":"long"}]"#),
        "Duplicate in union:array"
    );
    assert_eq!(strict_error("42"), "Schema not yet supported: 42");
    assert_eq!(
        strict_error(r#"{"type":"record","name":"int","fields":[]}"#),
        "Schemas may not be named after primitives: int"
    );
    assert_eq!(
        strict_error(
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"string"}]}"#
        ),
        "Duplicate field a in record R: a type:STRING pos:1 and a type:INT pos:0."
    );
    assert_eq!(
        strict_error(r#"{"type":"enum","name":"E","symbols":["A","A"]}"#),
        "Duplicate enum symbol: A"
    );
    assert_eq!(
        strict_error(r#"{"type":"enum","name":"E","symbols":["A"],"default":"B"}"#),
        "The Enum Default: B is not in the enum symbol set: [A]"
    );
    assert!(matches!(
        AvroSchema::parse("{", &[], LENIENT),
        Err(AvroError::Json(_))
    ));
}

#[test]
fn redefinitions() {
    let record_twice =
        r#"[{"type":"record","name":"A","fields":[]},{"type":"record","name":"A","fields":[]}]"#;
    assert_eq!(strict_error(record_twice), "Can't redefine: A");
    // Java's ParseContext accepts an equal enum (same symbols, no properties) and keeps the first.
    let enum_twice = r#"{"type":"record","name":"R","fields":[
        {"name":"a","type":{"type":"enum","name":"E","symbols":["X"]}},
        {"name":"b","type":{"type":"enum","name":"E","symbols":["X"],"doc":"lost"}}]}"#;
    assert_eq!(
        canonical(enum_twice),
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"enum","name":"E","symbols":["X"]}},{"name":"b","type":"E"}]}"#
    );
    let enum_differs = enum_twice.replace(r#"["X"],"doc""#, r#"["Y"],"doc""#);
    assert_eq!(strict_error(&enum_differs), "Can't redefine: E");
}

#[test]
fn names_are_validated_only_in_strict_mode() {
    let bad = [
        (
            r#"{"type":"record","name":"1R","fields":[]}"#,
            "Illegal initial character: 1R",
        ),
        (
            r#"{"type":"record","name":"R","fields":[{"name":"a-b","type":"int"}]}"#,
            "Illegal character in: a-b",
        ),
        (
            r#"{"type":"enum","name":"E","symbols":["ok","not ok"]}"#,
            "Illegal character in: not ok",
        ),
        (
            r#"{"type":"record","name":"R","namespace":"a.1b","fields":[]}"#,
            r#"Namespace part "1b" is invalid: Illegal initial character: 1b"#,
        ),
    ];
    for (text, message) in bad {
        assert_eq!(strict_error(text), message);
        let lenient =
            AvroSchema::parse(text, &[], LENIENT).unwrap_or_else(|e| panic!("{text}: {e}"));
        // Lenient parsing keeps the text as it was.
        assert!(!lenient.canonical().is_empty());
    }
}

#[test]
fn defaults_are_validated_only_in_strict_mode() {
    let cases = [
        (
            r#"{"type":"record","name":"R","fields":[{"name":"f","type":["null","int"],"default":"null"}]}"#,
            r#"Invalid default for field f: "null" not a ["null","int"]"#,
        ),
        (
            r#"{"type":"record","name":"R","fields":[{"name":"f","type":"int","default":2147483648}]}"#,
            "Invalid default for field f: 2147483648 not a \"int\"",
        ),
        (
            r#"{"type":"record","name":"R","fields":[{"name":"f","type":"string","default":null}]}"#,
            "Invalid default for field f: null not a \"string\"",
        ),
        (
            r#"{"type":"record","name":"R","fields":[{"name":"f","type":{"type":"array","items":"int"},"default":[1,"x"]}]}"#,
            r#"Invalid default for field f: [1,"x"] not a {"type":"array","items":"int"}"#,
        ),
    ];
    for (text, message) in cases {
        assert_eq!(strict_error(text), message);
        let lenient =
            AvroSchema::parse(text, &[], LENIENT).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(
            lenient.canonical().contains("\"default\""),
            "the bad default is kept"
        );
    }
}

#[test]
fn valid_defaults_of_every_kind() {
    // Avro 1.12: a union default may match any branch (the spec says the first one).
    let text = r#"{"type":"record","name":"R","fields":[
        {"name":"u","type":["null","string"],"default":"x"},
        {"name":"r","type":{"type":"record","name":"S","fields":[{"name":"a","type":"int"},{"name":"b","type":"int","default":1}]},"default":{"a":1}},
        {"name":"m","type":{"type":"map","values":"long"},"default":{"k":5000000000}},
        {"name":"e","type":{"type":"enum","name":"E","symbols":["A"]},"default":"not checked against the symbols"},
        {"name":"fx","type":{"type":"fixed","name":"F","size":2},"default":"ab"},
        {"name":"b","type":"bytes","default":"\u00ff"},
        {"name":"n","type":"null","default":null},
        {"name":"t","type":"boolean","default":true},
        {"name":"rec","type":["null","R"],"default":null}]}"#;
    assert!(AvroSchema::parse(text, &[], STRICT).is_ok());
}

#[test]
fn textual_defaults_of_floats_must_be_numbers_even_when_lenient() {
    // Java converts them with Double.parseDouble before any validation.
    let text =
        r#"{"type":"record","name":"R","fields":[{"name":"f","type":"double","default":"abc"}]}"#;
    assert_eq!(
        AvroSchema::parse(text, &[], LENIENT)
            .unwrap_err()
            .to_string(),
        r#"For input string: "abc""#
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = "[".repeat(10_000);
    assert!(AvroSchema::parse(&deep, &[], LENIENT).is_err());
    let mut nested = String::from(r#""int""#);
    for _ in 0..200 {
        nested = format!(r#"{{"type":"array","items":{nested}}}"#);
    }
    assert!(AvroSchema::parse(&nested, &[], LENIENT).is_err());
}

#[test]
fn long_chains_of_named_types_print_without_recursion() {
    // Each type is used (forward) before it is defined, so the printed form nests them all.
    let n = 20_000;
    let mut fields = vec![r#"{"name":"start","type":"T0"}"#.to_string()];
    for i in 0..n {
        fields.push(format!(
            r#"{{"name":"d{i}","type":{{"type":"record","name":"T{i}","fields":[{{"name":"x","type":"T{}"}}]}}}}"#,
            i + 1
        ));
    }
    fields.push(format!(
        r#"{{"name":"last","type":{{"type":"record","name":"T{n}","fields":[]}}}}"#
    ));
    let text = format!(
        r#"{{"type":"record","name":"R","fields":[{}]}}"#,
        fields.join(",")
    );
    let schema = AvroSchema::parse(&text, &[], STRICT).unwrap();
    let canonical = schema.canonical();
    assert!(canonical.starts_with(r#"{"type":"record","name":"R","fields":[{"name":"start","type":{"type":"record","name":"T0","fields":[{"name":"x","type":{"type":"record","name":"T1""#));
    // The printed form nests 20 000 records: reading it back is refused (nesting limit), cleanly.
    assert!(AvroSchema::parse(&canonical, &[], STRICT).is_err());
    assert!(!schema.resolved().is_empty());
    // The normalizer's re-parse fails the same way; it falls back to the canonical text.
    assert_eq!(schema.normalized(), canonical);
}

#[test]
fn garbage_never_panics() {
    // Every prefix and every single-character deletion of a rich schema: parse, and if that
    // works, print every form.
    let text = r#"{"type":"record","name":"a.R","doc":"d","fields":[{"name":"u","type":["null",{"type":"enum","name":"E","symbols":["A","B"],"default":"A"}],"default":null,"aliases":["v"]},{"name":"m","type":{"type":"map","values":{"type":"fixed","name":"F","size":16,"logicalType":"decimal","precision":4}}},{"name":"l","type":{"type":"array","items":"R"},"default":[]},{"name":"d","type":"double","default":"1"}]}"#;
    let mut inputs: Vec<String> = (0..text.len()).map(|i| text[..i].to_string()).collect();
    for i in 0..text.len() {
        let mut s = text.to_string();
        s.remove(i);
        inputs.push(s);
    }
    for input in &inputs {
        for opts in [STRICT, LENIENT] {
            if let Ok(s) = AvroSchema::parse(input, &[], opts) {
                let _ = (s.canonical(), s.normalized(), s.resolved(), s.full_name());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// References, resolved form, normalized form

const ADDRESS: &str = r#"{"type":"record","name":"Address","namespace":"acme","fields":[{"name":"country","type":{"type":"enum","name":"Country","symbols":["FR","US"]}}]}"#;

#[test]
fn references_are_printed_by_name_and_inlined_when_resolved() {
    let user = r#"{"type":"record","name":"User","namespace":"acme","fields":[{"name":"home","type":"Address"},{"name":"work","type":["null","acme.Address"]}]}"#;
    let schema = AvroSchema::parse(user, &[ADDRESS], STRICT).unwrap();
    assert_eq!(schema.full_name().as_deref(), Some("acme.User"));
    assert_eq!(
        schema.canonical(),
        r#"{"type":"record","name":"User","namespace":"acme","fields":[{"name":"home","type":"Address"},{"name":"work","type":["null","Address"]}]}"#
    );
    assert_eq!(
        schema.resolved(),
        concat!(
            r#"{"type":"record","name":"User","namespace":"acme","fields":[{"name":"home","type":"#,
            r#"{"type":"record","name":"Address","fields":[{"name":"country","type":{"type":"enum","name":"Country","symbols":["FR","US"]}}]}},"#,
            r#"{"name":"work","type":["null","Address"]}]}"#
        )
    );
    assert_eq!(schema.normalized(), schema.canonical());
    // The canonical text parses again with the same references.
    let again = AvroSchema::parse(&schema.canonical(), &[ADDRESS], LENIENT).unwrap();
    assert_eq!(again.canonical(), schema.canonical());
}

#[test]
fn nested_types_of_references_are_inlined_in_the_canonical_form() {
    // Java only treats the top-level type of each reference as known: a nested one is printed in
    // full where the schema first uses it.
    let text =
        r#"{"type":"record","name":"acme.Order","fields":[{"name":"c","type":"acme.Country"}]}"#;
    let schema = AvroSchema::parse(text, &[ADDRESS], STRICT).unwrap();
    assert_eq!(
        schema.canonical(),
        r#"{"type":"record","name":"Order","namespace":"acme","fields":[{"name":"c","type":{"type":"enum","name":"Country","symbols":["FR","US"]}}]}"#
    );
}

#[test]
fn references_are_parsed_in_dependency_order() {
    let customer =
        r#"{"type":"record","name":"acme.Customer","fields":[{"name":"a","type":"acme.Address"}]}"#;
    assert!(AvroSchema::parse(r#""acme.Customer""#, &[ADDRESS, customer], STRICT).is_ok());
    assert_eq!(
        AvroSchema::parse(r#""acme.Customer""#, &[customer, ADDRESS], STRICT)
            .unwrap_err()
            .to_string(),
        "Undefined schema: acme.Address"
    );
    // A top-level reference by name is the referenced type, printed by name.
    let by_name = AvroSchema::parse(r#""acme.Address""#, &[ADDRESS], STRICT).unwrap();
    assert_eq!(by_name.canonical(), r#""acme.Address""#);
    assert_eq!(by_name.full_name().as_deref(), Some("acme.Address"));
    assert_eq!(by_name.root().avro_type(), AvroType::Record);
}

#[test]
fn normalized_form_follows_confluent() {
    let text = r#"{"type":"record","name":"R","namespace":"n","doc":"","aliases":["Z","A"],"zz":1,"aa":2,"fields":[
        {"name":"f","type":"float","default":1,"aliases":["y","x"],"order":"ascending","doc":""},
        {"name":"u","type":["null","string"],"default":"dropped"},
        {"name":"ts","type":{"type":"long","z":1,"logicalType":"timestamp-millis"}},
        {"name":"dec","type":{"type":"fixed","name":"D","size":8,"scale":0,"precision":5,"logicalType":"decimal","a":1}}]}"#;
    let schema = AvroSchema::parse(text, &[], STRICT).unwrap();
    assert_eq!(
        schema.normalized(),
        concat!(
            r#"{"type":"record","name":"R","namespace":"n","fields":["#,
            r#"{"name":"f","type":"float","doc":"","default":1.0,"aliases":["x","y"]},"#,
            r#"{"name":"u","type":["null","string"]},"#,
            r#"{"name":"ts","type":{"type":"long","logicalType":"timestamp-millis","z":1}},"#,
            r#"{"name":"dec","type":{"type":"fixed","name":"D","size":8,"logicalType":"decimal","precision":5,"a":1,"scale":0}}],"#,
            r#""aa":2,"zz":1,"aliases":["A","Z"]}"#
        )
    );
}

// ---------------------------------------------------------------------------------------------
// Hostile input

#[test]
fn shared_record_defaults_are_validated_in_polynomial_time() {
    // T{i} has two fields of type T{i-1}, each defaulting to {}: checking a default of T{i}
    // checks T{i-1}'s field defaults twice, and so on down: 2^40 steps without memoization.
    let mut text = String::from(
        r#"{"type":"record","name":"R","fields":[{"name":"t0","type":{"type":"record","name":"T0","fields":[{"name":"x","type":"int","default":1}]},"default":{}}"#,
    );
    for i in 1..40 {
        text.push_str(&format!(
            r#",{{"name":"t{i}","type":{{"type":"record","name":"T{i}","fields":[{{"name":"a","type":"T{p}","default":{{}}}},{{"name":"b","type":"T{p}","default":{{}}}}]}},"default":{{}}}}"#,
            p = i - 1
        ));
    }
    text.push_str("]}");
    let started = std::time::Instant::now();
    assert!(AvroSchema::parse(&text, &[], STRICT).is_ok());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn defaults_that_refer_to_each_other_are_an_error() {
    // A record default that needs the enclosing record, still being parsed: Java throws.
    let enclosing = r#"{"type":"record","name":"A","fields":[
        {"name":"x","type":{"type":"record","name":"B","fields":[{"name":"a","type":"A","default":{}}]}}]}"#;
    assert_eq!(strict_error(enclosing), "Schema fields not set yet");
    // B.a uses A before A exists, so the first checks see a placeholder and pass; once A exists,
    // A's default for b needs B's default for a, which needs A's default for b, and so on: Java
    // recurses until its stack overflows, we stop with an error.
    let siblings = r#"{"type":"record","name":"R","fields":[
        {"name":"x","type":{"type":"record","name":"B","fields":[{"name":"a","type":"A","default":{}}]}},
        {"name":"y","type":{"type":"record","name":"A","fields":[{"name":"b","type":"B","default":{}}]}}]}"#;
    assert!(strict_error(siblings).contains("nests too deeply"));
    assert!(AvroSchema::parse(siblings, &[], LENIENT).is_ok());
}

#[test]
fn many_aliases_and_symbols_are_fine() {
    let aliases: Vec<String> = (0..50_000)
        .map(|i| format!("\"a{}\"", i % 40_000))
        .collect();
    let symbols: Vec<String> = (0..50_000).map(|i| format!("\"S{i}\"")).collect();
    let text = format!(
        r#"{{"type":"enum","name":"E","aliases":[{}],"symbols":[{}]}}"#,
        aliases.join(","),
        symbols.join(",")
    );
    let schema = AvroSchema::parse(&text, &[], STRICT).unwrap();
    assert_eq!(schema.root().aliases().len(), 40_000);
    assert_eq!(schema.root().symbols().len(), 50_000);
}

#[test]
fn schemas_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<AvroSchema>();
}
