//! What a partition's files mean on open: which bytes are a torn tail to cut, which are
//! damage to keep aside, and which offsets must never be handed out again.
//!
//! * Sealed segments were fsync'd when they were rolled, so they are never truncated: each
//!   gets the cheap check of [`Segment::open_checked`]. One that fails it is quarantined
//!   (`NNN.log.damaged`); a range no file covers (a deleted segment) gets an empty
//!   `NNN.log.damaged` marker. Reads inside such a range are refused until an operator
//!   restores the file or renames it to `NNN.log.lost` to accept the loss (reads then skip
//!   the range).
//! * The active segment is scanned batch by batch. Damage past the recovery point with
//!   nothing valid after it is a torn tail and is cut; damage below the recovery point, or
//!   followed by valid batches, is quarantined like a sealed segment and a new active
//!   segment starts after everything the file is known to have held.
//! * The log end never goes below the recovery point, the newest producer snapshot or the
//!   end of a quarantined range: offsets that may have been acknowledged are not reused.
//!   Without a recovery point file, every sealed segment counts as flushed and only the
//!   active segment as the tail.

use std::collections::BTreeMap;
use std::path::Path;

use super::segment::{self, Segment};
use super::{checkpoint, LogConfig, LogError};

/// A range of offsets with no readable data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// One past the last offset of the range.
    pub end: i64,
    /// The operator accepted the loss (`.log.lost`): reads skip the range instead of failing.
    pub lost: bool,
}

/// The partition's state as recovered from its files.
#[derive(Debug, Default)]
pub struct Recovered {
    pub segments: BTreeMap<i64, Segment>,
    /// Start offset → gap.
    pub gaps: BTreeMap<i64, Gap>,
    /// (epoch, first offset) seen in scanned batches, for a lost epoch checkpoint.
    pub epoch_starts: Vec<(i32, i64)>,
    /// Segments that were scanned and must be synced before the recovery point moves.
    pub scanned: Vec<i64>,
    pub bytes_truncated: u64,
    pub segments_quarantined: usize,
    /// Recovery changed the directory (cut, quarantined, marked or created something).
    pub changed: bool,
}

/// Files found in a partition directory.
#[derive(Debug, Default)]
pub struct Listing {
    /// Base offsets of `.log` files, sorted.
    pub bases: Vec<i64>,
    /// Base offsets of `.log.damaged` (false) and `.log.lost` (true) files.
    pub markers: BTreeMap<i64, bool>,
    /// Offsets of producer snapshots.
    pub snapshots: Vec<i64>,
}

