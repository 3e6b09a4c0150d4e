//! Avro's JSON encoding of a datum, to and from the binary encoding, walking our own schema
//! graph. This is what the dynamic API (and the `charter` CLI) speaks: the same JSON Confluent's
//! `kafka-avro-console-producer` reads and `kafka-avro-console-consumer` prints.
//!
//! The JSON shapes (Avro specification, "JSON Encoding"):
//! - `null`, booleans, numbers and strings as themselves; `float`/`double` also accept the
//!   strings `"NaN"`, `"Infinity"`, `"-Infinity"` (and print them that way);
//! - `bytes` and `fixed` as strings whose code points 0–255 are the bytes (ISO-8859-1);
//! - enums as their symbol; arrays as arrays; maps and records as objects;
//! - a non-null union value as `{"<branch>": value}`, where the branch is the full name of a
//!   named type or the type name (`"string"`, `"array"`, `"map"`...); `null` as `null`.
//!
//! Reading JSON is also lenient where that is unambiguous: a union value may be given plain when
//! exactly one branch accepts it (`"abc"` for `["null","string"]`), and a record field that is
//! missing takes its default. Logical types use their underlying representation.

use serde_json::{Map, Number, Value};

use super::{AvroSchema, AvroType, SchemaNode};
use crate::wire::write_zigzag;

/// The deepest nesting a JSON value or a datum may have.
const MAX_DEPTH: usize = 512;

impl AvroSchema {
    /// Encodes `value`, in Avro's JSON encoding (see the [module docs](self)), as an Avro
    /// binary datum of this schema.
    ///
    /// ```
    /// use charter_serde::avro::{AvroSchema, ParseOptions};
    /// let s = AvroSchema::parse(
    ///     r#"{"type":"record","name":"R","fields":[
    ///         {"name":"a","type":"int"},
    ///         {"name":"b","type":["null","string"]},
    ///         {"name":"c","type":"long","default":7}]}"#,
    ///     &[],
    ///     ParseOptions { validate: true },
    /// )?;
    /// let wrapped = s.encode_json(&serde_json::json!({"a": 1, "b": {"string": "x"}})).unwrap();
    /// let plain = s.encode_json(&serde_json::json!({"a": 1, "b": "x"})).unwrap();
    /// assert_eq!(wrapped, plain);
    /// assert_eq!(wrapped, [2, 2, 2, b'x', 14]);
    /// assert!(s.encode_json(&serde_json::json!({"b": null})).is_err()); // a has no default
    /// # Ok::<(), charter_serde::avro::AvroError>(())
    /// ```
    pub fn encode_json(&self, value: &Value) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        encode(self.root(), value, &mut out, false, 0)?;
        Ok(out)
    }

    /// Decodes an Avro binary datum of this schema into Avro's JSON encoding (unions wrapped as
    /// `{"<branch>": value}`). The datum must be well-formed and use all of `bytes`.
    ///
    /// ```
    /// use charter_serde::avro::{AvroSchema, ParseOptions};
    /// let s = AvroSchema::parse(r#"["null","string"]"#, &[], ParseOptions { validate: true })?;
    /// assert_eq!(s.decode_to_json(&[2, 2, b'x']).unwrap(), serde_json::json!({"string": "x"}));
    /// assert_eq!(s.decode_to_json(&[0]).unwrap(), serde_json::Value::Null);
    /// assert!(s.decode_to_json(&[4]).is_err());
    /// # Ok::<(), charter_serde::avro::AvroError>(())
    /// ```
    pub fn decode_to_json(&self, bytes: &[u8]) -> Result<Value, String> {
        // The validating walk bounds every length, count and depth against the input, so the
        // decoder below never trusts a number it has not already seen checked.
        self.validate_datum(bytes)?;
        let mut r = Reader {
            bytes,
            pos: 0,
            // Zero-width items (nulls) can be claimed in any number by a few bytes: cap how
            // many values one datum may produce.
            budget: bytes.len().saturating_mul(8).saturating_add(1 << 16),
        };
        decode(self.root(), &mut r, 0)
    }
}

/// The name a union branch is selected by in JSON.
fn branch_name(node: SchemaNode<'_>) -> &str {
    node.full_name()
        .unwrap_or_else(|| node.avro_type().json_name())
}

