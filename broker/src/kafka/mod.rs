//! The Kafka wire protocol server.
//!
//! Each connection is served by one task that reads a size-prefixed frame, answers it, and
//! only then reads the next: responses on a connection stay in request order, as every Kafka
//! client requires, and a long-polling Fetch delays only its own connection.
//!
//! Framing and message codecs come from the `kafka-protocol` crate; record batches stay
//! opaque bytes that the log checks and stores as sent.

mod accept;
mod acl;
mod broker_configs;
mod configs;
pub mod frame;
mod groups;
mod handlers;
pub mod quorum;
mod topic_admin;
mod topic_configs;

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use charter_journal::Recovery;

use crate::group::{offsets, Coordinator, GroupConfig, OffsetStore};
use crate::meta::{MetaEntry, MetaStore};
use crate::topics::Topics;

/// Broker settings.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// This broker's id in metadata.
    pub node_id: i32,
    /// Host and port clients are told to connect to.
    pub advertised_host: String,
    pub advertised_port: i32,
    /// `auto.create.topics.enable`.
    pub auto_create_topics: bool,
    /// `num.partitions` for auto-created topics.
    pub default_partitions: i32,
    /// `socket.request.max.bytes`: larger frames close the connection.
    pub max_request_bytes: usize,
    /// `queued.max.request.bytes`: request bytes all connections may hold at once; a
    /// connection waits for room before reading a frame's body. At least `max_request_bytes`.
    pub queued_max_request_bytes: usize,
    /// `connections.max.idle.ms`: a connection that sends nothing for this long is closed.
    pub connections_max_idle: std::time::Duration,
    /// `max.connections`: connections beyond this many are closed as soon as they are accepted.
    pub max_connections: usize,
    /// The group coordinator's settings.
    pub group: GroupConfig,
    /// `log.dirs`: where partition logs live, as DescribeConfigs reports it (`None` when the
    /// embedder does not say).
    pub log_dirs: Option<std::path::PathBuf>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            node_id: 1,
            advertised_host: "127.0.0.1".into(),
            advertised_port: 9092,
            auto_create_topics: true,
            default_partitions: 1,
            max_request_bytes: 100 * 1024 * 1024,
            queued_max_request_bytes: 500 * 1024 * 1024,
            connections_max_idle: std::time::Duration::from_millis(600_000),
            max_connections: i32::MAX as usize,
            group: GroupConfig::default(),
            log_dirs: None,
        }
    }
}

impl BrokerConfig {
    /// Refuses settings that cannot work together (Kafka's own start-up checks).
    pub fn validate(&self) -> Result<(), String> {
        if self.queued_max_request_bytes < self.max_request_bytes {
            return Err(format!(
                "queued.max.request.bytes ({}) must be at least socket.request.max.bytes ({})",
                self.queued_max_request_bytes, self.max_request_bytes
            ));
        }
        if self.max_connections == 0 {
            return Err("max.connections must be positive".into());
        }
        if self.connections_max_idle.is_zero() {
            return Err("connections.max.idle.ms must be positive".into());
        }
        Ok(())
    }
}

/// The broker: topics, settings and the signal long-polling fetches wait on.
pub struct Broker {
    pub config: BrokerConfig,
    pub topics: Topics,
    pub cluster_id: String,
    /// Woken after every append, so fetches waiting for `min_bytes` re-check.
    appended: Notify,
    /// Producer ids: the next to hand out, and the end of the durably reserved block.
    producer_ids: std::sync::Mutex<(i64, i64)>,
    meta: Arc<MetaStore>,
    /// The in-process registry records are validated against (no HTTP hop).
    pub registry: Arc<charter_registry::Registry>,
    /// Consumer groups and committed offsets.
    pub coordinator: Coordinator,
    /// This node's controller (`charter serve` starts one; tests of the broker alone may not).
    pub controller: Option<Arc<charter_cluster::Controller>>,
}

