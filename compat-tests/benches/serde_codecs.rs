//! Per-record encode and decode cost of charter-serde's typed serializers, against the raw codec
//! call and against schema_registry_converter 6.0, in one run, with warm caches and a real
//! charter registry on loopback (started in-process).
//!
//! The record is the one of the project's serde reference (§4.2): an `Order` with a long, a
//! string, a double, a 3-symbol enum, an array of 3 line records (string, int, double), a
//! `["null","string"]` union and a long.
//!
//! `cargo bench -p charter-compat-tests --bench serde_codecs` (criterion, every case), or
//! `SERDE_RATIOS=1 cargo bench -p charter-compat-tests --bench serde_codecs` for the ratios
//! of each comparison, measured interleaved (see [`Cases::finish`]).

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::writer::datum::GenericDatumWriter;
use charter_compat_tests::TestServer;
use charter_serde::avro_serde::{AvroDeserializer, AvroSerializer};
use charter_serde::client::{ClientConfig, Schema, SchemaRegistryClient};
use charter_serde::deserializer::DeserializerConfig;
use charter_serde::json_serde::{JsonDeserializer, JsonSerializer};
use charter_serde::protobuf::prost_reflect::{DescriptorPool, MessageDescriptor, ReflectMessage};
use charter_serde::protobuf::ProtobufSchema;
use charter_serde::protobuf_serde::{
    ProtobufDeserializer, ProtobufDynamicDeserializer, ProtobufSerializer,
};
use charter_serde::serializer::SerializerConfig;
use criterion::Criterion;
use prost::Message;
use schema_registry_converter::async_impl::avro::{AvroDecoder, AvroEncoder};
use schema_registry_converter::async_impl::json::{JsonDecoder, JsonEncoder};
use schema_registry_converter::async_impl::proto_decoder::ProtoDecoder;
use schema_registry_converter::async_impl::proto_raw::{ProtoRawDecoder, ProtoRawEncoder};
use schema_registry_converter::async_impl::schema_registry::SrSettings;
use schema_registry_converter::schema_registry_common::SubjectNameStrategy;
use serde::{Deserialize, Serialize};

const AVSC: &str = r#"{"type":"record","name":"Order","namespace":"bench","fields":[
  {"name":"id","type":"long"},
  {"name":"customer","type":"string"},
  {"name":"total","type":"double"},
  {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID","SHIPPED"]}},
  {"name":"lines","type":{"type":"array","items":{"type":"record","name":"Line","fields":[
     {"name":"sku","type":"string"},{"name":"qty","type":"int"},{"name":"price","type":"double"}]}}},
  {"name":"note","type":["null","string"],"default":null},
  {"name":"created_at","type":"long"}]}"#;

const PROTO: &str = r#"syntax = "proto3";
package bench;
message Order {
  int64 id = 1; string customer = 2; double total = 3; Status status = 4;
  repeated Line lines = 5; optional string note = 6; int64 created_at = 7;
}
message Line { string sku = 1; int32 qty = 2; double price = 3; }
enum Status { NEW = 0; PAID = 1; SHIPPED = 2; }
"#;

const JSON_SCHEMA: &str = r#"{"$schema":"http://json-schema.org/draft-07/schema#","title":"bench.Order","type":"object",
  "properties":{"id":{"type":"integer"},"customer":{"type":"string"},"total":{"type":"number"},
    "status":{"enum":["NEW","PAID","SHIPPED"]},
    "lines":{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"},"qty":{"type":"integer"},"price":{"type":"number"}},"required":["sku","qty","price"]}},
    "note":{"type":["null","string"]},"created_at":{"type":"integer"}},
  "required":["id","customer","total","status","lines","created_at"]}"#;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(clippy::upper_case_acronyms)]
