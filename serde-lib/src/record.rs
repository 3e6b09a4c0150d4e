//! Where a record carries its schema identifier, on the way out and on the way in.
//!
//! Out: [`IdLocation::Prefix`] writes magic byte 0 and the id in front of the payload (the
//! default everywhere); [`IdLocation::Header`] puts magic byte 1 and the schema GUID in a
//! `__value_schema_id` / `__key_schema_id` record header and leaves the payload bare. For
//! Protobuf the message indexes follow the identifier in either place.
//!
//! In: like Confluent's default `DualSchemaIdDeserializer`, the header wins when present and
//! the prefix is read otherwise. When a header appears more than once the **last** one counts
//! (Java's `headers.lastHeader`; records re-produced with headers appended keep working).

use std::borrow::Cow;

use crate::error::{Result, SerdeError};
use crate::schemas::CompiledSchema;
use crate::serializer::Resolved;
use crate::wire::{self, SchemaIdentifier, KEY_SCHEMA_ID_HEADER, VALUE_SCHEMA_ID_HEADER};

/// Where a serializer puts the schema identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdLocation {
    /// Magic byte 0 and the 4-byte id in front of the payload.
    #[default]
    Prefix,
    /// Magic byte 1 and the 16-byte GUID in a record header (Confluent 8.x).
    Header,
}

/// A serialized key or value: the Kafka payload and the headers to add to the record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SerializedRecord {
    /// The bytes to produce as the record's key or value.
    pub payload: Vec<u8>,
    /// `(name, value)` headers to add (empty in prefix mode).
    pub headers: Vec<(String, Vec<u8>)>,
}

/// The header that carries a key's or value's schema identifier.
pub fn id_header_name(is_key: bool) -> &'static str {
    if is_key {
        KEY_SCHEMA_ID_HEADER
    } else {
        VALUE_SCHEMA_ID_HEADER
    }
}

/// Read access to a record's headers, whatever the Kafka client's type.
///
/// ```
/// use charter_serde::record::{id_header_name, RecordHeaders};
/// let headers = vec![
///     ("__value_schema_id".to_string(), vec![1u8; 17]),
///     ("trace".to_string(), b"x".to_vec()),
///     ("__value_schema_id".to_string(), vec![1u8, 2]),
/// ];
/// // The last header of a name wins (Java's `lastHeader`).
/// assert_eq!(headers.last_header(id_header_name(false)), Some(&[1u8, 2][..]));
/// assert_eq!(headers.last_header(id_header_name(true)), None);
/// ```
pub trait RecordHeaders {
    /// The value of the last header called `name`.
    fn last_header(&self, name: &str) -> Option<&[u8]>;
}

impl RecordHeaders for [(String, Vec<u8>)] {
    fn last_header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_slice())
    }
}

impl RecordHeaders for Vec<(String, Vec<u8>)> {
    fn last_header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().last_header(name)
    }
}

impl RecordHeaders for [(&str, &[u8])] {
    fn last_header(&self, name: &str) -> Option<&[u8]> {
        self.iter().rev().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }
}

/// No headers at all.
impl RecordHeaders for () {
    fn last_header(&self, _name: &str) -> Option<&[u8]> {
        None
    }
}

/// Frames `body` written with `schema`: prefix or header, with Protobuf `indexes`.
pub(crate) fn frame(
    schema: &CompiledSchema,
    is_key: bool,
    location: IdLocation,
    indexes: Option<&[i32]>,
    body: &[u8],
) -> Result<SerializedRecord> {
    frame_with(schema, is_key, location, indexes, body.len(), |out| {
        out.extend_from_slice(body);
        Ok(())
    })
}

/// Frames what `write_body` appends, without an intermediate copy of the body: in prefix
/// mode the body is written right after the prefix. `size_hint` sizes the buffer.
pub(crate) fn frame_with(
    schema: &CompiledSchema,
    is_key: bool,
    location: IdLocation,
    indexes: Option<&[i32]>,
    size_hint: usize,
    write_body: impl FnOnce(&mut Vec<u8>) -> Result<()>,
) -> Result<SerializedRecord> {
    match location {
        IdLocation::Prefix => {
            let id = schema.require_id()?;
            let mut payload = Vec::with_capacity(wire::PREFIX_LEN + 8 + size_hint);
            wire::write_prefix(&mut payload, id);
            if let Some(ix) = indexes {
                wire::write_message_indexes(&mut payload, ix);
            }
            write_body(&mut payload)?;
            Ok(SerializedRecord {
                payload,
                headers: Vec::new(),
            })
        }
        IdLocation::Header => {
            let guid = schema
                .guid
                .ok_or_else(|| SerdeError::NoGuid(schema.id.unwrap_or(-1)))?;
            let mut value = Vec::with_capacity(17 + 8);
            wire::write_guid(&mut value, &guid);
            if let Some(ix) = indexes {
                wire::write_message_indexes(&mut value, ix);
            }
            let mut payload = Vec::with_capacity(size_hint);
            write_body(&mut payload)?;
            Ok(SerializedRecord {
                payload,
                headers: vec![(id_header_name(is_key).to_string(), value)],
            })
        }
    }
}

