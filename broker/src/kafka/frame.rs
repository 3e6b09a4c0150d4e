//! Reading request frames without letting clients decide how much memory the broker holds.
//!
//! Two rules (Kafka's `queued.max.request.bytes` and its memory pool):
//! * a global [`RequestBudget`] of in-flight request bytes: a connection waits for its frame's
//!   size to be granted before reading the body, and gives it back once the request has been
//!   answered, so hostile or merely numerous clients queue instead of growing the heap;
//! * a frame's buffer grows with the bytes that actually arrived (doubling from
//!   [`FIRST_CHUNK`], never past the declared size), so a size prefix alone costs nothing.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The first read of a body is at most this large; each later one at most doubles the buffer.
pub const FIRST_CHUNK: usize = 64 * 1024;

/// A global budget of request bytes held by connections at once.
#[derive(Debug, Clone)]
pub struct RequestBudget {
    semaphore: Arc<Semaphore>,
    capacity: usize,
}

/// Bytes of the budget held by one request; returned when dropped.
#[derive(Debug)]
pub struct Grant {
    _permit: Option<OwnedSemaphorePermit>,
}

impl RequestBudget {
    /// A budget of `capacity` bytes (clamped to what the semaphore can count).
    pub fn new(capacity: usize) -> RequestBudget {
        let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS);
        RequestBudget {
            semaphore: Arc::new(Semaphore::new(capacity)),
            capacity,
        }
    }

    /// Waits until `bytes` of the budget are free and takes them. A request larger than the
    /// whole budget takes all of it (the configuration check refuses such settings, so this
    /// only keeps a misconfigured broker from waiting forever).
    pub async fn acquire(&self, bytes: usize) -> Grant {
        let n = bytes.min(self.capacity).min(u32::MAX as usize) as u32;
        if n == 0 {
            return Grant { _permit: None };
        }
        // The semaphore is never closed, so acquiring cannot fail.
        let permit = Arc::clone(&self.semaphore).acquire_many_owned(n).await.ok();
        Grant { _permit: permit }
    }

    /// Bytes not currently granted.
    pub fn available(&self) -> usize {
        self.semaphore.available_permits()
    }
}

/// Reads exactly `size` bytes into `buf` (cleared first), growing it only as bytes arrive.
/// Each read waits at most `idle` for progress: a client that stops sending mid-frame is
/// treated like an idle connection.
pub async fn read_body<R: AsyncRead + Unpin>(
    r: &mut R,
    size: usize,
    buf: &mut Vec<u8>,
    idle: Duration,
) -> std::io::Result<()> {
    buf.clear();
    while buf.len() < size {
        let filled = buf.len();
        let target = filled + (size - filled).min(filled.max(FIRST_CHUNK));
        // Exact, so capacity follows what arrived rather than Vec's own doubling.
        buf.reserve_exact(target - buf.len());
        buf.resize(target, 0);
        let n = match tokio::time::timeout(idle, r.read(&mut buf[filled..target])).await {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                buf.truncate(filled);
                return Err(e);
            }
            Err(_) => {
                buf.truncate(filled);
                return Err(std::io::ErrorKind::TimedOut.into());
            }
        };
        buf.truncate(filled + n);
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn a_size_prefix_alone_allocates_nothing_large() {
        let (mut client, mut server) = tokio::io::duplex(1 << 20);
        client.write_all(&[7u8; 10]).await.unwrap();
        drop(client);
        let mut buf = Vec::new();
        let err = read_body(&mut server, 100 << 20, &mut buf, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
        assert_eq!(buf, vec![7u8; 10]);
        assert!(
            buf.capacity() <= FIRST_CHUNK + 10,
            "capacity {}",
            buf.capacity()
        );
    }

    #[tokio::test]
    async fn the_buffer_grows_with_the_bytes_received() {
        let (mut client, mut server) = tokio::io::duplex(1 << 20);
        let sent = 3 * FIRST_CHUNK + 5;
        let writer = tokio::spawn(async move {
            client.write_all(&vec![1u8; sent]).await.unwrap();
        });
        let mut buf = Vec::new();
        let err = read_body(&mut server, 100 << 20, &mut buf, Duration::from_secs(5))
            .await
            .unwrap_err();
        writer.await.unwrap();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
        assert_eq!(buf.len(), sent);
        // Doubling: never more than twice what arrived (plus the first chunk).
        assert!(
            buf.capacity() <= 2 * sent + FIRST_CHUNK,
            "{}",
            buf.capacity()
        );
    }

    #[tokio::test]
    async fn whole_frames_are_read_exactly() {
        let (mut client, mut server) = tokio::io::duplex(1 << 16);
        let frame: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
        let expected = frame.clone();
        let writer = tokio::spawn(async move {
            client.write_all(&frame).await.unwrap();
            client.write_all(b"next").await.unwrap();
        });
        let mut buf = Vec::new();
        read_body(
            &mut server,
            expected.len(),
            &mut buf,
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert_eq!(buf, expected);
        read_body(&mut server, 4, &mut buf, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(buf, b"next");
        writer.await.unwrap();
    }

    #[tokio::test]
    async fn a_stalled_body_times_out() {
        let (mut client, mut server) = tokio::io::duplex(1 << 16);
        client.write_all(&[1u8; 3]).await.unwrap();
        let mut buf = Vec::new();
        let err = read_body(&mut server, 10, &mut buf, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        drop(client);
    }

    #[tokio::test]
    async fn the_budget_queues_requests_beyond_it() {
        let budget = RequestBudget::new(100);
        let a = budget.acquire(60).await;
        assert_eq!(budget.available(), 40);
        // A second 60-byte request must wait until the first is released.
        let waiting = {
            let budget = budget.clone();
            tokio::spawn(async move { budget.acquire(60).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        // (The waiter already holds the 40 free bytes: tokio's semaphore is first come, first
        // served, so a large request is not starved by small ones.)
        drop(a);
        let b = waiting.await.unwrap();
        assert_eq!(budget.available(), 40);
        drop(b);
        assert_eq!(budget.available(), 100);
        // Larger than the whole budget: takes all of it rather than waiting forever.
        let all = budget.acquire(1000).await;
        assert_eq!(budget.available(), 0);
        drop(all);
    }
}
