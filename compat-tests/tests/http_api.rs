//! The REST API end to end: every endpoint and every error code, against a server on an
//! ephemeral port.

use charter_compat_tests::{assert_error, record, TestServer, CT};
use serde_json::{json, Value};

const USER_V1: &str =
    r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"}]}"#;
const USER_V2: &str = r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"int","default":0}]}"#;
/// Adds a field without a default: not BACKWARD compatible with v1.
const USER_BAD: &str = r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"email","type":"string"}]}"#;

#[tokio::test]
async fn root_metadata_and_types() {
    let s = TestServer::start().await;
    assert_eq!(s.get("/").await, (200, json!({})));
    assert_eq!(s.post("/", json!({"anything": 1})).await, (200, json!({})));
    let (st, v) = s.get("/v1/metadata/id").await;
    assert_eq!(st, 200);
    assert!(v["scope"]["clusters"]["kafka-cluster"].is_string(), "{v}");
    let (st, v) = s.get("/schemas/types").await;
    assert_eq!(st, 200);
    assert!(v.as_array().unwrap().contains(&json!("AVRO")));
}

#[tokio::test]
async fn register_get_lookup_and_ids() {
    let s = TestServer::start().await;
    let id = s.register("users-value", USER_V1).await;
    assert_eq!(id, 1);
    // Idempotent: same schema, same id, no new version.
    assert_eq!(s.register("users-value", USER_V1).await, id);
    // Same content in another subject: same id.
    assert_eq!(s.register("other-value", USER_V1).await, id);
    // A reformatted copy is the same schema.
    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<Value>(USER_V1).unwrap()).unwrap();
    assert_eq!(s.register("users-value", &pretty).await, id);
    assert_eq!(
        s.get("/subjects/users-value/versions").await,
        (200, json!([1]))
    );

    let id2 = s.register("users-value", USER_V2).await;
    assert_eq!(id2, 2);
    assert_eq!(
        s.get("/subjects/users-value/versions").await,
        (200, json!([1, 2]))
    );
    assert_eq!(
        s.get("/subjects").await,
        (200, json!(["other-value", "users-value"]))
    );

    for latest in ["latest", "LATEST", "Latest", "-1"] {
        let (st, v) = s
            .get(&format!("/subjects/users-value/versions/{latest}"))
            .await;
        assert_eq!(st, 200);
        assert_eq!(v["version"], 2);
        assert_eq!(v["id"], 2);
        assert_eq!(v["subject"], "users-value");
    }
    let (st, v) = s.get("/subjects/users-value/versions/1").await;
    assert_eq!(st, 200);
    assert_eq!(
        v["schema"], USER_V1,
        "the canonical compact form is returned"
    );
    assert_eq!(v["schemaType"], "AVRO");
    assert_eq!(v["deleted"], false);

    let (st, raw) = s.get("/subjects/users-value/versions/1/schema").await;
    assert_eq!(st, 200);
    assert_eq!(raw, serde_json::from_str::<Value>(USER_V1).unwrap());

    let (st, v) = s.get(&format!("/schemas/ids/{id}")).await;
    assert_eq!(st, 200);
    assert_eq!(v["schema"], USER_V1);
    let (_, v) = s.get(&format!("/schemas/ids/{id}?fetchMaxId=true")).await;
    assert_eq!(v["maxId"], 2);
    let (st, raw) = s.get(&format!("/schemas/ids/{id}/schema")).await;
    assert_eq!(st, 200);
    assert_eq!(raw["name"], "User");
    assert_eq!(
        s.get(&format!("/schemas/ids/{id}/subjects")).await,
        (200, json!(["other-value", "users-value"]))
    );
    assert_eq!(
        s.get(&format!("/schemas/ids/{id}/versions")).await,
        (
            200,
            json!([{"subject": "other-value", "version": 1}, {"subject": "users-value", "version": 1}])
        )
    );

    // Lookup finds the version holding a schema, reformatted or not.
    let (st, v) = s
        .post("/subjects/users-value", json!({"schema": pretty}))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (v["version"].clone(), v["id"].clone()),
        (json!(1), json!(1))
    );
    assert_error(
        s.post("/subjects/users-value", json!({"schema": USER_BAD}))
            .await,
        404,
        40403,
    );
    assert_error(
        s.post("/subjects/nope", json!({"schema": USER_V1})).await,
        404,
        40401,
    );

    // GET /schemas lists subject-versions.
    let (st, v) = s.get("/schemas?subjectPrefix=users").await;
    assert_eq!(st, 200);
    assert_eq!(v.as_array().unwrap().len(), 2);
    let (_, v) = s.get("/schemas?latestOnly=true").await;
    assert_eq!(v.as_array().unwrap().len(), 2, "one per subject: {v}");
    let (_, v) = s.get("/schemas?offset=1&limit=1").await;
    assert_eq!(v.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn not_found_errors() {
    let s = TestServer::start().await;
    assert_error(s.get("/subjects/nope/versions").await, 404, 40401);
    assert_error(s.get("/subjects/nope/versions/1").await, 404, 40401);
    s.register("a", USER_V1).await;
    assert_error(s.get("/subjects/a/versions/7").await, 404, 40402);
    assert_error(s.get("/schemas/ids/99").await, 404, 40403);
    assert_error(s.get("/schemas/ids/99/subjects").await, 404, 40403);
    assert_error(s.get("/schemas/ids/99/versions").await, 404, 40403);
    assert_error(s.get("/schemas/ids/notanumber").await, 404, 404);
    assert_error(s.get("/no/such/route").await, 404, 404);
    assert_error(s.get("/associations/resources/x/y").await, 404, 404);
    for bad in ["0", "-2", "abc", "2147483648"] {
        assert_error(
            s.get(&format!("/subjects/a/versions/{bad}")).await,
            422,
            42202,
        );
    }
}

#[tokio::test]
async fn framework_errors_are_confluent_shaped() {
    let s = TestServer::start().await;
    assert_error(s.call("PUT", "/subjects", None).await, 405, 405);
    assert_error(s.call("PATCH", "/config", None).await, 405, 405);

    let url = format!("{}/subjects/x/versions", s.base);
    let r = s
        .client
        .post(&url)
        .header("Content-Type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error_code"], 415);

    let r = s
        .client
        .post(&url)
        .header("Content-Type", CT)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error_code"], 400);

    let r = s
        .client
        .post(&url)
        .header("Content-Type", CT)
        .body(r#"{"schema": 5}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400, "wrong JSON types are a 400");

    let r = s
        .client
        .get(format!("{}/config", s.base))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 406);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error_code"], 406);
}