/// [`frame_with`] for a resolved schema: its identifier bytes were written when it was
/// resolved, so framing is one copy of them (the per-record path of the serializers).
pub(crate) fn frame_resolved(
    r: &Resolved,
    is_key: bool,
    location: IdLocation,
    size_hint: usize,
    write_body: impl FnOnce(&mut Vec<u8>) -> Result<()>,
) -> Result<SerializedRecord> {
    match &r.framing {
        Some((IdLocation::Prefix, framing)) if location == IdLocation::Prefix => {
            let mut payload = Vec::with_capacity(framing.len() + size_hint);
            payload.extend_from_slice(framing);
            write_body(&mut payload)?;
            Ok(SerializedRecord {
                payload,
                headers: Vec::new(),
            })
        }
        Some((IdLocation::Header, framing)) if location == IdLocation::Header => {
            let mut payload = Vec::with_capacity(size_hint);
            write_body(&mut payload)?;
            Ok(SerializedRecord {
                payload,
                headers: vec![(id_header_name(is_key).to_string(), framing.clone())],
            })
        }
        _ => frame_with(
            &r.schema,
            is_key,
            location,
            r.indexes.as_deref(),
            size_hint,
            write_body,
        ),
    }
}

/// A record's schema identifier, and the bytes that follow it where it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Located<'a> {
    pub ident: SchemaIdentifier,
    /// Bytes after the identifier in the header (header mode), where Protobuf indexes are.
    pub header_rest: Option<&'a [u8]>,
    /// The payload after the prefix (prefix mode) or the whole payload (header mode).
    pub payload: &'a [u8],
}

/// Finds the schema identifier of a key or value: the last id header, else the prefix.
pub(crate) fn locate<'a, H: RecordHeaders + ?Sized>(
    bytes: &'a [u8],
    headers: &'a H,
    is_key: bool,
) -> Result<Located<'a>> {
    if let Some(h) = headers.last_header(id_header_name(is_key)) {
        let (ident, rest) = wire::read_identifier(h)?;
        return Ok(Located {
            ident,
            header_rest: Some(rest),
            payload: bytes,
        });
    }
    let (ident, payload) = wire::read_identifier(bytes)?;
    Ok(Located {
        ident,
        header_rest: None,
        payload,
    })
}

/// Splits the Protobuf message indexes off a located record: from the header when the id was
/// there, else from the front of the payload. Returns the indexes and the message bytes.
pub(crate) fn protobuf_indexes<'a>(loc: &Located<'a>) -> Result<(Cow<'static, [i32]>, &'a [u8])> {
    // The common path [0] is the single byte 0: no allocation.
    const FIRST: &[i32] = &[0];
    match loc.header_rest {
        Some([0, ..]) => Ok((Cow::Borrowed(FIRST), loc.payload)),
        Some(h) => {
            let (ix, _) = wire::read_message_indexes(h)?;
            Ok((Cow::Owned(ix), loc.payload))
        }
        None => match loc.payload {
            [0, rest @ ..] => Ok((Cow::Borrowed(FIRST), rest)),
            p => {
                let (ix, rest) = wire::read_message_indexes(p)?;
                Ok((Cow::Owned(ix), rest))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_header_wins_and_the_prefix_is_the_fallback() {
        let mut g1 = vec![1u8];
        g1.extend([1; 16]);
        let mut g2 = vec![1u8];
        g2.extend([2; 16]);
        g2.push(0); // protobuf index [0]
        let headers = vec![
            (VALUE_SCHEMA_ID_HEADER.to_string(), g1),
            (KEY_SCHEMA_ID_HEADER.to_string(), vec![0, 0, 0, 0, 9]),
            (VALUE_SCHEMA_ID_HEADER.to_string(), g2),
        ];
        let loc = locate(b"body", &headers, false).unwrap();
        assert_eq!(loc.ident, SchemaIdentifier::Guid([2; 16]));
        let (ix, body) = protobuf_indexes(&loc).unwrap();
        assert_eq!((&*ix, body), (&[0][..], &b"body"[..]));
        let loc = locate(b"body", &headers, true).unwrap();
        assert_eq!(loc.ident, SchemaIdentifier::Id(9));
        let loc = locate(&[0, 0, 0, 0, 3, 4, 2, 0, b'm'], &(), false).unwrap();
        assert_eq!(loc.ident, SchemaIdentifier::Id(3));
        let (ix, body) = protobuf_indexes(&loc).unwrap();
        assert_eq!((&*ix, body), (&[1, 0][..], &b"m"[..]));
    }

    #[test]
    fn bad_frames_are_clear_errors() {
        let e = locate(&[0, 0, 1], &(), false).unwrap_err();
        assert!(
            matches!(e, SerdeError::Wire(wire::WireError::Truncated(3))),
            "{e}"
        );
        let e = locate(&[9, 0, 0, 0, 1], &(), false).unwrap_err();
        assert_eq!(e.to_string(), "bad framing: unknown magic byte 9");
        let bad_header = vec![(VALUE_SCHEMA_ID_HEADER.to_string(), vec![1, 2, 3])];
        assert!(locate(b"x", &bad_header, false).is_err());
    }
}
