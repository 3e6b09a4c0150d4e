//! `charter`: the schema registry (and, as it grows, the Kafka-compatible broker) in one binary.
//!
//! `charter serve` runs everything with embedded defaults; `charter registry` runs the schema
//! registry alone. The client subcommands (`schema`, `topic`, `produce`, `consume`, `group`)
//! live in `charter_broker::cli` and talk to a running server. Every flag can also be set through the environment variable named in its
//! help. SIGTERM and Ctrl-C shut down cleanly: requests in flight finish, storage is flushed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use charter_broker::group::GroupConfig;
use charter_broker::kafka::{Broker, BrokerConfig};
use charter_broker::node;
use charter_cluster::Controller;
use charter_registry::{ApiOptions, Registry};
use clap::{Args, Parser, Subcommand};
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(
    name = "charter",
    version,
    about = "Schema-registry-centric streaming platform"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform: the schema registry and the Kafka-compatible broker, one process.
    Serve(ServeArgs),
    /// Run the schema registry alone.
    Registry(RegistryArgs),
    #[command(flatten)]
    Client(charter_broker::cli::ClientCommand),
}

#[derive(Args)]
struct ServeArgs {
    /// Directory for all persistent data.
    #[arg(long, env = "CHARTER_DATA_DIR", default_value = "./charter-data")]
    data_dir: PathBuf,
    /// Address of the schema registry's REST API.
    #[arg(
        long,
        env = "CHARTER_REGISTRY_LISTEN",
        default_value = "127.0.0.1:8081"
    )]
    registry_listen: SocketAddr,
    /// Address of the Kafka listener.
    #[arg(long, env = "CHARTER_KAFKA_LISTEN", default_value = "127.0.0.1:9092")]
    kafka_listen: SocketAddr,
    /// host:port clients are told to connect to (defaults to the listen address).
    #[arg(long, env = "CHARTER_ADVERTISED_KAFKA_ADDRESS")]
    advertised_kafka_address: Option<String>,
    /// This broker's id in Metadata, DescribeCluster and DescribeConfigs (Kafka's node.id;
    /// Kafka's own images use 1, some test setups 0).
    #[arg(long, env = "CHARTER_NODE_ID", default_value_t = 1, value_parser = clap::value_parser!(i32).range(0..))]
    node_id: i32,
    /// The controller quorum's voters, `id@host:port,...` (each voter's --cluster-listen), the
    /// same list on every node (Kafka's controller.quorum.voters). Without it this node is a
    /// cluster of its own.
    #[arg(long, env = "CHARTER_VOTERS")]
    voters: Option<charter_cluster::Voters>,
    /// Where this node's inter-node (controller) listener binds; defaults to its own entry in
    /// --voters (and, without --voters, to an ephemeral loopback port nobody needs to know).
    #[arg(long, env = "CHARTER_CLUSTER_LISTEN")]
    cluster_listen: Option<String>,
    /// Create topics on first use (Kafka's auto.create.topics.enable).
    #[arg(long, env = "CHARTER_AUTO_CREATE_TOPICS", default_value_t = true, action = clap::ArgAction::Set)]
    auto_create_topics: bool,
    /// Partitions of auto-created topics (Kafka's num.partitions).
    #[arg(long, env = "CHARTER_DEFAULT_PARTITIONS", default_value_t = 1)]
    default_partitions: i32,
    /// How long committed offsets of an empty consumer group are kept (Kafka's
    /// offsets.retention.minutes).
    #[arg(
        long,
        env = "CHARTER_OFFSETS_RETENTION_MINUTES",
        default_value_t = 10080
    )]
    offsets_retention_minutes: i64,
    /// How long a new consumer group waits for more members before its first rebalance
    /// (Kafka's group.initial.rebalance.delay.ms).
    #[arg(
        long,
        env = "CHARTER_GROUP_INITIAL_REBALANCE_DELAY_MS",
        default_value_t = 3000
    )]
    group_initial_rebalance_delay_ms: u64,
    /// Largest Kafka request frame, in bytes; larger ones close the connection (Kafka's
    /// socket.request.max.bytes).
    #[arg(
        long,
        env = "CHARTER_SOCKET_REQUEST_MAX_BYTES",
        default_value_t = 104_857_600
    )]
    socket_request_max_bytes: usize,
    /// Request bytes all Kafka connections may hold at once; a connection waits for room before
    /// reading a request (Kafka's queued.max.request.bytes). At least
    /// --socket-request-max-bytes.
    #[arg(
        long,
        env = "CHARTER_QUEUED_MAX_REQUEST_BYTES",
        default_value_t = 524_288_000
    )]
    queued_max_request_bytes: usize,
    /// Close Kafka connections that send nothing for this long (Kafka's
    /// connections.max.idle.ms).
    #[arg(
        long,
        env = "CHARTER_CONNECTIONS_MAX_IDLE_MS",
        default_value_t = 600_000
    )]
    connections_max_idle_ms: u64,
    /// Most Kafka connections open at once; newer ones are closed at once (Kafka's
    /// max.connections).
    #[arg(long, env = "CHARTER_MAX_CONNECTIONS", default_value_t = 2_147_483_647)]
    max_connections: usize,
    #[command(flatten)]
    limits: Limits,
    #[command(flatten)]
    storage: Storage,
}

