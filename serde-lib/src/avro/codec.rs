//! Typed Avro: serde types to and from Avro binary, one codec per schema.
//!
//! Typed writing and direct reading go through serde_avro_fast (about twice as fast as
//! apache-avro's schema-aware writer on the project's reference record, §4.2); a value it
//! refuses is written or read by apache-avro 0.22 instead, so what apache-avro accepts keeps
//! working (the test `both_writers_agree` checks that the two write identical bytes and read
//! them back alike). Schema resolution and the generic `Value` stay on apache-avro.
//!
//! apache-avro's fast paths (`GenericDatumWriter::write_ser`, `GenericDatumReader::read_deser`)
//! borrow the parsed schema. Building them per record costs 10–45% (the project's serde
//! reference, §4.2), so a [`Codec`] is built once per schema id and kept for the life of the
//! process: its parsed schema is leaked to get the `'static` borrow. That is one parsed schema
//! per distinct schema the process ever uses (the store's capacity bounds how often one is
//! rebuilt), the trade schema_registry_converter 6 makes too.
//!
//! Decoding runs under `catch_unwind`: apache-avro is not written for hostile input, and the
//! deserializers promise an error, never a panic.

use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::Schema;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// An apache-avro schema with its writer and reader, built once.
///
/// ```
/// use charter_serde::avro::codec::Codec;
/// #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
/// struct P { id: i64 }
/// let c = Codec::new(r#"{"type":"record","name":"P","fields":[{"name":"id","type":"long"}]}"#)?;
/// let mut out = Vec::new();
/// c.encode(&P { id: 2 }, &mut out)?;
/// assert_eq!(out, [4]);
/// assert_eq!(c.decode::<P>(&out)?, P { id: 2 });
/// assert!(c.decode::<P>(&[0x80]).is_err()); // truncated: an error, never a panic
/// # Ok::<(), String>(())
/// ```
pub struct Codec {
    schema: &'static Schema,
    canonical: String,
    /// The same schema for serde_avro_fast's writer; `None` when it cannot take the schema.
    fast: Option<serde_avro_fast::Schema>,
    writer: GenericDatumWriter<'static>,
    reader: GenericDatumReader<'static>,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Codec").field(&self.canonical).finish()
    }
}

fn contained<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err("the Avro library failed on this input".to_string()))
}

impl Codec {
    /// Builds a codec for a self-contained schema text (references inlined: our
    /// [`AvroSchema::resolved`](super::AvroSchema::resolved) form).
    pub fn new(text: &str) -> Result<Codec, String> {
        let parsed = Schema::parse_str(text).map_err(|e| e.to_string())?;
        Self::from_schema(parsed)
    }