enum Status {
    NEW,
    PAID,
    SHIPPED,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Line {
    sku: String,
    qty: i32,
    price: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Order {
    id: i64,
    customer: String,
    total: f64,
    status: Status,
    lines: Vec<Line>,
    note: Option<String>,
    created_at: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PbLine {
    #[prost(string, tag = "1")]
    sku: String,
    #[prost(int32, tag = "2")]
    qty: i32,
    #[prost(double, tag = "3")]
    price: f64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PbOrder {
    #[prost(int64, tag = "1")]
    id: i64,
    #[prost(string, tag = "2")]
    customer: String,
    #[prost(double, tag = "3")]
    total: f64,
    #[prost(int32, tag = "4")]
    status: i32,
    #[prost(message, repeated, tag = "5")]
    lines: Vec<PbLine>,
    #[prost(string, optional, tag = "6")]
    note: Option<String>,
    #[prost(int64, tag = "7")]
    created_at: i64,
}

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        ProtobufSchema::parse(PROTO, &[], true)
            .expect("bench schema")
            .descriptor_pool()
            .clone()
    })
}

impl ReflectMessage for PbOrder {
    fn descriptor(&self) -> MessageDescriptor {
        pool().get_message_by_name("bench.Order").expect("Order")
    }
}

fn order() -> Order {
    Order {
        id: 1_234_567_890,
        customer: "customer-00042@example.com".into(),
        total: 1234.56,
        status: Status::PAID,
        lines: (0..3)
            .map(|i| Line {
                sku: format!("SKU-{:06}-XL", 1000 + i),
                qty: 2 + i,
                price: 99.95 + f64::from(i),
            })
            .collect(),
        note: Some("leave at the back door".into()),
        created_at: 1_700_000_000_000,
    }
}

fn pb_order(o: &Order) -> PbOrder {
    PbOrder {
        id: o.id,
        customer: o.customer.clone(),
        total: o.total,
        status: 1,
        lines: o
            .lines
            .iter()
            .map(|l| PbLine {
                sku: l.sku.clone(),
                qty: l.qty,
                price: l.price,
            })
            .collect(),
        note: o.note.clone(),
        created_at: o.created_at,
    }
}

struct Setup {
    _server: TestServer,
    rt: tokio::runtime::Runtime,
    client: SchemaRegistryClient,
    sr: SrSettings,
}

fn setup() -> Setup {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let server = rt.block_on(TestServer::start());
    let client = SchemaRegistryClient::new(ClientConfig::new(&server.base)).expect("client");
    rt.block_on(async {
        for (subject, schema) in [
            ("avro-value", Schema::avro(AVSC)),
            ("pb-value", Schema::protobuf(PROTO)),
            ("json-value", Schema::json(JSON_SCHEMA)),
        ] {
            client
                .register(subject, &schema, false)
                .await
                .expect("register");
        }
    });
    let sr = SrSettings::new(server.base.clone());
    Setup {
        _server: server,
        rt,
        client,
        sr,
    }
}

fn avro(mode: &mut Mode<'_>, s: &Setup) {
    let o = order();
    let schema = apache_avro::Schema::parse_str(AVSC).expect("schema");
    let writer = GenericDatumWriter::builder(&schema)
        .human_readable(false)
        .build()
        .expect("writer");
    let reader = GenericDatumReader::builder(&schema)
        .human_readable(false)
        .build()
        .expect("reader");
    let ours = AvroSerializer::<Order>::new(s.client.clone(), AVSC, SerializerConfig::default())
        .expect("serializer");
    let de = AvroDeserializer::<Order>::new(s.client.clone(), DeserializerConfig::default());
    let src_enc = AvroEncoder::new(s.sr.clone());
    let src_dec = AvroDecoder::new(s.sr.clone());
    let strategy = SubjectNameStrategy::TopicNameStrategy("avro".into(), false);
    // Warm every cache and check that all three agree on the bytes.
    let framed = s.rt.block_on(async {
        let ours_bytes = ours
            .serialize("avro", false, &o)
            .await
            .expect("ours")
            .payload;
        let src_bytes = src_enc.encode_struct(&o, &strategy).await.expect("src");
        assert_eq!(ours_bytes, src_bytes, "same framed datum");
        let back = de
            .deserialize("avro", false, &ours_bytes, &())
            .await
            .expect("de");
        assert_eq!(back, o);
        let v = src_dec
            .decode(Some(&ours_bytes))
            .await
            .expect("src decode")
            .value;
        assert_eq!(apache_avro::from_value::<Order>(&v).expect("from_value"), o);
        ours_bytes
    });
    let datum = framed[5..].to_vec();
    println!("avro datum: {} bytes", datum.len());

    let fast_schema: serde_avro_fast::Schema = AVSC.parse().expect("serde_avro_fast schema");
    let mut fast_config = serde_avro_fast::ser::SerializerConfig::new(&fast_schema);
    assert_eq!(
        serde_avro_fast::to_datum_vec(&o, &mut fast_config).expect("encode"),
        datum,
        "serde_avro_fast writes the same datum"
    );
    let store = charter_serde::schemas::SchemaStore::new(s.client.clone());
    let id = i32::from_be_bytes(framed[1..5].try_into().expect("id"));
    let compiled = s.rt.block_on(store.by_id(id)).expect("schema");
    let codec = compiled.avro_codec().expect("codec");
    let mut g = Cases::new("avro");
    g.bench_function("encode/raw apache-avro write_ser", |b| {
        b.iter(|| writer.write_ser_to_vec(&o).expect("encode"))
    });
    g.bench_function("encode/raw serde_avro_fast to_datum_vec", |b| {
        b.iter(|| serde_avro_fast::to_datum_vec(&o, &mut fast_config).expect("encode"))
    });
    g.bench_function("encode/charter-serde", |b| {
        b.to_async(&s.rt)
            .iter(|| async { ours.serialize("avro", false, &o).await.expect("ours") })
    });
    g.bench_function("encode/charter-serde serialize_cached (sync)", |b| {
        b.iter(|| {
            ours.serialize_cached("avro", false, &o)
                .expect("cached")
                .expect("ours")
        })
    });
    g.bench_function("encode/schema_registry_converter", |b| {
        b.to_async(&s.rt)
            .iter(|| async { src_enc.encode_struct(&o, &strategy).await.expect("src") })
    });
    g.bench_function("decode/raw apache-avro read_deser", |b| {
        b.iter(|| {
            let mut r = datum.as_slice();
            reader.read_deser::<Order>(&mut r).expect("decode")
        })
    });
    g.bench_function(
        "decode/charter-serde Codec::decode (no framing, no lookup)",
        |b| b.iter(|| codec.decode::<Order>(&datum).expect("decode")),
    );
    g.bench_function("decode/charter-serde", |b| {
        b.to_async(&s.rt).iter(|| async {
            de.deserialize("avro", false, &framed, &())
                .await
                .expect("de")
        })
    });
    g.bench_function("decode/schema_registry_converter", |b| {
        b.to_async(&s.rt).iter(|| async {
            let v = src_dec.decode(Some(&framed)).await.expect("src").value;
            apache_avro::from_value::<Order>(&v).expect("from_value")
        })
    });
    g.finish(
        mode,
        &[
            (
                "encode/raw serde_avro_fast to_datum_vec",
                "encode/charter-serde",
                Some("encode/schema_registry_converter"),
            ),
            (
                "decode/raw apache-avro read_deser",
                "decode/charter-serde",
                Some("decode/schema_registry_converter"),
            ),
        ],
    );
}

fn protobuf(mode: &mut Mode<'_>, s: &Setup) {
    let o = pb_order(&order());
    let ours = ProtobufSerializer::<PbOrder>::new(s.client.clone(), SerializerConfig::default());
    let de = ProtobufDeserializer::<PbOrder>::new(s.client.clone(), DeserializerConfig::default());
    let src_enc = ProtoRawEncoder::new(s.sr.clone());
    let src_dec = ProtoRawDecoder::new(s.sr.clone());
    let strategy = SubjectNameStrategy::TopicNameStrategy("pb".into(), false);
    let framed = s.rt.block_on(async {
        // Registers the message's file (as the same schema, or a new latest version that the
        // converter then picks up).
        let ours_bytes = ours.serialize("pb", false, &o).await;
        let ours_bytes = match ours_bytes {
            Ok(r) => r.payload,
            Err(e) => panic!("protobuf serializer: {e}"),
        };
        let src_bytes = src_enc
            .encode(&o.encode_to_vec(), "bench.Order", strategy.clone())
            .await
            .expect("src");
        assert_eq!(ours_bytes, src_bytes, "same framed message");
        assert_eq!(
            de.deserialize("pb", false, &ours_bytes, &())
                .await
                .expect("de"),
            o
        );
        ours_bytes
    });
    println!("protobuf message: {} bytes", framed.len() - 6);
    let body = framed[6..].to_vec();

    // Decoding to a DynamicMessage: the converter's decoding Protobuf API against ours.
    let desc = pool().get_message_by_name("bench.Order").expect("Order");
    let dyn_de = ProtobufDynamicDeserializer::new(s.client.clone(), DeserializerConfig::default());
    let src_dyn = ProtoDecoder::new(s.sr.clone());
    s.rt.block_on(async {
        let ours = dyn_de
            .deserialize("pb", false, &framed, &())
            .await
            .expect("dynamic");
        let theirs = src_dyn.decode(Some(&framed)).await.expect("src dynamic");
        match theirs {
            charter_serde::protobuf::prost_reflect::Value::Message(m) => {
                assert_eq!(m.encode_to_vec(), ours.encode_to_vec(), "same message")
            }
            other => panic!("converter decoded {other:?}"),
        }
    });
    let mut g = Cases::new("protobuf");
    g.bench_function("encode/raw prost encode_to_vec", |b| {
        b.iter(|| o.encode_to_vec())
    });
    g.bench_function("encode/charter-serde", |b| {
        b.to_async(&s.rt)
            .iter(|| async { ours.serialize("pb", false, &o).await.expect("ours") })
    });
    g.bench_function("encode/charter-serde serialize_cached (sync)", |b| {
        b.iter(|| {
            ours.serialize_cached("pb", false, &o)
                .expect("cached")
                .expect("ours")
        })
    });
    g.bench_function("encode/schema_registry_converter", |b| {
        b.to_async(&s.rt).iter(|| async {
            src_enc
                .encode(&o.encode_to_vec(), "bench.Order", strategy.clone())
                .await
                .expect("src")
        })
    });
    g.bench_function("decode/raw prost decode", |b| {
        b.iter(|| PbOrder::decode(body.as_slice()).expect("decode"))
    });
    g.bench_function("decode/charter-serde", |b| {
        b.to_async(&s.rt)
            .iter(|| async { de.deserialize("pb", false, &framed, &()).await.expect("de") })
    });
    g.bench_function("decode/schema_registry_converter", |b| {
        b.to_async(&s.rt).iter(|| async {
            let r = src_dec
                .decode(Some(&framed))
                .await
                .expect("src")
                .expect("some");
            PbOrder::decode(r.bytes.as_slice()).expect("decode")
        })
    });
    g.bench_function(
        "decode dynamic/raw prost-reflect DynamicMessage::decode",
        |b| {
            b.iter(|| {
                charter_serde::protobuf::prost_reflect::DynamicMessage::decode(
                    desc.clone(),
                    body.as_slice(),
                )
                .expect("decode")
            })
        },
    );
    g.bench_function("decode dynamic/charter-serde", |b| {
        b.to_async(&s.rt).iter(|| async {
            dyn_de
                .deserialize("pb", false, &framed, &())
                .await
                .expect("dynamic")
        })
    });
    g.bench_function(
        "decode dynamic/schema_registry_converter ProtoDecoder",
        |b| {
            b.to_async(&s.rt)
                .iter(|| async { src_dyn.decode(Some(&framed)).await.expect("src dynamic") })
        },
    );
    g.finish(
        mode,
        &[
            (
                "encode/raw prost encode_to_vec",
                "encode/charter-serde",
                Some("encode/schema_registry_converter"),
            ),
            (
                "encode/raw prost encode_to_vec",
                "encode/charter-serde serialize_cached (sync)",
                None,
            ),
            (
                "decode/raw prost decode",
                "decode/charter-serde",
                Some("decode/schema_registry_converter"),
            ),
            (
                "decode dynamic/raw prost-reflect DynamicMessage::decode",
                "decode dynamic/charter-serde",
                Some("decode dynamic/schema_registry_converter ProtoDecoder"),
            ),
        ],
    );
}

fn json(mode: &mut Mode<'_>, s: &Setup) {
    let o = order();
    let ours =
        JsonSerializer::<Order>::new(s.client.clone(), JSON_SCHEMA, SerializerConfig::default())
            .expect("serializer");
    let ours_unvalidated =
        JsonSerializer::<Order>::new(s.client.clone(), JSON_SCHEMA, SerializerConfig::default())
            .expect("serializer")
            .validate(false);
    let de = JsonDeserializer::<Order>::new(s.client.clone(), DeserializerConfig::default());
    let src_enc = JsonEncoder::new(s.sr.clone());
    let src_dec = JsonDecoder::new(s.sr.clone());
    let strategy = SubjectNameStrategy::TopicNameStrategy("json".into(), false);
    let framed = s.rt.block_on(async {
        let ours_bytes = ours
            .serialize("json", false, &o)
            .await
            .expect("ours")
            .payload;
        ours_unvalidated
            .serialize("json", false, &o)
            .await
            .expect("ours");
        let v = serde_json::to_value(&o).expect("value");
        let src_bytes = src_enc.encode(&v, strategy.clone()).await.expect("src");
        assert_eq!(ours_bytes, src_bytes, "same framed JSON");
        assert_eq!(
            de.deserialize("json", false, &ours_bytes, &())
                .await
                .expect("de"),
            o
        );
        ours_bytes
    });
    println!("json text: {} bytes", framed.len() - 5);
    let text = framed[5..].to_vec();

    let schema_value: serde_json::Value = serde_json::from_str(JSON_SCHEMA).expect("schema json");
    let validator = jsonschema::draft7::new(&schema_value).expect("validator");
    let value = serde_json::to_value(&o).expect("value");
    let mut g = Cases::new("json");
    g.bench_function("encode/raw serde_json to_vec", |b| {
        b.iter(|| serde_json::to_vec(&o).expect("encode"))
    });
    g.bench_function("encode/raw to_value + jsonschema is_valid + to_vec", |b| {
        b.iter(|| {
            let v = serde_json::to_value(&o).expect("value");
            assert!(validator.is_valid(&v));
            serde_json::to_vec(&v).expect("encode")
        })
    });
    // Where a validating encode's time goes.
    g.bench_function("encode part/serde_json to_value", |b| {
        b.iter(|| serde_json::to_value(&o).expect("value"))
    });
    g.bench_function("encode part/jsonschema is_valid", |b| {
        b.iter(|| validator.is_valid(&value))
    });
    g.bench_function("encode part/serde_json to_vec of the Value", |b| {
        b.iter(|| serde_json::to_vec(&value).expect("encode"))
    });
    g.bench_function("encode/charter-serde (validating)", |b| {
        b.to_async(&s.rt)
            .iter(|| async { ours.serialize("json", false, &o).await.expect("ours") })
    });
    g.bench_function("encode/charter-serde (not validating)", |b| {
        b.to_async(&s.rt).iter(|| async {
            ours_unvalidated
                .serialize("json", false, &o)
                .await
                .expect("ours")
        })
    });
    g.bench_function("encode/schema_registry_converter (validating)", |b| {
        b.to_async(&s.rt).iter(|| async {
            let v = serde_json::to_value(&o).expect("value");
            src_enc.encode(&v, strategy.clone()).await.expect("src")
        })
    });
    g.bench_function("decode/raw serde_json from_slice", |b| {
        b.iter(|| serde_json::from_slice::<Order>(&text).expect("decode"))
    });
    g.bench_function("decode/charter-serde", |b| {
        b.to_async(&s.rt).iter(|| async {
            de.deserialize("json", false, &framed, &())
                .await
                .expect("de")
        })
    });
    g.bench_function("decode/schema_registry_converter", |b| {
        b.to_async(&s.rt).iter(|| async {
            let r = src_dec
                .decode(Some(&framed))
                .await
                .expect("src")
                .expect("some");
            serde_json::from_value::<Order>(r.value).expect("from_value")
        })
    });
    g.finish(
        mode,
        &[
            (
                "encode/raw to_value + jsonschema is_valid + to_vec",
                "encode/charter-serde (validating)",
                Some("encode/schema_registry_converter (validating)"),
            ),
            (
                "encode/raw serde_json to_vec",
                "encode/charter-serde (not validating)",
                None,
            ),
            (
                "decode/raw serde_json from_slice",
                "decode/charter-serde",
                Some("decode/schema_registry_converter"),
            ),
        ],
    );
}

/// How the cases are measured: by criterion, or interleaved for ratios (`SERDE_RATIOS=1`).
enum Mode<'c> {
    Criterion(&'c mut Criterion),
    Ratios,
}

/// A routine run `n` times.
type Routine<'a> = Box<dyn FnMut(u64) + 'a>;

/// The cases of one group, recorded with criterion's `bench_function`/`iter` shapes, then
/// measured by [`Cases::finish`].
struct Cases<'a> {
    group: &'static str,
    cases: Vec<(String, Routine<'a>)>,
}

struct Recorder<'r, 'a> {
    slot: &'r mut Option<Routine<'a>>,
}

struct AsyncRecorder<'r, 'a> {
    slot: &'r mut Option<Routine<'a>>,
    rt: &'a tokio::runtime::Runtime,
}

impl<'r, 'a> Recorder<'r, 'a> {
    fn iter<O>(&mut self, mut routine: impl FnMut() -> O + 'a) {
        *self.slot = Some(Box::new(move |n| {
            for _ in 0..n {
                black_box(routine());
            }
        }));
    }