#[tokio::test]
async fn content_types_and_accept_negotiation() {
    let s = TestServer::start().await;
    for (i, ct) in [
        Some("application/vnd.schemaregistry.v1+json"),
        Some("application/vnd.schemaregistry+json"),
        Some("application/json; charset=utf-8"),
        Some("application/octet-stream"),
        None,
    ]
    .into_iter()
    .enumerate()
    {
        let mut rb = s
            .client
            .post(format!("{}/subjects/ct-{i}/versions", s.base))
            .body(json!({"schema": USER_V1}).to_string());
        if let Some(ct) = ct {
            rb = rb.header("Content-Type", ct);
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "content type {ct:?}");
    }
    for (accept, want) in [
        (None, "application/vnd.schemaregistry.v1+json"),
        (Some("*/*"), "application/vnd.schemaregistry.v1+json"),
        (Some("application/json"), "application/json"),
        (
            Some("application/vnd.schemaregistry+json"),
            "application/vnd.schemaregistry+json",
        ),
        (
            Some("application/vnd.schemaregistry.v1+json; q=0.9, application/json; q=0.5"),
            "application/vnd.schemaregistry.v1+json",
        ),
    ] {
        let mut rb = s.client.get(format!("{}/subjects", s.base));
        if let Some(a) = accept {
            rb = rb.header("Accept", a);
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.headers()["content-type"], want, "accept {accept:?}");
    }
}

