//! The on-disk shape of one journal record, and of a snapshot.
//!
//! A record is `len u32 | crc32c u32 | seq u64 | payload[len]` (little-endian). The CRC covers
//! the sequence number and the payload, so a record copied to the wrong place, a torn write
//! and a flipped bit all fail the same check. Decoding never trusts `len` beyond the bytes
//! actually present, so garbage cannot make it allocate.

/// Bytes before a record's payload.
pub const RECORD_HEADER: usize = 16;
/// The largest payload a record may carry. Bigger lengths read from disk are damage.
pub const MAX_RECORD: usize = 64 << 20;

/// Magic of a snapshot file, version 1.
pub const SNAPSHOT_MAGIC: &[u8; 8] = b"CHJSNAP1";
/// Bytes before a snapshot's payload: magic, seq, mark, len, crc.
pub const SNAPSHOT_HEADER: usize = 8 + 8 + 8 + 4 + 4;

/// Appends the encoding of record `seq` to `out`.
pub fn encode(seq: u64, payload: &[u8], out: &mut Vec<u8>) {
    debug_assert!(payload.len() <= MAX_RECORD);
    out.reserve(RECORD_HEADER + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&record_crc(seq, payload).to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(payload);
}

fn record_crc(seq: u64, payload: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&seq.to_le_bytes()), payload)
}

/// What [`decode`] found at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A whole, intact record and the number of bytes it took.
    Record {
        seq: u64,
        payload: &'a [u8],
        len: usize,
    },
    /// The buffer ends inside a record (or is empty): a torn or unfinished write.
    Short,
    /// The bytes are not a record: bad length or checksum.
    Bad(&'static str),
}

/// Decodes the record at the start of `buf`.
pub fn decode(buf: &[u8]) -> Decoded<'_> {
    if buf.len() < RECORD_HEADER {
        return Decoded::Short;
    }
    let len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    let crc = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
    let mut seq_bytes = [0u8; 8];
    seq_bytes.copy_from_slice(&buf[8..16]);
    let seq = u64::from_le_bytes(seq_bytes);
    if len > MAX_RECORD {
        return Decoded::Bad("record length out of range");
    }
    let Some(payload) = buf.get(RECORD_HEADER..RECORD_HEADER + len) else {
        return Decoded::Short;
    };
    if record_crc(seq, payload) != crc {
        return Decoded::Bad("record checksum mismatch");
    }
    Decoded::Record {
        seq,
        payload,
        len: RECORD_HEADER + len,
    }
}

/// The encoding of a snapshot of everything up to `seq`, with the owner's `mark`.
pub fn encode_snapshot(seq: u64, mark: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(SNAPSHOT_HEADER + payload.len());
    out.extend_from_slice(SNAPSHOT_MAGIC);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&mark.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&out[8..28]), payload);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// A decoded snapshot: `(seq, mark, payload)`, or why the bytes are not one.
pub fn decode_snapshot(buf: &[u8]) -> Result<(u64, u64, &[u8]), &'static str> {
    if buf.len() < SNAPSHOT_HEADER || &buf[..8] != SNAPSHOT_MAGIC {
        return Err("not a snapshot");
    }
    let u64_at = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&buf[i..i + 8]);
        u64::from_le_bytes(b)
    };
    let seq = u64_at(8);
    let mark = u64_at(16);
    let len = u32::from_le_bytes([buf[24], buf[25], buf[26], buf[27]]) as usize;
    let crc = u32::from_le_bytes([buf[28], buf[29], buf[30], buf[31]]);
    if buf.len() != SNAPSHOT_HEADER + len {
        return Err("snapshot length mismatch");
    }
    let payload = &buf[SNAPSHOT_HEADER..];
    if crc32c::crc32c_append(crc32c::crc32c(&buf[8..28]), payload) != crc {
        return Err("snapshot checksum mismatch");
    }
    Ok((seq, mark, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_damage_is_seen() {
        let mut buf = Vec::new();
        encode(7, b"hello", &mut buf);
        encode(8, b"", &mut buf);
        let Decoded::Record { seq, payload, len } = decode(&buf) else {
            panic!("first record")
        };
        assert_eq!((seq, payload), (7, &b"hello"[..]));
        assert_eq!(
            decode(&buf[len..]),
            Decoded::Record {
                seq: 8,
                payload: b"",
                len: 16
            }
        );

        // Every proper prefix of a record is short, never a record.
        for cut in 0..len {
            assert_eq!(decode(&buf[..cut]), Decoded::Short, "cut at {cut}");
        }
        // Every single flipped bit is caught (length bits may also read as short).
        for i in 0..len {
            for bit in 0..8 {
                let mut b = buf.clone();
                b[i] ^= 1 << bit;
                assert!(
                    !matches!(decode(&b), Decoded::Record { seq: 7, payload, .. } if payload == b"hello"),
                    "flip {i}:{bit} went unseen"
                );
            }
        }
    }

    #[test]
    fn hostile_lengths_do_not_allocate() {
        let mut buf = vec![0xff; 16];
        assert_eq!(decode(&buf), Decoded::Bad("record length out of range"));
        buf[..4].copy_from_slice(&(MAX_RECORD as u32).to_le_bytes());
        assert_eq!(decode(&buf), Decoded::Short);
    }

    #[test]
    fn snapshots_round_trip_and_damage_is_seen() {
        let s = encode_snapshot(42, 9, b"state");
        assert_eq!(decode_snapshot(&s), Ok((42, 9, &b"state"[..])));
        for i in 0..s.len() {
            let mut b = s.clone();
            b[i] ^= 0x10;
            assert!(decode_snapshot(&b).is_err(), "flip at {i}");
        }
        assert!(decode_snapshot(&s[..s.len() - 1]).is_err());
    }
}
