//! Validation of one Avro binary datum against a schema (Avro specification, "Binary
//! Encoding").
//!
//! The walk is bounded by its input: every length or block count is checked against the bytes
//! that remain before anything is done with it, nothing is allocated from an untrusted length,
//! and recursion through recursive types stops at [`MAX_DEPTH`] levels.

use std::collections::HashMap;

use super::{AvroSchema, AvroType, SchemaNode};

/// The deepest nesting of records, arrays, maps and unions a datum may have.
const MAX_DEPTH: usize = 1000;

impl AvroSchema {
    /// Walks one Avro binary datum of this schema and requires that it consumes exactly `bytes`.
    ///
    /// Checks the binary encoding type by type: zigzag varints for `int` (at most 5 bytes,
    /// within 32 bits) and `long` (at most 10 bytes), 4/8 bytes for `float`/`double`, a
    /// non-negative length and that many bytes for `bytes`/`string` (a `string` must be UTF-8),
    /// a `boolean` byte of 0 or 1, nothing for `null`, an enum index below the number of
    /// symbols, exactly the size of a `fixed`, a union branch index in range followed by that
    /// branch, arrays and maps as blocks (a negative count is followed by the block's byte size,
    /// which must match what its items take), and records field by field.
    ///
    /// The error names where the walk stopped, e.g. `field 'age': varint runs past the end` or
    /// `2 trailing bytes after the datum`.
    ///
    /// ```
    /// use charter_serde::avro::{AvroSchema, ParseOptions};
    ///
    /// let schema = AvroSchema::parse(
    ///     r#"{"type":"record","name":"R","fields":[{"name":"age","type":"int"}]}"#,
    ///     &[],
    ///     ParseOptions { validate: true },
    /// )?;
    /// assert!(schema.validate_datum(&[0x54]).is_ok()); // age = 42
    /// assert_eq!(
    ///     schema.validate_datum(&[0x80]).unwrap_err(),
    ///     "field 'age': varint runs past the end"
    /// );
    /// assert_eq!(
    ///     schema.validate_datum(&[0x54, 0, 0]).unwrap_err(),
    ///     "2 trailing bytes after the datum"
    /// );
    /// # Ok::<(), charter_serde::avro::AvroError>(())
    /// ```
    pub fn validate_datum(&self, bytes: &[u8]) -> Result<(), String> {
        let mut r = Reader {
            bytes,
            pos: 0,
            zero_width: HashMap::new(),
        };
        walk(self.root(), &mut r, 0).map_err(|e| e.render())?;
        match r.remaining() {
            0 => Ok(()),
            1 => Err("1 trailing byte after the datum".to_string()),
            n => Err(format!("{n} trailing bytes after the datum")),
        }
    }
}

/// A validation error and where it happened (innermost segment first while unwinding).
struct Error {
    path: Vec<Segment>,
    message: String,
}

enum Segment {
    Field(String),
    Index(u64),
    Key(String),
}

impl Error {
    fn new(message: impl Into<String>) -> Box<Error> {
        Box::new(Error {
            path: Vec::new(),
            message: message.into(),
        })
    }
}

trait At {
    fn at(self, segment: Segment) -> Self;
}

impl At for Box<Error> {
    fn at(mut self, segment: Segment) -> Box<Error> {
        self.path.push(segment);
        self
    }
}

impl Error {
    fn render(self) -> String {
        if self.path.is_empty() {
            return self.message;
        }
        let mut where_ = String::new();
        let len = self.path.len();
        for (i, seg) in self.path.iter().rev().enumerate() {
            // Deep paths keep their first and last levels only.
            if len > 16 && (8..len - 8).contains(&i) {
                if i == 8 {
                    where_.push_str(".…");
                }
                continue;
            }
            match seg {
                Segment::Field(name) => {
                    if !where_.is_empty() {
                        where_.push('.');
                    }
                    where_.push_str(name);
                }
                Segment::Index(i) => where_.push_str(&format!("[{i}]")),
                Segment::Key(k) => where_.push_str(&format!("[{k:?}]")),
            }
        }
        let first_is_field = matches!(self.path.last(), Some(Segment::Field(_)));
        if first_is_field {
            format!("field '{where_}': {}", self.message)
        } else {
            format!("at '{where_}': {}", self.message)
        }
    }
}