#[tokio::test]
async fn lenient_requests() {
    let s = TestServer::start().await;
    // Python-cased booleans, unknown fields, explicit nulls, trailing slashes, %2F subjects.
    let (st, v) = s
        .post(
            "/subjects/com%2Facme%2Fuser.proto/versions/?normalize=False",
            json!({"schema": USER_V1, "schemaType": null, "metadata": null, "ruleSet": null,
                   "references": [], "someFutureField": {"x": 1}}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        s.get("/subjects/").await,
        (200, json!(["com/acme/user.proto"]))
    );
    let (st, v) = s
        .get("/subjects/com%2Facme%2Fuser.proto/versions/latest/")
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["subject"], "com/acme/user.proto");
    let (st, v) = s.get("/config/").await;
    assert_eq!(st, 200);
    assert_eq!(v["compatibilityLevel"], "BACKWARD");
    // deleted=TRUE parses as true.
    s.delete("/subjects/com%2Facme%2Fuser.proto").await;
    assert_eq!(
        s.get("/subjects?deleted=TRUE").await,
        (200, json!(["com/acme/user.proto"]))
    );
    assert_eq!(s.get("/subjects?deleted=False").await, (200, json!([])));
}

#[tokio::test]
async fn invalid_schemas_are_42201() {
    let s = TestServer::start().await;
    for bad in [
        "{not json",
        r#"{"type":"record","name":"X"}"#,
        r#"{"type":"nosuchtype"}"#,
        r#"{"type":"record","name":"X","fields":[{"name":"a","type":"Undefined"}]}"#,
        r#"{"type":"record","name":"X","fields":[{"name":"a","type":"int","default":"oops"}]}"#,
    ] {
        let (st, v) = s
            .post("/subjects/bad/versions", json!({"schema": bad}))
            .await;
        assert_eq!(
            (st, v["error_code"].clone()),
            (422, json!(42201)),
            "{bad}: {v}"
        );
        assert!(
            v["message"].as_str().unwrap().contains("Invalid schema"),
            "{v}"
        );
    }
    assert_error(
        s.post(
            "/subjects/bad/versions",
            json!({"schema": USER_V1, "schemaType": "XML"}),
        )
        .await,
        422,
        42201,
    );
    // An empty schema on a subject with no versions.
    assert_error(
        s.post("/subjects/bad/versions", json!({"schema": ""}))
            .await,
        422,
        42201,
    );
    assert_error(
        s.post("/subjects/bad/versions", json!({})).await,
        422,
        42201,
    );
    // Nothing of it was stored.
    assert_error(s.get("/subjects/bad/versions").await, 404, 40401);
    // Invalid subject names.
    assert_error(
        s.post("/subjects/__GLOBAL/versions", json!({"schema": USER_V1}))
            .await,
        422,
        42208,
    );
    assert_error(
        s.post("/subjects/a%01b/versions", json!({"schema": USER_V1}))
            .await,
        422,
        42208,
    );
}

#[tokio::test]
async fn incompatible_registration_is_409() {
    let s = TestServer::start().await;
    s.register("u", USER_V1).await;
    let (st, v) = s
        .post("/subjects/u/versions", json!({"schema": USER_BAD}))
        .await;
    assert_eq!((st, v["error_code"].clone()), (409, json!(409)), "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("incompatible"),
        "{v}"
    );
    assert_eq!(s.get("/subjects/u/versions").await, (200, json!([1])));
    // With NONE it goes through.
    s.put("/config/u", json!({"compatibility": "NONE"})).await;
    s.register("u", USER_BAD).await;
    assert_eq!(s.get("/subjects/u/versions").await, (200, json!([1, 2])));
}