/// Opens every segment of `dir` under the rules above.
pub fn recover(dir: &Path, config: &LogConfig, listing: &Listing) -> Result<Recovered, LogError> {
    let interval = config.index_interval_bytes;
    let mut out = Recovered::default();
    let Some((&active_base, sealed)) = listing.bases.split_last() else {
        // Only markers (or nothing): the log restarts after them.
        let end = listing.markers.keys().max().map_or(0, |&m| m + 1);
        add_marker_gaps(listing, end, &mut out);
        let start = known_end(dir, listing, &out).max(end);
        out.segments
            .insert(start, Segment::create(dir, start, interval)?);
        out.scanned.push(start);
        out.changed = true;
        return Ok(out);
    };
    let boundary_after = |offset: i64| -> Option<i64> {
        let next_base = listing.bases.iter().copied().find(|&b| b > offset);
        let next_marker = listing.markers.range(offset + 1..).next().map(|(&m, _)| m);
        match (next_base, next_marker) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    };

    for &base in sealed {
        // A sealed segment always has a later segment, so a boundary exists.
        let next = boundary_after(base).unwrap_or(active_base);
        match Segment::open_checked(dir, base, interval)? {
            Ok(seg) if seg.next_offset() <= next => {
                if let Some(h) = seg.header_at(0) {
                    out.epoch_starts
                        .push((h.partition_leader_epoch, h.base_offset));
                }
                if seg.next_offset() < next {
                    tracing::error!(
                        dir = %dir.display(), segment = base, missing_from = seg.next_offset(),
                        missing_to = next,
                        "offsets missing between segments; reads there are refused until an \
                         operator decides (see README, Operations)"
                    );
                    segment::mark_missing(dir, seg.next_offset())?;
                    out.changed = true;
                    out.gaps.insert(
                        seg.next_offset(),
                        Gap {
                            end: next,
                            lost: false,
                        },
                    );
                }
                out.segments.insert(base, seg);
            }
            Ok(seg) => {
                let why = format!(
                    "ends at offset {}, past the next segment's base {next}",
                    seg.next_offset()
                );
                drop(seg);
                quarantine(dir, base, next, &why, &mut out)?;
            }
            Err(why) => quarantine(dir, base, next, &why, &mut out)?,
        }
    }

    let recovery_point = checkpoint::read_recovery_point_opt(dir).unwrap_or(active_base);
    let (seg, rep) = Segment::recover(dir, active_base, interval, recovery_point)?;
    out.epoch_starts.extend(rep.epoch_starts);
    match rep.damaged {
        Some(known) => {
            let why = rep.reason.unwrap_or_default();
            drop(seg);
            let end = known.max(recovery_point).max(active_base + 1);
            quarantine(dir, active_base, end, &why, &mut out)?;
        }
        None => {
            if let Some(reason) = &rep.reason {
                tracing::warn!(
                    dir = %dir.display(), segment = active_base, truncated = rep.truncated_bytes,
                    "log recovery cut a torn tail: {reason}"
                );
            }
            out.bytes_truncated += rep.truncated_bytes;
            out.changed |= rep.truncated_bytes > 0;
            out.scanned.push(active_base);
            out.segments.insert(active_base, seg);
        }
    }

    let tail_base = out.segments.keys().next_back().copied();
    let tail_end = out.segments.values().next_back().map(Segment::next_offset);
    add_marker_gaps(listing, tail_end.unwrap_or(0), &mut out);
    let known = known_end(dir, listing, &out).max(recovery_point);
    let end = tail_end.unwrap_or(known);
    if tail_end.is_none() || known > end {
        // The files end before offsets that existed (the active segment was quarantined or
        // lost): continue after them, and refuse the range in between if nothing covers it.
        let start = known.max(end);
        if let (Some(b), Some(e)) = (tail_base, tail_end) {
            if e < start && !out.gaps.contains_key(&e) {
                tracing::error!(
                    dir = %dir.display(), segment = b, missing_from = e, missing_to = start,
                    "the log ends before offsets it held; they are refused until an operator \
                     decides (see README, Operations)"
                );
                segment::mark_missing(dir, e)?;
                out.gaps.insert(
                    e,
                    Gap {
                        end: start,
                        lost: false,
                    },
                );
            }
            if let Some(s) = out.segments.get_mut(&b) {
                s.seal()?;
            }
        }
        out.segments
            .insert(start, Segment::create(dir, start, interval)?);
        out.scanned.push(start);
        out.changed = true;
    }
    Ok(out)
}

/// Gaps for marker files found on disk, each ending at the next boundary (or `tail_end`).
fn add_marker_gaps(listing: &Listing, tail_end: i64, out: &mut Recovered) {
    for (&start, &lost) in &listing.markers {
        if out.gaps.contains_key(&start) {
            continue;
        }
        let end = listing
            .bases
            .iter()
            .copied()
            .chain(listing.markers.keys().copied())
            .filter(|&b| b > start)
            .min()
            .unwrap_or(tail_end.max(start + 1));
        out.gaps.insert(start, Gap { end, lost });
    }
}

/// One past the highest offset the directory proves existed: gap ends and snapshots.
fn known_end(_dir: &Path, listing: &Listing, out: &Recovered) -> i64 {
    let gaps = out.gaps.values().map(|g| g.end).max().unwrap_or(0);
    let snapshots = listing.snapshots.iter().copied().max().unwrap_or(0);
    gaps.max(snapshots)
}

fn quarantine(
    dir: &Path,
    base: i64,
    end: i64,
    why: &str,
    out: &mut Recovered,
) -> Result<(), LogError> {
    tracing::error!(
        dir = %dir.display(), segment = base, end,
        "damaged segment quarantined as {}: {why}; reads of offsets {base}..{end} are refused \
         until an operator decides (see README, Operations)",
        segment::file_name(base, segment::DAMAGED_EXT)
    );
    segment::quarantine(dir, base)?;
    out.segments_quarantined += 1;
    out.changed = true;
    out.gaps.insert(base, Gap { end, lost: false });
    Ok(())
}