impl Broker {
    /// Opens the broker's metadata (`data_dir/broker-journal`), committed offsets
    /// (`data_dir/offsets-journal`) and topics (`data_dir/kafka`), validating against
    /// `registry`. Damaged metadata is refused.
    pub fn open(
        config: BrokerConfig,
        data_dir: &std::path::Path,
        registry: Arc<charter_registry::Registry>,
    ) -> Result<Broker, OpenError> {
        Self::open_with(config, data_dir, registry, Recovery::Strict)
    }

    /// [`Broker::open`], with the operator's choice about damaged metadata.
    pub fn open_with(
        config: BrokerConfig,
        data_dir: &std::path::Path,
        registry: Arc<charter_registry::Registry>,
        recovery: Recovery,
    ) -> Result<Broker, OpenError> {
        crate::migrate::import_sled_if_present(data_dir)?;
        let (meta, replay) = MetaStore::open(&data_dir.join(crate::meta::JOURNAL_DIR), recovery)?;
        let meta = Arc::new(meta);
        let topics = Topics::open(data_dir, meta.clone(), &replay.topics)?;
        let offsets = OffsetStore::open(&data_dir.join(offsets::JOURNAL_DIR), recovery)?;
        let cluster_id = match replay.cluster_id {
            Some(id) => id,
            None => {
                let id = uuid::Uuid::new_v4().simple().to_string()[..22].to_string();
                meta.write(&MetaEntry::ClusterId(id.clone()))?;
                id
            }
        };
        // Producer ids come in blocks reserved durably (at the first InitProducerId, so a
        // start writes nothing), so none repeats after a restart.
        let start = replay.producer_id_floor.max(0);
        let coordinator = Coordinator::new(offsets, config.group.clone());
        Ok(Broker {
            config,
            topics,
            cluster_id,
            appended: Notify::new(),
            producer_ids: std::sync::Mutex::new((start, start)),
            meta,
            registry,
            coordinator,
            controller: None,
        })
    }

    /// Takes the controller's committed cluster id as this broker's, recording it so that a
    /// restart reports the same id before the controller answers. An upgraded single-node
    /// data dir proposes its own id to the controller, so for it nothing changes.
    pub fn adopt_cluster_id(&mut self, id: &str) -> Result<(), OpenError> {
        if self.cluster_id != id {
            self.meta.write(&MetaEntry::ClusterId(id.to_string()))?;
            tracing::info!(from = %self.cluster_id, to = %id, "cluster id taken from the controller");
            self.cluster_id = id.to_string();
        }
        Ok(())
    }

    /// A producer id never handed out before (reserving a new block durably when one runs
    /// out); an error when the reservation cannot be written.
    fn fresh_producer_id(&self) -> Result<i64, charter_journal::JournalError> {
        let mut ids = self.producer_ids.lock().unwrap_or_else(|p| p.into_inner());
        if ids.0 >= ids.1 {
            let next = ids.0 + PRODUCER_ID_BLOCK;
            self.meta.write(&MetaEntry::ProducerIdBlock { next })?;
            ids.1 = next;
        }
        let id = ids.0;
        ids.0 += 1;
        Ok(id)
    }

    /// Clean shutdown: flushes every partition and records its recovery point. Returns what
    /// could not be flushed (the caller exits non-zero).
    pub fn close(&self) -> Result<(), String> {
        let mut failures = Vec::new();
        for topic in self.topics.all() {
            for (p, log) in topic.partitions.iter().enumerate() {
                if let Err(e) = log.close() {
                    failures.push(format!("{}-{p}: {e}", topic.name));
                }
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("; "))
        }
    }
}

const PRODUCER_ID_BLOCK: i64 = 1 << 20;

