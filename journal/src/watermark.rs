//! The watermark: the highest sequence number ever acknowledged, kept outside the log.
//!
//! The log alone cannot tell a torn tail (records that were being written when the process
//! died, never acknowledged, safe to drop) from damage (records that were acknowledged and
//! are now unreadable). The watermark can: it is written after every flush of the log and
//! before anyone is told, so every record at or below it was acknowledged-durable, and a log
//! that cannot reach it has lost acknowledged writes.
//!
//! It also carries the owner's `mark`, a number that only grows (the registry keeps its next
//! schema id there), so an owner can check that replay did not go backwards.
//!
//! Two slots, written alternately, each checksummed: a torn write of one slot leaves the
//! other, older and still valid (TigerBeetle keeps several superblock copies for the same
//! reason). The file is preallocated, so updates overwrite blocks in place and need no free
//! space.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

const MAGIC: &[u8; 8] = b"CHJWMK01";
const SLOT_LEN: usize = 36;
/// Slots sit in different 4 KiB blocks, so one torn block write cannot hit both.
const SLOT_OFFSETS: [u64; 2] = [0, 4096];
/// The file's preallocated size.
pub const FILE_LEN: u64 = 8192;

/// One watermark value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Watermark {
    /// How many times the watermark was written; picks the newer slot.
    pub generation: u64,
    /// Every record with a sequence number up to this one was acknowledged.
    pub seq: u64,
    /// The owner's monotonic number.
    pub mark: u64,
}

fn encode(w: &Watermark) -> [u8; SLOT_LEN] {
    let mut b = [0u8; SLOT_LEN];
    b[..8].copy_from_slice(MAGIC);
    b[8..16].copy_from_slice(&w.generation.to_le_bytes());
    b[16..24].copy_from_slice(&w.seq.to_le_bytes());
    b[24..32].copy_from_slice(&w.mark.to_le_bytes());
    let crc = crc32c::crc32c(&b[..32]);
    b[32..36].copy_from_slice(&crc.to_le_bytes());
    b
}

fn decode(b: &[u8]) -> Option<Watermark> {
    if b.len() < SLOT_LEN || &b[..8] != MAGIC {
        return None;
    }
    let crc = u32::from_le_bytes([b[32], b[33], b[34], b[35]]);
    if crc32c::crc32c(&b[..32]) != crc {
        return None;
    }
    let u = |i: usize| {
        let mut x = [0u8; 8];
        x.copy_from_slice(&b[i..i + 8]);
        u64::from_le_bytes(x)
    };
    Some(Watermark {
        generation: u(8),
        seq: u(16),
        mark: u(24),
    })
}

/// Reads the newest valid slot of `file`, or `None` when neither slot is valid.
pub fn read(file: &File) -> io::Result<Option<Watermark>> {
    let mut best: Option<Watermark> = None;
    for off in SLOT_OFFSETS {
        let mut b = [0u8; SLOT_LEN];
        match file.read_exact_at(&mut b, off) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => continue,
            Err(e) => return Err(e),
        }
        if let Some(w) = decode(&b) {
            if best.is_none_or(|x| w.generation > x.generation) {
                best = Some(w);
            }
        }
    }
    Ok(best)
}

/// Writes `w` into the slot its generation selects and makes it durable.
pub fn write(file: &File, w: &Watermark) -> io::Result<()> {
    let off = SLOT_OFFSETS[(w.generation % 2) as usize];
    file.write_all_at(&encode(w), off)?;
    file.sync_data()
}

/// Fills a new watermark file: both slots hold `w` (generations `w.generation` and one less).
pub fn init(file: &File, w: &Watermark) -> io::Result<()> {
    file.set_len(FILE_LEN)?;
    let older = Watermark {
        generation: w.generation.saturating_sub(1),
        ..*w
    };
    file.write_all_at(
        &encode(&older),
        SLOT_OFFSETS[(older.generation % 2) as usize],
    )?;
    file.write_all_at(&encode(w), SLOT_OFFSETS[(w.generation % 2) as usize])?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_valid_slot_wins_and_a_torn_slot_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.path().join("w"))
            .unwrap();
        init(
            &f,
            &Watermark {
                generation: 1,
                seq: 0,
                mark: 0,
            },
        )
        .unwrap();
        assert_eq!(read(&f).unwrap().unwrap().generation, 1);
        let w2 = Watermark {
            generation: 2,
            seq: 10,
            mark: 5,
        };
        write(&f, &w2).unwrap();
        assert_eq!(read(&f).unwrap(), Some(w2));

        // Tear the newest slot: the older one is still a valid (lower) watermark.
        f.write_all_at(&[0xAB; 7], SLOT_OFFSETS[0] + 20).unwrap();
        assert_eq!(read(&f).unwrap().unwrap().generation, 1);
        // Both torn: no watermark at all.
        f.write_all_at(&[0xAB; 7], SLOT_OFFSETS[1] + 20).unwrap();
        assert_eq!(read(&f).unwrap(), None);
    }
}