#[derive(Args)]
struct RegistryArgs {
    /// Directory for the registry's data.
    #[arg(long, env = "CHARTER_DATA_DIR", default_value = "./charter-data")]
    data_dir: PathBuf,
    /// Address of the REST API.
    #[arg(
        long,
        env = "CHARTER_REGISTRY_LISTEN",
        default_value = "127.0.0.1:8081"
    )]
    listen: SocketAddr,
    #[command(flatten)]
    limits: Limits,
    #[command(flatten)]
    storage: Storage,
}

#[derive(Args)]
struct Storage {
    /// Start even though a metadata store (registry log, topic metadata, committed offsets)
    /// cannot read back everything it acknowledged: keep the readable part, move the damaged
    /// file aside (`*.damaged-N`), never reuse a schema id. An operator's decision after a
    /// refused start; see README "Operations".
    #[arg(long, env = "CHARTER_ACCEPT_DAMAGED_STORES")]
    accept_damaged_stores: bool,
}

impl Storage {
    fn recovery(&self) -> charter_registry::Recovery {
        if self.accept_damaged_stores {
            charter_registry::Recovery::AcceptLoss
        } else {
            charter_registry::Recovery::Strict
        }
    }
}

/// Said whenever a store cannot be opened: what an operator can do about damage.
const DAMAGE_HINT: &str = " (a damaged store is never opened silently: restore the data \
directory from a backup, or accept the loss of what cannot be read with \
--accept-damaged-stores; see README, Operations)";

