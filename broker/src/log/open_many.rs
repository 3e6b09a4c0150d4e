//! Opening many partition logs at start-up with bounded parallelism.
//!
//! Opening one partition is a handful of small reads and, after an unclean stop, fsyncs: it
//! waits on the disk far more than it computes. Thousands of partitions opened one after the
//! other spend start-up in those waits; a fixed pool of threads overlaps them, while the bound
//! keeps a broker with 10,000 partitions from starting 10,000 threads.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::{LogConfig, LogError, PartitionLog};

/// Threads opening partitions at once.
pub const OPEN_THREADS: usize = 16;

/// Opens every `(directory, config)` as [`PartitionLog::open`] does, up to [`OPEN_THREADS`] at
/// a time; results are in the order given.
pub fn open_many(logs: Vec<(PathBuf, LogConfig)>) -> Vec<Result<PartitionLog, LogError>> {
    let n = logs.len();
    let workers = OPEN_THREADS.min(n);
    if workers <= 1 {
        return logs
            .into_iter()
            .map(|(dir, config)| PartitionLog::open(dir, config))
            .collect();
    }
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Result<PartitionLog, LogError>>>> =
        (0..n).map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((dir, config)) = logs.get(i) else {
                    break;
                };
                let opened = PartitionLog::open(dir, config.clone());
                *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(opened);
            });
        }
    });
    results
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|p| p.into_inner())
                // Every index below `n` was taken by a worker, and a worker's panic ends the
                // scope with that panic, so an empty slot cannot be observed.
                .unwrap_or_else(|| Err(LogError::Io(std::io::Error::other("partition not opened"))))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_every_partition_in_order() {
        let d = tempfile::tempdir().unwrap();
        let dirs: Vec<(PathBuf, LogConfig)> = (0..40)
            .map(|i| (d.path().join(format!("t-{i}")), LogConfig::default()))
            .collect();
        // Give each partition a different log end so the order is observable.
        for (i, log) in open_many(dirs.clone()).into_iter().enumerate() {
            let log = log.unwrap();
            for _ in 0..i {
                log.append(&mut super::super::batch::simple_batch(1, 8, 0), 0)
                    .unwrap();
            }
            log.close().unwrap();
        }
        let reopened = open_many(dirs);
        assert_eq!(reopened.len(), 40);
        for (i, log) in reopened.into_iter().enumerate() {
            assert_eq!(log.unwrap().log_end_offset(), i as i64);
        }
        // A bad directory fails alone.
        let file = d.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let mixed = open_many(vec![
            (file, LogConfig::default()),
            (d.path().join("t-3"), LogConfig::default()),
        ]);
        assert!(mixed[0].is_err());
        assert_eq!(mixed[1].as_ref().unwrap().log_end_offset(), 3);
    }
}
