//! `charter consume`: records as JSON lines.

use charter_serde::client::SchemaRegistryClient;
use clap::Args;

use super::output::Output;
use super::{CliError, KafkaOpts, Result};

/// Options of `charter consume`.
#[derive(Args, Debug)]
pub struct ConsumeOpts {
    /// The topic.
    #[arg(long)]
    pub topic: String,
}

/// Runs `charter consume`.
pub async fn run(
    _opts: ConsumeOpts,
    _kafka: &KafkaOpts,
    _client: &SchemaRegistryClient,
    _out: &Output,
) -> Result<()> {
    Err(CliError::Usage("not yet".into()))
}