/// Serves Kafka clients on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    broker: Arc<Broker>,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    tracing::info!(addr = ?listener.local_addr().ok(), "kafka listener up");
    let _stop_retention = AbortOnDrop(tokio::spawn(retention_loop(broker.clone())));
    let _stop_file_sweep = AbortOnDrop(tokio::spawn(idle_file_loop(broker.clone())));
    let _stop_group_timers = AbortOnDrop(tokio::spawn(group_timers(broker.clone())));
    let budget = frame::RequestBudget::new(broker.config.queued_max_request_bytes);
    accept::accept_loop(
        &listener,
        broker.config.max_connections,
        shutdown,
        |stream, peer, slot| {
            let broker = broker.clone();
            let budget = budget.clone();
            tokio::spawn(async move {
                let _slot = slot;
                if let Err(e) = connection(stream, peer, broker, budget).await {
                    tracing::debug!(%peer, error = %e, "connection closed");
                }
            });
        },
    )
    .await;
    Ok(())
}

/// `log.retention.check.interval.ms`: how often old segments are deleted.
const RETENTION_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(300);

/// Deletes segments past `retention.ms` / `retention.bytes`, every check interval.
async fn retention_loop(broker: Arc<Broker>) {
    let mut tick = tokio::time::interval(RETENTION_CHECK_INTERVAL);
    loop {
        tick.tick().await;
        for topic in broker.topics.all() {
            for (p, log) in topic.partitions.iter().enumerate() {
                let log = log.clone();
                let now = crate::log::partition::now_ms();
                match tokio::task::spawn_blocking(move || log.enforce_retention(now)).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(topic = %topic.name, partition = p, error = %e, "retention failed")
                    }
                    Err(e) => tracing::warn!(error = %e, "retention task failed"),
                }
            }
        }
    }
}

/// A sealed segment's file unused this long is closed (it reopens on the next read); the
/// sweep runs at the same interval, so a file stays open at most twice this after its last use.
const SEGMENT_FILE_IDLE: std::time::Duration = std::time::Duration::from_secs(60);

/// Closes sealed segments' files nobody has read for [`SEGMENT_FILE_IDLE`], so descriptors
/// follow the segments in use rather than the segments on disk.
async fn idle_file_loop(broker: Arc<Broker>) {
    let mut tick = tokio::time::interval(SEGMENT_FILE_IDLE);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let logs: Vec<_> = broker
            .topics
            .all()
            .iter()
            .flat_map(|t| t.partitions.iter().cloned())
            .collect();
        // Each partition's lock may be held by an append doing I/O: off the runtime's threads.
        let sweep = tokio::task::spawn_blocking(move || {
            logs.iter()
                .map(|log| log.release_idle_files(SEGMENT_FILE_IDLE))
                .sum::<usize>()
        });
        match sweep.await {
            Ok(closed) if closed > 0 => tracing::debug!(closed, "closed idle segment files"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "segment file sweep failed"),
        }
    }
}

/// How often expired committed offsets are looked for (`offsets.retention.check.interval.ms`
/// is 10 minutes in Kafka; a minute keeps tests of short retentions quick).
const OFFSETS_EXPIRY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Drives the coordinator's clocks: rebalance and session deadlines (each at its instant),
/// offset retention (every interval).
async fn group_timers(broker: Arc<Broker>) {
    let offsets = async {
        let start = tokio::time::Instant::now() + OFFSETS_EXPIRY_INTERVAL;
        let mut expiry = tokio::time::interval_at(start, OFFSETS_EXPIRY_INTERVAL);
        expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            expiry.tick().await;
            let n = broker
                .coordinator
                .expire_offsets(crate::log::partition::now_ms())
                .await;
            if n > 0 {
                tracing::info!(offsets = n, "expired committed offsets");
            }
        }
    };
    // Polled together: an offset expiry waiting on the disk never delays a session deadline.
    tokio::join!(broker.coordinator.drive_deadlines(), offsets);
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Why the broker could not open its data.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("broker metadata: {0}")]
    Metadata(#[from] charter_journal::JournalError),
    #[error("{0}")]
    Import(String),
    #[error("topics: {0}")]
    Topics(#[from] crate::topics::TopicError),
}

/// Why a connection is closed rather than answered.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("frame of {0} bytes is outside [4, socket.request.max.bytes]")]
    FrameSize(i64),
    #[error("unsupported api key {0}")]
    UnknownApi(i16),
    #[error("unsupported version {1} of {0:?}")]
    UnsupportedVersion(ApiKey, i16),
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("idle for longer than connections.max.idle.ms")]
    Idle,
}

