//! The typed serializers of `charter-serde` against a real in-process registry: Avro from serde
//! types (given and derived schemas, writer→reader resolution), Protobuf from prost messages
//! (nested message index paths) and dynamic messages, JSON Schema from serde types, header
//! mode, and Confluent's auto.register / use.latest.version / normalize options.

use std::sync::{Arc, OnceLock};

use charter_compat_tests::TestServer;
use charter_serde::avro_serde::{AvroDeserializer, AvroSerializer};
use charter_serde::client::{ClientConfig, Schema, SchemaRegistryClient};
use charter_serde::deserializer::DeserializerConfig;
use charter_serde::json_serde::{JsonDeserializer, JsonSerializer};
use charter_serde::protobuf::prost_reflect::{
    DescriptorPool, DynamicMessage, MessageDescriptor, ReflectMessage, Value as PbValue,
};
use charter_serde::protobuf::ProtobufSchema;
use charter_serde::protobuf_serde::{
    ProtobufDeserializer, ProtobufDynamicDeserializer, ProtobufSerializer,
};
use charter_serde::record::IdLocation;
use charter_serde::serializer::SerializerConfig;
use charter_serde::strategy::RecordNameStrategy;
use charter_serde::SerdeError;
use serde::{Deserialize, Serialize};

fn client(base: &str) -> SchemaRegistryClient {
    SchemaRegistryClient::new(ClientConfig::new(base)).unwrap()
}

// ----------------------------------------------------------------------------------- Avro

const USER_V1: &str = r#"{"type":"record","name":"User","namespace":"acme","fields":[
  {"name":"name","type":"string"},{"name":"email","type":["null","string"],"default":null}]}"#;
const USER_V2: &str = r#"{"type":"record","name":"User","namespace":"acme","fields":[
  {"name":"name","type":"string"},{"name":"email","type":["null","string"],"default":null},
  {"name":"age","type":"int","default":-1}]}"#;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    name: String,
    email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename = "User")]
struct UserV2 {
    name: String,
    email: Option<String>,
    age: i32,
}

#[tokio::test]
async fn avro_round_trip_and_schema_evolution() {
    let s = TestServer::start().await;
    let c = client(&s.base);
    let ser = AvroSerializer::<User>::new(c.clone(), USER_V1, SerializerConfig::default()).unwrap();
    let u = User {
        name: "ada".into(),
        email: Some("a@x".into()),
    };
    let r = ser.serialize("users", false, &u).await.unwrap();
    assert!(r.headers.is_empty());
    assert_eq!(&r.payload[..5], &[0, 0, 0, 0, 1], "registered as id 1");
    assert_eq!(
        &r.payload[5..],
        &[6, b'a', b'd', b'a', 2, 6, b'a', b'@', b'x']
    );
    // The synchronous hot path gives the same bytes once the topic is known.
    let sync = ser.serialize_cached("users", false, &u).unwrap().unwrap();
    assert_eq!(sync, r);
    assert!(ser.serialize_cached("other", false, &u).is_none());

    let de = AvroDeserializer::<User>::new(c.clone(), DeserializerConfig::default());
    assert_eq!(
        de.deserialize("users", false, &r.payload, &())
            .await
            .unwrap(),
        u
    );

    // A reader on v2 reads v1 records with the default for the new field.
    let de2 = AvroDeserializer::<UserV2>::with_reader_schema(
        c.clone(),
        USER_V2,
        DeserializerConfig::default(),
    )
    .unwrap();
    let got = de2
        .deserialize("users", false, &r.payload, &())
        .await
        .unwrap();
    assert_eq!(
        got,
        UserV2 {
            name: "ada".into(),
            email: Some("a@x".into()),
            age: -1
        }
    );

    // use.latest.version on the reader side: register v2, read v1 bytes as v2.
    c.register("users-value", &Schema::avro(USER_V2), false)
        .await
        .unwrap();
    let latest = AvroDeserializer::<UserV2>::new(
        c.clone(),
        DeserializerConfig::default().use_latest_version(true),
    );
    assert_eq!(
        latest
            .deserialize("users", false, &r.payload, &())
            .await
            .unwrap()
            .age,
        -1
    );
    // And a struct whose name is not the record's still reads (through the generic Value).
    #[derive(Debug, PartialEq, Deserialize)]
    struct Renamed {
        name: String,
    }
    let de3 = AvroDeserializer::<Renamed>::new(c.clone(), DeserializerConfig::default());
    for _ in 0..2 {
        let v = de3
            .deserialize("users", false, &r.payload, &())
            .await
            .unwrap();
        assert_eq!(v.name, "ada");
    }
    // The generic Value API.
    let dv = AvroDeserializer::<apache_avro::types::Value>::new(c, DeserializerConfig::default());
    let v = dv
        .deserialize_value("users", false, &r.payload, &())
        .await
        .unwrap();
    assert!(
        matches!(v, apache_avro::types::Value::Record(ref f) if f.len() == 2),
        "{v:?}"
    );
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, apache_avro::AvroSchema)]
struct Payment {
    id: i64,
    amount: f64,
    memo: Option<String>,
}

