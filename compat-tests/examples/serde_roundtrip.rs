//! A small driver of `charter-serde` for the cross-language interop suite
//! (`compat-tests/interop/test_rust_serde.py`): encodes JSON values into framed records and
//! decodes framed records to JSON, with the typed or the dynamic API, against a registry.
//!
//! ```text
//! serde_roundtrip URL encode FORMAT TOPIC VALUE_JSON [--typed] [--header] [--message=NAME]
//!     prints {"payload": HEX, "headers": [[NAME, HEX], ...]}
//! serde_roundtrip URL decode FORMAT TOPIC PAYLOAD_HEX [NAME=HEX ...] [--typed]
//!     prints {"value": JSON, "schema_id": N}
//! ```
//!
//! FORMAT is `avro`, `protobuf` or `json`. The typed API uses the Rust types below, which
//! mirror the Python test's schemas; the dynamic API takes and prints the JSON shapes of
//! `charter_serde::dynamic` (Avro JSON encoding, proto3 JSON, plain JSON). Exit status 1 and a
//! message on stderr on any error.

use std::process::ExitCode;
use std::sync::OnceLock;

use charter_serde::avro_serde::{AvroDeserializer, AvroSerializer};
use charter_serde::client::{ClientConfig, SchemaRegistryClient};
use charter_serde::deserializer::DeserializerConfig;
use charter_serde::dynamic::{
    DynamicDeserializer, DynamicSerializer, JsonWriteOptions, SchemaChoice,
};
use charter_serde::json_serde::{JsonDeserializer, JsonSerializer};
use charter_serde::protobuf::prost_reflect::{DescriptorPool, MessageDescriptor, ReflectMessage};
use charter_serde::protobuf::ProtobufSchema;
use charter_serde::protobuf_serde::{ProtobufDeserializer, ProtobufSerializer};
use charter_serde::record::{IdLocation, SerializedRecord};
use charter_serde::serializer::SerializerConfig;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The Avro schema of the interop test (`interop.User`).
const USER_AVSC: &str = r#"{"type":"record","name":"User","namespace":"interop","fields":[
  {"name":"name","type":"string"},
  {"name":"age","type":"int"},
  {"name":"email","type":["null","string"],"default":null},
  {"name":"tags","type":{"type":"array","items":"string"}}]}"#;

#[derive(Debug, Serialize, Deserialize)]
struct User {
    name: String,
    age: i32,
    email: Option<String>,
    tags: Vec<String>,
}

/// The Protobuf schema of the interop test: the typed message is the nested `Outer.Item`
/// (index path [1, 0]).
const ITEMS_PROTO: &str = r#"syntax = "proto3";
package interop.rust;
message Envelope { string trace = 1; }
message Outer {
  message Item { string sku = 1; int32 qty = 2; int64 big = 3; repeated string tags = 4; }
}
"#;

#[derive(Clone, PartialEq, prost::Message, Serialize)]
struct Item {
    #[prost(string, tag = "1")]
    sku: String,
    #[prost(int32, tag = "2")]
    qty: i32,
    #[prost(int64, tag = "3")]
    big: i64,
    #[prost(string, repeated, tag = "4")]
    tags: Vec<String>,
}

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| match ProtobufSchema::parse(ITEMS_PROTO, &[], true) {
        Ok(s) => s.descriptor_pool().clone(),
        Err(e) => panic!("the built-in test schema compiles: {e}"),
    })
}

impl ReflectMessage for Item {
    fn descriptor(&self) -> MessageDescriptor {
        match pool().get_message_by_name("interop.rust.Outer.Item") {
            Some(d) => d,
            None => panic!("the built-in test schema defines Outer.Item"),
        }
    }
}

/// The JSON Schema of the interop test.
const READING_SCHEMA: &str = r#"{"$schema":"http://json-schema.org/draft-07/schema#","title":"interop.Reading","type":"object",
  "properties":{"sensor":{"type":"string"},"value":{"type":"number"},"tags":{"type":"array","items":{"type":"string"}}},
  "required":["sensor","value"],"additionalProperties":false}"#;

