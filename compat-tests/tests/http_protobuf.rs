//! Protobuf through the REST API: register (text and base64 descriptor), look up, read
//! (`format=serialized`), delete, references across subjects, compatibility, invalid schemas.

use charter_compat_tests::{assert_error, TestServer};
use serde_json::{json, Value};

const PAYMENT: &str = r#"syntax = "proto3";
package com.example.payments;

import "google/protobuf/timestamp.proto";

message Payment {
  string payment_id = 1;
  int64 amount_cents = 2;
  google.protobuf.Timestamp paid_at = 3;
  message Refund { string reason = 1; }
}
"#;

fn body(schema: &str) -> Value {
    json!({"schema": schema, "schemaType": "PROTOBUF"})
}

#[tokio::test]
async fn register_lookup_get_serialized_delete() {
    let s = TestServer::start().await;
    let (st, v) = s
        .post("/subjects/payments-value/versions", body(PAYMENT))
        .await;
    assert_eq!(st, 200, "{v}");
    let id = v["id"].clone();
    assert_eq!(v["schemaType"], "PROTOBUF");

    // A reformatted copy (comments, spacing) is the same schema.
    let reformatted = format!("// payments\n{}", PAYMENT.replace("  ", "    "));
    let (st, v) = s
        .post("/subjects/payments-value/versions", body(&reformatted))
        .await;
    assert_eq!(
        (st, v["id"].clone(), v["version"].clone()),
        (200, id.clone(), json!(1))
    );
    let (st, v) = s.post("/subjects/payments-value", body(&reformatted)).await;
    assert_eq!((st, v["version"].clone()), (200, json!(1)), "{v}");

    // The canonical text is .proto text; format=serialized is the base64 descriptor, which
    // registers as the same schema.
    let (_, text) = s.get("/subjects/payments-value/versions/1").await;
    let canonical = text["schema"].as_str().unwrap().to_string();
    assert!(canonical.contains("message Payment"), "{canonical}");
    let (st, ser) = s.get(&format!("/schemas/ids/{id}?format=serialized")).await;
    assert_eq!(st, 200);
    let b64 = ser["schema"].as_str().unwrap().to_string();
    assert!(!b64.contains("message"), "base64, not text: {b64}");
    let (_, v) = s
        .get("/subjects/payments-value/versions/latest?format=serialized&deleted=true")
        .await;
    assert_eq!(v["schema"], b64.as_str());
    // The descriptor form (what confluent-kafka-python registers) is accepted and printed as
    // .proto text; like Confluent, its text spells type names fully qualified, so it is
    // stored as its own schema, found again by lookup.
    let (st, v) = s.post("/subjects/other-value/versions", body(&b64)).await;
    assert_eq!(st, 200, "{v}");
    let from_descriptor = v["schema"].as_str().unwrap().to_string();
    assert!(
        from_descriptor.contains("message Payment"),
        "{from_descriptor}"
    );
    assert!(!from_descriptor.contains("json_name"), "{from_descriptor}");
    let (st, found) = s.post("/subjects/other-value", body(&b64)).await;
    assert_eq!((st, found["id"].clone()), (200, v["id"].clone()));

    assert_eq!(
        s.delete("/subjects/payments-value").await,
        (200, json!([1]))
    );
    let (st, _) = s.get(&format!("/schemas/ids/{id}")).await;
    assert_eq!(st, 200, "ids resolve after a soft delete");
}

#[tokio::test]
async fn references_across_subjects() {
    let s = TestServer::start().await;
    let money = "syntax = \"proto3\";\npackage com.example.common;\nmessage Money { int64 units = 1; string currency = 2; }\n";
    let (st, v) = s
        .post(
            "/subjects/com%2Fexample%2Fmoney.proto/versions",
            body(money),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let order = "syntax = \"proto3\";\npackage com.example.orders;\nimport \"com/example/money.proto\";\nmessage Order { string id = 1; com.example.common.Money total = 2; }\n";
    // Without the reference, the import does not resolve.
    let (st, v) = s.post("/subjects/orders-value/versions", body(order)).await;
    assert_eq!((st, v["error_code"].clone()), (422, json!(42201)), "{v}");
    let (st, v) = s
        .post(
            "/subjects/orders-value/versions",
            json!({"schema": order, "schemaType": "PROTOBUF", "references": [
                {"name": "com/example/money.proto", "subject": "com/example/money.proto", "version": -1}]}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let order_id = v["id"].clone();
    assert_eq!(
        s.get("/subjects/com%2Fexample%2Fmoney.proto/versions/1/referencedby")
            .await,
        (200, json!([order_id]))
    );
    assert_error(
        s.delete("/subjects/com%2Fexample%2Fmoney.proto/versions/1")
            .await,
        422,
        42206,
    );
}

#[tokio::test]
async fn compatibility_uses_confluent_rules() {
    let s = TestServer::start().await;
    let v1 = "syntax = \"proto3\";\npackage p;\nmessage M { string a = 1; int32 b = 2; }\n";
    s.post("/subjects/m/versions", body(v1)).await;
    // Adding a field is compatible; int32 -> int64 stays in one scalar group.
    let ok =
        "syntax = \"proto3\";\npackage p;\nmessage M { string a = 1; int64 b = 2; bool c = 3; }\n";
    assert_eq!(
        s.post("/compatibility/subjects/m/versions/latest", body(ok))
            .await,
        (200, json!({"is_compatible": true}))
    );
    // Changing the package is not.
    let moved = "syntax = \"proto3\";\npackage q;\nmessage M { string a = 1; int32 b = 2; }\n";
    let (_, v) = s
        .post(
            "/compatibility/subjects/m/versions/latest?verbose=true",
            body(moved),
        )
        .await;
    assert_eq!(v["is_compatible"], false);
    assert!(v["messages"].to_string().contains("PACKAGE_CHANGED"), "{v}");
    let (st, _) = s.post("/subjects/m/versions", body(moved)).await;
    assert_eq!(st, 409);
}

#[tokio::test]
async fn invalid_protobuf_is_42201_with_the_parser_message() {
    let s = TestServer::start().await;
    for bad in [
        "syntax = \"proto3\"; message M { string a = 1 }",
        "syntax = \"proto3\"; message M { Unknown a = 1; }",
        "syntax = \"proto3\"; import \"missing.proto\"; message M {}",
        "bm90IGEgZGVzY3JpcHRvcg==",
    ] {
        let (st, v) = s.post("/subjects/bad/versions", body(bad)).await;
        assert_eq!(
            (st, v["error_code"].clone()),
            (422, json!(42201)),
            "{bad}: {v}"
        );
        let msg = v["message"].as_str().unwrap();
        assert!(
            msg.starts_with("Invalid schema of type PROTOBUF, details: "),
            "{msg}"
        );
    }
}
