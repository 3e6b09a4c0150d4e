//! `charter produce`: JSON lines in, schema-framed records out.

use charter_serde::client::SchemaRegistryClient;
use clap::Args;

use super::output::Output;
use super::{CliError, KafkaOpts, Result};

/// Options of `charter produce`.
#[derive(Args, Debug)]
pub struct ProduceOpts {
    /// The topic.
    #[arg(long)]
    pub topic: String,
}

/// Runs `charter produce`.
pub async fn run(
    _opts: ProduceOpts,
    _kafka: &KafkaOpts,
    _client: &SchemaRegistryClient,
    _out: &Output,
) -> Result<()> {
    Err(CliError::Usage("not yet".into()))
}
