//! Running the REST API on a socket until shutdown.
//!
//! A small hyper-util accept loop instead of `axum::serve`, for two things axum 0.8 does not
//! expose: a header-read timeout (hyper starts it when the connection waits for a request
//! head, so it also closes idle keep-alive connections — slowloris clients cannot hold
//! sockets forever), and accept errors that back off and are logged once per interval.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::api::{self, ApiOptions};
use crate::registry::Registry;

const BACKOFF_START: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Serves the registry's REST API on `listener` until `shutdown` resolves, then finishes the
/// requests in flight.
pub async fn serve(
    listener: TcpListener,
    registry: Arc<Registry>,
    opts: ApiOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let idle = opts.http_idle_timeout;
    let app = api::router(registry, opts);
    tracing::info!(addr = ?listener.local_addr().ok(), "schema registry listening");
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(idle);
    // HTTP/2 (prior knowledge) connections: pings find dead peers, and a connection with no
    // stream left open is closed after the same idle period.
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(idle)
        .keep_alive_timeout(idle);
    let graceful = GracefulShutdown::new();
    let mut backoff = BACKOFF_START;
    let mut failures = 0u64;
    let mut last_logged: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                backoff = BACKOFF_START;
                stream
            }
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // At the fd limit accept fails at once, every time: back off and log once per
                // interval, or the loop spins a core and floods the log.
                failures += 1;
                if last_logged.is_none_or(|t| t.elapsed() >= LOG_INTERVAL) {
                    tracing::warn!(error = %e, failures, "registry accept failed; backing off");
                    last_logged = Some(Instant::now());
                    failures = 0;
                }
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            // hyper's header timer starts once it knows the protocol, i.e. after the first
            // bytes: a connection that never sends one is closed here.
            let mut first = [0u8; 1];
            match tokio::time::timeout(idle, stream.peek(&mut first)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            }
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            if let Err(e) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(error = %e, "http connection closed");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Errors about one connection that came and went, not about the listener: retry at once.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}
