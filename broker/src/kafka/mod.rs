//! The Kafka wire protocol server.
//!
//! Each connection is served by one task that reads a size-prefixed frame, answers it, and
//! only then reads the next: responses on a connection stay in request order, as every Kafka
//! client requires, and a long-polling Fetch delays only its own connection.
//!
//! Framing and message codecs come from the `kafka-protocol` crate; record batches stay
//! opaque bytes that the log checks and stores as sent.

mod acl;
mod broker_configs;
mod configs;
mod groups;
mod handlers;
mod topic_admin;
mod topic_configs;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use crate::group::{Coordinator, GroupConfig};
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
            group: GroupConfig::default(),
            log_dirs: None,
        }
    }
}

/// The broker: topics, settings and the signal long-polling fetches wait on.
pub struct Broker {
    pub config: BrokerConfig,
    pub topics: Topics,
    pub cluster_id: String,
    /// Woken after every append, so fetches waiting for `min_bytes` re-check.
    appended: Notify,
    /// Producer ids handed out; seeded from sled so ids stay fresh across restarts.
    next_producer_id: AtomicI64,
    db: sled::Db,
    /// The in-process registry records are validated against (no HTTP hop).
    pub registry: Arc<charter_registry::Registry>,
    /// Consumer groups and committed offsets.
    pub coordinator: Coordinator,
}

impl Broker {
    /// A broker over `topics`, with cluster id and producer ids kept in `db`.
    pub fn new(
        config: BrokerConfig,
        topics: Topics,
        db: sled::Db,
        registry: Arc<charter_registry::Registry>,
    ) -> Result<Broker, sled::Error> {
        let meta = db.open_tree("broker-meta")?;
        let cluster_id = match meta.get("cluster-id")? {
            Some(v) => String::from_utf8_lossy(&v).into_owned(),
            None => {
                let id = uuid::Uuid::new_v4().simple().to_string()[..22].to_string();
                meta.insert("cluster-id", id.as_bytes())?;
                meta.flush()?;
                id
            }
        };
        // Producer ids come in blocks reserved durably, so none repeats after a restart.
        let start = db.generate_id()? as i64 * PRODUCER_ID_BLOCK;
        let coordinator = Coordinator::open(&db, config.group.clone())?;
        Ok(Broker {
            config,
            topics,
            cluster_id,
            appended: Notify::new(),
            next_producer_id: AtomicI64::new(start),
            db,
            registry,
            coordinator,
        })
    }

    /// Opens the broker's metadata (sled, under `data_dir/broker-meta`) and its topics (under
    /// `data_dir/kafka`), validating against `registry`.
    pub fn open(
        config: BrokerConfig,
        data_dir: &std::path::Path,
        registry: Arc<charter_registry::Registry>,
    ) -> Result<Broker, OpenError> {
        let db = sled::Config::new()
            .path(data_dir.join("broker-meta"))
            .open()?;
        let topics = Topics::open(&db, data_dir)?;
        Ok(Broker::new(config, topics, db, registry)?)
    }

    /// A producer id never handed out before.
    fn fresh_producer_id(&self) -> i64 {
        let id = self.next_producer_id.fetch_add(1, Ordering::SeqCst);
        if (id + 1) % PRODUCER_ID_BLOCK == 0 {
            if let Ok(block) = self.db.generate_id() {
                let next = block as i64 * PRODUCER_ID_BLOCK;
                self.next_producer_id.fetch_max(next, Ordering::SeqCst);
            }
        }
        id
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
    let _stop_group_timers = AbortOnDrop(tokio::spawn(group_timers(broker.clone())));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                let broker = broker.clone();
                tokio::spawn(async move {
                    if let Err(e) = connection(stream, peer, broker).await {
                        tracing::debug!(%peer, error = %e, "connection closed");
                    }
                });
            }
        }
    }
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
    Metadata(#[from] sled::Error),
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
}

async fn connection(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    broker: Arc<Broker>,
) -> Result<(), ConnectionError> {
    let _ = stream.set_nodelay(true);
    // Kafka's format for DescribeGroups' client_host.
    let host = format!("/{}", peer.ip());
    let (r, w) = stream.into_split();
    let mut r = BufReader::new(r);
    let mut w = BufWriter::new(w);
    loop {
        let size = match r.read_i32().await {
            Ok(s) => s as i64,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if size < 4 || size as usize > broker.config.max_request_bytes {
            return Err(ConnectionError::FrameSize(size));
        }
        let mut frame = vec![0u8; size as usize];
        r.read_exact(&mut frame).await?;
        if let Some(response) = handle_frame(&broker, &host, Bytes::from(frame)).await? {
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