#[tokio::test]
async fn compatibility_endpoints() {
    let s = TestServer::start().await;
    // A new subject is compatible with "latest" (the Gradle plugin relies on it).
    assert_eq!(
        s.post(
            "/compatibility/subjects/new/versions/latest",
            json!({"schema": USER_V1})
        )
        .await,
        (200, json!({"is_compatible": true}))
    );
    assert_eq!(
        s.post(
            "/compatibility/subjects/new/versions",
            json!({"schema": USER_V1})
        )
        .await,
        (200, json!({"is_compatible": true}))
    );
    assert_error(
        s.post(
            "/compatibility/subjects/new/versions/3",
            json!({"schema": USER_V1}),
        )
        .await,
        404,
        40402,
    );
    s.register("u", USER_V1).await;
    assert_eq!(
        s.post(
            "/compatibility/subjects/u/versions/latest",
            json!({"schema": USER_V2})
        )
        .await,
        (200, json!({"is_compatible": true}))
    );
    assert_eq!(
        s.post(
            "/compatibility/subjects/u/versions/latest?verbose=false",
            json!({"schema": USER_BAD})
        )
        .await,
        (200, json!({"is_compatible": false}))
    );
    let (st, v) = s
        .post(
            "/compatibility/subjects/u/versions/1?verbose=True",
            json!({"schema": USER_BAD}),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["is_compatible"], false);
    let msgs = v["messages"].as_array().unwrap();
    assert!(
        msgs.iter().any(|m| m
            .as_str()
            .unwrap()
            .contains("READER_FIELD_MISSING_DEFAULT_VALUE")),
        "{v}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.as_str().unwrap().contains("oldSchemaVersion: 1")),
        "{v}"
    );
    // Trailing slash, as the Java client sends for the all-versions check.
    let (st, v) = s
        .post(
            "/compatibility/subjects/u/versions/",
            json!({"schema": USER_BAD}),
        )
        .await;
    assert_eq!((st, v["is_compatible"].clone()), (200, json!(false)));
    // Invalid schemas: 42201, or a message with verbose.
    assert_error(
        s.post(
            "/compatibility/subjects/u/versions/latest",
            json!({"schema": "{bad"}),
        )
        .await,
        422,
        42201,
    );
    let (st, v) = s
        .post(
            "/compatibility/subjects/u/versions/latest?verbose=true",
            json!({"schema": "{bad"}),
        )
        .await;
    assert_eq!((st, v["is_compatible"].clone()), (200, json!(false)));
    assert_eq!(v["messages"].as_array().unwrap().len(), 1);
    assert_error(
        s.post(
            "/compatibility/subjects/u/versions/zero",
            json!({"schema": USER_V1}),
        )
        .await,
        422,
        42202,
    );
}

#[tokio::test]
async fn transitive_levels_check_every_live_version() {
    let s = TestServer::start().await;
    // v1 has no default on f; v2 adds the default; v3 removes f's default again... classic:
    let v1 = record("R", &[("a", "int")]);
    let v2 = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"string","default":"x"}]}"#;
    let v3 = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"string"}]}"#;
    s.register("t", &v1).await;
    s.register("t", v2).await;
    // BACKWARD: v3 reads v2 data (b present) — fine.
    assert_eq!(
        s.post("/compatibility/subjects/t/versions", json!({"schema": v3}))
            .await,
        (200, json!({"is_compatible": true}))
    );
    s.put("/config/t", json!({"compatibility": "BACKWARD_TRANSITIVE"}))
        .await;
    // Transitively v3 cannot read v1 data (no b, no default).
    assert_eq!(
        s.post("/compatibility/subjects/t/versions", json!({"schema": v3}))
            .await,
        (200, json!({"is_compatible": false}))
    );
    // The per-version endpoint compares with that version only.
    assert_eq!(
        s.post(
            "/compatibility/subjects/t/versions/2",
            json!({"schema": v3})
        )
        .await,
        (200, json!({"is_compatible": true}))
    );
    let (st, _) = s.post("/subjects/t/versions", json!({"schema": v3})).await;
    assert_eq!(st, 409);
}

