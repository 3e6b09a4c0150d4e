use super::*;

fn parse(text: &str) -> ProtobufSchema {
    ProtobufSchema::parse(text, &[], true).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

const NESTED: &str = r#"syntax = "proto3";
package com.acme;

import "google/protobuf/timestamp.proto";

// An order.
message Order {
  string id = 1;
  map<string, Line> lines = 2;
  google.protobuf.Timestamp at = 3;
  optional int32 priority = 4;
  oneof payment {
    string card = 5;
    Voucher voucher = 6;
  }

  message Line {
    int64 qty = 1;
    message Detail { string note = 1; }
  }
  enum Kind { KIND_UNSPECIFIED = 0; RUSH = 1; }
  message Voucher { string code = 1; }
}

enum Status { STATUS_UNSPECIFIED = 0; OK = 1; }

message Customer {
  string name = 1;
}
"#;

#[test]
fn canonical_is_wire_style() {
    let s = parse(NESTED);
    assert_eq!(
        s.canonical(),
        r#"syntax = "proto3";
package com.acme;

import "google/protobuf/timestamp.proto";

message Order {
  string id = 1;
  map<string, Line> lines = 2;
  google.protobuf.Timestamp at = 3;
  optional int32 priority = 4;

  oneof payment {
    string card = 5;
    Voucher voucher = 6;
  }

  message Line {
    int64 qty = 1;
  
    message Detail {
      string note = 1;
    }
  }
  message Voucher {
    string code = 1;
  }
  enum Kind {
    KIND_UNSPECIFIED = 0;
    RUSH = 1;
  }
}
message Customer {
  string name = 1;
}
enum Status {
  STATUS_UNSPECIFIED = 0;
  OK = 1;
}
"#
    );
}

#[test]
fn normal_form_sorts_and_qualifies() {
    let s = parse(
        r#"syntax = "proto3";
package p;
import "google/protobuf/wrappers.proto";
import "google/protobuf/any.proto";
option java_package = "x";
option go_package = "y";
message M {
  int32 b = 2;
  map<string, V> m = 3;
  V v = 1;
  message V { E e = 1; }
  enum E { Z = 0; B = 2; A = 1; }
}
"#,
    );
    assert_eq!(
        s.normalized(),
        r#"syntax = "proto3";
package p;

import "google/protobuf/any.proto";
import "google/protobuf/wrappers.proto";

option go_package = "y";
option java_package = "x";

message M {
  .p.M.V v = 1;
  int32 b = 2;
  map<string, .p.M.V> m = 3;

  message V {
    .p.M.E e = 1;
  }
  enum E {
    Z = 0;
    A = 1;
    B = 2;
  }
}
"#
    );
}

#[test]
fn reformatted_copies_have_the_same_canonical_text() {
    let a = parse("syntax = \"proto3\";\nmessage A {\n  int32 x = 1;\n  string y = 2;\n}\n");
    let b = parse("// leading comment\nsyntax=\"proto3\";message A{int32 x=1;/* c */string y=2;}");
    assert_eq!(a.canonical(), b.canonical());
    assert_eq!(a.normalized(), b.normalized());
    // The canonical text parses back to itself.
    assert_eq!(parse(&a.canonical()).canonical(), a.canonical());
    // Field order differs: canonical texts differ, normal forms agree.
    let c = parse("syntax = \"proto3\";\nmessage A {\n  string y = 2;\n  int32 x = 1;\n}\n");
    assert_ne!(a.canonical(), c.canonical());
    assert_eq!(a.normalized(), c.normalized());
}

#[test]
fn proto2_labels_defaults_and_syntax() {
    let s = parse(
        r#"syntax = "proto2";
message A {
  optional int32 a = 1 [default = 5];
  required string s = 2 [default = "x\"y"];
  repeated int32 r = 3 [packed = true, deprecated = true];
  oneof o { int32 x = 4; }
  extensions 100 to max;
}
extend A { optional int32 ext = 100; }
"#,
    );
    assert_eq!(
        s.canonical(),
        r#"syntax = "proto2";

message A {
  optional int32 a = 1 [default = 5];
  required string s = 2 [default = "x\"y"];
  repeated int32 r = 3 [
    packed = true,
    deprecated = true
  ];

  oneof o {
    int32 x = 4;
  }

  extensions 100 to max;
}

extend A {
  optional int32 ext = 100;
}
"#
    );
    // Without a syntax statement there is no syntax line.
    let s = parse("message A { optional int32 a = 1; }");
    assert!(
        s.canonical().starts_with("\nmessage A {"),
        "{}",
        s.canonical()
    );
    assert_eq!(s.file().syntax, None);
}

#[test]
fn services_reserved_and_options_print() {
    let s = parse(
        r#"syntax = "proto3";
package svc;
message Req { reserved 2, 5 to 7; reserved "old"; int32 a = 1; }
message Resp {}
service S {
  option deprecated = true;
  rpc Call (Req) returns (stream Resp);
  rpc Old (stream Req) returns (Resp) { option deprecated = true; }
}
"#,
    );
    assert_eq!(
        s.canonical(),
        r#"syntax = "proto3";
package svc;

message Req {
  reserved 2;
  reserved 5 to 7;
  reserved "old";

  int32 a = 1;
}
message Resp {}

service S {
  option deprecated = true;

  rpc Call (Req) returns (stream Resp);
  rpc Old (stream Req) returns (Resp) {
    option deprecated = true;
  };
}
"#
    );
}

#[test]
fn message_indexes_round_trip() {
    let s = parse(NESTED);
    let cases: &[(&str, &[i32])] = &[
        ("com.acme.Order", &[0]),
        ("com.acme.Order.Line", &[0, 0]),
        ("com.acme.Order.Line.Detail", &[0, 0, 0]),
        ("com.acme.Order.Voucher", &[0, 1]),
        ("com.acme.Customer", &[1]),
    ];
    for (name, idx) in cases {
        assert_eq!(s.message_indexes(name).as_deref(), Some(*idx), "{name}");
        assert_eq!(s.message_name(idx).as_deref(), Some(*name));
        assert!(s.message_descriptor(name).is_some(), "{name}");
    }
    assert_eq!(s.message_indexes(".com.acme.Customer"), Some(vec![1]));
    // Enums, unknown names, other packages and bad paths.
    assert_eq!(s.message_indexes("com.acme.Status"), None);
    assert_eq!(s.message_indexes("com.acme.Nope"), None);
    assert_eq!(s.message_indexes("Order"), None);
    assert_eq!(s.message_name(&[]), None);
    assert_eq!(s.message_name(&[-1]), None);
    assert_eq!(s.message_name(&[2]), None);
    assert_eq!(s.message_name(&[0, 5]), None);
    assert_eq!(s.first_message_name().as_deref(), Some("com.acme.Order"));

    let no_package = parse("syntax = \"proto3\"; message A { message B {} } message C {}");
    assert_eq!(no_package.message_indexes("A.B"), Some(vec![0, 0]));
    assert_eq!(no_package.message_name(&[1]).as_deref(), Some("C"));
    let enums_only = parse("syntax = \"proto3\"; enum E { A = 0; }");
    assert_eq!(enums_only.first_message_name(), None);
}

#[test]
fn serialized_form_round_trips() {
    let s = parse(NESTED);
    let b64 = s.serialized();
    assert!(!b64.is_empty());
    let again = ProtobufSchema::parse(&b64, &[], true).expect("base64 descriptor parses");
    assert!(!again.file().from_text);
    // Same messages, same types; map entries are kept as messages in the descriptor form, as
    // Confluent does, so the nested indexes shift past them.
    assert_eq!(again.message_indexes("com.acme.Customer"), Some(vec![1]));
    assert_eq!(
        again.message_indexes("com.acme.Order.LinesEntry"),
        Some(vec![0, 0])
    );
    assert_eq!(
        again.message_indexes("com.acme.Order.Line"),
        Some(vec![0, 1])
    );
    assert_eq!(again.serialized(), b64);
    // The descriptor form has no source info.
    let fd = again.file_descriptor().expect("root file");
    assert!(fd.file_descriptor_proto().source_code_info.is_none());
    assert!(again
        .canonical()
        .contains("repeated .com.acme.Order.LinesEntry lines = 2"));
    assert!(again.canonical().contains("option map_entry = true;"));
    // Normal forms agree apart from the json_name every field of a descriptor carries.
    assert!(again
        .normalized()
        .contains("map<string, .com.acme.Order.Line> lines = 2"));
    assert!(!again.normalized().contains("LinesEntry"));
}

#[test]
fn references_and_well_known_imports() {
    let dep = "syntax = \"proto3\";\npackage shared;\nmessage Money { int64 units = 1; }\n";
    let root = r#"syntax = "proto3";
import "shared/money.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/wrappers.proto";
import "google/type/date.proto";
import "confluent/meta.proto";
message Invoice {
  shared.Money total = 1 [(confluent.field_meta).doc = "amount"];
  google.protobuf.Struct extra = 2;
  google.protobuf.StringValue note = 3;
  google.type.Date due = 4;
}
"#;
    let s = ProtobufSchema::parse(root, &[("shared/money.proto", dep)], true).unwrap();
    assert!(s.message_descriptor("shared.Money").is_some());
    let t = s.find_type("shared.Money").expect("imported type");
    assert!(!t.in_schema);
    assert_eq!(t.file.name, "shared/money.proto");
    assert!(s.find_type("Invoice").expect("own type").in_schema);
    assert!(s.canonical().contains(
        "shared.Money total = 1 [(confluent.field_meta) = {\n    doc: \"amount\"\n  }];"
    ));
    // A reference given as a base64 descriptor works the same.
    let dep_b64 = parse(dep).serialized();
    let s2 = ProtobufSchema::parse(root, &[("shared/money.proto", &dep_b64)], true).unwrap();
    assert_eq!(s2.canonical(), s.canonical());
    // Missing reference.
    let err = ProtobufSchema::parse(root, &[], true).unwrap_err();
    assert!(matches!(err, ProtobufError::Invalid(_)), "{err:?}");
    assert!(err.to_string().contains("shared/money.proto"), "{err}");
    // A broken reference is reported under its name.
    let err =
        ProtobufSchema::parse(root, &[("shared/money.proto", "message {")], true).unwrap_err();
    assert!(
        matches!(&err, ProtobufError::Reference { name, .. } if name == "shared/money.proto"),
        "{err:?}"
    );
}

#[test]
fn errors_are_clear() {
    let err = ProtobufSchema::parse("syntax = \"proto3\";\nmessage A { int32 a = 1 }", &[], true)
        .unwrap_err();
    assert!(matches!(err, ProtobufError::Syntax(_)));
    assert_eq!(
        err.to_string(),
        "schema.proto:2:25: expected ';' or '[', but found '}'"
    );
    let err = ProtobufSchema::parse("syntax = \"proto3\";\nmessage A { B b = 1; }", &[], true)
        .unwrap_err();
    assert!(matches!(err, ProtobufError::Invalid(_)), "{err:?}");
    assert!(err.to_string().contains("B"), "{err}");
    let err = ProtobufSchema::parse(
        "syntax = \"proto3\";\nmessage A { int32 a = 1; int32 b = 1; }",
        &[],
        true,
    )
    .unwrap_err();
    assert!(matches!(err, ProtobufError::Invalid(_)), "{err:?}");
    // Not text, not a descriptor.
    let err = ProtobufSchema::parse("AAAA", &[], true).unwrap_err();
    assert!(matches!(err, ProtobufError::Syntax(_)), "{err:?}");
}

#[test]
fn lenient_and_strict_agree() {
    for text in [NESTED, "syntax = \"proto3\"; message A { X x = 1; }"] {
        assert_eq!(
            ProtobufSchema::parse(text, &[], true).map(|s| s.canonical()),
            ProtobufSchema::parse(text, &[], false).map(|s| s.canonical())
        );
    }
}

#[test]
fn schema_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone>() {}
    check::<ProtobufSchema>();
    check::<ProtobufError>();
}

