//! Small checkpoint files in a partition directory, in Kafka's text format
//! (`version\ncount\nentry…`), each replaced atomically (write temp, fsync, rename, fsync dir).
//!
//! * `recovery-point-checkpoint`: one entry, the offset below which every segment was flushed
//!   and verified, so open only rescans segments from there on.
//! * `leader-epoch-checkpoint`: `epoch start_offset` lines, exactly like Kafka's file, for
//!   follower truncation (OffsetsForLeaderEpoch) once replication exists.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// File name of the recovery point checkpoint.
pub const RECOVERY_POINT_FILE: &str = "recovery-point-checkpoint";
/// File name of the leader epoch checkpoint (Kafka's name).
pub const LEADER_EPOCH_FILE: &str = "leader-epoch-checkpoint";

/// fsync a directory so renames and new files in it survive a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

pub(crate) fn write_atomic(dir: &Path, name: &str, lines: &[String]) -> io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let mut body = String::new();
    body.push_str("0\n");
    body.push_str(&format!("{}\n", lines.len()));
    for l in lines {
        body.push_str(l);
        body.push('\n');
    }
    let mut f = File::create(&tmp)?;
    f.write_all(body.as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, dir.join(name))?;
    sync_dir(dir)
}

/// Read a checkpoint's entry lines; `None` if the file is missing or malformed (callers then
/// fall back to the safe default: full recovery, or epochs rebuilt from the batches).
pub(crate) fn read_lines(path: &Path) -> Option<Vec<String>> {
    let text = fs::read_to_string(path).ok()?;
    let mut it = text.lines();
    if it.next()?.trim() != "0" {
        return None;
    }
    let n: usize = it.next()?.trim().parse().ok()?;
    let lines: Vec<String> = it.take(n).map(|l| l.trim().to_string()).collect();
    (lines.len() == n).then_some(lines)
}

/// Write the recovery point.
pub fn write_recovery_point(dir: &Path, offset: i64) -> io::Result<()> {
    write_atomic(dir, RECOVERY_POINT_FILE, &[offset.to_string()])
}

/// Read the recovery point; 0 (recover everything) when absent or unreadable.
pub fn read_recovery_point(dir: &Path) -> i64 {
    read_recovery_point_opt(dir).unwrap_or(0)
}

/// Read the recovery point; `None` when absent or unreadable.
pub fn read_recovery_point_opt(dir: &Path) -> Option<i64> {
    read_lines(&dir.join(RECOVERY_POINT_FILE)).and_then(|l| l.first().and_then(|s| s.parse().ok()))
}

/// Write the leader epoch entries.
pub fn write_leader_epochs(dir: &Path, entries: &[(i32, i64)]) -> io::Result<()> {
    let lines: Vec<String> = entries.iter().map(|(e, o)| format!("{e} {o}")).collect();
    write_atomic(dir, LEADER_EPOCH_FILE, &lines)
}

/// Read the leader epoch entries; empty when absent or malformed.
pub fn read_leader_epochs(dir: &Path) -> Vec<(i32, i64)> {
    let Some(lines) = read_lines(&dir.join(LEADER_EPOCH_FILE)) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(lines.len());
    for l in lines {
        let mut parts = l.split_whitespace();
        match (
            parts.next().and_then(|s| s.parse().ok()),
            parts.next().and_then(|s| s.parse().ok()),
        ) {
            (Some(e), Some(o)) => out.push((e, o)),
            _ => return Vec::new(),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_defaults() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(read_recovery_point(d.path()), 0);
        write_recovery_point(d.path(), 1234).unwrap();
        assert_eq!(read_recovery_point(d.path()), 1234);
        write_leader_epochs(d.path(), &[(0, 0), (3, 150)]).unwrap();
        assert_eq!(read_leader_epochs(d.path()), vec![(0, 0), (3, 150)]);
        let text = fs::read_to_string(d.path().join(LEADER_EPOCH_FILE)).unwrap();
        assert_eq!(text, "0\n2\n0 0\n3 150\n");
        fs::write(d.path().join(RECOVERY_POINT_FILE), "0\n1\ngarbage\n").unwrap();
        assert_eq!(read_recovery_point(d.path()), 0);
    }
}
