//! The client subcommands of `charter` (schema, topic, produce, consume, group, cluster): they talk to a
//! running server over its public APIs — the registry's REST API through
//! [`charter_serde::client`], the broker over the Kafka protocol through [`kafka`].
//!
//! Every failure is a [`CliError`]; [`CliError::exit_code`] is the one place that turns it
//! into the exit code CI relies on (see [`exit`]).

pub mod cluster;
pub mod consume;
pub mod group;
pub mod kafka;
pub mod output;
pub mod produce;
pub mod project;
pub mod schema;
pub mod topic;

use std::path::PathBuf;
use std::time::Duration;

use charter_serde::client::{ClientConfig, SchemaRegistryClient};
use clap::{Args, Subcommand};

pub use output::{Output, OutputFormat};

/// Exit codes, documented in the README ("Exit codes").
pub mod exit {
    /// Everything worked.
    pub const OK: i32 = 0;
    /// A check failed: an incompatible or invalid schema, records rejected or unparseable.
    pub const FAILED: i32 = 1;
    /// Bad usage: flags, a project file or an input file that cannot be used.
    pub const USAGE: i32 = 2;
    /// The registry or the broker could not be reached.
    pub const UNREACHABLE: i32 = 3;
    /// A subject, version, schema, topic or group does not exist.
    pub const NOT_FOUND: i32 = 4;
    /// Any other error answered by the registry or the broker.
    pub const ERROR: i32 = 5;
}

/// Why a client command failed. Mapped to an exit code by [`CliError::exit_code`] only.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Flags or arguments that cannot be used together or parsed.
    #[error("{0}")]
    Usage(String),
    /// A project file, schema file or input file that cannot be read or understood.
    #[error("{0}")]
    Input(String),
    /// A check failed (incompatible schemas, rejected records); the details were printed.
    #[error("{0}")]
    Failed(String),
    /// Something named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The registry answered an error or could not be reached.
    #[error("{context}: {source}")]
    Registry {
        /// What the command was doing.
        context: String,
        /// The client's error.
        #[source]
        source: charter_serde::client::Error,
    },
    /// The broker answered an error or could not be reached.
    #[error("{context}: {source}")]
    Kafka {
        /// What the command was doing.
        context: String,
        /// The Kafka client's error.
        #[source]
        source: kafka::KafkaError,
    },
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) | CliError::Input(_) => exit::USAGE,
            CliError::Failed(_) => exit::FAILED,
            CliError::NotFound(_) => exit::NOT_FOUND,
            CliError::Registry { source, .. } => {
                use charter_serde::client::Error as E;
                match source {
                    E::Transport { .. } => exit::UNREACHABLE,
                    E::Config(_) => exit::USAGE,
                    e if e.is_not_found() => exit::NOT_FOUND,
                    // 409 incompatible, 422 invalid schema: the schema is at fault.
                    E::Registry { status, .. } if *status == 409 || *status == 422 => exit::FAILED,
                    _ => exit::ERROR,
                }
            }
            CliError::Kafka { source, .. } => match source {
                kafka::KafkaError::Unreachable(_) => exit::UNREACHABLE,
                kafka::KafkaError::Broker { code, .. }
                    if *code == kafka::UNKNOWN_TOPIC_OR_PARTITION
                        || *code == kafka::GROUP_ID_NOT_FOUND =>
                {
                    exit::NOT_FOUND
                }
                _ => exit::ERROR,
            },
        }
    }

    /// A registry error with what the command was doing.
    pub fn registry(
        context: impl Into<String>,
    ) -> impl FnOnce(charter_serde::client::Error) -> Self {
        let context = context.into();
        move |source| CliError::Registry { context, source }
    }

    /// A Kafka error with what the command was doing.
    pub fn kafka(context: impl Into<String>) -> impl FnOnce(kafka::KafkaError) -> Self {
        let context = context.into();
        move |source| CliError::Kafka { context, source }
    }
}

/// The result of a client command.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

/// How to reach the schema registry. Every flag has an environment variable.
#[derive(Args, Debug, Clone)]
pub struct RegistryOpts {
    /// Schema registry URL(s), comma-separated.
    #[arg(
        long = "registry",
        global = true,
        env = "CHARTER_REGISTRY_URL",
        default_value = "http://127.0.0.1:8081"
    )]
    pub registry_url: String,
    /// HTTP basic auth for the registry, `user:password`.
    #[arg(
        long,
        global = true,
        env = "CHARTER_REGISTRY_BASIC_AUTH",
        hide_env_values = true
    )]
    pub basic_auth: Option<String>,
    /// Bearer token for the registry (takes precedence over basic auth).
    #[arg(
        long,
        global = true,
        env = "CHARTER_REGISTRY_BEARER_TOKEN",
        hide_env_values = true
    )]
    pub bearer_token: Option<String>,
}

impl RegistryOpts {
    /// A registry client for these options. Retries are few and short: a CLI should fail
    /// fast and let CI retry the job.
    pub fn client(&self) -> Result<SchemaRegistryClient> {
        let mut config = ClientConfig::new(&self.registry_url)
            .max_retries(1)
            .retries_wait(Duration::from_millis(200))
            .connect_timeout(Duration::from_secs(5))
            .request_timeout(Duration::from_secs(30))
            // Each CLI run is short; always read the registry's current latest version.
            .latest_ttl(Some(Duration::ZERO));
        if let Some(info) = &self.basic_auth {
            config = config.basic_auth_user_info(info);
        }
        if let Some(token) = &self.bearer_token {
            config = config.bearer_token(token.clone());
        }
        SchemaRegistryClient::new(config).map_err(|e| CliError::Usage(e.to_string()))
    }
}