#[tokio::test]
async fn avro_derived_schema_and_header_mode() {
    let s = TestServer::start().await;
    let c = client(&s.base);
    let ser = AvroSerializer::<Payment>::derived(
        c.clone(),
        SerializerConfig::default().id_location(IdLocation::Header),
    )
    .unwrap();
    assert!(ser.schema().schema.contains("\"Payment\""));
    let p = Payment {
        id: 9,
        amount: 2.5,
        memo: None,
    };
    let r = ser.serialize("pay", true, &p).await.unwrap();
    assert_eq!(r.headers.len(), 1);
    assert_eq!(r.headers[0].0, "__key_schema_id");
    let h = &r.headers[0].1;
    assert_eq!((h[0], h.len()), (1, 17), "magic 1 and a GUID, no indexes");
    // The GUID is the one the registry gives for the key subject's schema.
    let latest = c.latest_version("pay-key").await.unwrap();
    let guid = latest.guid.as_deref().unwrap().replace('-', "");
    let hex: String = h[1..].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, guid);
    // The payload is the bare datum.
    assert_eq!(r.payload[0], 18, "id 9 zigzag, no prefix");
    let de =
        AvroDeserializer::<Payment>::derived(c.clone(), DeserializerConfig::default()).unwrap();
    assert_eq!(
        de.deserialize("pay", true, &r.payload, &r.headers)
            .await
            .unwrap(),
        p
    );
    // The key header is not used for the value side: the payload has no prefix there.
    let e = de
        .deserialize("pay", false, &r.payload, &r.headers)
        .await
        .unwrap_err();
    assert!(matches!(e, SerdeError::Wire(_)), "{e}");
}

