//! A journal on a real, tiny tmpfs that fills up: writes fail with ENOSPC and leave nothing
//! half-written, every acknowledged record survives reopening while the disk is still full,
//! and writing resumes once space is freed. Needs root for `mount` (CI runs as root); set
//! CHARTER_NO_TMPFS=1 to run the suite elsewhere, which makes this test fail, not pass.

use std::path::Path;
use std::process::Command;

use charter_journal::{Journal, JournalError};

struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok,
            "mounting a tmpfs failed: this test needs root (CI runs as root)"
        );
        Tmpfs(dir)
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn a_full_disk_fails_writes_cleanly_and_loses_nothing_acknowledged() {
    let fs = Tmpfs::mount("256k");
    let dir = fs.path().join("journal");
    let filler = fs.path().join("filler");
    std::fs::write(&filler, vec![7u8; 64 * 1024]).unwrap();
    let (j, _) = Journal::open(&dir).unwrap();
    let record = vec![0x42u8; 1000];
    let mut acknowledged = 0u64;
    let err = loop {
        match j.append(&record).and_then(|_| j.sync()) {
            Ok(()) => acknowledged += 1,
            Err(e) => break e,
        }
        assert!(acknowledged < 10_000, "the tmpfs never filled");
    };
    assert!(err.is_disk_full(), "expected ENOSPC, got {err}");
    assert!(acknowledged > 10);
    // More attempts on the full disk: errors, never a poisoned or half-written journal.
    for _ in 0..5 {
        let e = j.append(&record).unwrap_err();
        assert!(matches!(e, JournalError::Io { .. }), "{e}");
    }
    drop(j);

    // Reopen while the disk is still full: every acknowledged record is there.
    for _ in 0..3 {
        let (j, replay) = Journal::open(&dir).unwrap();
        assert_eq!(replay.records.len() as u64, acknowledged);
        assert!(replay.records.iter().all(|(_, p)| p == &record));
        drop(j);
    }

    // A compaction needs space for its snapshot: it fails, changing nothing.
    let (j, _) = Journal::open(&dir).unwrap();
    assert!(j.compact(b"fewer bytes").is_err());
    j.append(&record).unwrap_err();
    // Space comes back (another file on the same filesystem goes): writes resume.
    std::fs::remove_file(&filler).unwrap();
    j.append(&record).unwrap();
    j.sync().unwrap();
    j.compact(b"fewer bytes").unwrap();
    j.append(&record).unwrap();
    j.sync().unwrap();
    drop(j);
    let (_, replay) = Journal::open(&dir).unwrap();
    assert_eq!(replay.snapshot.as_deref(), Some(&b"fewer bytes"[..]));
    assert_eq!(replay.records.len(), 1);
}
