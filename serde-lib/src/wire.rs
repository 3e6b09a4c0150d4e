//! The Confluent wire format: how a record value names the schema it was written with.
//!
//! Two framings exist:
//! - **Prefix** (the default everywhere): magic byte `0`, the schema id as a 4-byte big-endian
//!   int, then the payload. For Protobuf the payload starts with the message-index array.
//! - **Header** (Confluent 8.x): a `__value_schema_id` / `__key_schema_id` record header holding
//!   magic byte `1` and the schema's 16-byte GUID (plus, for Protobuf, the message indexes);
//!   the value is then the bare payload.
//!
//! Every decoder here bounds-checks what it reads and returns an error instead of panicking:
//! these bytes come from the network.
//!
//! ```
//! use charter_serde::wire::{self, Framed};
//! let bytes = wire::frame(42, b"payload");
//! assert_eq!(&bytes[..5], &[0, 0, 0, 0, 42]);
//! let Framed { schema_id, payload } = wire::unframe(&bytes).unwrap();
//! assert_eq!((schema_id, payload), (42, &b"payload"[..]));
//! ```

/// The magic byte of prefix framing.
pub const MAGIC_BYTE_ID: u8 = 0;
/// The magic byte of a GUID schema identifier (header mode).
pub const MAGIC_BYTE_GUID: u8 = 1;
/// Length of the prefix: magic byte plus 4-byte id.
pub const PREFIX_LEN: usize = 5;
/// Record header carrying a value's schema GUID.
pub const VALUE_SCHEMA_ID_HEADER: &str = "__value_schema_id";
/// Record header carrying a key's schema GUID.
pub const KEY_SCHEMA_ID_HEADER: &str = "__key_schema_id";
/// The most message indexes a decoder accepts (confluent-kafka-python's bound).
pub const MAX_MESSAGE_INDEXES: usize = 100_000;

/// What can be wrong with framed bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("record is too short to be framed: {0} bytes")]
    Truncated(usize),
    #[error("unknown magic byte {0}")]
    UnknownMagicByte(u8),
    #[error("malformed message indexes: {0}")]
    MessageIndexes(&'static str),
}

/// A prefix-framed record: the schema id and what follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framed<'a> {
    pub schema_id: i32,
    pub payload: &'a [u8],
}

/// Prefixes `payload` with magic byte 0 and `schema_id`.
pub fn frame(schema_id: i32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(PREFIX_LEN + payload.len());
    write_prefix(&mut out, schema_id);
    out.extend_from_slice(payload);
    out
}

/// Appends magic byte 0 and the big-endian id.
pub fn write_prefix(out: &mut Vec<u8>, schema_id: i32) {
    out.push(MAGIC_BYTE_ID);
    out.extend_from_slice(&schema_id.to_be_bytes());
}

/// Splits a prefix-framed record into its schema id and payload.
pub fn unframe(bytes: &[u8]) -> Result<Framed<'_>, WireError> {
    let (&magic, rest) = bytes.split_first().ok_or(WireError::Truncated(0))?;
    if magic != MAGIC_BYTE_ID {
        return Err(WireError::UnknownMagicByte(magic));
    }
    let id: [u8; 4] = rest
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(WireError::Truncated(bytes.len()))?;
    Ok(Framed {
        schema_id: i32::from_be_bytes(id),
        payload: &rest[4..],
    })
}

/// A schema identifier as it appears in a header value (or, generically, in front of a
/// payload): an int id (magic 0) or a GUID (magic 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaIdentifier {
    Id(i32),
    Guid([u8; 16]),
}

/// Reads a schema identifier (either magic byte); returns it and the bytes after it.
pub fn read_identifier(bytes: &[u8]) -> Result<(SchemaIdentifier, &[u8]), WireError> {
    let (&magic, rest) = bytes.split_first().ok_or(WireError::Truncated(0))?;
    match magic {
        MAGIC_BYTE_ID => {
            let f = unframe(bytes)?;
            Ok((SchemaIdentifier::Id(f.schema_id), f.payload))
        }
        MAGIC_BYTE_GUID => {
            let guid: [u8; 16] = rest
                .get(..16)
                .and_then(|b| b.try_into().ok())
                .ok_or(WireError::Truncated(bytes.len()))?;
            Ok((SchemaIdentifier::Guid(guid), &rest[16..]))
        }
        other => Err(WireError::UnknownMagicByte(other)),
    }
}

/// Writes a header value: magic 1 and the GUID.
pub fn write_guid(out: &mut Vec<u8>, guid: &[u8; 16]) {
    out.push(MAGIC_BYTE_GUID);
    out.extend_from_slice(guid);
}

/// Appends Protobuf message indexes: the path `[0]` as the single byte `0`, anything else
/// as a zigzag-varint count followed by zigzag-varint indexes.
pub fn write_message_indexes(out: &mut Vec<u8>, indexes: &[i32]) {
    if indexes == [0] {
        out.push(0);
        return;
    }
    write_zigzag(out, indexes.len() as i64);
    for i in indexes {
        write_zigzag(out, *i as i64);
    }
}

