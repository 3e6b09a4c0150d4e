//! Typed Avro: serde types to and from Avro binary with apache-avro 0.22, one codec per schema.
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

    /// Writes `value` as a datum of this schema.
    pub fn encode<T: Serialize + ?Sized>(
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
}