    // Named after criterion's `Bencher::to_async`, so the cases read as criterion code.
    #[allow(clippy::wrong_self_convention)]
    fn to_async(&mut self, rt: &'a tokio::runtime::Runtime) -> AsyncRecorder<'_, 'a> {
        AsyncRecorder {
            slot: &mut *self.slot,
            rt,
        }
    }
}

impl<'a> AsyncRecorder<'_, 'a> {
    fn iter<O, F: std::future::Future<Output = O>>(&mut self, mut routine: impl FnMut() -> F + 'a) {
        let rt = self.rt;
        *self.slot = Some(Box::new(move |n| {
            rt.block_on(async {
                for _ in 0..n {
                    black_box(routine().await);
                }
            })
        }));
    }
}

impl<'a> Cases<'a> {
    fn new(group: &'static str) -> Self {
        Cases {
            group,
            cases: Vec::new(),
        }
    }

    fn bench_function(&mut self, name: &str, record: impl FnOnce(&mut Recorder<'_, 'a>)) {
        let mut slot = None;
        record(&mut Recorder { slot: &mut slot });
        if let Some(r) = slot {
            self.cases.push((name.to_string(), r));
        }
    }

    /// Measures every case with criterion, or (ratio mode) the `(raw, ours, converter)`
    /// comparisons interleaved: in each of 21 rounds every member runs a ~10 ms batch, in a
    /// rotating order, and the ratios are taken within the round, so that the machine's
    /// drift (it is shared and noisy) cancels out; the medians are printed.
    fn finish(mut self, mode: &mut Mode<'_>, comparisons: &[(&str, &str, Option<&str>)]) {
        match mode {
            Mode::Criterion(c) => {
                let mut g = c.benchmark_group(self.group);
                for (name, routine) in &mut self.cases {
                    g.bench_function(name.as_str(), |b| {
                        b.iter_custom(|iters| {
                            let t = Instant::now();
                            routine(iters);
                            t.elapsed()
                        })
                    });
                }
                g.finish();
            }
            Mode::Ratios => {
                for (raw, ours, converter) in comparisons {
                    let names: Vec<&str> = [Some(*raw), Some(*ours), *converter]
                        .into_iter()
                        .flatten()
                        .collect();
                    let per_round = self.interleave(&names);
                    let median = |mut v: Vec<f64>| {
                        v.sort_by(f64::total_cmp);
                        v[v.len() / 2]
                    };
                    let ns: Vec<f64> = (0..names.len())
                        .map(|i| median(per_round.iter().map(|r| r[i]).collect()))
                        .collect();
                    let over_raw = median(per_round.iter().map(|r| r[1] / r[0]).collect());
                    let mut line = format!(
                        "{}: {} {:.0} ns | {} {:.0} ns | charter ÷ raw {:.2}",
                        self.group, raw, ns[0], ours, ns[1], over_raw
                    );
                    if let Some(conv) = converter {
                        let speedup = median(per_round.iter().map(|r| r[2] / r[1]).collect());
                        line += &format!(
                            " | {conv} {:.0} ns | converter ÷ charter {speedup:.2}",
                            ns[2]
                        );
                    }
                    println!("{line}");
                }
            }
        }
    }