#[derive(Debug, Serialize, Deserialize)]
struct Reading {
    sensor: String,
    value: f64,
    #[serde(default)]
    tags: Vec<String>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err(format!("odd-length hex: {s}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| e.to_string()))
        .collect()
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

async fn encode(
    client: SchemaRegistryClient,
    format: &str,
    topic: &str,
    value: &Value,
    typed: bool,
    header: bool,
    message: Option<&str>,
) -> Result<SerializedRecord, String> {
    let location = if header {
        IdLocation::Header
    } else {
        IdLocation::Prefix
    };
    if !typed {
        let ser = DynamicSerializer::new(client);
        let opts = JsonWriteOptions {
            id_location: location,
            protobuf_message: message.map(str::to_string),
        };
        return ser
            .serialize_json_with(topic, false, value, SchemaChoice::Latest, &opts)
            .await
            .map_err(err);
    }
    let config = SerializerConfig::default().id_location(location);
    match format {
        "avro" => {
            let v: User = serde_json::from_value(value.clone()).map_err(err)?;
            let ser = AvroSerializer::<User>::new(client, USER_AVSC, config).map_err(err)?;
            ser.serialize(topic, false, &v).await.map_err(err)
        }
        "protobuf" => {
            let v = Item {
                sku: value["sku"].as_str().unwrap_or_default().to_string(),
                qty: value["qty"].as_i64().unwrap_or_default() as i32,
                big: value["big"].as_i64().unwrap_or_default(),
                tags: serde_json::from_value(value["tags"].clone()).unwrap_or_default(),
            };
            let ser = ProtobufSerializer::<Item>::new(client, config);
            ser.serialize(topic, false, &v).await.map_err(err)
        }
        "json" => {
            let v: Reading = serde_json::from_value(value.clone()).map_err(err)?;
            let ser =
                JsonSerializer::<Reading>::new(client, READING_SCHEMA, config).map_err(err)?;
            ser.serialize(topic, false, &v).await.map_err(err)
        }
        other => Err(format!("unknown format {other}")),
    }
}

async fn decode(
    client: SchemaRegistryClient,
    format: &str,
    topic: &str,
    payload: &[u8],
    headers: &[(String, Vec<u8>)],
    typed: bool,
) -> Result<Value, String> {
    if !typed {
        let de = DynamicDeserializer::new(client);
        let d = de
            .deserialize_json_with(topic, false, payload, headers)
            .await
            .map_err(err)?;
        return Ok(json!({"value": d.value, "schema_id": d.schema_id,
            "protobuf_message": d.protobuf_message}));
    }
    let config = DeserializerConfig::default();
    let value = match format {
        "avro" => {
            let de = AvroDeserializer::<User>::new(client, config);
            let v = de
                .deserialize(topic, false, payload, headers)
                .await
                .map_err(err)?;
            serde_json::to_value(v).map_err(err)?
        }
        "protobuf" => {
            let de = ProtobufDeserializer::<Item>::new(client, config);
            let v = de
                .deserialize(topic, false, payload, headers)
                .await
                .map_err(err)?;
            serde_json::to_value(v).map_err(err)?
        }
        "json" => {
            let de = JsonDeserializer::<Reading>::new(client, config.validate(true));
            let v = de
                .deserialize(topic, false, payload, headers)
                .await
                .map_err(err)?;
            serde_json::to_value(v).map_err(err)?
        }
        other => return Err(format!("unknown format {other}")),
    };
    Ok(json!({ "value": value }))
}

async fn run(args: Vec<String>) -> Result<Value, String> {
    let flags: Vec<&str> = args
        .iter()
        .filter(|a| a.starts_with("--"))
        .map(String::as_str)
        .collect();
    let pos: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(String::as_str)
        .collect();
    let usage = "usage: serde_roundtrip URL encode|decode FORMAT TOPIC VALUE_JSON|PAYLOAD_HEX [NAME=HEX ...] [--typed] [--header]";
    let [url, cmd, format, topic, data, rest @ ..] = pos.as_slice() else {
        return Err(usage.to_string());
    };
    let typed = flags.contains(&"--typed");
    let client = SchemaRegistryClient::new(ClientConfig::new(url)).map_err(err)?;
    match *cmd {
        "encode" => {
            let value: Value = serde_json::from_str(data).map_err(err)?;
            let message = flags.iter().find_map(|f| f.strip_prefix("--message="));
            let header = flags.contains(&"--header");
            let r = encode(client, format, topic, &value, typed, header, message).await?;
            let headers: Vec<Value> = r.headers.iter().map(|(k, v)| json!([k, hex(v)])).collect();
            Ok(json!({"payload": hex(&r.payload), "headers": headers}))
        }
        "decode" => {
            let payload = unhex(data)?;
            let mut headers = Vec::new();
            for h in rest {
                let (k, v) = h.split_once('=').ok_or(usage)?;
                headers.push((k.to_string(), unhex(v)?));
            }
            decode(client, format, topic, &payload, &headers, typed).await
        }
        _ => Err(usage.to_string()),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()).await {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("serde_roundtrip: {e}");
            ExitCode::FAILURE
        }
    }
}