type Walk<T> = std::result::Result<T, Box<Error>>;

/// The input and the walk's memo of which types are zero-width.
struct Reader<'b> {
    bytes: &'b [u8],
    pos: usize,
    zero_width: HashMap<usize, bool>,
}

impl<'b> Reader<'b> {
    /// Whether every datum of `node` is encoded as zero bytes (`null`, `fixed` of size 0,
    /// records of such). Such values need no reading (and an array of them cannot be bounded
    /// by the input); every other type takes at least one byte. Memoized per node, so shared
    /// named types are examined once; a record that contains itself only through record fields
    /// has no finite datum and is not zero-width.
    fn zero_width(&mut self, node: SchemaNode<'_>) -> bool {
        match node.avro_type() {
            AvroType::Null => true,
            AvroType::Fixed => node.fixed_size() == Some(0),
            AvroType::Record => {
                if let Some(&known) = self.zero_width.get(&node.id()) {
                    return known;
                }
                // In progress: a cycle through record fields only is never zero-width.
                self.zero_width.insert(node.id(), false);
                let zw = node.fields().all(|f| self.zero_width(f.schema()));
                self.zero_width.insert(node.id(), zw);
                zw
            }
            _ => false,
        }
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Walk<&'b [u8]> {
        if n > self.remaining() {
            return Err(Error::new(format!(
                "{what} needs {n} bytes but only {} remain",
                self.remaining()
            )));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// An unsigned LEB128 varint of at most `max_bytes` bytes.
    fn varint(&mut self, max_bytes: usize) -> Walk<u64> {
        let mut value: u64 = 0;
        for i in 0..max_bytes {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(Error::new("varint runs past the end"));
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(Error::new("varint overflows 64 bits"));
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Error::new(format!("varint longer than {max_bytes} bytes")))
    }

    fn long(&mut self) -> Walk<i64> {
        let v = self.varint(10)?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    fn int(&mut self) -> Walk<i32> {
        let v = self.varint(5)?;
        let v = u32::try_from(v).map_err(|_| Error::new("int overflows 32 bits"))?;
        Ok(((v >> 1) as i32) ^ -((v & 1) as i32))
    }

    /// A non-negative length that fits in the remaining input.
    fn length(&mut self, what: &str) -> Walk<usize> {
        let n = self.long()?;
        if n < 0 {
            return Err(Error::new(format!("negative {what} length {n}")));
        }
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if n > self.remaining() {
            return Err(Error::new(format!(
                "{what} length {n} runs past the end ({} bytes remain)",
                self.remaining()
            )));
        }
        Ok(n)
    }
}

/// Walks one value of `node`. Kept small, with each recursive case in its own non-inlined
/// function, so that a level of nesting costs little stack even in debug builds.
fn walk(node: SchemaNode<'_>, r: &mut Reader<'_>, depth: usize) -> Walk<()> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    if r.zero_width(node) {
        return Ok(());
    }
    match node.avro_type() {
        AvroType::Union => union(node, r, depth),
        AvroType::Record => record(node, r, depth),
        AvroType::Array => array(node, r, depth),
        AvroType::Map => map(node, r, depth),
        _ => scalar(node, r),
    }
}

#[cold]
#[inline(never)]
fn too_deep() -> Box<Error> {
    Error::new(format!("the datum nests deeper than {MAX_DEPTH} levels"))
}

#[inline(never)]
fn scalar(node: SchemaNode<'_>, r: &mut Reader<'_>) -> Walk<()> {
    match node.avro_type() {
        AvroType::Boolean => match r.take(1, "boolean")?[0] {
            0 | 1 => Ok(()),
            b => Err(Error::new(format!("boolean byte {b} is neither 0 nor 1"))),
        },
        AvroType::Int => r.int().map(drop),
        AvroType::Long => r.long().map(drop),
        AvroType::Float => r.take(4, "float").map(drop),
        AvroType::Double => r.take(8, "double").map(drop),
        AvroType::Bytes => {
            let n = r.length("bytes")?;
            r.take(n, "bytes").map(drop)
        }
        AvroType::String => {
            let n = r.length("string")?;
            let s = r.take(n, "string")?;
            std::str::from_utf8(s)
                .map(drop)
                .map_err(|e| Error::new(format!("string is not valid UTF-8: {e}")))
        }
        AvroType::Fixed => {
            let size = node.fixed_size().unwrap_or(0) as usize;
            r.take(size, "fixed").map(drop)
        }
        AvroType::Enum => {
            let i = r.int()?;
            let count = node.symbols().len();
            if i < 0 || i as usize >= count {
                return Err(Error::new(format!(
                    "enum index {i} out of range ({count} symbols)"
                )));
            }
            Ok(())
        }
        // Null (and anything else zero-width) was handled by `walk`.
        _ => Ok(()),
    }
}

#[inline(never)]
fn union(node: SchemaNode<'_>, r: &mut Reader<'_>, depth: usize) -> Walk<()> {
    let i = r.int()?;
    let Some(branch) = usize::try_from(i).ok().and_then(|i| node.branch_at(i)) else {
        return Err(Error::new(format!(
            "union branch index {i} out of range ({} branches)",
            node.branch_count()
        )));
    };
    walk(branch, r, depth + 1)
}

#[inline(never)]
fn record(node: SchemaNode<'_>, r: &mut Reader<'_>, depth: usize) -> Walk<()> {
    for field in node.fields() {
        if let Err(e) = walk(field.schema(), r, depth + 1) {
            return Err(e.at(Segment::Field(field.name().to_string())));
        }
    }
    Ok(())
}

#[inline(never)]
fn array(node: SchemaNode<'_>, r: &mut Reader<'_>, depth: usize) -> Walk<()> {
    let Some(items) = node.items() else {
        return Err(Error::new("array without an item type"));
    };
    let skip = r.zero_width(items);
    blocks(r, "array", skip, &mut |r, index| {
        walk(items, r, depth + 1).map_err(|e| e.at(Segment::Index(index)))
    })
}

#[inline(never)]
fn map(node: SchemaNode<'_>, r: &mut Reader<'_>, depth: usize) -> Walk<()> {
    let Some(values) = node.values() else {
        return Err(Error::new("map without a value type"));
    };
    blocks(r, "map", false, &mut |r, index| {
        let key = map_key(r).map_err(|e| e.at(Segment::Index(index)))?;
        walk(values, r, depth + 1).map_err(|e| e.at(Segment::Key(key.to_string())))
    })
}

fn map_key<'b>(r: &mut Reader<'b>) -> Walk<&'b str> {
    let n = r.length("map key")?;
    let key = r.take(n, "map key")?;
    std::str::from_utf8(key).map_err(|e| Error::new(format!("map key is not valid UTF-8: {e}")))
}

