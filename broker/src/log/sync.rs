//! Group commit: many waiters, one `fdatasync` at a time.
//!
//! An fdatasync costs about 8 ms on the development VMs (reference §6.4), so an fsync per
//! acks=all produce would cap a partition at ~125 acks/s. Instead every waiter asks for "durable
//! up to offset N"; whoever finds no flush in flight becomes the flusher, and its flush covers
//! everything appended before it started. Waiters that arrived during that flush are covered by
//! the next one, which one of them runs. So under load each fsync serves every producer that
//! arrived within one fsync period.

use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

/// Tracks the durable offset and elects a single flusher.
#[derive(Debug)]
pub struct GroupCommit {
    durable: watch::Sender<i64>,
    flushing: AtomicBool,
}

/// The right to flush. Dropping it — after success, failure, or because the waiting future was
/// cancelled — releases the right and wakes the waiters, so none can sleep forever on a flush
/// that will never report.
struct Turn<'a> {
    commit: &'a GroupCommit,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.commit.flushing.store(false, Ordering::Release);
        self.commit.durable.send_modify(|_| {});
    }
}

impl GroupCommit {
    /// Start with everything below `durable` already on disk.
    pub fn new(durable: i64) -> GroupCommit {
        GroupCommit {
            durable: watch::Sender::new(durable),
            flushing: AtomicBool::new(false),
        }
    }

    /// Everything below this offset is known to be on disk.
    pub fn durable(&self) -> i64 {
        *self.durable.borrow()
    }

    /// Record that a flush made everything below `offset` durable, and wake waiters.
    pub fn advance(&self, offset: i64) {
        self.durable.send_if_modified(|d| {
            if offset > *d {
                *d = offset;
                true
            } else {
                false
            }
        });
    }

    /// Lower the durable mark (after the log was truncated below it).
    pub fn reset(&self, offset: i64) {
        self.durable.send_replace(offset);
    }

    /// Wait until everything below `target` is durable, running `flush` ourselves when no flush
    /// is in flight. `flush` returns the offset its flush covered (it must capture the log end
    /// before syncing, so the result is ≥ any target taken before the call).
    pub async fn wait_for<F, Fut>(&self, target: i64, flush: F) -> io::Result<()>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = io::Result<i64>>,
    {
        let mut rx = self.durable.subscribe();
        loop {
            if *rx.borrow_and_update() >= target {
                return Ok(());
            }
            if self
                .flushing
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                let _turn = Turn { commit: self };
                // Another flush may have finished between our check and winning the turn.
                if self.durable() >= target {
                    return Ok(());
                }
                let covered = flush().await?;
                self.advance(covered);
                if covered >= target {
                    return Ok(());
                }
                continue;
            }
            // A flush is in flight: wait for it to report (success, failure or cancellation),
            // then check again. The sender lives in `self`, so `changed` cannot fail here.
            if rx.changed().await.is_err() {
                return Err(io::Error::other("group commit closed"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_waiters_share_flushes() {
        let gc = Arc::new(GroupCommit::new(0));
        let flushes = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 1..=50i64 {
            let gc = gc.clone();
            let flushes = flushes.clone();
            tasks.push(tokio::spawn(async move {
                gc.wait_for(i, || {
                    let flushes = flushes.clone();
                    async move {
                        flushes.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(50)
                    }
                })
                .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(gc.durable(), 50);
        // 50 waiters, 20 ms per flush: a handful of flushes, not 50.
        let n = flushes.load(Ordering::SeqCst);
        assert!(n <= 3, "{n} flushes for 50 waiters");
    }

    #[tokio::test]
    async fn failed_or_cancelled_flush_hands_over() {
        let gc = GroupCommit::new(0);
        let err = gc
            .wait_for(5, || async { Err::<i64, _>(io::Error::other("disk")) })
            .await;
        assert!(err.is_err());
        // The turn was released: the next waiter flushes.
        gc.wait_for(5, || async { Ok(5) }).await.unwrap();
        // A cancelled flusher releases its turn too.
        let pending = gc.wait_for(9, std::future::pending::<io::Result<i64>>);
        let _ = tokio::time::timeout(Duration::from_millis(10), pending).await;
        gc.wait_for(9, || async { Ok(9) }).await.unwrap();
        assert_eq!(gc.durable(), 9);
    }
}
