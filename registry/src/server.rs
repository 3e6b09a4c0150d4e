//! Running the REST API on a socket until shutdown.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::api::{self, ApiOptions};
use crate::registry::Registry;

/// Serves the registry's REST API on `listener` until `shutdown` resolves, then finishes the
/// requests in flight.
pub async fn serve(
    listener: TcpListener,
    registry: Arc<Registry>,
    opts: ApiOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = api::router(registry, opts);
    tracing::info!(addr = ?listener.local_addr().ok(), "schema registry listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