#[tokio::test]
async fn auto_register_off_looks_up_or_uses_latest() {
    let s = TestServer::start().await;
    let c = client(&s.base);
    let u = User {
        name: "b".into(),
        email: None,
    };
    // Lookup of an unregistered schema fails with the registry's 404.
    let lookup = AvroSerializer::<User>::new(
        c.clone(),
        USER_V1,
        SerializerConfig::default().auto_register_schemas(false),
    )
    .unwrap();
    let e = lookup.serialize("t", false, &u).await.unwrap_err();
    assert!(
        matches!(&e, SerdeError::Registry(r) if r.is_not_found()),
        "{e}"
    );
    // A differently formatted copy is found once normalized.
    let id = c
        .register("t-value", &Schema::avro(USER_V1), false)
        .await
        .unwrap()
        .id;
    let spaced = USER_V1.replace(',', " , ");
    let norm = AvroSerializer::<User>::new(
        c.clone(),
        &spaced,
        SerializerConfig::default()
            .auto_register_schemas(false)
            .normalize_schemas(true),
    )
    .unwrap();
    let r = norm.serialize("t", false, &u).await.unwrap();
    assert_eq!(i32::from_be_bytes(r.payload[1..5].try_into().unwrap()), id);

    // use.latest.version writes with the latest schema, whatever the local one.
    c.register("t-value", &Schema::avro(USER_V2), false)
        .await
        .unwrap();
    let latest = AvroSerializer::<UserV2>::new(
        c.clone(),
        USER_V1,
        SerializerConfig::default()
            .auto_register_schemas(false)
            .use_latest_version(true),
    )
    .unwrap();
    let v2 = UserV2 {
        name: "c".into(),
        email: None,
        age: 3,
    };
    let r = latest.serialize("t", false, &v2).await.unwrap();
    let v2_id = c.latest_version("t-value").await.unwrap().id;
    assert_eq!(
        i32::from_be_bytes(r.payload[1..5].try_into().unwrap()),
        v2_id
    );
    assert!(
        latest.serialize_cached("t", false, &v2).is_none(),
        "latest is not pinned"
    );
    // use.schema.id pins an id.
    let pinned = AvroSerializer::<User>::new(
        c.clone(),
        USER_V1,
        SerializerConfig::default()
            .auto_register_schemas(false)
            .use_schema_id(Some(id)),
    )
    .unwrap();
    let r = pinned.serialize("anything", false, &u).await.unwrap();
    assert_eq!(i32::from_be_bytes(r.payload[1..5].try_into().unwrap()), id);
    // RecordNameStrategy registers under the record's full name.
    let by_name = AvroSerializer::<User>::new(
        c.clone(),
        USER_V1,
        SerializerConfig::default().subject_name_strategy(Arc::new(RecordNameStrategy)),
    )
    .unwrap();
    by_name.serialize("t", false, &u).await.unwrap();
    assert!(c
        .subjects(None, false)
        .await
        .unwrap()
        .contains(&"acme.User".to_string()));
}

#[tokio::test]
async fn use_latest_with_metadata_picks_the_tagged_version() {
    let s = TestServer::start().await;
    let c = client(&s.base);
    let tagged = |text: &str, app: &str| Schema {
        metadata: Some(serde_json::json!({"properties": {"app": app}})),
        ..Schema::avro(text)
    };
    let v1 = c
        .register("m-value", &tagged(USER_V1, "one"), false)
        .await
        .unwrap()
        .id;
    let v2 = c
        .register("m-value", &tagged(USER_V2, "two"), false)
        .await
        .unwrap()
        .id;
    assert_ne!(v1, v2);
    let pairs = |app: &str| Some(vec![("app".to_string(), app.to_string())]);
    let config = |app: &str| {
        SerializerConfig::default()
            .auto_register_schemas(false)
            .use_latest_version(true) // the metadata option comes first
            .use_latest_with_metadata(pairs(app))
    };
    // Writes with the version carrying the metadata, not the latest one.
    let one = AvroSerializer::<User>::new(c.clone(), USER_V1, config("one")).unwrap();
    let u = User {
        name: "m".into(),
        email: None,
    };
    let r = one.serialize("m", false, &u).await.unwrap();
    assert_eq!(i32::from_be_bytes(r.payload[1..5].try_into().unwrap()), v1);
    let two = AvroSerializer::<UserV2>::new(c.clone(), USER_V2, config("two")).unwrap();
    let w2 = UserV2 {
        name: "n".into(),
        email: None,
        age: 7,
    };
    let r2 = two.serialize("m", false, &w2).await.unwrap();
    assert_eq!(i32::from_be_bytes(r2.payload[1..5].try_into().unwrap()), v2);
    // Reading: the tagged version is the reader schema (v2's record read as v1).
    let de = AvroDeserializer::<User>::new(
        c.clone(),
        DeserializerConfig::default().use_latest_with_metadata(pairs("one")),
    );
    let back = de.deserialize("m", false, &r2.payload, &()).await.unwrap();
    assert_eq!(
        back,
        User {
            name: "n".into(),
            email: None
        }
    );
    // No version carries it: the registry's 404.
    let none = AvroSerializer::<User>::new(c.clone(), USER_V1, config("three")).unwrap();
    let e = none.serialize("m", false, &u).await.unwrap_err();
    assert!(
        matches!(&e, SerdeError::Registry(r) if r.is_not_found()),
        "{e}"
    );
}

