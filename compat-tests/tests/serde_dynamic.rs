//! The dynamic (JSON in, JSON out) API of `charter-serde` against a real in-process registry:
//! every format, both framings, schema choices, and clear errors.

use charter_compat_tests::TestServer;
use charter_serde::client::{ClientConfig, Schema, SchemaRegistryClient};
use charter_serde::dynamic::{
    DynamicDeserializer, DynamicSerializer, JsonWriteOptions, SchemaChoice,
};
use charter_serde::record::IdLocation;
use charter_serde::wire::VALUE_SCHEMA_ID_HEADER;
use charter_serde::{SchemaType, SerdeError};
use serde_json::json;

const ORDER_AVRO: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[
  {"name":"id","type":"long"},
  {"name":"note","type":["null","string"],"default":null},
  {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B"]}},
  {"name":"lines","type":{"type":"array","items":{"type":"record","name":"Line","fields":[
     {"name":"sku","type":"string"},{"name":"qty","type":"int"}]}}}]}"#;

const ORDER_PROTO: &str = r#"syntax = "proto3";
package shop;
message Envelope { string trace = 1; }
message Outer {
  message Order { int64 id = 1; string note = 2; repeated string tags = 3; }
}
"#;

const ORDER_JSON: &str = r#"{"type":"object","title":"shop.Order","properties":{
  "id":{"type":"integer"},"note":{"type":"string"}},"required":["id"],"additionalProperties":false}"#;

fn client(base: &str) -> SchemaRegistryClient {
    SchemaRegistryClient::new(ClientConfig::new(base)).unwrap()
}

async fn setup() -> (TestServer, DynamicSerializer, DynamicDeserializer) {
    let server = TestServer::start().await;
    let c = client(&server.base);
    c.register("orders-value", &Schema::avro(ORDER_AVRO), false)
        .await
        .unwrap();
    c.register("orders-pb-value", &Schema::protobuf(ORDER_PROTO), false)
        .await
        .unwrap();
    c.register("orders-json-value", &Schema::json(ORDER_JSON), false)
        .await
        .unwrap();
    (
        server,
        DynamicSerializer::new(c.clone()),
        DynamicDeserializer::new(c),
    )
}

#[tokio::test]
async fn avro_json_round_trip_with_plain_and_wrapped_unions() {
    let (_server, ser, de) = setup().await;
    let wrapped = json!({"id": 7, "note": {"string": "hi"}, "kind": "B",
        "lines": [{"sku": "x", "qty": 2}]});
    let plain = json!({"id": 7, "note": "hi", "kind": "B", "lines": [{"sku": "x", "qty": 2}]});
    let a = ser
        .serialize_json("orders", false, &wrapped, SchemaChoice::Latest)
        .await
        .unwrap();
    let b = ser
        .serialize_json("orders", false, &plain, SchemaChoice::Version(1))
        .await
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(a[0], 0, "magic byte");
    let id = i32::from_be_bytes(a[1..5].try_into().unwrap());
    let c = ser
        .serialize_json("orders", false, &plain, SchemaChoice::Id(id))
        .await
        .unwrap();
    assert_eq!(a, c);
    // Id 7, note, kind 1, one line: the Avro body after the 5-byte prefix.
    assert_eq!(&a[5..], &[14, 2, 4, b'h', b'i', 2, 2, 2, b'x', 4, 0]);
    let back = de.deserialize_json("orders", false, &a, &[]).await.unwrap();
    assert_eq!(back, wrapped);
    // A missing field with a default is filled in.
    let no_note = json!({"id": 1, "kind": "A", "lines": []});
    let bytes = ser
        .serialize_json("orders", false, &no_note, SchemaChoice::Latest)
        .await
        .unwrap();
    let back = de
        .deserialize_json("orders", false, &bytes, &[])
        .await
        .unwrap();
    assert_eq!(back["note"], json!(null));
}

#[tokio::test]
async fn protobuf_json_round_trip_with_a_nested_message() {
    let (_server, ser, de) = setup().await;
    let opts = JsonWriteOptions {
        protobuf_message: Some("shop.Outer.Order".into()),
        ..Default::default()
    };
    let v = json!({"id": "42", "note": "n", "tags": ["a", "b"]});
    let r = ser
        .serialize_json_with("orders-pb", false, &v, SchemaChoice::Latest, &opts)
        .await
        .unwrap();
    assert!(r.headers.is_empty());
    // Prefix, then the index path [1, 0] as zigzag count 2 and indexes 1, 0.
    assert_eq!(&r.payload[5..8], &[4, 2, 0]);
    let d = de
        .deserialize_json_with("orders-pb", false, &r.payload, &[] as &[(String, Vec<u8>)])
        .await
        .unwrap();
    assert_eq!(d.value, v);
    assert_eq!(d.protobuf_message.as_deref(), Some("shop.Outer.Order"));
    assert_eq!(d.schema_type, SchemaType::Protobuf);
    // The first message by default: index path [0] as the single byte 0.
    let r = ser
        .serialize_json(
            "orders-pb",
            false,
            &json!({"trace": "t"}),
            SchemaChoice::Latest,
        )
        .await
        .unwrap();
    assert_eq!(r[5], 0);
    assert_eq!(
        de.deserialize_json("orders-pb", false, &r, &[])
            .await
            .unwrap(),
        json!({"trace": "t"})
    );
}

