//! A segment's `.log` file, held open only while it is in use.
//!
//! The active segment is written all the time and keeps its descriptor. A sealed segment is
//! read only when a consumer is behind or a time lookup reaches it, so holding every sealed
//! segment's descriptor would cost one fd per segment of every partition for files that are
//! mostly never read (Kafka keeps them all open and asks operators for a huge `ulimit -n`).
//! Here a sealed segment's file is opened on first use and closed by
//! [`SegmentFile::release_if_idle`] once it has gone unused for a while.
//!
//! Readers get an `Arc<File>`, so a release never closes a file under a reader: the descriptor
//! lives until the last reader drops its handle.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// Milliseconds on a process-wide monotonic clock (only differences matter).
fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// The `.log` file of one segment.
#[derive(Debug)]
pub struct SegmentFile {
    path: PathBuf,
    open: Mutex<Option<Arc<File>>>,
    /// When the file was last handed out, on [`now_ms`]'s clock.
    last_use: AtomicU64,
}

impl SegmentFile {
    /// Create (or truncate) the file and keep it open.
    pub fn create(path: &Path) -> io::Result<SegmentFile> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        Ok(SegmentFile::with(path, Some(file)))
    }

    /// Open an existing file now (for a segment about to be scanned or written).
    pub fn open(path: &Path) -> io::Result<SegmentFile> {
        Ok(SegmentFile::with(path, Some(open_existing(path)?)))
    }

    /// An existing file that is opened on first use.
    pub fn lazy(path: &Path) -> SegmentFile {
        SegmentFile::with(path, None)
    }

    fn with(path: &Path, file: Option<File>) -> SegmentFile {
        SegmentFile {
            path: path.to_path_buf(),
            open: Mutex::new(file.map(Arc::new)),
            last_use: AtomicU64::new(now_ms()),
        }
    }

    /// The open file, opening it if it was released. The file is never created here: a
    /// segment file that disappeared is an error, not an empty segment.
    pub fn get(&self) -> io::Result<Arc<File>> {
        self.last_use.store(now_ms(), Ordering::Relaxed);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(file) = &*open {
            return Ok(Arc::clone(file));
        }
        let file = Arc::new(open_existing(&self.path)?);
        *open = Some(Arc::clone(&file));
        Ok(file)
    }

    /// The file if it is open now, without opening it (a closed file has nothing to sync).
    pub fn if_open(&self) -> Option<Arc<File>> {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Drop this handle's descriptor if the file has not been used for `idle`. True if a
    /// descriptor was dropped (it closes once readers still holding it finish).
    pub fn release_if_idle(&self, idle: Duration) -> bool {
        let unused_for = now_ms().saturating_sub(self.last_use.load(Ordering::Relaxed));
        if unused_for < idle.as_millis() as u64 {
            return false;
        }
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .is_some()
    }

    /// True while this handle holds a descriptor.
    pub fn is_open(&self) -> bool {
        self.if_open().is_some()
    }
}

fn open_existing(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_file_opens_on_use_and_closes_when_idle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000000.log");
        std::fs::write(&path, b"abc").unwrap();
        let f = SegmentFile::lazy(&path);
        assert!(!f.is_open());
        let handle = f.get().unwrap();
        assert!(f.is_open());
        // Used just now: not idle.
        assert!(!f.release_if_idle(Duration::from_secs(60)));
        assert!(f.release_if_idle(Duration::ZERO));
        assert!(!f.is_open());
        // A reader's handle outlives the release.
        let mut buf = [0u8; 3];
        std::os::unix::fs::FileExt::read_exact_at(&*handle, &mut buf, 0).unwrap();
        assert_eq!(&buf, b"abc");
        // And the next use reopens it.
        assert!(f.get().is_ok());
        assert!(f.is_open());
    }

    #[test]
    fn a_vanished_file_is_an_error_not_a_new_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000000.log");
        let f = SegmentFile::lazy(&path);
        assert_eq!(f.get().unwrap_err().kind(), io::ErrorKind::NotFound);
        assert!(!path.exists());
    }
}