/// How to reach the Kafka broker.
#[derive(Args, Debug, Clone)]
pub struct KafkaOpts {
    /// Kafka bootstrap address, `host:port`.
    #[arg(
        long,
        global = true,
        env = "CHARTER_BOOTSTRAP_SERVER",
        default_value = "127.0.0.1:9092"
    )]
    pub bootstrap_server: String,
}

impl KafkaOpts {
    /// Connects to the bootstrap broker.
    pub async fn connect(&self) -> Result<kafka::KafkaClient> {
        kafka::KafkaClient::connect(&self.bootstrap_server)
            .await
            .map_err(CliError::kafka(format!(
                "connecting to {}",
                self.bootstrap_server
            )))
    }
}

/// Output options shared by every client command.
#[derive(Args, Debug, Clone)]
pub struct OutputOpts {
    /// Output format: human-readable text, or JSON for scripts.
    #[arg(long, global = true, value_enum, env = "CHARTER_OUTPUT", default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// `charter schema ...`: the schema workflow.
#[derive(Args, Debug)]
pub struct SchemaArgs {
    #[command(flatten)]
    registry: RegistryOpts,
    #[command(flatten)]
    output: OutputOpts,
    /// The project file listing subjects and schema files.
    #[arg(
        long,
        global = true,
        env = "CHARTER_PROJECT",
        default_value = "charter.toml"
    )]
    project: PathBuf,
    #[command(subcommand)]
    command: schema::SchemaCommand,
}

/// `charter topic ...`: topic administration over the Kafka protocol.
#[derive(Args, Debug)]
pub struct TopicArgs {
    #[command(flatten)]
    kafka: KafkaOpts,
    #[command(flatten)]
    output: OutputOpts,
    #[command(subcommand)]
    command: topic::TopicCommand,
}

/// `charter produce`: JSON lines in, schema-framed records out.
#[derive(Args, Debug)]
pub struct ProduceArgs {
    #[command(flatten)]
    kafka: KafkaOpts,
    #[command(flatten)]
    registry: RegistryOpts,
    #[command(flatten)]
    output: OutputOpts,
    #[command(flatten)]
    args: produce::ProduceOpts,
}

/// `charter consume`: records out as JSON lines, decoded through the registry.
#[derive(Args, Debug)]
pub struct ConsumeArgs {
    #[command(flatten)]
    kafka: KafkaOpts,
    #[command(flatten)]
    registry: RegistryOpts,
    #[command(flatten)]
    output: OutputOpts,
    #[command(flatten)]
    args: consume::ConsumeOpts,
}

/// `charter group ...`: consumer groups.
#[derive(Args, Debug)]
pub struct GroupArgs {
    #[command(flatten)]
    kafka: KafkaOpts,
    #[command(flatten)]
    output: OutputOpts,
    #[command(subcommand)]
    command: group::GroupCommand,
}

/// `charter cluster ...`: the controller quorum and the brokers.
#[derive(Args, Debug)]
pub struct ClusterArgs {
    #[command(flatten)]
    kafka: KafkaOpts,
    #[command(flatten)]
    output: OutputOpts,
    #[command(subcommand)]
    command: cluster::ClusterCommand,
}

/// The client subcommands, flattened into the binary's top-level command list.
#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// Register, test, download and configure schemas (charter.toml), and inspect subjects.
    Schema(SchemaArgs),
    /// Create, list, describe, reconfigure and delete topics.
    Topic(TopicArgs),
    /// Produce JSON lines (from stdin or a file) as schema-framed records.
    Produce(ProduceArgs),
    /// Consume records and print them as JSON lines, decoded through the registry.
    Consume(ConsumeArgs),
    /// List and describe consumer groups (members, committed offsets, lag).
    Group(GroupArgs),
    /// Show the controller quorum and the brokers.
    Cluster(ClusterArgs),
}

/// Runs a client command and returns the process exit code; errors are printed to stderr.
pub fn run(command: ClientCommand) -> i32 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::ERROR;
        }
    };
    let result = runtime.block_on(async {
        match command {
            ClientCommand::Schema(a) => {
                let out = Output::new(a.output.output);
                let client = a.registry.client()?;
                schema::run(a.command, &client, &a.project, &out).await
            }
            ClientCommand::Topic(a) => {
                let out = Output::new(a.output.output);
                topic::run(a.command, &a.kafka, &out).await
            }
            ClientCommand::Produce(a) => {
                let out = Output::new(a.output.output);
                let client = a.registry.client()?;
                produce::run(a.args, &a.kafka, &client, &out).await
            }
            ClientCommand::Consume(a) => {
                let out = Output::new(a.output.output);
                let client = a.registry.client()?;
                consume::run(a.args, &a.kafka, &client, &out).await
            }
            ClientCommand::Group(a) => {
                let out = Output::new(a.output.output);
                group::run(a.command, &a.kafka, &out).await
            }
            ClientCommand::Cluster(a) => {
                let out = Output::new(a.output.output);
                cluster::run(a.command, &a.kafka, &out).await
            }
        }
    });
    match result {
        Ok(()) => exit::OK,
        Err(e) => {
            output::print_error(&e);
            e.exit_code()
        }
    }
}