/// How long a clean shutdown may spend flushing before the process gives up and says so.
const SHUTDOWN_FLUSH_BOUND: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Args)]
struct Limits {
    /// Largest accepted HTTP request body, in bytes.
    #[arg(long, env = "CHARTER_MAX_BODY_BYTES", default_value_t = charter_registry::api::DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// Require HTTP Basic authentication on the registry: a file of `user: password` lines
    /// (Jetty's realm-properties shape, as Confluent deployments keep it).
    #[arg(long, env = "CHARTER_REGISTRY_BASIC_AUTH_FILE")]
    basic_auth_file: Option<std::path::PathBuf>,
    /// Close registry HTTP connections whose request head has not fully arrived this long
    /// after the connection opened or its previous response (slow clients and idle
    /// keep-alive connections alike; Confluent's idle.timeout.ms).
    #[arg(long, env = "CHARTER_HTTP_IDLE_TIMEOUT_MS", default_value_t = 30_000)]
    http_idle_timeout_ms: u64,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Client commands print for people and scripts: logs only when asked for (RUST_LOG), and
    // their own exit codes.
    // openraft narrates every election and unreachable peer at INFO/WARN; its errors are
    // what an operator needs (RUST_LOG=openraft=info brings the rest back).
    let default_filter = match cli.command {
        Command::Client(_) => "warn",
        _ => "info,openraft=error",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .init();
    let command = match cli.command {
        Command::Client(c) => std::process::exit(charter_broker::cli::run(c)),
        other => other,
    };
    raise_fd_limit();
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let result = runtime.block_on(async {
        match command {
            Command::Serve(a) => serve(a).await,
            Command::Registry(a) => {
                let registry = open_registry(&a.data_dir, &a.storage)?;
                serve_registry(registry, a.listen, a.limits).await
            }
            // Handled (and exited) before the server runtime started.
            Command::Client(_) => Ok(()),
        }
    });
    // A blocking task stuck on a failing disk must not hold the process forever.
    runtime.shutdown_timeout(SHUTDOWN_FLUSH_BOUND);
    result
}

/// The registry and the broker over one data directory, until a shutdown signal.
async fn serve(a: ServeArgs) -> anyhow::Result<()> {
    let (host, port) = match &a.advertised_kafka_address {
        Some(addr) => {
            let (h, p) = addr
                .rsplit_once(':')
                .context("--advertised-kafka-address must be host:port")?;
            (h.to_string(), p.parse().context("advertised port")?)
        }
        None => (
            a.kafka_listen.ip().to_string(),
            a.kafka_listen.port() as i32,
        ),
    };
    let config = BrokerConfig {
        advertised_host: host,
        advertised_port: port,
        auto_create_topics: a.auto_create_topics,
        default_partitions: a.default_partitions,
        group: GroupConfig {
            offsets_retention_ms: a.offsets_retention_minutes.saturating_mul(60_000),
            initial_rebalance_delay: std::time::Duration::from_millis(
                a.group_initial_rebalance_delay_ms,
            ),
            ..GroupConfig::default()
        },
        node_id: a.node_id,
        // Topics live under `<data dir>/kafka` (`Topics::open`).
        log_dirs: Some(a.data_dir.join("kafka")),
        max_request_bytes: a.socket_request_max_bytes,
        queued_max_request_bytes: a.queued_max_request_bytes,
        connections_max_idle: std::time::Duration::from_millis(a.connections_max_idle_ms),
        max_connections: a.max_connections,
    };
    config.validate().map_err(anyhow::Error::msg)?;
    // The registry is a state machine of the controller's log (node.rs): empty until the
    // controller replays its log into it.
    let registry = Arc::new(Registry::replicated());
    let mut broker = Broker::open_with(config, &a.data_dir, registry.clone(), a.storage.recovery())
        .with_context(|| {
            format!(
                "opening the broker in {}{DAMAGE_HINT}",
                a.data_dir.display()
            )
        })?;
    let flags = node::ClusterFlags {
        node_id: a.node_id,
        cluster_listen: a.cluster_listen.clone(),
        voters: a.voters.clone(),
    };
    let controller_config = node::controller_config(
        &a.data_dir,
        &flags,
        Some(broker.cluster_id.clone()),
        a.storage.recovery(),
    )
    .map_err(anyhow::Error::msg)?;
    let applier: Arc<dyn charter_cluster::Applier> =
        Arc::new(node::RegistryApplier(registry.clone()));
    // A node with an empty log among several voters waits in `start` until its peers
    // confirm it is new; a shutdown signal may end that wait.
    let starting = tokio::task::spawn_blocking(move || {
        Controller::start_with(controller_config, Some(applier))
    });
    let controller = tokio::select! {
        started = starting => Arc::new(
            started.context("starting the controller")?.with_context(|| {
                format!("starting the controller in {}{DAMAGE_HINT}", a.data_dir.display())
            })?,
        ),
        () = shutdown_signal() => return Ok(()),
    };
    registry.attach_log(Arc::new(node::ControllerLog(controller.clone())));
    let joined = async {
        let id = node::wait_for_cluster_id(&controller).await;
        node::wait_caught_up(&controller).await;
        id
    };
    let cluster_id = tokio::select! {
        id = joined => id,
        () = shutdown_signal() => {
            stop_controller(controller).await;
            return Ok(());
        }
    };
    // Entries the operator gave up (--accept-damaged-stores) may have created schema ids: the
    // log's watermark kept the next id as acknowledged, and ids continue after it.
    if let Some((loss, next_id)) = controller.accepted_loss() {
        tracing::warn!(%loss, next_id, "the controller log lost acknowledged entries; schema ids continue after the largest ever acknowledged");
        registry
            .raise_next_id(i32::try_from(next_id).unwrap_or(i32::MAX))
            .await
            .context("raising the next schema id after an accepted loss")?;
    }
    // A data dir of a release before the cluster kept the registry in its own journal.
    registry
        .import_standalone(&a.data_dir, a.storage.recovery())
        .await
        .with_context(|| {
            format!(
                "importing the registry in {}{DAMAGE_HINT}",
                a.data_dir.display()
            )
        })?;
    broker
        .adopt_cluster_id(&cluster_id)
        .context("recording the cluster id")?;
    registry.set_kafka_cluster_id(&cluster_id);
    broker.controller = Some(controller.clone());
    let broker = Arc::new(broker);
    let closing = broker.clone();
    let kafka = TcpListener::bind(a.kafka_listen)
        .await
        .with_context(|| format!("binding the Kafka listener to {}", a.kafka_listen))?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let kafka_task = tokio::spawn(async move {
        let mut rx = stop_rx;
        charter_broker::kafka::serve(kafka, broker, async move {
            let _ = rx.wait_for(|s| *s).await;
        })
        .await
    });
    let result = serve_registry(registry, a.registry_listen, a.limits).await;
    let _ = stop_tx.send(true);
    kafka_task.await??;
    // The final flush is bounded: on a failing disk, say so and exit non-zero, never hang.
    let flushed = tokio::time::timeout(
        SHUTDOWN_FLUSH_BOUND,
        tokio::task::spawn_blocking(move || closing.close()),
    )
    .await;
    match flushed {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => anyhow::bail!("the final flush failed: {e}"),
        Ok(Err(e)) => anyhow::bail!("the final flush failed: {e}"),
        Err(_) => anyhow::bail!("the final flush did not finish within {SHUTDOWN_FLUSH_BOUND:?}"),
    }
    stop_controller(controller).await;
    result
}

/// Stops the controller (its log is durable at every step; this only ends its thread).
async fn stop_controller(controller: Arc<Controller>) {
    let stopped = tokio::time::timeout(
        SHUTDOWN_FLUSH_BOUND,
        tokio::task::spawn_blocking(move || drop(controller)),
    )
    .await;
    if stopped.is_err() {
        tracing::warn!("the controller did not stop within {SHUTDOWN_FLUSH_BOUND:?}");
    }
}

/// The registry stored in `data_dir`.
fn open_registry(data_dir: &std::path::Path, storage: &Storage) -> anyhow::Result<Arc<Registry>> {
    Ok(Arc::new(
        Registry::open_with(data_dir, storage.recovery()).with_context(|| {
            format!(
                "opening the registry in {}{DAMAGE_HINT}",
                data_dir.display()
            )
        })?,
    ))
}

/// Serves the registry's REST API until a shutdown signal.
async fn serve_registry(
    registry: Arc<Registry>,
    listen: SocketAddr,
    limits: Limits,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding the registry to {listen}"))?;
    let basic_auth = match &limits.basic_auth_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let auth = charter_registry::api::auth::BasicAuth::parse(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Some(Arc::new(auth))
        }
        None => None,
    };
    let opts = ApiOptions {
        max_body_bytes: limits.max_body_bytes,
        basic_auth,
        http_idle_timeout: std::time::Duration::from_millis(limits.http_idle_timeout_ms),
    };
    charter_registry::serve(listener, registry, opts, shutdown_signal()).await?;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested");
}

/// Raises the soft open-file limit to the hard limit. Every partition's active segment and
/// every connection holds a descriptor, and the usual soft default (1024) is far below what
/// thousands of partitions need, while the hard limit is the operator's real decision.
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return;
        }
        if lim.rlim_cur >= lim.rlim_max {
            return;
        }
        let soft = lim.rlim_cur;
        lim.rlim_cur = lim.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
            tracing::debug!(from = soft, to = lim.rlim_max, "raised the open-file limit");
        } else {
            tracing::warn!(
                limit = soft,
                "could not raise the open-file limit to the hard limit"
            );
        }
    }
}
