//! Produce-time validation against an in-process registry: each format, both levels, the
//! subject strategies, tombstones, and whole-batch rejection with the failing record's index.

use std::collections::BTreeMap;
use std::sync::Arc;

use charter_broker::log::batch::BatchBuilder;
use charter_broker::validate::{validate, TopicRules};
use charter_registry::registry::SchemaRequest;
use charter_registry::Registry;
use charter_serde::wire;
use charter_serde::SchemaType;

struct Fixture {
    _dir: tempfile::TempDir,
    _rt: tokio::runtime::Runtime,
    registry: Arc<Registry>,
}

impl Fixture {
    fn new() -> Fixture {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let dir = tempfile::tempdir().expect("tempdir");
        let registry = {
            let _g = rt.enter();
            Arc::new(Registry::open(dir.path()).expect("registry"))
        };
        Fixture {
            _dir: dir,
            _rt: rt,
            registry,
        }
    }

    fn register(&self, subject: &str, ty: SchemaType, schema: &str) -> i32 {
        let req = SchemaRequest {
            schema: schema.to_string(),
            schema_type: ty,
            ..SchemaRequest::default()
        };
        self._rt
            .block_on(self.registry.register(subject, req, false))
            .expect("register")
            .id
    }
}

fn rules(pairs: &[(&str, &str)]) -> TopicRules {
    let configs: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    TopicRules::from_configs(&configs).expect("valid configs")
}

fn batch(values: &[Option<Vec<u8>>]) -> Vec<u8> {
    let mut b = BatchBuilder::new(1_700_000_000_000);
    for v in values {
        b = b.record(Some(b"k"), v.as_deref(), 1_700_000_000_000);
    }
    b.build()
}

const USER: &str = r#"{"type":"record","name":"User","namespace":"com.acme","fields":[{"name":"name","type":"string"},{"name":"age","type":"int"}]}"#;

/// Avro binary of User{name, age}.
fn user_datum(name: &str, age: i32) -> Vec<u8> {
    let mut out = Vec::new();
    let zz = |v: i64, out: &mut Vec<u8>| wire::write_zigzag(out, v);
    zz(name.len() as i64, &mut out);
    out.extend_from_slice(name.as_bytes());
    zz(age as i64, &mut out);
    out
}

#[test]
fn avro_payload_and_id_levels() {
    let f = Fixture::new();
    let id = f.register("users-value", SchemaType::Avro, USER);
    let good = wire::frame(id, &user_datum("ann", 42));
    let on = rules(&[("confluent.value.schema.validation", "true")]);
    let id_only = rules(&[
        ("confluent.value.schema.validation", "true"),
        ("charter.value.schema.validation.level", "id"),
    ]);
    assert_eq!(
        validate(&f.registry, "users", &on, &batch(&[Some(good.clone())])),
        Ok(())
    );

    // A truncated datum passes the id level, not the payload level.
    let truncated = good[..good.len() - 1].to_vec();
    assert_eq!(
        validate(
            &f.registry,
            "users",
            &id_only,
            &batch(&[Some(truncated.clone())])
        ),
        Ok(())
    );
    let errs = validate(
        &f.registry,
        "users",
        &on,
        &batch(&[Some(good.clone()), Some(truncated)]),
    )
    .expect_err("rejected");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].index, 1, "the failing record's index in the batch");
    assert!(
        errs[0].message.contains("does not match schema id"),
        "{}",
        errs[0].message
    );

    // Unframed, unknown id, or an id registered under another subject.
    let other = f.register("other-value", SchemaType::Avro, r#""string""#);
    for (bad, want) in [
        (b"raw".to_vec(), "not framed"),
        (wire::frame(9999, b"x"), "schema id 9999 is not registered"),
        (
            wire::frame(other, b"\x02a"),
            "is not registered under subject users-value",
        ),
    ] {
        let errs =
            validate(&f.registry, "users", &id_only, &batch(&[Some(bad)])).expect_err("rejected");
        assert!(
            errs[0].message.contains(want),
            "{} vs {want}",
            errs[0].message
        );
    }

    // Tombstones always pass; topics without rules check nothing.
    assert_eq!(validate(&f.registry, "users", &on, &batch(&[None])), Ok(()));
    assert_eq!(
        validate(
            &f.registry,
            "users",
            &TopicRules::default(),
            &batch(&[Some(b"raw".to_vec())])
        ),
        Ok(())
    );
}

#[test]
fn record_name_strategies_pick_the_subject() {
    let f = Fixture::new();
    let id = f.register("com.acme.User", SchemaType::Avro, USER);
    let v = wire::frame(id, &user_datum("bo", 1));
    let record = rules(&[
        ("confluent.value.schema.validation", "true"),
        (
            "confluent.value.subject.name.strategy",
            "io.confluent.kafka.serializers.subject.RecordNameStrategy",
        ),
    ]);
    assert_eq!(
        validate(&f.registry, "any", &record, &batch(&[Some(v.clone())])),
        Ok(())
    );
    let topic_record = rules(&[
        ("confluent.value.schema.validation", "true"),
        (
            "confluent.value.subject.name.strategy",
            "TopicRecordNameStrategy",
        ),
    ]);
    assert!(validate(&f.registry, "t", &topic_record, &batch(&[Some(v.clone())])).is_err());
    f.register("t-com.acme.User", SchemaType::Avro, USER);
    assert_eq!(
        validate(&f.registry, "t", &topic_record, &batch(&[Some(v)])),
        Ok(())
    );
}