async fn connection(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    broker: Arc<Broker>,
    budget: frame::RequestBudget,
) -> Result<(), ConnectionError> {
    let _ = stream.set_nodelay(true);
    // Kafka's format for DescribeGroups' client_host.
    let host = format!("/{}", peer.ip());
    let idle = broker.config.connections_max_idle;
    let (r, w) = stream.into_split();
    let mut r = BufReader::new(r);
    let mut w = BufWriter::new(w);
    loop {
        let size = match tokio::time::timeout(idle, r.read_i32()).await {
            Ok(Ok(s)) => s as i64,
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Ok(Err(e)) => return Err(e.into()),
            // connections.max.idle.ms: nothing arrived for that long.
            Err(_) => return Err(ConnectionError::Idle),
        };
        if size < 4 || size as usize > broker.config.max_request_bytes {
            return Err(ConnectionError::FrameSize(size));
        }
        let size = size as usize;
        // Held until the response is written: the request's bytes live until then.
        let _grant = budget.acquire(size).await;
        let mut body = Vec::new();
        frame::read_body(&mut r, size, &mut body, idle).await?;
        if let Some(response) = handle_frame(&broker, &host, Bytes::from(body)).await? {
            w.write_i32(response.len() as i32).await?;
            w.write_all(&response).await?;
            w.flush().await?;
        }
    }
}

/// Decodes one request, answers it; `None` for requests that get no response (acks=0).
async fn handle_frame(
    broker: &Broker,
    host: &str,
    mut frame: Bytes,
) -> Result<Option<BytesMut>, ConnectionError> {
    let key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let api = ApiKey::try_from(key).map_err(|_| ConnectionError::UnknownApi(key))?;
    let supported = handlers::supported(api);

    if api == ApiKey::ApiVersions && supported.is_some_and(|(_, max)| version > max) {
        // KIP-511: answer an unknown ApiVersions version in the v0 layout with error 35 and
        // the full list, so the client retries with a version we speak.
        let header_version = if version >= 3 { 2 } else { 1 };
        let header = RequestHeader::decode(&mut frame, header_version)
            .map_err(|e| ConnectionError::Malformed(e.to_string()))?;
        let body = handlers::api_versions_response(35);
        return encode(api, 0, header.correlation_id, &body).map(Some);
    }
    match supported {
        Some((min, max)) if (min..=max).contains(&version) => {}
        Some(_) => return Err(ConnectionError::UnsupportedVersion(api, version)),
        None => return Err(ConnectionError::UnknownApi(key)),
    }
    let header = RequestHeader::decode(&mut frame, api.request_header_version(version))
        .map_err(|e| ConnectionError::Malformed(e.to_string()))?;
    let client = groups::Client {
        client_id: header.client_id.as_deref().unwrap_or(""),
        host,
    };
    handlers::dispatch(broker, api, version, header.correlation_id, client, frame).await
}

/// Encodes a response header and body at `version`.
fn encode<R: Encodable>(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &R,
) -> Result<BytesMut, ConnectionError> {
    let mut buf = BytesMut::new();
    let mut header = ResponseHeader::default();
    header.correlation_id = correlation_id;
    header
        .encode(&mut buf, api.response_header_version(version))
        .map_err(|e| ConnectionError::Malformed(e.to_string()))?;
    body.encode(&mut buf, version)
        .map_err(|e| ConnectionError::Malformed(e.to_string()))?;
    Ok(buf)
}

/// Decodes a request body at `version`.
fn decode<R: Decodable>(frame: &mut Bytes, version: i16) -> Result<R, ConnectionError> {
    R::decode(frame, version).map_err(|e| ConnectionError::Malformed(e.to_string()))
}
