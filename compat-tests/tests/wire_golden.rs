//! The golden wire-format vectors (`vectors/wire_golden.json`): every vector is encoded and
//! decoded with `charter_serde::wire`, byte for byte. The interop suite checks the same file
//! against confluent-kafka-python's encoder.

use charter_serde::wire::{self, SchemaIdentifier};
use serde_json::Value;

fn golden() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/wire_golden.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn indexes(v: &Value) -> Option<Vec<i32>> {
    v.as_array()
        .map(|a| a.iter().map(|i| i.as_i64().unwrap() as i32).collect())
}

fn list<'a>(g: &'a Value, key: &str) -> &'a Vec<Value> {
    let l = g[key].as_array().unwrap();
    assert!(!l.is_empty(), "{key} has vectors");
    l
}

#[test]
fn prefix_vectors_encode_and_decode() {
    let g = golden();
    for v in list(&g, "prefix") {
        let name = v["name"].as_str().unwrap();
        let id = v["id"].as_i64().unwrap() as i32;
        let payload = hex(v["payload_hex"].as_str().unwrap());
        let framed = hex(v["framed_hex"].as_str().unwrap());
        let ix = indexes(&v["indexes"]);
        let mut out = Vec::new();
        wire::write_prefix(&mut out, id);
        if let Some(ix) = &ix {
            wire::write_message_indexes(&mut out, ix);
        }
        out.extend_from_slice(&payload);
        assert_eq!(out, framed, "encode {name}");
        if ix.is_none() {
            assert_eq!(wire::frame(id, &payload), framed, "frame {name}");
        }
        let (ident, rest) = wire::read_identifier(&framed).unwrap();
        assert_eq!(ident, SchemaIdentifier::Id(id), "decode {name}");
        let rest = match &ix {
            Some(want) => {
                let (got, rest) = wire::read_message_indexes(rest).unwrap();
                assert_eq!(&got, want, "indexes of {name}");
                rest
            }
            None => rest,
        };
        assert_eq!(rest, payload.as_slice(), "payload of {name}");
    }
}

#[test]
fn header_vectors_encode_and_decode() {
    let g = golden();
    for v in list(&g, "header") {
        let name = v["name"].as_str().unwrap();
        let guid = charter_serde::schemas::parse_guid(v["guid"].as_str().unwrap()).unwrap();
        let want = hex(v["header_hex"].as_str().unwrap());
        let ix = indexes(&v["indexes"]);
        let mut out = Vec::new();
        wire::write_guid(&mut out, &guid);
        if let Some(ix) = &ix {
            wire::write_message_indexes(&mut out, ix);
        }
        assert_eq!(out, want, "encode {name}");
        let (ident, rest) = wire::read_identifier(&want).unwrap();
        assert_eq!(ident, SchemaIdentifier::Guid(guid), "decode {name}");
        match &ix {
            Some(ix) => assert_eq!(&wire::read_message_indexes(rest).unwrap().0, ix),
            None => assert!(rest.is_empty()),
        }
        assert_eq!(
            charter_serde::schemas::format_guid(&guid),
            v["guid"].as_str().unwrap()
        );
    }
}

#[test]
fn message_index_vectors() {
    let g = golden();
    for v in list(&g, "message_indexes") {
        let ix = indexes(&v["indexes"]).unwrap();
        let want = hex(v["hex"].as_str().unwrap());
        let mut out = Vec::new();
        wire::write_message_indexes(&mut out, &ix);
        assert_eq!(out, want, "encode {ix:?}");
        let (got, rest) = wire::read_message_indexes(&want).unwrap();
        assert_eq!((got, rest.len()), (ix, 0));
    }
    for v in list(&g, "message_indexes_decode_only") {
        let (got, _) = wire::read_message_indexes(&hex(v["hex"].as_str().unwrap())).unwrap();
        assert_eq!(Some(got), indexes(&v["indexes"]), "{}", v["name"]);
    }
    for v in list(&g, "invalid_message_indexes") {
        let b = hex(v["hex"].as_str().unwrap());
        assert!(wire::read_message_indexes(&b).is_err(), "{}", v["name"]);
    }
}

#[test]
fn invalid_frames_are_clear_errors() {
    let g = golden();
    for v in list(&g, "invalid") {
        let b = hex(v["hex"].as_str().unwrap());
        let e = wire::read_identifier(&b).unwrap_err();
        let want = v["error"].as_str().unwrap();
        assert!(e.to_string().contains(want), "{}: {e}", v["name"]);
    }
}
