//! Payload validation: does a byte string decode as a message of the schema?

use std::panic::{catch_unwind, AssertUnwindSafe};

use prost_reflect::DynamicMessage;

use super::ProtobufSchema;

impl ProtobufSchema {
    /// Decodes `bytes` as the message at the Confluent message-index path `indexes` (`[0]` = the
    /// first top-level message, `[1, 0]` = the first message nested in the second; an empty
    /// path is read as `[0]`, like the wire format's single `0`).
    ///
    /// Err if the path names no message of the schema's own file, or if `bytes` are not a valid
    /// Protobuf encoding of that message (truncated or malformed fields, wrong wire types for
    /// known fields, invalid UTF-8 in `string` fields, nesting past prost's recursion limit).
    /// Unknown fields are accepted, as every Protobuf decoder does.
    pub fn validate_message(&self, indexes: &[i32], bytes: &[u8]) -> Result<(), String> {
        let path: &[i32] = if indexes.is_empty() { &[0] } else { indexes };
        let name = self
            .message_name(path)
            .ok_or_else(|| format!("message indexes {path:?} name no message of the schema"))?;
        let descriptor = self
            .message_descriptor(&name)
            .ok_or_else(|| format!("message '{name}' is missing from the compiled schema"))?;
        // The decoder is not expected to panic; contain it anyway so hostile input can never
        // take a broker thread down.
        match catch_unwind(AssertUnwindSafe(|| {
            DynamicMessage::decode(descriptor, bytes)
        })) {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("not a valid '{name}' message: {e}")),
            Err(_) => Err(format!("not a valid '{name}' message: the decoder failed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use prost_reflect::{DynamicMessage, Value};

    use crate::protobuf::ProtobufSchema;

    const TEXT: &str = r#"syntax = "proto3";
package acme;
message Outer {
  message Inner {
    string name = 1;
    int64 n = 2;
  }
  Inner inner = 1;
  repeated string tags = 2;
}
message Other {
  int32 id = 1;
  bytes data = 2;
}
"#;

    fn schema() -> ProtobufSchema {
        ProtobufSchema::parse(TEXT, &[], true).unwrap()
    }

    fn encode(schema: &ProtobufSchema, name: &str, set: &[(&str, Value)]) -> Vec<u8> {
        use prost::Message as _;
        let mut msg = DynamicMessage::new(schema.message_descriptor(name).unwrap());
        for (field, value) in set {
            msg.set_field_by_name(field, value.clone());
        }
        msg.encode_to_vec()
    }

    #[test]
    fn valid_messages_pass() {
        let s = schema();
        let inner = encode(
            &s,
            "acme.Outer.Inner",
            &[("name", Value::String("x".into())), ("n", Value::I64(-5))],
        );
        assert!(!inner.is_empty());
        s.validate_message(&[0, 0], &inner).unwrap();
        let other = encode(
            &s,
            "acme.Other",
            &[
                ("id", Value::I32(7)),
                ("data", Value::Bytes(vec![1, 2, 3].into())),
            ],
        );
        s.validate_message(&[1], &other).unwrap();
        // The empty message is a valid encoding of anything.
        s.validate_message(&[0], &[]).unwrap();
        s.validate_message(&[], &[]).unwrap();
    }

    #[test]
    fn garbage_fails() {
        let s = schema();
        // Field 1 (string) with a length running past the end.
        assert!(s.validate_message(&[0, 0], &[0x0a, 0x05, b'a']).is_err());
        // Invalid UTF-8 in a string field.
        assert!(s.validate_message(&[0, 0], &[0x0a, 0x01, 0xff]).is_err());
        // Field number 0 / a bad wire type.
        assert!(s.validate_message(&[1], &[0x00, 0x01]).is_err());
        assert!(s.validate_message(&[1], &[0x0f]).is_err());
        // A truncated varint.
        assert!(s.validate_message(&[1], &[0x08, 0xff]).is_err());
        assert!(s.validate_message(&[1], &[0xff; 64]).is_err());
    }

    #[test]
    fn bad_paths_fail() {
        let s = schema();
        for path in [&[2][..], &[0, 1], &[0, 0, 0], &[-1], &[1, 0]] {
            let err = s.validate_message(path, &[]).unwrap_err();
            assert!(err.contains("name no message"), "{err}");
        }
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let s = ProtobufSchema::parse("syntax = \"proto3\"; message R { R r = 1; }", &[], true)
            .unwrap();
        // 200 levels of `r { r { ... } }`, built inside out.
        let mut bytes: Vec<u8> = Vec::new();
        for _ in 0..200 {
            let mut outer = vec![0x0a];
            let mut len = bytes.len();
            loop {
                let b = (len & 0x7f) as u8;
                len >>= 7;
                if len == 0 {
                    outer.push(b);
                    break;
                }
                outer.push(b | 0x80);
            }
            outer.extend_from_slice(&bytes);
            bytes = outer;
        }
        assert!(s.validate_message(&[0], &bytes).is_err());
    }
}