    /// ns per call of each named case, per round.
    fn interleave(&mut self, names: &[&str]) -> Vec<Vec<f64>> {
        let mut idx = Vec::new();
        for n in names {
            match self.cases.iter().position(|(c, _)| c == n) {
                Some(i) => idx.push(i),
                None => panic!("no case {n}"),
            }
        }
        // Batch sizes of about 10 ms each.
        let batch: Vec<u64> = idx
            .iter()
            .map(|&i| {
                let routine = &mut self.cases[i].1;
                let mut n = 1;
                loop {
                    let t = Instant::now();
                    routine(n);
                    if t.elapsed() >= Duration::from_millis(10) {
                        return n;
                    }
                    n *= 2;
                }
            })
            .collect();
        (0..21)
            .map(|round| {
                let mut ns = vec![0.0; idx.len()];
                for k in 0..idx.len() {
                    let m = (k + round) % idx.len();
                    let routine = &mut self.cases[idx[m]].1;
                    let t = Instant::now();
                    routine(batch[m]);
                    ns[m] = t.elapsed().as_nanos() as f64 / batch[m] as f64;
                }
                ns
            })
            .collect()
    }
}

fn main() {
    let s = setup();
    if std::env::var_os("SERDE_RATIOS").is_some() {
        let mut mode = Mode::Ratios;
        avro(&mut mode, &s);
        protobuf(&mut mode, &s);
        json(&mut mode, &s);
        return;
    }
    let mut c = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let mut mode = Mode::Criterion(&mut c);
    avro(&mut mode, &s);
    protobuf(&mut mode, &s);
    json(&mut mode, &s);
    c.final_summary();
}