#[test]
fn json_and_protobuf_payloads() {
    let f = Fixture::new();
    let json_id = f.register(
        "j-value",
        SchemaType::Json,
        r#"{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}"#,
    );
    let on = rules(&[("confluent.value.schema.validation", "true")]);
    assert_eq!(
        validate(
            &f.registry,
            "j",
            &on,
            &batch(&[Some(wire::frame(json_id, br#"{"n":1}"#))])
        ),
        Ok(())
    );
    assert!(validate(
        &f.registry,
        "j",
        &on,
        &batch(&[Some(wire::frame(json_id, br#"{"n":"x"}"#))])
    )
    .is_err());
    assert!(validate(
        &f.registry,
        "j",
        &on,
        &batch(&[Some(wire::frame(json_id, b"{not json"))])
    )
    .is_err());

    let proto_id = f.register(
        "p-value",
        SchemaType::Protobuf,
        "syntax = \"proto3\";\npackage p;\nmessage A { int32 x = 1; message B { string s = 1; } }\nmessage C { string t = 1; }\n",
    );
    // A{x=150}: field 1 varint 150; path [0] is the single byte 0.
    let mut a = Vec::new();
    wire::write_prefix(&mut a, proto_id);
    wire::write_message_indexes(&mut a, &[0]);
    a.extend_from_slice(&[0x08, 0x96, 0x01]);
    assert_eq!(validate(&f.registry, "p", &on, &batch(&[Some(a)])), Ok(()));
    // C{t="hi"} at path [1].
    let mut c = Vec::new();
    wire::write_prefix(&mut c, proto_id);
    wire::write_message_indexes(&mut c, &[1]);
    c.extend_from_slice(&[0x0a, 0x02, b'h', b'i']);
    assert_eq!(validate(&f.registry, "p", &on, &batch(&[Some(c)])), Ok(()));
    // A path that names no message, and bytes that are not a message.
    let mut bad_path = Vec::new();
    wire::write_prefix(&mut bad_path, proto_id);
    wire::write_message_indexes(&mut bad_path, &[5]);
    assert!(validate(&f.registry, "p", &on, &batch(&[Some(bad_path)])).is_err());
    let mut garbage = Vec::new();
    wire::write_prefix(&mut garbage, proto_id);
    wire::write_message_indexes(&mut garbage, &[0]);
    garbage.extend_from_slice(&[0x0a, 0x7f]);
    assert!(validate(&f.registry, "p", &on, &batch(&[Some(garbage)])).is_err());
}

/// Zigzag varint, as record fields are encoded.
fn varint(v: i64, out: &mut Vec<u8>) {
    wire::write_zigzag(out, v);
}

#[test]
fn a_decompression_bomb_is_rejected_not_expanded() {
    use std::io::Write;
    let f = Fixture::new();
    let on = rules(&[("confluent.value.schema.validation", "true")]);

    // One record whose value is 140 MiB of zeros, gzip-compressed to a few hundred KiB.
    let value_len: i64 = 140 * 1024 * 1024;
    let mut head = Vec::new();
    head.push(0); // attributes
    varint(0, &mut head); // timestamp delta
    varint(0, &mut head); // offset delta
    varint(-1, &mut head); // null key
    varint(value_len, &mut head);
    let body_len = head.len() as i64 + value_len + 1; // + header count
    let mut record = Vec::new();
    varint(body_len, &mut record);
    record.extend_from_slice(&head);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&record).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..140 {
        gz.write_all(&zeros).unwrap();
    }
    gz.write_all(&[0]).unwrap(); // no headers
    let compressed = gz.finish().unwrap();
    assert!(compressed.len() < 1 << 20, "the bomb is small on the wire");

    // A v2 batch header around it: attributes = 1 (gzip), one record.
    let mut batch = Vec::new();
    batch.extend_from_slice(&0i64.to_be_bytes()); // base offset
    let len = (61 - 12 + compressed.len()) as i32;
    batch.extend_from_slice(&len.to_be_bytes());
    batch.extend_from_slice(&0i32.to_be_bytes()); // leader epoch
    batch.push(2); // magic
    batch.extend_from_slice(&0u32.to_be_bytes()); // crc, filled below
    batch.extend_from_slice(&1i16.to_be_bytes()); // attributes: gzip
    batch.extend_from_slice(&0i32.to_be_bytes()); // last offset delta
    batch.extend_from_slice(&0i64.to_be_bytes()); // base timestamp
    batch.extend_from_slice(&0i64.to_be_bytes()); // max timestamp
    batch.extend_from_slice(&(-1i64).to_be_bytes()); // producer id
    batch.extend_from_slice(&(-1i16).to_be_bytes()); // producer epoch
    batch.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence
    batch.extend_from_slice(&1i32.to_be_bytes()); // record count
    batch.extend_from_slice(&compressed);
    let crc = charter_broker::log::batch::compute_crc(&batch);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());

    let errs = validate(&f.registry, "bomb", &on, &batch).expect_err("a bomb is not valid");
    assert!(
        errs[0].message.contains("expands past"),
        "rejected for its size, not by accident: {}",
        errs[0].message
    );
}