// ------------------------------------------------------------------------------- Protobuf

const ORDER_PROTO: &str = r#"syntax = "proto3";
package shop;
message Envelope { string trace = 1; }
message Outer {
  message Order { int64 id = 1; string note = 2; repeated string tags = 3; }
}
"#;

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        ProtobufSchema::parse(ORDER_PROTO, &[], true)
            .unwrap()
            .descriptor_pool()
            .clone()
    })
}

/// What prost-build would generate for `shop.Outer.Order`, with prost-reflect's descriptor.
#[derive(Clone, PartialEq, prost::Message)]
struct Order {
    #[prost(int64, tag = "1")]
    id: i64,
    #[prost(string, tag = "2")]
    note: String,
    #[prost(string, repeated, tag = "3")]
    tags: Vec<String>,
}

impl ReflectMessage for Order {
    fn descriptor(&self) -> MessageDescriptor {
        pool().get_message_by_name("shop.Outer.Order").unwrap()
    }
}

#[tokio::test]
async fn protobuf_nested_message_round_trip() {
    let s = TestServer::start().await;
    let c = client(&s.base);
    let ser = ProtobufSerializer::<Order>::new(c.clone(), SerializerConfig::default());
    let o = Order {
        id: 5,
        note: "n".into(),
        tags: vec!["a".into()],
    };
    let r = ser.serialize("orders", false, &o).await.unwrap();
    // Prefix, then the index path [1, 0], then the message.
    assert_eq!(&r.payload[5..8], &[4, 2, 0]);
    assert_eq!(
        &r.payload[8..],
        prost::Message::encode_to_vec(&o).as_slice()
    );
    let de = ProtobufDeserializer::<Order>::new(c.clone(), DeserializerConfig::default());
    assert_eq!(
        de.deserialize("orders", false, &r.payload, &())
            .await
            .unwrap(),
        o
    );
    let dynde = ProtobufDynamicDeserializer::new(c.clone(), DeserializerConfig::default());
    let m = dynde
        .deserialize("orders", false, &r.payload, &())
        .await
        .unwrap();
    assert_eq!(m.descriptor().full_name(), "shop.Outer.Order");
    assert_eq!(m.get_field_by_name("id").unwrap().as_i64(), Some(5));

    // A DynamicMessage of the first top-level message, in header mode.
    let env = pool().get_message_by_name("shop.Envelope").unwrap();
    let dser = ProtobufSerializer::<DynamicMessage>::with_descriptor(
        c.clone(),
        env.clone(),
        SerializerConfig::default().id_location(IdLocation::Header),
    );
    let mut m = DynamicMessage::new(env);
    m.set_field_by_name("trace", PbValue::String("t1".into()));
    let r = dser.serialize("env", false, &m).await.unwrap();
    assert_eq!(
        r.headers[0].1.len(),
        18,
        "magic, GUID, index [0] as one byte"
    );
    assert_eq!(r.headers[0].1[17], 0);
    let back = dynde
        .deserialize("env", false, &r.payload, &r.headers)
        .await
        .unwrap();
    // Decoded with the writer schema's own pool: compare names and fields.
    assert_eq!(back.descriptor().full_name(), "shop.Envelope");
    assert_eq!(
        back.get_field_by_name("trace").unwrap().as_str(),
        Some("t1")
    );
    // Indexes that name no message are an error.
    let mut bad = r.payload.clone();
    bad.splice(0..0, [0, 0, 0, 0, 1, 2, 20]);
    let e = de
        .deserialize("orders", false, &bad, &())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("name no message"), "{e}");
}

// ------------------------------------------------------------------------------------ JSON

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Point {
    x: i64,
    y: i64,
}