fn encode(
    node: SchemaNode<'_>,
    v: &Value,
    out: &mut Vec<u8>,
    default: bool,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("value nested too deeply".into());
    }
    let what = |expected: &str| format!("expected {expected}, got {}", kind(v));
    match node.avro_type() {
        AvroType::Null => match v {
            Value::Null => Ok(()),
            _ => Err(what("null")),
        },
        AvroType::Boolean => match v {
            Value::Bool(b) => {
                out.push(u8::from(*b));
                Ok(())
            }
            _ => Err(what("a boolean")),
        },
        AvroType::Int => {
            let i = v
                .as_i64()
                .and_then(|i| i32::try_from(i).ok())
                .ok_or_else(|| what("an int"))?;
            write_zigzag(out, i64::from(i));
            Ok(())
        }
        AvroType::Long => {
            let i = v.as_i64().ok_or_else(|| what("a long"))?;
            write_zigzag(out, i);
            Ok(())
        }
        AvroType::Float => {
            let f = float(v).ok_or_else(|| what("a float"))?;
            out.extend_from_slice(&(f as f32).to_le_bytes());
            Ok(())
        }
        AvroType::Double => {
            let f = float(v).ok_or_else(|| what("a double"))?;
            out.extend_from_slice(&f.to_le_bytes());
            Ok(())
        }
        AvroType::String => {
            let s = v.as_str().ok_or_else(|| what("a string"))?;
            write_zigzag(out, s.len() as i64);
            out.extend_from_slice(s.as_bytes());
            Ok(())
        }
        AvroType::Bytes => {
            let b = latin1(v).ok_or_else(|| what("a string of bytes (code points 0-255)"))?;
            write_zigzag(out, b.len() as i64);
            out.extend_from_slice(&b);
            Ok(())
        }
        AvroType::Fixed => {
            let b = latin1(v).ok_or_else(|| what("a string of bytes (code points 0-255)"))?;
            let size = node.fixed_size().unwrap_or(0) as usize;
            if b.len() != size {
                return Err(format!("expected {size} bytes for fixed, got {}", b.len()));
            }
            out.extend_from_slice(&b);
            Ok(())
        }
        AvroType::Enum => {
            let s = v.as_str().ok_or_else(|| what("an enum symbol"))?;
            let i = node
                .symbols()
                .iter()
                .position(|sym| sym == s)
                .ok_or_else(|| format!("'{s}' is not a symbol of {}", branch_name(node)))?;
            write_zigzag(out, i as i64);
            Ok(())
        }
        AvroType::Array => {
            let items = v.as_array().ok_or_else(|| what("an array"))?;
            let item_node = node.items().ok_or("array without items")?;
            if !items.is_empty() {
                write_zigzag(out, items.len() as i64);
                for (i, item) in items.iter().enumerate() {
                    encode(item_node, item, out, default, depth + 1)
                        .map_err(|e| format!("[{i}]: {e}"))?;
                }
            }
            out.push(0);
            Ok(())
        }
        AvroType::Map => {
            let entries = v.as_object().ok_or_else(|| what("an object (map)"))?;
            let value_node = node.values().ok_or("map without values")?;
            if !entries.is_empty() {
                write_zigzag(out, entries.len() as i64);
                for (k, item) in entries {
                    write_zigzag(out, k.len() as i64);
                    out.extend_from_slice(k.as_bytes());
                    encode(value_node, item, out, default, depth + 1)
                        .map_err(|e| format!("[{k:?}]: {e}"))?;
                }
            }
            out.push(0);
            Ok(())
        }
        AvroType::Record => {
            let obj = v.as_object().ok_or_else(|| what("an object (record)"))?;
            for f in node.fields() {
                match obj.get(f.name()) {
                    Some(fv) => encode(f.schema(), fv, out, default, depth + 1),
                    None => match f.default_value() {
                        // A default is written for the first branch of a union (Avro spec).
                        Some(d) => encode(f.schema(), &d, out, true, depth + 1),
                        None => Err("missing, and the field has no default".into()),
                    },
                }
                .map_err(|e| format!("field '{}': {e}", f.name()))?;
            }
            Ok(())
        }
        AvroType::Union => encode_union(node, v, out, default, depth),
    }
}

