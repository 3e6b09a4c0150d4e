//! Durable storage: the command log in sled, with group commit.
//!
//! Each write appends one batch of [`Command`]s under the next sequence number. Appending
//! does not flush; [`Store::sync`] waits until everything appended so far is on disk. One
//! background task does the flushing, so concurrent writers share one `fsync` instead of
//! paying one each (fsync costs ~8 ms on the machines we run on).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{watch, Notify};

use crate::error::RegistryError;
use crate::state::Command;

const LOG_TREE: &str = "registry-log";
const META_TREE: &str = "registry-meta";

/// The registry's persistent command log.
pub struct Store {
    db: sled::Db,
    log: sled::Tree,
    meta: sled::Tree,
    next_seq: AtomicU64,
    flush: Arc<GroupCommit>,
}

/// State shared between writers and the flusher task.
struct GroupCommit {
    /// Count of appends so far.
    written: AtomicU64,
    /// Appends known to be on disk, or the error of the last failed flush.
    durable: watch::Sender<Result<u64, String>>,
    wake: Notify,
    /// Set when the store is dropped: the flusher does a last flush and exits.
    closed: AtomicBool,
}

impl Store {
    /// Opens (or creates) the store in `dir` and returns it with every batch ever written,
    /// in order, for the caller to replay.
    pub fn open(dir: &Path) -> Result<(Store, Vec<Vec<Command>>), RegistryError> {
        std::fs::create_dir_all(dir).map_err(|e| RegistryError::Store(e.to_string()))?;
        let db = sled::Config::new()
            .path(dir.join("registry"))
            .open()
            .map_err(store_err)?;
        let log = db.open_tree(LOG_TREE).map_err(store_err)?;
        let meta = db.open_tree(META_TREE).map_err(store_err)?;

        let mut batches = Vec::new();
        let mut next_seq = 0;
        for item in log.iter() {
            let (k, v) = item.map_err(store_err)?;
            let seq = u64::from_be_bytes(
                k.as_ref()
                    .try_into()
                    .map_err(|_| RegistryError::Store("corrupt log key".into()))?,
            );
            let batch: Vec<Command> = serde_json::from_slice(&v)
                .map_err(|e| RegistryError::Store(format!("corrupt log entry {seq}: {e}")))?;
            batches.push(batch);
            next_seq = seq + 1;
        }

        let (durable, _) = watch::channel(Ok(0));
        let flush = Arc::new(GroupCommit {
            written: AtomicU64::new(0),
            durable,
            wake: Notify::new(),
            closed: AtomicBool::new(false),
        });
        tokio::spawn(flusher(db.clone(), flush.clone()));
        let store = Store {
            db,
            log,
            meta,
            next_seq: AtomicU64::new(next_seq),
            flush,
        };
        Ok((store, batches))
    }

    /// Appends a batch. It is applied atomically on replay, but not durable until [`Store::sync`].
    pub fn append(&self, batch: &[Command]) -> Result<(), RegistryError> {
        let seq = self.next_seq.fetch_add(1, Ordering::SeqCst);
        let bytes = serde_json::to_vec(batch).map_err(|e| RegistryError::Store(e.to_string()))?;
        self.log
            .insert(seq.to_be_bytes(), bytes)
            .map_err(store_err)?;
        self.flush.written.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// Waits until every batch appended before this call is on disk.
    pub async fn sync(&self) -> Result<(), RegistryError> {
        let target = self.flush.written.load(Ordering::SeqCst);
        let mut rx = self.flush.durable.subscribe();
        if matches!(*rx.borrow(), Ok(done) if done >= target) {
            return Ok(());
        }
        self.flush.wake.notify_one();
        loop {
            match &*rx.borrow_and_update() {
                Ok(done) if *done >= target => return Ok(()),
                Err(e) => return Err(RegistryError::Store(format!("flush failed: {e}"))),
                Ok(_) => {}
            }
            rx.changed()
                .await
                .map_err(|_| RegistryError::Store("flusher stopped".into()))?;
        }
    }

    /// A value from the metadata tree, created with `init` on first use and made durable.
    pub fn meta_or_init(
        &self,
        key: &str,
        init: impl FnOnce() -> String,
    ) -> Result<String, RegistryError> {
        if let Some(v) = self.meta.get(key).map_err(store_err)? {
            return Ok(String::from_utf8_lossy(&v).into_owned());
        }
        let v = init();
        self.meta.insert(key, v.as_bytes()).map_err(store_err)?;
        self.db.flush().map_err(store_err)?;
        Ok(v)
    }
}

/// Flushes whenever a writer asks, covering every append made before the flush began.
async fn flusher(db: sled::Db, gc: Arc<GroupCommit>) {
    loop {
        gc.wake.notified().await;
        let closing = gc.closed.load(Ordering::SeqCst);
        let target = gc.written.load(Ordering::SeqCst);
        if !closing && matches!(*gc.durable.borrow(), Ok(done) if done >= target) {
            continue;
        }
        let db2 = db.clone();
        let res = tokio::task::spawn_blocking(move || db2.flush()).await;
        let outcome = match res {
            Ok(Ok(_)) => Ok(target),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "registry flush failed");
        }
        let _previous = gc.durable.send_replace(outcome);
        if closing {
            return;
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.flush.closed.store(true, Ordering::SeqCst);
        self.flush.wake.notify_one();
    }
}

fn store_err(e: sled::Error) -> RegistryError {
    RegistryError::Store(e.to_string())
}