const POINT: &str = r#"{"type":"object","title":"geo.Point","properties":{"x":{"type":"integer","minimum":0},"y":{"type":"integer"}},"required":["x","y"]}"#;

#[tokio::test]
async fn json_schema_round_trip_and_validation() {
    let s = TestServer::start().await;
    let c = client(&s.base);
    let ser = JsonSerializer::<Point>::new(c.clone(), POINT, SerializerConfig::default()).unwrap();
    let p = Point { x: 1, y: -2 };
    let r = ser.serialize("pts", false, &p).await.unwrap();
    assert_eq!(&r.payload[5..], br#"{"x":1,"y":-2}"#);
    let de = JsonDeserializer::<Point>::new(c.clone(), DeserializerConfig::default());
    assert_eq!(
        de.deserialize("pts", false, &r.payload, &()).await.unwrap(),
        p
    );
    let e = ser
        .serialize("pts", false, &Point { x: -1, y: 0 })
        .await
        .unwrap_err();
    assert!(matches!(e, SerdeError::Validation(_)), "{e}");
    // Validation on read is opt-in.
    let mut bad = r.payload[..5].to_vec();
    bad.extend_from_slice(br#"{"x":-5,"y":0}"#);
    assert_eq!(de.deserialize("pts", false, &bad, &()).await.unwrap().x, -5);
    let strict = JsonDeserializer::<Point>::new(c, DeserializerConfig::default().validate(true));
    assert!(matches!(
        strict.deserialize("pts", false, &bad, &()).await,
        Err(SerdeError::Validation(_))
    ));
}

#[tokio::test]
async fn a_deserializer_of_one_format_rejects_another() {
    let s = TestServer::start().await;
    let c = client(&s.base);
    let ser = JsonSerializer::<Point>::new(c.clone(), POINT, SerializerConfig::default()).unwrap();
    let r = ser
        .serialize("pts", false, &Point { x: 1, y: 1 })
        .await
        .unwrap();
    let de = ProtobufDeserializer::<Order>::new(c.clone(), DeserializerConfig::default());
    let e = de
        .deserialize("pts", false, &r.payload, &())
        .await
        .unwrap_err();
    assert!(matches!(e, SerdeError::WrongFormat { .. }), "{e}");
    let de = AvroDeserializer::<User>::new(c, DeserializerConfig::default());
    let e = de
        .deserialize("pts", false, &r.payload, &())
        .await
        .unwrap_err();
    assert!(matches!(e, SerdeError::WrongFormat { .. }), "{e}");
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
struct Sensor {
    /// The sensor's id.
    id: String,
    readings: Vec<f64>,
    unit: Option<String>,
}

#[tokio::test]
async fn json_schema_derived_with_schemars() {
    let s = TestServer::start().await;
    let c = client(&s.base);
    let ser = JsonSerializer::<Sensor>::derived(c.clone(), SerializerConfig::default()).unwrap();
    let v = Sensor {
        id: "s1".into(),
        readings: vec![1.5, 2.0],
        unit: None,
    };
    let r = ser.serialize("sensors", false, &v).await.unwrap();
    let registered = c.latest_version("sensors-value").await.unwrap();
    assert!(
        registered.schema.contains("\"readings\""),
        "{}",
        registered.schema
    );
    let de = JsonDeserializer::<Sensor>::new(c, DeserializerConfig::default().validate(true));
    assert_eq!(
        de.deserialize("sensors", false, &r.payload, &())
            .await
            .unwrap(),
        v
    );
    // The derived schema is enforced: a serializer of another shape on the same subject's
    // schema rejects what does not fit.
    #[derive(Serialize)]
    struct Wrong {
        id: i32,
    }
    let wrong = JsonSerializer::<Wrong>::new(
        client(&s.base),
        &registered.schema,
        SerializerConfig::default(),
    )
    .unwrap();
    let e = wrong
        .serialize("sensors", false, &Wrong { id: 1 })
        .await
        .unwrap_err();
    assert!(matches!(e, SerdeError::Validation(_)), "{e}");
}