#[tokio::test]
async fn deletes_soft_then_hard() {
    let s = TestServer::start().await;
    let id1 = s.register("d", USER_V1).await;
    s.register("d", USER_V2).await;
    // Hard delete needs a soft delete first.
    assert_error(
        s.delete("/subjects/d/versions/1?permanent=true").await,
        404,
        40407,
    );
    assert_eq!(s.delete("/subjects/d/versions/1").await, (200, json!(1)));
    assert_error(s.delete("/subjects/d/versions/1").await, 404, 40406);
    assert_eq!(s.get("/subjects/d/versions").await, (200, json!([2])));
    assert_eq!(
        s.get("/subjects/d/versions?deleted=true").await,
        (200, json!([1, 2]))
    );
    assert_eq!(
        s.get("/subjects/d/versions?deletedOnly=true").await,
        (200, json!([1]))
    );
    assert_error(s.get("/subjects/d/versions/1").await, 404, 40402);
    let (st, v) = s.get("/subjects/d/versions/1?deleted=true").await;
    assert_eq!((st, v["deleted"].clone()), (200, json!(true)));
    // Ids still resolve after a soft delete.
    assert_eq!(s.get(&format!("/schemas/ids/{id1}")).await.0, 200);
    // Soft-deleted versions still count for numbering.
    let v3 = r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"int","default":0},{"name":"x","type":"int","default":1}]}"#;
    s.register("d", v3).await;
    assert_eq!(s.get("/subjects/d/versions").await, (200, json!([2, 3])));

    assert_eq!(
        s.delete("/subjects/d/versions/1?permanent=true").await,
        (200, json!(1))
    );
    assert_error(
        s.get("/subjects/d/versions/1?deleted=true").await,
        404,
        40402,
    );

    // Subject deletes.
    assert_error(s.delete("/subjects/d?permanent=true").await, 404, 40405);
    assert_eq!(s.delete("/subjects/d").await, (200, json!([2, 3])));
    assert_error(s.delete("/subjects/d").await, 404, 40404);
    assert_eq!(s.get("/subjects").await, (200, json!([])));
    assert_eq!(s.get("/subjects?deleted=true").await, (200, json!(["d"])));
    assert_error(s.get("/subjects/d/versions").await, 404, 40401);
    assert_eq!(
        s.delete("/subjects/d?permanent=true").await,
        (200, json!([2, 3]))
    );
    assert_eq!(s.get("/subjects?deleted=true").await, (200, json!([])));
    assert_error(s.delete("/subjects/d").await, 404, 40401);
    // Every version of id1 is gone: the id no longer resolves.
    assert_error(s.get(&format!("/schemas/ids/{id1}")).await, 404, 40403);
    // Ids are never reused; the same content gets its old id back.
    let fresh = record("Fresh", &[("z", "long")]);
    assert_eq!(s.register("e", &fresh).await, 4);
    assert_eq!(s.register("e2", USER_V1).await, id1);
}