/// A small deterministic generator for the hostile-input test.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Damaged text and damaged descriptors are refused or accepted, never a panic; whatever is
/// accepted prints and indexes fine. Text never even reaches the contained-panic path
/// ([`ProtobufError::Internal`]).
#[test]
fn hostile_input_never_panics() {
    let seeds = [
        NESTED,
        "syntax = \"proto2\"; message A { optional group G = 1 { optional int32 a = 1; } extensions 10 to 20; } extend A { optional string e = 10; }",
        "syntax = \"proto3\"; import \"google/protobuf/descriptor.proto\"; extend google.protobuf.FieldOptions { repeated int32 nums = 5000; } message M { int32 a = 1 [(nums) = 1, (nums) = 2]; }",
        "syntax = \"proto3\"; enum E { option allow_alias = true; A = 0; B = 0; } message M { E e = 1; map<int32, E> m = 2; }",
    ];
    let tokens = [
        "{",
        "}",
        ";",
        "=",
        "message",
        "enum",
        "oneof",
        "map<",
        ">",
        "\"",
        "1",
        "-1",
        "999999999999",
        "option",
        "(",
        ")",
        ".",
        "repeated",
        "optional",
        "[",
        "]",
        "import",
        "\\",
        "\u{0}",
        "é",
        "extend",
        "reserved",
        "to",
        "max",
        "group",
        "stream",
        "service",
        "rpc",
    ];
    // `PROTO_FUZZ_ROUNDS=100000 cargo test …` for a longer run.
    let rounds: usize = std::env::var("PROTO_FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500);
    let mut rng = Lcg(std::env::var("PROTO_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(42));
    let mut accepted = 0;
    for round in 0..rounds {
        let seed = seeds[round % seeds.len()];
        let mut text: Vec<char> = seed.chars().collect();
        for _ in 0..=rng.below(4) {
            let pos = rng.below(text.len() + 1);
            match rng.below(3) {
                0 if !text.is_empty() => {
                    let end = (pos + rng.below(8)).min(text.len());
                    text.drain(pos.min(end)..end);
                }
                1 => {
                    let t = tokens[rng.below(tokens.len())];
                    for (i, c) in t.chars().enumerate() {
                        text.insert(pos + i, c);
                    }
                }
                _ => {
                    let len = text.len();
                    if len > 1 {
                        text.swap(pos.min(len - 1), rng.below(len));
                    }
                }
            }
        }
        let text: String = text.into_iter().collect();
        match ProtobufSchema::parse(&text, &[], true) {
            Ok(s) => {
                accepted += 1;
                let _ = (s.canonical(), s.normalized(), s.first_message_name());
                let again = ProtobufSchema::parse(&s.canonical(), &[], true);
                assert!(again.is_ok(), "{again:?}\n{text}\n{}", s.canonical());
                let again = ProtobufSchema::parse(&s.normalized(), &[], true);
                assert!(again.is_ok(), "{again:?}\n{text}\n{}", s.normalized());
            }
            Err(ProtobufError::Internal(m)) => panic!("internal error {m} on {text:?}"),
            Err(_) => {}
        }
    }
    assert!(accepted > 0);

    // Damaged descriptors.
    let engine = &base64::engine::general_purpose::STANDARD;
    for seed in seeds {
        let bytes = engine
            .decode(parse(seed).serialized())
            .expect("own output is base64");
        for _ in 0..(rounds / 4).max(1) {
            let mut b = bytes.clone();
            for _ in 0..=rng.below(3) {
                let i = rng.below(b.len());
                match rng.below(3) {
                    0 => b[i] = rng.next() as u8,
                    1 => {
                        b.truncate(i);
                    }
                    _ => b.insert(i, rng.next() as u8),
                }
                if b.is_empty() {
                    break;
                }
            }
            // prost-reflect 0.16.5 can panic while describing some descriptor errors (an index
            // out of bounds in `Label::new`): `parse` contains that as `Internal`.
            if let Ok(s) = ProtobufSchema::parse(&engine.encode(&b), &[], true) {
                let _ = (s.canonical(), s.normalized(), s.message_name(&[0, 0]));
            }
        }
    }
}

#[test]
fn custom_options_and_nested_extensions_print_and_compile_again() {
    let text = r#"syntax = "proto3";
package p;
import "google/protobuf/descriptor.proto";
message Opts {
  extend google.protobuf.FieldOptions {
    int32 weight = 50001;
    Opts.Inner info = 50002;
  }
  message Inner { string a = 1; repeated int32 b = 2; E e = 3; }
  enum E { E0 = 0; E1 = 1; }
}
message M {
  int32 x = 1 [(p.Opts.weight) = 3, (p.Opts.info) = { a: "q\n" b: 1 b: 2 e: E1 }, json_name = "xx"];
}
"#;
    let s = parse(text);
    let canonical = s.canonical();
    assert!(
        canonical.contains(
            r#"  int32 x = 1 [
    (p.Opts.weight) = 3,
    (p.Opts.info) = {
      a: "q\n",
      b: [
        1,
        2
      ],
      e: E1
    },
    json_name = "xx"
  ];"#
        ),
        "{canonical}"
    );
    assert!(
        canonical.contains("  extend google.protobuf.FieldOptions {\n    int32 weight = 50001;")
    );
    let again =
        ProtobufSchema::parse(&canonical, &[], true).unwrap_or_else(|e| panic!("{e}\n{canonical}"));
    assert_eq!(again.canonical(), canonical);
    let normalized = s.normalized();
    let again = ProtobufSchema::parse(&normalized, &[], true)
        .unwrap_or_else(|e| panic!("{e}\n{normalized}"));
    assert_eq!(again.normalized(), normalized);
}