fn encode_union(
    node: SchemaNode<'_>,
    v: &Value,
    out: &mut Vec<u8>,
    default: bool,
    depth: usize,
) -> Result<(), String> {
    let put = |i: usize, b: SchemaNode<'_>, v: &Value, out: &mut Vec<u8>| {
        let mut buf = Vec::new();
        encode(b, v, &mut buf, default, depth + 1)?;
        write_zigzag(out, i as i64);
        out.extend_from_slice(&buf);
        Ok::<(), String>(())
    };
    if default {
        let first = node.branch_at(0).ok_or("empty union")?;
        return put(0, first, v, out);
    }
    if v.is_null() {
        if let Some(i) = node
            .branches()
            .position(|b| b.avro_type() == AvroType::Null)
        {
            write_zigzag(out, i as i64);
            return Ok(());
        }
    }
    // The JSON encoding: {"<branch name>": value}.
    if let Some((name, inner)) = v
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.iter().next())
    {
        let short = |b: SchemaNode<'_>| b.name().map(|n| n == name).unwrap_or(false);
        let found = node
            .branches()
            .enumerate()
            .find(|(_, b)| branch_name(*b) == name)
            .or_else(|| node.branches().enumerate().find(|(_, b)| short(*b)));
        if let Some((i, b)) = found {
            return put(i, b, inner, out).map_err(|e| format!("union branch '{name}': {e}"));
        }
    }
    // A plain value: accepted when exactly one branch takes it.
    let mut accepted = Vec::new();
    for (i, b) in node.branches().enumerate() {
        let mut buf = Vec::new();
        if encode(b, v, &mut buf, false, depth + 1).is_ok() {
            accepted.push((i, b, buf));
        }
    }
    match accepted.len() {
        1 => {
            let (i, _, buf) = accepted.remove(0);
            write_zigzag(out, i as i64);
            out.extend_from_slice(&buf);
            Ok(())
        }
        0 => Err(format!(
            "{} matches no branch of the union [{}]",
            kind(v),
            union_names(node)
        )),
        _ => Err(format!(
            "ambiguous value for the union [{}]: wrap it as {{\"<branch>\": value}} (it matches {})",
            union_names(node),
            accepted
                .iter()
                .map(|(_, b, _)| branch_name(*b))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn union_names(node: SchemaNode<'_>) -> String {
    node.branches()
        .map(branch_name)
        .collect::<Vec<_>>()
        .join(", ")
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

fn latin1(v: &Value) -> Option<Vec<u8>> {
    v.as_str()?
        .chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect()
}

fn float_json(f: f64) -> Value {
    match Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None if f.is_nan() => Value::String("NaN".into()),
        None if f > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

/// A reader over a datum that [`AvroSchema::validate_datum`] accepted; every read is still
/// checked (no panics), errors just cannot be expected.
struct Reader<'b> {
    bytes: &'b [u8],
    pos: usize,
    budget: usize,
}

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize) -> Result<&'b [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or("datum runs past the end")?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn long(&mut self) -> Result<i64, String> {
        let mut z: u64 = 0;
        for i in 0..10 {
            let b = *self.take(1)?.first().ok_or("datum runs past the end")?;
            z |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(((z >> 1) as i64) ^ -((z & 1) as i64));
            }
        }
        Err("overlong varint".into())
    }

    fn len(&mut self) -> Result<usize, String> {
        usize::try_from(self.long()?).map_err(|_| "negative length".to_string())
    }

    fn spend(&mut self) -> Result<(), String> {
        self.budget = self
            .budget
            .checked_sub(1)
            .ok_or("the datum holds too many values for its size")?;
        Ok(())
    }

    /// The item count of the next block (0 ends the list); a negative count is followed by
    /// the block's byte size, which is skipped.
    fn block(&mut self) -> Result<u64, String> {
        let n = self.long()?;
        if n < 0 {
            self.long()?;
        }
        Ok(n.unsigned_abs())
    }
}

