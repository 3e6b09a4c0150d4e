//! Charter's schema registry: a Confluent Schema Registry that existing clients use unchanged.
//!
//! A bird's-eye view, top-down:
//! - [`api`]: the REST API (routes, content negotiation, Confluent error bodies).
//! - [`registry`]: what each operation does — registration, lookup, deletes, config, mode.
//! - [`compat`]: compatibility levels and the per-format checkers.
//! - [`schema`]: parsed schemas of each format and the parse cache.
//! - [`state`] and [`store`]: the command-sourced state machine and its durable log (a
//!   `charter-journal`; `migrate` imports the sled store of earlier releases).
//! - [`replicated`]: the log the registry needs when it runs in a cluster (the controller
//!   implements it), and the preconditions that keep ids unique across nodes.
//! - [`model`] and [`error`]: the shared vocabulary.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! let registry = Arc::new(charter_registry::Registry::open("./charter-data".as_ref())?);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8081").await?;
//! charter_registry::serve(listener, registry, Default::default(), async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await?;
//! # Ok(()) }
//! ```

pub mod api;
pub mod compat;
pub mod error;
mod migrate;
pub mod model;
pub mod registry;
pub mod replicated;
#[cfg(test)]
mod replicated_tests;
pub mod schema;
pub mod server;
pub mod state;
pub mod store;
#[cfg(test)]
mod visibility_tests;

pub use api::ApiOptions;
pub use charter_journal::Recovery;
pub use error::RegistryError;
pub use registry::Registry;
pub use server::serve;