#[tokio::test]
async fn json_schema_values_are_validated() {
    let (_server, ser, de) = setup().await;
    let v = json!({"id": 1, "note": "x"});
    let bytes = ser
        .serialize_json("orders-json", false, &v, SchemaChoice::Latest)
        .await
        .unwrap();
    assert_eq!(&bytes[5..], serde_json::to_vec(&v).unwrap().as_slice());
    assert_eq!(
        de.deserialize_json("orders-json", false, &bytes, &[])
            .await
            .unwrap(),
        v
    );
    let err = ser
        .serialize_json(
            "orders-json",
            false,
            &json!({"note": 3}),
            SchemaChoice::Latest,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SerdeError::Validation(_)), "{err}");
    // Invalid payloads decode unless validation is asked for.
    let mut bad = bytes[..5].to_vec();
    bad.extend_from_slice(br#"{"id":"nope"}"#);
    assert!(de
        .deserialize_json("orders-json", false, &bad, &[])
        .await
        .is_ok());
    let strict = de.clone().validate(true);
    assert!(matches!(
        strict
            .deserialize_json("orders-json", false, &bad, &[])
            .await,
        Err(SerdeError::Validation(_))
    ));
}

#[tokio::test]
async fn header_mode_writes_a_guid_header_and_reads_it_back() {
    let (_server, ser, de) = setup().await;
    let opts = JsonWriteOptions {
        id_location: IdLocation::Header,
        protobuf_message: Some("shop.Outer.Order".into()),
    };
    let v = json!({"id": "5"});
    let r = ser
        .serialize_json_with("orders-pb", false, &v, SchemaChoice::Latest, &opts)
        .await
        .unwrap();
    assert_eq!(r.headers.len(), 1);
    let (name, value) = &r.headers[0];
    assert_eq!(name, VALUE_SCHEMA_ID_HEADER);
    assert_eq!(value[0], 1, "magic byte 1");
    assert_eq!(value.len(), 1 + 16 + 3, "GUID then indexes [1, 0]");
    assert_eq!(&value[17..], &[4, 2, 0]);
    // The payload is the bare protobuf message.
    assert_eq!(r.payload, [8, 5]);
    let back = de
        .deserialize_json("orders-pb", false, &r.payload, &r.headers)
        .await
        .unwrap();
    assert_eq!(back, v);

    let opts = JsonWriteOptions {
        id_location: IdLocation::Header,
        ..Default::default()
    };
    let v = json!({"id": 3, "kind": "A", "lines": [], "note": null});
    let r = ser
        .serialize_json_with("orders", true, &v, SchemaChoice::Id(1), &opts)
        .await
        .unwrap();
    assert_eq!(r.headers[0].0, "__key_schema_id");
    let back = de
        .deserialize_json("orders", true, &r.payload, &r.headers)
        .await
        .unwrap();
    assert_eq!(back, v);
}

#[tokio::test]
async fn bad_input_gives_clear_errors() {
    let (_server, ser, de) = setup().await;
    let e = de
        .deserialize_json("orders", false, &[0, 0, 0, 0x7f, 0, 1], &[])
        .await
        .unwrap_err();
    assert!(matches!(e, SerdeError::UnknownSchemaId(0x7f00)), "{e}");
    let e = de
        .deserialize_json("orders", false, &[0, 0, 1], &[])
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "bad framing: record is too short to be framed: 3 bytes"
    );
    let e = de
        .deserialize_json("orders", false, &[5, 0, 0, 0, 1], &[])
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "bad framing: unknown magic byte 5");
    let mut guid = vec![1u8];
    guid.extend([0xab; 16]);
    let e = de
        .deserialize_json(
            "orders",
            false,
            b"x",
            &[(VALUE_SCHEMA_ID_HEADER.to_string(), guid)],
        )
        .await
        .unwrap_err();
    assert!(matches!(e, SerdeError::UnknownSchemaGuid(_)), "{e}");
    // A truncated Avro body is a decode error, not a panic.
    let good = ser
        .serialize_json(
            "orders",
            false,
            &json!({"id": 1, "kind": "A", "lines": []}),
            SchemaChoice::Latest,
        )
        .await
        .unwrap();
    let e = de
        .deserialize_json("orders", false, &good[..good.len() - 1], &[])
        .await
        .unwrap_err();
    assert!(matches!(e, SerdeError::Deserialize(_)), "{e}");
    // Unknown subject.
    let e = ser
        .serialize_json("nope", false, &json!(1), SchemaChoice::Latest)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SerdeError::Registry(r) if r.is_not_found()),
        "{e}"
    );
    // A value that does not fit.
    let e = ser
        .serialize_json("orders", false, &json!({"id": "x"}), SchemaChoice::Latest)
        .await
        .unwrap_err();
    assert!(matches!(e, SerdeError::Serialize(_)), "{e}");
}