#[tokio::test]
async fn references_and_referencedby() {
    let s = TestServer::start().await;
    let address = r#"{"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"street","type":"string"}]}"#;
    let addr_id = s.register("address", address).await;
    let customer = r#"{"type":"record","name":"Customer","namespace":"com.acme","fields":[{"name":"name","type":"string"},{"name":"address","type":"com.acme.Address"}]}"#;
    let (st, v) = s
        .post(
            "/subjects/customer/versions",
            json!({"schema": customer, "references": [{"name": "com.acme.Address", "subject": "address", "version": -1}]}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let cust_id = v["id"].as_i64().unwrap();
    let (_, v) = s.get("/subjects/customer/versions/1").await;
    assert_eq!(
        v["references"],
        json!([{"name": "com.acme.Address", "subject": "address", "version": 1}]),
        "version -1 is stored as the concrete version"
    );
    let (_, v) = s.get(&format!("/schemas/ids/{cust_id}")).await;
    assert_eq!(v["references"][0]["subject"], "address");
    assert_eq!(
        s.get("/subjects/address/versions/1/referencedby").await,
        (200, json!([cust_id]))
    );

    // Without the reference the type is undefined.
    assert_error(
        s.post("/subjects/c2/versions", json!({"schema": customer}))
            .await,
        422,
        42201,
    );
    // A reference to nothing.
    assert_error(
        s.post(
            "/subjects/c2/versions",
            json!({"schema": customer, "references": [{"name": "com.acme.Address", "subject": "nope", "version": 1}]}),
        )
        .await,
        422,
        42201,
    );
    // Referenced versions cannot be deleted.
    assert_error(s.delete("/subjects/address/versions/1").await, 422, 42206);
    assert_error(s.delete("/subjects/address").await, 422, 42206);
    // Once the referrer is gone (soft), soft delete works; hard still blocked until it is hard-deleted.
    s.delete("/subjects/customer").await;
    assert_eq!(
        s.get("/subjects/address/versions/1/referencedby").await,
        (200, json!([]))
    );
    assert_eq!(
        s.get("/subjects/address/versions/1/referencedby?deleted=true")
            .await,
        (200, json!([cust_id]))
    );
    assert_eq!(
        s.delete("/subjects/address/versions/1").await,
        (200, json!(1))
    );
    assert_error(
        s.delete("/subjects/address/versions/1?permanent=true")
            .await,
        422,
        42206,
    );
    s.delete("/subjects/customer?permanent=true").await;
    assert_eq!(
        s.delete("/subjects/address/versions/1?permanent=true")
            .await,
        (200, json!(1))
    );
    assert_error(s.get(&format!("/schemas/ids/{addr_id}")).await, 404, 40403);
}

#[tokio::test]
async fn config_levels_and_inheritance() {
    let s = TestServer::start().await;
    assert_eq!(
        s.get("/config").await,
        (200, json!({"compatibilityLevel": "BACKWARD"}))
    );
    assert_eq!(
        s.put("/config", json!({"compatibility": "full"})).await,
        (200, json!({"compatibility": "FULL"}))
    );
    assert_eq!(
        s.get("/config").await,
        (200, json!({"compatibilityLevel": "FULL"}))
    );
    assert_error(
        s.put("/config", json!({"compatibility": "SIDEWAYS"})).await,
        422,
        42203,
    );
    assert_error(
        s.put("/config/x", json!({"compatibility": "SIDEWAYS"}))
            .await,
        422,
        42203,
    );

    assert_error(s.get("/config/x").await, 404, 40408);
    assert_eq!(
        s.get("/config/x?defaultToGlobal=true").await,
        (200, json!({"compatibilityLevel": "FULL"}))
    );
    assert_eq!(
        s.put("/config/x", json!({"compatibility": "NONE"})).await,
        (200, json!({"compatibility": "NONE"}))
    );
    assert_eq!(
        s.get("/config/x").await,
        (200, json!({"compatibilityLevel": "NONE"}))
    );
    // Partial update keeps the level.
    assert_eq!(
        s.put("/config/x", json!({"normalize": true})).await,
        (200, json!({"compatibility": "NONE", "normalize": true}))
    );
    assert_eq!(
        s.delete("/config/x").await,
        (
            200,
            json!({"compatibilityLevel": "NONE", "normalize": true})
        )
    );
    assert_error(s.delete("/config/x").await, 404, 40401);
    assert_eq!(
        s.delete("/config").await,
        (200, json!({"compatibilityLevel": "FULL"}))
    );
    assert_eq!(
        s.get("/config").await,
        (200, json!({"compatibilityLevel": "BACKWARD"}))
    );
}

#[tokio::test]
async fn modes_readonly_and_import() {
    let s = TestServer::start().await;
    assert_eq!(s.get("/mode").await, (200, json!({"mode": "READWRITE"})));
    assert_error(s.get("/mode/x").await, 404, 40409);
    assert_eq!(
        s.get("/mode/x?defaultToGlobal=true").await,
        (200, json!({"mode": "READWRITE"}))
    );
    assert_error(
        s.put("/mode", json!({"mode": "SOMETIMES"})).await,
        422,
        42204,
    );

    s.register("ro", USER_V1).await;
    assert_eq!(
        s.put("/mode/ro", json!({"mode": "readonly"})).await,
        (200, json!({"mode": "READONLY"}))
    );
    assert_error(
        s.post("/subjects/ro/versions", json!({"schema": USER_V2}))
            .await,
        422,
        42205,
    );
    assert_error(s.delete("/subjects/ro/versions/1").await, 422, 42205);
    assert_error(
        s.put("/config/ro", json!({"compatibility": "NONE"})).await,
        422,
        42205,
    );
    // Reads still work, and re-registering an existing schema answers its id.
    assert_eq!(s.get("/subjects/ro/versions").await.0, 200);
    assert_eq!(s.register("ro", USER_V1).await, 1);
    assert_eq!(
        s.delete("/mode/ro").await,
        (200, json!({"mode": "READONLY"}))
    );
    assert_error(s.delete("/mode/ro").await, 404, 40401);

    // IMPORT over existing subjects needs force.
    assert_error(s.put("/mode", json!({"mode": "IMPORT"})).await, 422, 42205);
    assert_eq!(
        s.put("/mode?force=true", json!({"mode": "IMPORT"})).await,
        (200, json!({"mode": "IMPORT"}))
    );
    // Registering without an id in IMPORT mode is refused.
    assert_error(
        s.post("/subjects/imp/versions", json!({"schema": USER_V2}))
            .await,
        422,
        42205,
    );
    let (st, v) = s
        .post(
            "/subjects/imp/versions",
            json!({"schema": USER_V2, "id": 100, "version": 7}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (v["id"].clone(), v["version"].clone()),
        (json!(100), json!(7))
    );
    // An id that already holds other content cannot be overwritten.
    assert_error(
        s.post(
            "/subjects/imp2/versions",
            json!({"schema": USER_BAD, "id": 100}),
        )
        .await,
        422,
        42205,
    );
    assert_eq!(
        s.put("/mode", json!({"mode": "READWRITE"})).await,
        (200, json!({"mode": "READWRITE"}))
    );
    // The id counter moved past imported ids; the id is not allowed outside IMPORT.
    let fresh = record("AfterImport", &[("z", "long")]);
    assert_eq!(s.register("after", &fresh).await, 101);
    assert_error(
        s.post("/subjects/x/versions", json!({"schema": USER_V1, "id": 5}))
            .await,
        422,
        42205,
    );
    // Version must be one more than the previous in READWRITE.
    let (st, v) = s
        .post(
            "/subjects/imp/versions",
            json!({"schema": USER_V1, "version": 3}),
        )
        .await;
    assert_eq!((st, v["error_code"].clone()), (422, json!(42201)), "{v}");
}

#[tokio::test]
async fn body_size_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start_with(
        dir,
        charter_registry::ApiOptions {
            max_body_bytes: 1024,
            ..Default::default()
        },
    )
    .await;
    let big = "x".repeat(4096);
    let (st, v) = s
        .post("/subjects/big/versions", json!({"schema": big}))
        .await;
    assert_eq!((st, v["error_code"].clone()), (413, json!(413)), "{v}");
    // And the server keeps serving.
    assert_eq!(s.get("/").await, (200, json!({})));
}

#[tokio::test]
async fn hostile_schemas_do_not_crash() {
    let s = TestServer::start().await;
    // Deep nesting: far past any sane schema.
    let deep = format!(
        "{}\"int\"{}",
        "{\"type\":\"array\",\"items\":".repeat(5000),
        "}".repeat(5000)
    );
    let (st, v) = s
        .post("/subjects/deep/versions", json!({"schema": deep}))
        .await;
    assert_eq!((st, v["error_code"].clone()), (422, json!(42201)), "{v}");
    // Wide: many fields is fine.
    let fields: Vec<(String, &str)> = (0..2000).map(|i| (format!("f{i}"), "int")).collect();
    let fields: Vec<(&str, &str)> = fields.iter().map(|(n, t)| (n.as_str(), *t)).collect();
    let wide = record("Wide", &fields);
    assert_eq!(s.register("wide", &wide).await, 1);
    assert_eq!(s.get("/").await, (200, json!({})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_registrations_of_one_schema_get_one_id() {
    let s = std::sync::Arc::new(TestServer::start().await);
    let schema = record("Same", &[("a", "int")]);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = s.clone();
        let schema = schema.clone();
        tasks.push(tokio::spawn(async move {
            s.register(&format!("s{}", i % 4), &schema).await
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    for i in 0..4 {
        assert_eq!(
            s.get(&format!("/subjects/s{i}/versions")).await,
            (200, json!([1]))
        );
    }
}

#[tokio::test]
async fn state_survives_restart() {
    let s = TestServer::start().await;
    s.register("keep", USER_V1).await;
    s.register("keep", USER_V2).await;
    s.put("/config/keep", json!({"compatibility": "FULL"}))
        .await;
    assert_eq!(s.delete("/subjects/keep/versions/1").await.0, 200);
    s.put("/mode/keep", json!({"mode": "READONLY"})).await;
    let s = s.restart().await;
    assert_eq!(s.get("/subjects/keep/versions").await, (200, json!([2])));
    assert_eq!(
        s.get("/subjects/keep/versions?deleted=true").await,
        (200, json!([1, 2]))
    );
    assert_eq!(
        s.get("/config/keep").await,
        (200, json!({"compatibilityLevel": "FULL"}))
    );
    assert_eq!(
        s.get("/mode/keep").await,
        (200, json!({"mode": "READONLY"}))
    );
    s.delete("/mode/keep").await;
    let fresh = record("New", &[("z", "long")]);
    assert_eq!(s.register("n", &fresh).await, 3);
}

#[tokio::test]
async fn latest_version_with_metadata() {
    let s = TestServer::start().await;
    let schema = |fields: &[(&str, &str)], app: &str, team: &str| {
        json!({"schema": record("Order", fields),
               "metadata": {"properties": {"application.version": app, "team": team}}})
    };
    let v1 = schema(&[("id", "long")], "v1", "a");
    let v2 = schema(&[("id", "long"), ("n", "string")], "v2", "a");
    let v3 = schema(&[("id", "long")], "v1", "b");
    let (st, _) = s
        .put("/config/orders-value", json!({"compatibility": "NONE"}))
        .await;
    assert_eq!(st, 200);
    for body in [v1, v2, v3] {
        let (st, _) = s.post("/subjects/orders-value/versions", body).await;
        assert_eq!(st, 200);
    }
    let (st, v) = s
        .get("/subjects/orders-value/metadata?key=application.version&value=v1")
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["version"], 3, "the latest of the matching versions: {v}");
    assert_eq!(v["metadata"]["properties"]["team"], "b");
    // Pairs are matched together: every pair must hold.
    let (_, v) = s
        .get("/subjects/orders-value/metadata?key=application.version&value=v1&key=team&value=a")
        .await;
    assert_eq!(v["version"], 1, "{v}");
    let (_, v) = s
        .get("/subjects/orders-value/metadata?key=application.version&value=v2")
        .await;
    assert_eq!(
        (v["version"].clone(), v["subject"].clone()),
        (json!(2), json!("orders-value"))
    );
    assert!(v["schema"].as_str().unwrap().contains("\"n\""));
    // A soft-deleted match is found only with deleted=true.
    let (st, _) = s.delete("/subjects/orders-value/versions/2").await;
    assert_eq!(st, 200);
    assert_error(
        s.get("/subjects/orders-value/metadata?key=application.version&value=v2")
            .await,
        404,
        40403,
    );
    let (st, v) = s
        .get("/subjects/orders-value/metadata?key=application.version&value=v2&deleted=true")
        .await;
    assert_eq!((st, v["version"].clone()), (200, json!(2)));
    assert_error(
        s.get("/subjects/orders-value/metadata?key=application.version&value=v9")
            .await,
        404,
        40403,
    );
    assert_error(
        s.get("/subjects/nope/metadata?key=a&value=b").await,
        404,
        40401,
    );
}

#[tokio::test]
async fn basic_authentication() {
    use charter_registry::api::auth::BasicAuth;
    let users = BasicAuth::parse("# CI\nci: s3cret,admin\n").unwrap();
    let s = TestServer::start_with(
        tempfile::tempdir().unwrap(),
        charter_registry::ApiOptions {
            basic_auth: Some(std::sync::Arc::new(users)),
            ..Default::default()
        },
    )
    .await;
    let http = reqwest::Client::new();
    let url = format!("{}/subjects", s.base);
    // No credentials, a wrong password, another scheme: 401 with Confluent's body and a
    // challenge, before anything else is looked at (even unknown routes).
    for req in [
        http.get(&url),
        http.get(&url).basic_auth("ci", Some("wrong")),
        http.get(&url).bearer_auth("s3cret"),
        http.get(format!("{}/no/such/route", s.base)),
    ] {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.headers()["www-authenticate"],
            "Basic realm=\"SchemaRegistry\""
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(body, json!({"error_code": 401, "message": "Unauthorized"}));
    }
    let r = http
        .post(format!("{url}/auth-value/versions"))
        .basic_auth("ci", Some("s3cret"))
        .header("Content-Type", CT)
        .body(json!({"schema": USER_V1}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // charter-serde's client with the same credentials.
    let client = charter_serde::client::SchemaRegistryClient::new(
        charter_serde::client::ClientConfig::new(&s.base).basic_auth("ci", "s3cret"),
    )
    .unwrap();
    assert_eq!(client.subjects(None, false).await.unwrap(), ["auth-value"]);
    let anonymous = charter_serde::client::SchemaRegistryClient::new(
        charter_serde::client::ClientConfig::new(&s.base),
    )
    .unwrap();
    assert!(anonymous.subjects(None, false).await.is_err());
}