/// Reads Protobuf message indexes; returns them and the bytes after them. A count of 0 means
/// `[0]`; the long form of `[0]` is accepted too. Negative indexes and counts are errors.
pub fn read_message_indexes(bytes: &[u8]) -> Result<(Vec<i32>, &[u8]), WireError> {
    let (count, mut rest) = read_zigzag(bytes)?;
    if count == 0 {
        return Ok((vec![0], rest));
    }
    if count < 0 {
        return Err(WireError::MessageIndexes("negative count"));
    }
    // Each index takes at least one byte: a count beyond the input is a lie.
    if count as usize > MAX_MESSAGE_INDEXES || count as usize > rest.len() {
        return Err(WireError::MessageIndexes("count exceeds the input"));
    }
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let (i, r) = read_zigzag(rest)?;
        if !(0..=i32::MAX as i64).contains(&i) {
            return Err(WireError::MessageIndexes("index out of range"));
        }
        out.push(i as i32);
        rest = r;
    }
    Ok((out, rest))
}

/// Appends `v` as a zigzag varint (Kafka's `writeVarlong`, Avro's int/long encoding).
pub fn write_zigzag(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn read_zigzag(bytes: &[u8]) -> Result<(i64, &[u8]), WireError> {
    let mut z: u64 = 0;
    for (n, b) in bytes.iter().enumerate().take(10) {
        z |= ((b & 0x7f) as u64) << (7 * n);
        if b & 0x80 == 0 {
            let v = ((z >> 1) as i64) ^ -((z & 1) as i64);
            return Ok((v, &bytes[n + 1..]));
        }
    }
    Err(WireError::MessageIndexes("truncated or overlong varint"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_round_trip_and_errors() {
        let b = frame(0x0102_0304, b"xy");
        assert_eq!(b, [0, 1, 2, 3, 4, b'x', b'y']);
        assert_eq!(
            unframe(&b),
            Ok(Framed {
                schema_id: 0x0102_0304,
                payload: b"xy"
            })
        );
        assert_eq!(unframe(&[]), Err(WireError::Truncated(0)));
        assert_eq!(unframe(&[0, 0, 1]), Err(WireError::Truncated(3)));
        assert_eq!(
            unframe(&[7, 0, 0, 0, 1]),
            Err(WireError::UnknownMagicByte(7))
        );
        assert_eq!(unframe(&[0, 0, 0, 0, 1]).map(|f| f.payload.len()), Ok(0));
    }

    #[test]
    fn message_index_golden_bytes() {
        let enc = |ix: &[i32]| {
            let mut v = Vec::new();
            write_message_indexes(&mut v, ix);
            v
        };
        assert_eq!(enc(&[0]), [0x00]);
        assert_eq!(enc(&[1]), [0x02, 0x02]);
        assert_eq!(enc(&[1, 0]), [0x04, 0x02, 0x00]);
        assert_eq!(enc(&[0, 2, 64]), [0x06, 0x00, 0x04, 0x80, 0x01]);
        for ix in [&[0][..], &[1], &[1, 0], &[0, 2, 64], &[300, 5, 0]] {
            let bytes = [enc(ix), b"rest".to_vec()].concat();
            let (got, rest) = read_message_indexes(&bytes).unwrap();
            assert_eq!((got.as_slice(), rest), (ix, &b"rest"[..]));
        }
        // The long form of [0] decodes too.
        assert_eq!(read_message_indexes(&[0x02, 0x00]).unwrap().0, vec![0]);
    }

    #[test]
    fn hostile_message_indexes_are_errors() {
        assert!(read_message_indexes(&[]).is_err());
        assert!(read_message_indexes(&[0x01]).is_err(), "negative count");
        assert!(
            read_message_indexes(&[0x02, 0x01]).is_err(),
            "negative index"
        );
        assert!(
            read_message_indexes(&[0xfe, 0xff, 0xff, 0xff, 0x0f]).is_err(),
            "huge count"
        );
        assert!(
            read_message_indexes(&[0x80; 20]).is_err(),
            "overlong varint"
        );
        assert!(read_message_indexes(&[0x04, 0x02]).is_err(), "truncated");
    }

    #[test]
    fn guid_identifiers() {
        let guid = [7u8; 16];
        let mut v = Vec::new();
        write_guid(&mut v, &guid);
        v.push(9);
        assert_eq!(
            read_identifier(&v),
            Ok((SchemaIdentifier::Guid(guid), &[9u8][..]))
        );
        assert_eq!(
            read_identifier(&[0, 0, 0, 0, 5]),
            Ok((SchemaIdentifier::Id(5), &[][..]))
        );
        assert_eq!(read_identifier(&[1, 2, 3]), Err(WireError::Truncated(3)));
        assert_eq!(read_identifier(&[2]), Err(WireError::UnknownMagicByte(2)));
    }
}