#[test]
fn blocking_wrappers() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(TestServer::start());
    let c =
        charter_serde::client::blocking::SchemaRegistryClient::new(ClientConfig::new(&server.base))
            .unwrap();
    c.register("b-value", &Schema::avro(r#""string""#), false)
        .unwrap();
    let ser = charter_serde::dynamic::blocking::DynamicSerializer::new(c.clone());
    let de = charter_serde::dynamic::blocking::DynamicDeserializer::new(c);
    let bytes = ser
        .serialize_json("b", false, &json!("hello"), SchemaChoice::Latest)
        .unwrap();
    assert_eq!(&bytes[5..], &[10, b'h', b'e', b'l', b'l', b'o']);
    assert_eq!(
        de.deserialize_json("b", false, &bytes, &[]).unwrap(),
        json!("hello")
    );
    drop(server);
}

/// Mutated and random payloads behind valid schema ids (every format, dynamic and typed
/// deserializers): errors or values, never a panic.
#[tokio::test]
async fn garbage_payloads_never_panic() {
    use charter_serde::avro_serde::AvroDeserializer;
    use charter_serde::deserializer::DeserializerConfig;
    use charter_serde::json_serde::JsonDeserializer;
    use charter_serde::protobuf_serde::ProtobufDynamicDeserializer;

    let (server, ser, de) = setup().await;
    let c = client(&server.base);
    let avro_typed =
        AvroDeserializer::<serde_json::Value>::new(c.clone(), DeserializerConfig::default());
    let json_typed = JsonDeserializer::<serde_json::Value>::new(
        c.clone(),
        DeserializerConfig::default().validate(true),
    );
    let pb_dynamic = ProtobufDynamicDeserializer::new(c, DeserializerConfig::default());
    let seeds = [
        ser.serialize_json(
            "orders",
            false,
            &json!({"id": 7, "note": "n", "kind": "B", "lines": [{"sku": "x", "qty": 2}]}),
            SchemaChoice::Latest,
        )
        .await
        .unwrap(),
        ser.serialize_json_with(
            "orders-pb",
            false,
            &json!({"id": "42", "note": "n", "tags": ["a"]}),
            SchemaChoice::Latest,
            &JsonWriteOptions {
                protobuf_message: Some("shop.Outer.Order".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .payload,
        ser.serialize_json(
            "orders-json",
            false,
            &json!({"id": 1}),
            SchemaChoice::Latest,
        )
        .await
        .unwrap(),
    ];
    // xorshift: deterministic, no extra dependency.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut decoded = 0;
    for seed in &seeds {
        for round in 0..300 {
            let mut b = seed.clone();
            match round % 3 {
                // Flip bytes after the 5-byte prefix.
                0 => {
                    for _ in 0..1 + next() % 4 {
                        let len = b.len().saturating_sub(5).max(1);
                        let i = 5 + (next() as usize) % len;
                        if i < b.len() {
                            b[i] ^= (next() & 0xff) as u8;
                        }
                    }
                }
                // Truncate.
                1 => b.truncate(5 + (next() as usize) % b.len().saturating_sub(4).max(1)),
                // Random tail.
                _ => {
                    b.truncate(5);
                    b.extend((0..next() % 40).map(|_| (next() & 0xff) as u8));
                }
            }
            if de.deserialize_json("t", false, &b, &[]).await.is_ok() {
                decoded += 1;
            }
            let _ = avro_typed.deserialize("t", false, &b, &()).await;
            let _ = json_typed.deserialize("t", false, &b, &()).await;
            let _ = pb_dynamic.deserialize("t", false, &b, &()).await;
        }
    }
    // Some mutations still decode (a changed string byte, say); most do not.
    assert!(decoded > 0 && decoded < 900, "{decoded}");
}