    /// Builds a codec for an apache-avro schema (a derived `AvroSchema::get_schema()`, say).
    pub fn from_schema(schema: Schema) -> Result<Codec, String> {
        let schema: &'static Schema = Box::leak(Box::new(schema));
        let canonical = schema.canonical_form();
        // apache-avro prints the whole schema (named types defined at first use, logical
        // types kept); serde_avro_fast parses that text.
        let fast = serde_json::to_string(schema)
            .ok()
            .and_then(|text| text.parse::<serde_avro_fast::Schema>().ok());
        let writer = GenericDatumWriter::builder(schema)
            .human_readable(false)
            .build()
            .map_err(|e| e.to_string())?;
        let reader = GenericDatumReader::builder(schema)
            .human_readable(false)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Codec {
            schema,
            canonical,
            fast,
            writer,
            reader,
        })
    }

    /// The parsed schema.
    pub fn schema(&self) -> &Schema {
        self.schema
    }

    /// The Avro parsing canonical form (what decides whether two schemas read alike).
    pub fn canonical_form(&self) -> &str {
        &self.canonical
    }

    /// Writes `value` as a datum of this schema, appending to `out`.
    pub fn encode<T: Serialize + ?Sized>(
        &self,
        value: &T,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        if let Some(fast) = &self.fast {
            let start = out.len();
            // The config holds buffers for fields serialized out of schema order; a fresh
            // one allocates nothing until such a field comes.
            let mut config = serde_avro_fast::ser::SerializerConfig::new(fast);
            // `Vec<u8>` fields without serde_bytes are common; write them as `bytes`.
            config.allow_slow_sequence_to_bytes();
            let written = catch_unwind(AssertUnwindSafe(|| {
                serde_avro_fast::to_datum(value, &mut *out, &mut config).is_ok()
            }));
            if matches!(written, Ok(true)) {
                return Ok(());
            }
            out.truncate(start);
        }
        self.encode_with_apache_avro(value, out)
    }

    /// Writes `value` with apache-avro's schema-aware serde writer (the fallback of
    /// [`encode`](Self::encode); public so that tests and benchmarks can compare the two).
    pub fn encode_with_apache_avro<T: Serialize + ?Sized>(
        &self,
        value: &T,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        contained(|| {
            self.writer
                .write_ser(out, &value)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }

    /// Reads a datum of this schema into `T`; the datum must use all of `bytes`.
    ///
    /// apache-avro's direct reader matches serde struct names against record names (use
    /// `#[serde(rename)]` or the derive); [`decode_via_value`](Self::decode_via_value) does not.
    pub fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, String> {
        if let Some(fast) = &self.fast {
            // serde_avro_fast first (it does not match struct names against record names);
            // on any failure apache-avro decides, and words the error.
            let read = catch_unwind(AssertUnwindSafe(|| {
                let mut state = serde_avro_fast::de::DeserializerState::from_slice(bytes, fast);
                let value = T::deserialize(state.deserializer()).ok()?;
                let mut rest = state.into_reader();
                let done = matches!(std::io::BufRead::fill_buf(&mut rest), Ok(b) if b.is_empty());
                done.then_some(value)
            }));
            if let Ok(Some(value)) = read {
                return Ok(value);
            }
        }
        self.decode_with_apache_avro(bytes)
    }

    /// Reads a datum with apache-avro's direct serde reader (the fallback of
    /// [`decode`](Self::decode)).
    pub fn decode_with_apache_avro<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, String> {
        contained(|| {
            let mut r = bytes;
            let v = self
                .reader
                .read_deser::<T>(&mut r)
                .map_err(|e| e.to_string())?;
            trailing(r)?;
            Ok(v)
        })
    }

    /// Reads a datum through apache-avro's generic `Value` (slower; no struct-name check).
    pub fn decode_via_value<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, String> {
        let value = self.decode_value(bytes)?;
        contained(|| apache_avro::from_value::<T>(&value).map_err(|e| e.to_string()))
    }

    /// Reads a datum of this (writer) schema as apache-avro's generic `Value`.
    pub fn decode_value(&self, bytes: &[u8]) -> Result<apache_avro::types::Value, String> {
        contained(|| {
            let mut r = bytes;
            let v = self.reader.read_value(&mut r).map_err(|e| e.to_string())?;
            trailing(r)?;
            Ok(v)
        })
    }

    /// Reads a datum written with this schema as `reader`'s schema (Avro schema resolution:
    /// fields matched by name, defaults for missing ones, promotions), then into `T`.
    pub fn decode_resolving<T: DeserializeOwned>(
        &self,
        reader: &Codec,
        bytes: &[u8],
    ) -> Result<T, String> {
        let value = self.decode_value_resolving(reader, bytes)?;
        contained(|| apache_avro::from_value::<T>(&value).map_err(|e| e.to_string()))
    }

    /// [`decode_resolving`](Self::decode_resolving) into the generic `Value`.
    pub fn decode_value_resolving(
        &self,
        reader: &Codec,
        bytes: &[u8],
    ) -> Result<apache_avro::types::Value, String> {
        contained(|| {
            let mut r = bytes;
            #[allow(deprecated)]
            let v = apache_avro::from_avro_datum(self.schema, &mut r, Some(reader.schema))
                .map_err(|e| e.to_string())?;
            trailing(r)?;
            Ok(v)
        })
    }

    /// Writes a generic `Value` as a datum of this schema (validated first).
    pub fn encode_value(&self, value: &apache_avro::types::Value) -> Result<Vec<u8>, String> {
        contained(|| {
            let mut out = Vec::new();
            self.writer
                .write_value_ref(&mut out, value)
                .map_err(|e| e.to_string())?;
            Ok(out)
        })
    }
}

fn trailing(mut rest: impl Read) -> Result<(), String> {
    let mut probe = [0u8; 1];
    match rest.read(&mut probe) {
        Ok(0) => Ok(()),
        _ => Err("trailing bytes after the datum".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // apache-avro's direct reader requires the struct name to be the record name.
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(rename = "P")]
    struct V1 {
        id: i64,
        name: String,
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct V2 {
        id: i64,
        name: String,
        age: i32,
    }

    const S1: &str = r#"{"type":"record","name":"P","fields":[{"name":"id","type":"long"},{"name":"name","type":"string"}]}"#;
    const S2: &str = r#"{"type":"record","name":"P","fields":[{"name":"id","type":"long"},{"name":"name","type":"string"},{"name":"age","type":"int","default":18}]}"#;

    #[test]
    fn encodes_decodes_and_resolves() {
        let c1 = Codec::new(S1).unwrap();
        let c2 = Codec::new(S2).unwrap();
        let v = V1 {
            id: 3,
            name: "a".into(),
        };
        let mut b = Vec::new();
        c1.encode(&v, &mut b).unwrap();
        assert_eq!(b, [6, 2, b'a']);
        assert_eq!(c1.decode::<V1>(&b).unwrap(), v);
        let up: V2 = c1.decode_resolving(&c2, &b).unwrap();
        assert_eq!(
            up,
            V2 {
                id: 3,
                name: "a".into(),
                age: 18
            }
        );
        assert!(c1.decode::<V1>(&[6, 2]).is_err());
        assert!(c1.decode::<V1>(&[6, 2, b'a', 0]).is_err());
        assert!(c1.decode::<V1>(&[0xff; 12]).is_err());
    }

    #[test]
    fn hostile_lengths_are_errors_without_huge_allocations() {
        // A string claiming 2^30 bytes, and an array claiming 2^30 items, with nothing after.
        let huge = [0x80, 0x80, 0x80, 0x80, 0x08];
        let c = Codec::new(S1).unwrap();
        let mut bytes = vec![6];
        bytes.extend(huge);
        assert!(c.decode::<V1>(&bytes).is_err());
        let arr = Codec::new(r#"{"type":"array","items":"long"}"#).unwrap();
        assert!(arr.decode::<Vec<i64>>(&huge).is_err());
        let arr = Codec::new(r#"{"type":"array","items":"string"}"#).unwrap();
        assert!(arr.decode::<Vec<String>>(&huge).is_err());
    }

    /// serde_avro_fast's bytes for `value`, or `None` when it refuses it.
    fn fast_bytes<T: Serialize>(c: &Codec, value: &T) -> Option<Vec<u8>> {
        let fast = c.fast.as_ref().expect("serde_avro_fast takes the schema");
        let mut config = serde_avro_fast::ser::SerializerConfig::new(fast);
        serde_avro_fast::to_datum_vec(value, &mut config).ok()
    }

    /// Checks that both writers take `value` and produce the same datum, and that it reads
    /// back.
    fn agree<T>(schema: &str, value: &T)
    where
        T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let c = Codec::new(schema).unwrap();
        let mut slow = Vec::new();
        c.encode_with_apache_avro(value, &mut slow).unwrap();
        match fast_bytes(&c, value) {
            Some(fast) => assert_eq!(fast, slow, "{schema}: {value:?}"),
            None => panic!("{schema}: serde_avro_fast refused {value:?}"),
        }
        let mut out = vec![9];
        c.encode(value, &mut out).unwrap();
        assert_eq!(out[1..], slow[..], "encode appends the datum");
        assert_eq!(&c.decode_via_value::<T>(&slow).unwrap(), value);
        assert_eq!(&c.decode::<T>(&slow).unwrap(), value);
        let fast = c.fast.as_ref().unwrap();
        let read: T = serde_avro_fast::from_datum_slice(&slow, fast).unwrap();
        assert_eq!(&read, value, "serde_avro_fast reads it back");
    }

    #[test]
    fn both_writers_agree() {
        use std::collections::BTreeMap;
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        enum Color {
            Red,
            Green,
        }
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        struct Inner {
            a: i32,
            b: Option<String>,
        }
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        struct Outer {
            id: i64,
            f: f32,
            d: f64,
            ok: bool,
            color: Color,
            inner: Inner,
            list: Vec<Inner>,
            tags: BTreeMap<String, i64>,
            maybe: Option<Inner>,
            at: i64,
        }
        const OUTER: &str = r#"{"type":"record","name":"Outer","namespace":"t","fields":[
            {"name":"id","type":"long"},{"name":"f","type":"float"},{"name":"d","type":"double"},
            {"name":"ok","type":"boolean"},
            {"name":"color","type":{"type":"enum","name":"Color","symbols":["Red","Green"]}},
            {"name":"inner","type":{"type":"record","name":"Inner","fields":[
                {"name":"a","type":"int"},{"name":"b","type":["null","string"],"default":null}]}},
            {"name":"list","type":{"type":"array","items":"Inner"}},
            {"name":"tags","type":{"type":"map","values":"long"}},
            {"name":"maybe","type":["null","Inner"],"default":null},
            {"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}}]}"#;
        let inner = |a: i32, b: Option<&str>| Inner {
            a,
            b: b.map(str::to_string),
        };
        for (i, id) in [0i64, -1, 1, 63, 64, -65, i64::MAX, i64::MIN]
            .into_iter()
            .enumerate()
        {
            let v = Outer {
                id,
                f: 1.5 * id as f32,
                d: -0.25 * id as f64,
                ok: id % 2 == 0,
                color: if i % 2 == 0 { Color::Red } else { Color::Green },
                inner: inner(i as i32 - 3, (i % 3 == 0).then_some("é✓")),
                list: (0..i).map(|k| inner(k as i32 * 1000, Some(""))).collect(),
                tags: (0..i).map(|k| (format!("k{k}"), k as i64 - 2)).collect(),
                maybe: (i % 2 == 1).then(|| inner(7, None)),
                at: id.wrapping_mul(3).wrapping_add(1_700_000_000_000),
            };
            agree(OUTER, &v);
        }
        // Fields declared in another order than the schema's.
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(rename = "Inner")]
        struct Reversed {
            b: Option<String>,
            a: i32,
        }
        let inner_schema = r#"{"type":"record","name":"Inner","fields":[
            {"name":"a","type":"int"},{"name":"b","type":["null","string"],"default":null}]}"#;
        agree(
            inner_schema,
            &Reversed {
                b: Some("z".into()),
                a: -4,
            },
        );
        agree(r#""string""#, &"plain".to_string());
        agree(r#"["null","string"]"#, &Some("x".to_string()));
        agree(r#"["null","string"]"#, &None::<String>);
        // apache-avro's serde writer only takes `Option` for a two-branch `["null", T]`
        // union; serde_avro_fast picks the branch by type, as the Avro spec allows.
        let wide = Codec::new(r#"["null","long","string"]"#).unwrap();
        let mut out = Vec::new();
        wide.encode(&Some(5i64), &mut out).unwrap();
        assert_eq!(out, [2, 10], "branch 1 (long), then 5");
        assert!(wide
            .encode_with_apache_avro(&Some(5i64), &mut Vec::new())
            .is_err());
        agree(r#"{"type":"array","items":"int"}"#, &vec![1, -2, 300]);
        agree(r#"{"type":"array","items":"int"}"#, &Vec::<i32>::new());
        // A plain `Vec<u8>` (no serde_bytes) as `bytes`: apache-avro refuses it; we let the
        // fast writer take a sequence of bytes.
        let bytes = Codec::new(r#""bytes""#).unwrap();
        let mut out = Vec::new();
        bytes.encode(&vec![1u8, 2, 3], &mut out).unwrap();
        assert_eq!(out, [6, 1, 2, 3]);
        assert!(bytes
            .encode_with_apache_avro(&vec![1u8, 2, 3], &mut Vec::new())
            .is_err());
    }
}