/// The blocks of an array or map: each a zigzag count (0 ends the list; a negative count is
/// followed by the block's size in bytes), then that many items read by `item`. Each item of
/// a type that is not `zero_width` takes at least one byte, so a count beyond the remaining
/// input is refused before any item is read; zero-width items are not read at all.
fn blocks(
    r: &mut Reader<'_>,
    what: &str,
    zero_width: bool,
    item: &mut dyn FnMut(&mut Reader<'_>, u64) -> Walk<()>,
) -> Walk<()> {
    let mut index: u64 = 0;
    loop {
        let count = r.long()?;
        if count == 0 {
            return Ok(());
        }
        let (count, end) = if count < 0 {
            let size = r.long()?;
            if size < 0 {
                return Err(Error::new(format!("negative {what} block size {size}")));
            }
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            if size > r.remaining() {
                return Err(Error::new(format!(
                    "{what} block size {size} runs past the end ({} bytes remain)",
                    r.remaining()
                )));
            }
            (count.unsigned_abs(), Some(r.pos + size))
        } else {
            (count as u64, None)
        };
        if zero_width {
            // Items that take no bytes: nothing to read, the count is all there is.
            index = index.saturating_add(count);
        } else {
            if count > r.remaining() as u64 {
                return Err(Error::new(format!(
                    "{what} block count {count} runs past the end ({} bytes remain)",
                    r.remaining()
                )));
            }
            for _ in 0..count {
                item(r, index)?;
                index += 1;
            }
        }
        if let Some(end) = end {
            if r.pos != end {
                return Err(Error::new(format!(
                    "{what} block size does not match its {count} items"
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::avro::{AvroSchema, ParseOptions};

    fn schema(text: &str) -> AvroSchema {
        AvroSchema::parse(text, &[], ParseOptions { validate: true }).unwrap()
    }

    fn long(v: i64) -> Vec<u8> {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        let mut out = Vec::new();
        loop {
            if z < 0x80 {
                out.push(z as u8);
                return out;
            }
            out.push((z as u8 & 0x7f) | 0x80);
            z >>= 7;
        }
    }

    fn string(s: &[u8]) -> Vec<u8> {
        let mut out = long(s.len() as i64);
        out.extend_from_slice(s);
        out
    }

    const ALL: &str = r#"{"type":"record","name":"All","namespace":"t","fields":[
        {"name":"n","type":"null"},
        {"name":"b","type":"boolean"},
        {"name":"i","type":"int"},
        {"name":"l","type":"long"},
        {"name":"f","type":"float"},
        {"name":"d","type":"double"},
        {"name":"by","type":"bytes"},
        {"name":"s","type":"string"},
        {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B","C"]}},
        {"name":"fx","type":{"type":"fixed","name":"F","size":3}},
        {"name":"a","type":{"type":"array","items":"int"}},
        {"name":"m","type":{"type":"map","values":"string"}},
        {"name":"u","type":["null","string"]},
        {"name":"dec","type":{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}},
        {"name":"inner","type":{"type":"record","name":"Inner","fields":[{"name":"age","type":"int"}]}}
    ]}"#;

    /// The datum of [`ALL`], with the encodings of some fields replaced.
    fn all(overrides: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let defaults: Vec<(&str, Vec<u8>)> = vec![
            ("n", vec![]),
            ("b", vec![1]),
            ("i", long(-3)),
            ("l", long(1 << 40)),
            ("f", 1.5f32.to_le_bytes().to_vec()),
            ("d", (-2.25f64).to_le_bytes().to_vec()),
            ("by", string(&[0xde, 0xad])),
            ("s", string("héllo".as_bytes())),
            ("e", long(2)),
            ("fx", vec![1, 2, 3]),
            // A positive block of 2, a negative block of 1 (with its byte size), the end.
            (
                "a",
                [
                    long(2),
                    long(1),
                    long(2),
                    long(-1),
                    long(1),
                    long(3),
                    long(0),
                ]
                .concat(),
            ),
            ("m", [long(1), string(b"k"), string(b"v"), long(0)].concat()),
            ("u", [long(1), string(b"x")].concat()),
            ("dec", string(&[0x04, 0xd2])),
            ("inner", long(42)),
        ];
        defaults
            .into_iter()
            .flat_map(|(name, bytes)| {
                overrides
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, b)| b.clone())
                    .unwrap_or(bytes)
            })
            .collect()
    }

    #[test]
    fn valid_datums_pass() {
        let s = schema(ALL);
        s.validate_datum(&all(&[])).unwrap();
        // Other valid choices: null branch, empty collections, extreme numbers, false.
        s.validate_datum(&all(&[
            ("b", vec![0]),
            ("i", long(i32::MIN as i64)),
            ("l", long(i64::MIN)),
            ("s", string(b"")),
            ("e", long(0)),
            ("a", long(0)),
            (
                "m",
                [long(-1), long(4), string(b"k"), string(b"v"), long(0)].concat(),
            ),
            ("u", long(0)),
        ]))
        .unwrap();
        s.validate_datum(&all(&[("i", long(i32::MAX as i64)), ("l", long(i64::MAX))]))
            .unwrap();
        schema(r#""string""#).validate_datum(&string(b"x")).unwrap();
        schema(r#""null""#).validate_datum(&[]).unwrap();
        schema(r#"["null","int"]"#).validate_datum(&[2, 4]).unwrap();
    }

    #[test]
    fn truncated_datums_fail() {
        let s = schema(ALL);
        let full = all(&[]);
        for n in 0..full.len() {
            assert!(s.validate_datum(&full[..n]).is_err(), "prefix of {n} bytes");
        }
        let err = s
            .validate_datum(&all(&[("inner", vec![0x80])]))
            .unwrap_err();
        assert_eq!(err, "field 'inner.age': varint runs past the end");
    }

    #[test]
    fn trailing_bytes_fail() {
        let s = schema(ALL);
        let mut bytes = all(&[]);
        bytes.extend_from_slice(&[0, 0]);
        assert_eq!(
            s.validate_datum(&bytes).unwrap_err(),
            "2 trailing bytes after the datum"
        );
        assert_eq!(
            schema(r#""int""#).validate_datum(&[2, 9]).unwrap_err(),
            "1 trailing byte after the datum"
        );
    }

    #[test]
    fn bad_union_and_enum_indexes_fail() {
        let s = schema(ALL);
        let err = s.validate_datum(&all(&[("u", long(2))])).unwrap_err();
        assert!(err.starts_with("field 'u': union branch index 2"), "{err}");
        assert!(s.validate_datum(&all(&[("u", long(-1))])).is_err());
        let err = s.validate_datum(&all(&[("e", long(3))])).unwrap_err();
        assert!(err.starts_with("field 'e': enum index 3"), "{err}");
        assert!(s.validate_datum(&all(&[("e", long(-1))])).is_err());
        // An index too big for an int.
        assert!(s.validate_datum(&all(&[("e", long(1 << 40))])).is_err());
    }

    #[test]
    fn invalid_utf8_fails() {
        let s = schema(ALL);
        let err = s
            .validate_datum(&all(&[("s", string(&[0xc3, 0x28]))]))
            .unwrap_err();
        assert!(
            err.starts_with("field 's': string is not valid UTF-8"),
            "{err}"
        );
        let bad_key = [long(1), string(&[0xff]), string(b"v"), long(0)].concat();
        assert!(s.validate_datum(&all(&[("m", bad_key)])).is_err());
        let bad_value = [long(1), string(b"k"), string(&[0xff]), long(0)].concat();
        let err = s.validate_datum(&all(&[("m", bad_value)])).unwrap_err();
        assert!(err.starts_with("field 'm[\"k\"]'"), "{err}");
        // Bytes need not be UTF-8.
        s.validate_datum(&all(&[("by", string(&[0xff]))])).unwrap();
    }

    #[test]
    fn negative_and_oversized_lengths_fail() {
        let s = schema(ALL);
        for (field, bytes) in [
            ("s", long(-1)),
            ("by", long(-5)),
            ("s", long(i64::MIN)),
            ("s", long(1 << 50)),
            ("by", long(i64::MAX)),
            // A map key with a negative length.
            ("m", [long(1), long(-2)].concat()),
            // Negative block with a negative byte size, and with a size past the end.
            ("a", [long(-1), long(-1), long(3), long(0)].concat()),
            ("a", [long(-1), long(100), long(3), long(0)].concat()),
            // Negative block whose byte size does not match its items.
            ("a", [long(-1), long(2), long(3), long(0)].concat()),
            // Block counts far beyond the input.
            ("a", [long(1 << 60), long(1)].concat()),
            ("a", [long(i64::MIN), long(1)].concat()),
            ("m", [long(1 << 40), string(b"k")].concat()),
        ] {
            let datum = all(&[(field, bytes.clone())]);
            assert!(s.validate_datum(&datum).is_err(), "{field}: {bytes:?}");
        }
    }

    #[test]
    fn malformed_scalars_fail() {
        let s = schema(ALL);
        let err = s.validate_datum(&all(&[("b", vec![2])])).unwrap_err();
        assert!(err.starts_with("field 'b': boolean byte 2"), "{err}");
        // Six-byte int, 32-bit overflow, eleven-byte long, overflowing tenth byte.
        assert!(s
            .validate_datum(&all(&[("i", vec![0x80, 0x80, 0x80, 0x80, 0x80, 0x00])]))
            .is_err());
        assert!(s
            .validate_datum(&all(&[("i", vec![0xff, 0xff, 0xff, 0xff, 0x1f])]))
            .is_err());
        assert!(s
            .validate_datum(&all(&[("l", [vec![0x80; 10], vec![0x00]].concat())]))
            .is_err());
        assert!(s
            .validate_datum(&all(&[("l", [vec![0xff; 9], vec![0x02]].concat())]))
            .is_err());
        let fixed = schema(r#"{"type":"fixed","name":"F","size":3}"#);
        fixed.validate_datum(&[1, 2, 3]).unwrap();
        assert!(fixed.validate_datum(&[1, 2]).is_err());
        assert!(schema(r#""double""#).validate_datum(&[0; 7]).is_err());
        assert!(schema(r#""float""#).validate_datum(&[0; 3]).is_err());
    }

    #[test]
    fn recursion_is_bounded() {
        let s = schema(
            r#"{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"]}]}"#,
        );
        // Each level is a record and a union: 400 levels are 800 deep.
        let mut ok = vec![2u8; 400];
        ok.push(0);
        s.validate_datum(&ok).unwrap();
        let mut deep = vec![2u8; 600];
        deep.push(0);
        let err = s.validate_datum(&deep).unwrap_err();
        assert!(err.contains("nests deeper than 1000"), "{err}");
        assert!(
            err.starts_with("field 'next.next.next.next.next.next.next.next.….next.next"),
            "{err}"
        );
        // The deepest datum allowed fits a small stack, even in a debug build.
        let s2 = s.clone();
        std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(move || {
                let mut limit = vec![2u8; 499];
                limit.push(0);
                s2.validate_datum(&limit).unwrap();
                let mut hostile = vec![2u8; 100_000];
                hostile.push(0);
                assert!(s2.validate_datum(&hostile).is_err());
            })
            .unwrap()
            .join()
            .unwrap();
        // Far deeper input does not overflow the stack.
        let mut hostile = vec![2u8; 1_000_000];
        hostile.push(0);
        assert!(s.validate_datum(&hostile).is_err());
        // Through arrays too.
        let a = schema(
            r#"{"type":"record","name":"T","fields":[{"name":"c","type":{"type":"array","items":"T"}}]}"#,
        );
        a.validate_datum(&[2, 0, 0]).unwrap();
        assert!(a.validate_datum(&vec![2u8; 100_000]).is_err());
    }

    #[test]
    fn zero_width_items_are_counted_not_walked() {
        let nulls = schema(r#"{"type":"array","items":"null"}"#);
        nulls
            .validate_datum(&[long(1 << 60), long(i64::MAX), long(0)].concat())
            .unwrap();
        nulls.validate_datum(&[long(10), long(0)].concat()).unwrap();
        let empty = schema(
            r#"{"type":"array","items":{"type":"record","name":"E","fields":[{"name":"z","type":{"type":"fixed","name":"Z","size":0}}]}}"#,
        );
        empty
            .validate_datum(&[long(-3), long(0), long(0)].concat())
            .unwrap();
        // A record that contains itself only through record fields has no finite datum.
        let endless = AvroSchema::parse(
            r#"{"type":"record","name":"R","fields":[{"name":"r","type":"R"}]}"#,
            &[],
            ParseOptions { validate: false },
        );
        if let Ok(endless) = endless {
            assert!(endless.validate_datum(&[]).is_err());
        }
    }
}