fn decode(node: SchemaNode<'_>, r: &mut Reader<'_>, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err("datum nested too deeply".into());
    }
    r.spend()?;
    Ok(match node.avro_type() {
        AvroType::Null => Value::Null,
        AvroType::Boolean => Value::Bool(r.take(1)?.first() == Some(&1)),
        AvroType::Int | AvroType::Long => Value::from(r.long()?),
        AvroType::Float => {
            let b: [u8; 4] = r.take(4)?.try_into().map_err(|_| "short float")?;
            float_json(f64::from(f32::from_le_bytes(b)))
        }
        AvroType::Double => {
            let b: [u8; 8] = r.take(8)?.try_into().map_err(|_| "short double")?;
            float_json(f64::from_le_bytes(b))
        }
        AvroType::String => {
            let n = r.len()?;
            let s = std::str::from_utf8(r.take(n)?).map_err(|e| e.to_string())?;
            Value::String(s.to_string())
        }
        AvroType::Bytes => {
            let n = r.len()?;
            Value::String(r.take(n)?.iter().map(|&b| char::from(b)).collect())
        }
        AvroType::Fixed => {
            let n = node.fixed_size().unwrap_or(0) as usize;
            Value::String(r.take(n)?.iter().map(|&b| char::from(b)).collect())
        }
        AvroType::Enum => {
            let i = r.len()?;
            let sym = node.symbols().get(i).ok_or("enum index out of range")?;
            Value::String(sym.clone())
        }
        AvroType::Array => {
            let items = node.items().ok_or("array without items")?;
            let mut out = Vec::new();
            loop {
                let n = r.block()?;
                if n == 0 {
                    break;
                }
                for _ in 0..n {
                    out.push(decode(items, r, depth + 1)?);
                }
            }
            Value::Array(out)
        }
        AvroType::Map => {
            let values = node.values().ok_or("map without values")?;
            let mut out = Map::new();
            loop {
                let n = r.block()?;
                if n == 0 {
                    break;
                }
                for _ in 0..n {
                    let kl = r.len()?;
                    let k = std::str::from_utf8(r.take(kl)?).map_err(|e| e.to_string())?;
                    let k = k.to_string();
                    out.insert(k, decode(values, r, depth + 1)?);
                }
            }
            Value::Object(out)
        }
        AvroType::Record => {
            let mut out = Map::new();
            for f in node.fields() {
                out.insert(f.name().to_string(), decode(f.schema(), r, depth + 1)?);
            }
            Value::Object(out)
        }
        AvroType::Union => {
            let i = r.len()?;
            let b = node.branch_at(i).ok_or("union index out of range")?;
            if b.avro_type() == AvroType::Null {
                Value::Null
            } else {
                let mut m = Map::new();
                m.insert(branch_name(b).to_string(), decode(b, r, depth + 1)?);
                Value::Object(m)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::avro::ParseOptions;
    use serde_json::json;

    fn schema(text: &str) -> AvroSchema {
        AvroSchema::parse(text, &[], ParseOptions { validate: true }).unwrap()
    }

    #[test]
    fn round_trips_every_type() {
        let s = schema(
            r#"{"type":"record","name":"R","namespace":"n","fields":[
              {"name":"n","type":"null"},{"name":"b","type":"boolean"},
              {"name":"i","type":"int"},{"name":"l","type":"long"},
              {"name":"f","type":"float"},{"name":"d","type":"double"},
              {"name":"s","type":"string"},{"name":"by","type":"bytes"},
              {"name":"fx","type":{"type":"fixed","name":"F","size":2}},
              {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}},
              {"name":"a","type":{"type":"array","items":"int"}},
              {"name":"m","type":{"type":"map","values":"string"}},
              {"name":"u","type":["null","string","E",{"type":"array","items":"long"}]},
              {"name":"nd","type":"double"}]}"#,
        );
        let v = json!({"n": null, "b": true, "i": -3, "l": 1_i64 << 40, "f": 1.5, "d": -2.25,
            "s": "héllo", "by": "\u{0}\u{ff}", "fx": "ab", "e": "B", "a": [1, 2, 3],
            "m": {"k": "v"}, "u": {"n.E": "A"}, "nd": "NaN"});
        let bytes = s.encode_json(&v).unwrap();
        assert_eq!(s.decode_to_json(&bytes).unwrap(), v);
        for (u, wrapped) in [
            (json!(null), json!(null)),
            (json!("x"), json!({"string": "x"})),
            (json!({"array": [5]}), json!({"array": [5]})),
            (json!({"E": "B"}), json!({"n.E": "B"})),
        ] {
            let mut v2 = v.clone();
            v2["u"] = u;
            let bytes = s.encode_json(&v2).unwrap();
            assert_eq!(s.decode_to_json(&bytes).unwrap()["u"], wrapped);
        }
    }

    #[test]
    fn unions_that_are_ambiguous_or_unmatched_are_errors() {
        let s = schema(r#"["int","long"]"#);
        let e = s.encode_json(&json!(5)).unwrap_err();
        assert!(e.contains("ambiguous"), "{e}");
        assert_eq!(s.encode_json(&json!({"long": 5})).unwrap(), [2, 10]);
        assert!(s
            .encode_json(&json!("x"))
            .unwrap_err()
            .contains("no branch"));
    }

    #[test]
    fn defaults_fill_missing_fields() {
        let s = schema(
            r#"{"type":"record","name":"R","fields":[
              {"name":"u","type":["null","string"],"default":null},
              {"name":"r","type":{"type":"record","name":"In","fields":[{"name":"x","type":"int"}]},"default":{"x":4}}]}"#,
        );
        let b = s.encode_json(&json!({})).unwrap();
        assert_eq!(
            s.decode_to_json(&b).unwrap(),
            json!({"u": null, "r": {"x": 4}})
        );
    }

    #[test]
    fn hostile_datums_are_errors_not_panics() {
        let s = schema(r#"{"type":"array","items":"null"}"#);
        // A block claiming 2^62 nulls: valid encoding, but more values than the budget allows.
        let mut b = Vec::new();
        write_zigzag(&mut b, 1 << 62);
        b.push(0);
        assert!(s.decode_to_json(&b).is_err());
        let s = schema(r#""string""#);
        assert!(s.decode_to_json(&[0x7f]).is_err());
        assert!(s.decode_to_json(&[]).is_err());
    }
}
