//! JSON Schema through the REST API: register, look up, read, delete, references across
//! subjects, compatibility, and invalid schemas.

use charter_compat_tests::{assert_error, TestServer};
use serde_json::{json, Value};

const PERSON: &str = r#"{"type": "object", "properties": {"name": {"type": "string"}}, "additionalProperties": false}"#;
const PERSON_COMPACT: &str =
    r#"{"type":"object","properties":{"name":{"type":"string"}},"additionalProperties":false}"#;

fn body(schema: &str) -> Value {
    json!({"schema": schema, "schemaType": "JSON"})
}

#[tokio::test]
async fn register_lookup_get_delete() {
    let s = TestServer::start().await;
    assert_eq!(
        s.get("/schemas/types").await,
        (200, json!(["AVRO", "JSON", "PROTOBUF"]))
    );
    let (st, v) = s
        .post("/subjects/people-value/versions", body(PERSON))
        .await;
    assert_eq!(st, 200, "{v}");
    let id = v["id"].clone();
    assert_eq!(v["schemaType"], "JSON");
    // Stored in Confluent's compact canonical form; a reformatted copy is the same schema.
    let (_, v) = s.get("/subjects/people-value/versions/latest").await;
    assert_eq!(v["schema"], PERSON_COMPACT);
    assert_eq!(v["schemaType"], "JSON");
    let (st, v) = s
        .post("/subjects/people-value/versions", body(PERSON_COMPACT))
        .await;
    assert_eq!((st, v["id"].clone()), (200, id.clone()));
    let (st, v) = s.post("/subjects/people-value", body(PERSON_COMPACT)).await;
    assert_eq!((st, v["version"].clone()), (200, json!(1)));
    // The same text as AVRO is a different schema: lookup by type misses.
    assert_error(
        s.post("/subjects/people-value", json!({"schema": r#""string""#}))
            .await,
        404,
        40403,
    );
    let (st, v) = s.get(&format!("/schemas/ids/{id}")).await;
    assert_eq!((st, v["schemaType"].clone()), (200, json!("JSON")));
    assert_eq!(s.delete("/subjects/people-value").await, (200, json!([1])));
    assert_eq!(
        s.delete("/subjects/people-value?permanent=true").await,
        (200, json!([1]))
    );
}

#[tokio::test]
async fn references_across_subjects() {
    let s = TestServer::start().await;
    let address = r#"{"type":"object","properties":{"street":{"type":"string"}}}"#;
    let (st, v) = s
        .post("/subjects/address-json/versions", body(address))
        .await;
    assert_eq!(st, 200, "{v}");
    let customer = r#"{"type":"object","properties":{"name":{"type":"string"},"address":{"$ref":"address.json"}}}"#;
    // The $ref must resolve.
    let (st, v) = s
        .post("/subjects/customer-json/versions", body(customer))
        .await;
    assert_eq!((st, v["error_code"].clone()), (422, json!(42201)), "{v}");
    let (st, v) = s
        .post(
            "/subjects/customer-json/versions",
            json!({"schema": customer, "schemaType": "JSON",
                   "references": [{"name": "address.json", "subject": "address-json", "version": 1}]}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let cust = v["id"].clone();
    assert_eq!(
        s.get("/subjects/address-json/versions/1/referencedby")
            .await,
        (200, json!([cust]))
    );
    assert_error(s.delete("/subjects/address-json").await, 422, 42206);
}

#[tokio::test]
async fn compatibility_follows_the_content_model() {
    let s = TestServer::start().await;
    s.post("/subjects/c/versions", body(PERSON)).await;
    // Closed content model: adding an optional property is BACKWARD compatible…
    let added = r#"{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"additionalProperties":false}"#;
    assert_eq!(
        s.post("/compatibility/subjects/c/versions/latest", body(added))
            .await,
        (200, json!({"is_compatible": true}))
    );
    // …changing a property's type is not, and the message names Confluent's difference type.
    let changed = r#"{"type":"object","properties":{"name":{"type":"integer"}},"additionalProperties":false}"#;
    let (st, v) = s
        .post(
            "/compatibility/subjects/c/versions/latest?verbose=true",
            body(changed),
        )
        .await;
    assert_eq!((st, v["is_compatible"].clone()), (200, json!(false)));
    assert!(v["messages"].to_string().contains("TYPE_CHANGED"), "{v}");
    let (st, v) = s.post("/subjects/c/versions", body(changed)).await;
    assert_eq!((st, v["error_code"].clone()), (409, json!(409)), "{v}");
    // Open content model: adding an optional property is incompatible under STRICT,
    // compatible under LENIENT.
    let open = r#"{"type":"object","properties":{"name":{"type":"string"}}}"#;
    let open_added =
        r#"{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}}}"#;
    s.post("/subjects/o/versions", body(open)).await;
    let (_, v) = s
        .post(
            "/compatibility/subjects/o/versions/latest?verbose=true",
            body(open_added),
        )
        .await;
    assert_eq!(v["is_compatible"], false);
    assert!(
        v["messages"]
            .to_string()
            .contains("PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"),
        "{v}"
    );
    s.put("/config/o", json!({"compatibilityPolicy": "LENIENT"}))
        .await;
    assert_eq!(
        s.post(
            "/compatibility/subjects/o/versions/latest",
            body(open_added)
        )
        .await,
        (200, json!({"is_compatible": true}))
    );
}

#[tokio::test]
async fn invalid_json_schemas_are_42201_with_the_parser_message() {
    let s = TestServer::start().await;
    for bad in [
        "{not json",
        r#"{"type": "strin"}"#,
        r#"{"type": "object", "properties": 5}"#,
        r#"[1, 2]"#,
    ] {
        let (st, v) = s.post("/subjects/bad/versions", body(bad)).await;
        assert_eq!(
            (st, v["error_code"].clone()),
            (422, json!(42201)),
            "{bad}: {v}"
        );
        let msg = v["message"].as_str().unwrap();
        assert!(
            msg.starts_with("Invalid schema of type JSON, details: "),
            "{msg}"
        );
    }
}
