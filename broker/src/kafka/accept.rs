//! The accept loop: connection limits and what to do when `accept` itself fails.
//!
//! At the fd limit `accept` fails at once, every time, while the pending connection stays in
//! the backlog: retrying immediately spins a core and floods the log. Like Kafka's Acceptor
//! (and axum's loop), we back off, here from 10 ms doubling to 1 s, and say so once per
//! interval with a count. `max.connections` bounds open connections: over it, new ones are
//! closed at once (their count logged the same way), so existing clients keep their fds.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use crate::rate_limit::RateLimited;

const BACKOFF_START: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
const LOG_INTERVAL: Duration = Duration::from_secs(10);

static ACCEPT_FAILED: RateLimited = RateLimited::new(LOG_INTERVAL);
static OVER_LIMIT: RateLimited = RateLimited::new(LOG_INTERVAL);

/// One open connection's place under `max.connections`; freed when dropped.
#[derive(Debug)]
pub struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Errors about one connection that came and went, not about the listener: retry at once.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// Accepts connections on `listener` until `shutdown` resolves, handing each one (with its
/// slot) to `serve`, at most `max_connections` at a time.
pub async fn accept_loop<F>(
    listener: &TcpListener,
    max_connections: usize,
    shutdown: impl std::future::Future<Output = ()>,
    mut serve: F,
) where
    F: FnMut(TcpStream, SocketAddr, Slot),
{
    let open = Arc::new(AtomicUsize::new(0));
    let mut backoff = BACKOFF_START;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = BACKOFF_START;
                if open.fetch_add(1, Ordering::SeqCst) >= max_connections {
                    open.fetch_sub(1, Ordering::SeqCst);
                    if let Some(n) = OVER_LIMIT.hit() {
                        tracing::warn!(
                            max_connections,
                            closed = n,
                            "connection limit reached (max.connections): closing new connections"
                        );
                    }
                    drop(stream);
                    continue;
                }
                serve(stream, peer, Slot(Arc::clone(&open)));
            }
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                if let Some(n) = ACCEPT_FAILED.hit() {
                    tracing::warn!(
                        error = %e,
                        failures = n,
                        open_connections = open.load(Ordering::SeqCst),
                        "accept failed; backing off (at the open-file limit?)"
                    );
                }
                tokio::select! {
                    _ = &mut shutdown => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}
