//! The controller's inter-node transport: openraft's RPCs as HTTP/1.1 POSTs with JSON bodies.
//!
//! Server: an axum router with `/raft/append`, `/raft/vote` and `/raft/snapshot`, each taking
//! the openraft request as JSON and answering `200` with the JSON of openraft's
//! `Result<response, RaftError>` (a Raft-level refusal is an answer, not a transport error).
//! Bodies are bounded ([`MAX_BODY`]); a body that is not the expected JSON gets `400`, one over
//! the bound `413`, never a panic. `GET /controller/quorum` answers the node's
//! [`QuorumView`] (operators ask the leader's); `POST /controller/propose` takes a command
//! forwarded by a node that does not lead; `GET /controller/members` answers the cluster id
//! and the incarnations the node applied (served before openraft runs: a starting node asks
//! its peers whether it is new, see `controller.rs`).
//!
//! Client: [`Network`] (openraft's `RaftNetworkFactory`) hands out one [`Connection`] per
//! target, all sharing one reqwest client (pooled keep-alive connections). Each RPC runs under
//! openraft's hard timeout for it. Errors map onto openraft's `RPCError` so that it backs off
//! correctly: a refused or failed connect is `Unreachable` (openraft slows its retries to a
//! node it cannot reach), a timeout is `Timeout`, anything else (an error status, a body it
//! cannot decode) is `Network`, and a Raft error in the answer is `RemoteError`.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Timeout, Unreachable,
};
use openraft::network::{RPCOption, RPCTypes};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{Raft, RaftNetwork, RaftNetworkFactory};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::controller::ProposeError;
use crate::quorum::QuorumView;
use crate::state_machine::AppliedState;
use crate::types::{ClusterNode, MetadataCommand, MetadataResponse, NodeId, TypeConfig};

/// The largest request body the server reads. Snapshot chunks are at most
/// [`SNAPSHOT_CHUNK`] bytes, which JSON (an array of numbers) inflates up to 4×; append
/// batches are bounded by openraft's `max_payload_entries` and metadata commands are small.
pub const MAX_BODY: usize = 16 * 1024 * 1024;
/// The snapshot chunk size the controller configures openraft with.
pub const SNAPSHOT_CHUNK: u64 = 2 * 1024 * 1024;
/// The largest response body the client accepts (responses are votes and small acks).
const MAX_RESPONSE: usize = 1024 * 1024;

type Rpc<T, E = RaftError<NodeId>> = Result<T, RPCError<NodeId, ClusterNode, E>>;

/// What the server serves from: the applied state at once, openraft once it runs (the
/// listener starts first, so that nodes starting together can ask each other who they are
/// before any of them votes).
pub struct Shared {
    pub raft: std::sync::OnceLock<Raft<TypeConfig>>,
    pub applied: Arc<RwLock<AppliedState>>,
    /// The controller's data dir (proposals check its free space).
    pub dir: std::path::PathBuf,
}

type Server = State<Arc<Shared>>;

/// The server side.
pub fn router(shared: Arc<Shared>) -> axum::Router {
    axum::Router::new()
        .route("/raft/append", post(append))
        .route("/raft/vote", post(vote))
        .route("/raft/snapshot", post(snapshot))
        .route("/controller/quorum", get(quorum))
        .route("/controller/propose", post(propose))
        .route("/controller/members", get(members))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

/// openraft, or `503` while it is not running yet.
fn raft(shared: &Shared) -> Result<&Raft<TypeConfig>, Response> {
    shared.raft.get().ok_or_else(|| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the controller is starting",
        )
            .into_response()
    })
}

/// Who a node knows: the cluster id and each node's incarnation it applied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Members {
    pub cluster_id: Option<String>,
    pub incarnations: BTreeMap<NodeId, String>,
    /// True when the answering node leads (its applied state is the cluster's latest).
    pub leader: bool,
}

async fn members(State(shared): Server) -> Response {
    let (cluster_id, incarnations) = {
        let st = shared.applied.read().unwrap_or_else(|p| p.into_inner());
        (st.cluster_id.clone(), st.incarnations.clone())
    };
    let leader = shared
        .raft
        .get()
        .is_some_and(|r| r.metrics().borrow().state == openraft::ServerState::Leader);
    answer(&Members {
        cluster_id,
        incarnations,
        leader,
    })
}

/// Asks the node at `addr` whom it knows (`GET /controller/members`).
pub async fn fetch_members(
    client: &reqwest::Client,
    addr: &str,
    timeout: Duration,
) -> Result<Members, String> {
    get_json(
        client,
        &format!("http://{addr}/controller/members"),
        timeout,
    )
    .await
}

/// `GET url` with a bounded answer, decoded as JSON.
async fn get_json<T: DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
) -> Result<T, String> {
    let resp = client
        .get(url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("{url}: {}", resp.status()));
    }
    let body = read_bounded(resp)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    serde_json::from_slice(&body).map_err(|e| format!("{url}: {e}"))
}

/// A response body of at most [`MAX_RESPONSE`] bytes, whatever the peer sends.
async fn read_bounded(mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE as u64)
    {
        return Err("response too large".into());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_RESPONSE {
            return Err("response too large".into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn decode<T: DeserializeOwned>(body: &Bytes) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| {
        tracing::debug!(error = %e, "bad raft request body");
        (StatusCode::BAD_REQUEST, format!("bad request body: {e}")).into_response()
    })
}

fn answer<T: Serialize>(r: &T) -> Response {
    match serde_json::to_vec(r) {
        Ok(b) => (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            b,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn append(State(shared): Server, body: Bytes) -> Response {
    let raft = match raft(&shared) {
        Ok(r) => r,
        Err(r) => return r,
    };
    match decode::<AppendEntriesRequest<TypeConfig>>(&body) {
        Ok(req) => answer(&raft.append_entries(req).await),
        Err(r) => r,
    }
}

async fn vote(State(shared): Server, body: Bytes) -> Response {
    let raft = match raft(&shared) {
        Ok(r) => r,
        Err(r) => return r,
    };
    match decode::<VoteRequest<NodeId>>(&body) {
        Ok(req) => answer(&raft.vote(req).await),
        Err(r) => r,
    }
}

async fn snapshot(State(shared): Server, body: Bytes) -> Response {
    let raft = match raft(&shared) {
        Ok(r) => r,
        Err(r) => return r,
    };
    match decode::<InstallSnapshotRequest<TypeConfig>>(&body) {
        Ok(req) if req.data.len() as u64 > SNAPSHOT_CHUNK => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("snapshot chunk of {} bytes", req.data.len()),
        )
            .into_response(),
        Ok(req) => answer(&raft.install_snapshot(req).await),
        Err(r) => r,
    }
}

async fn quorum(State(shared): Server) -> Response {
    match raft(&shared) {
        Ok(raft) => answer(&QuorumView::of(raft)),
        Err(r) => r,
    }
}

/// A command forwarded by a node that does not lead; proposed here only (never forwarded
/// again, so a stale leader hint cannot make a loop). Answers `Result<MetadataResponse,
/// ProposeError>` as JSON.
async fn propose(State(shared): Server, body: Bytes) -> Response {
    let raft = match raft(&shared) {
        Ok(r) => r,
        Err(r) => return r,
    };
    match decode::<MetadataCommand>(&body) {
        Ok(cmd) => answer(&crate::controller::propose_here(raft, &shared.dir, cmd).await),
        Err(r) => r,
    }
}

/// Forwards `cmd` to the node at `addr` (`POST /controller/propose`). Transport failures
/// are [`ProposeError::Stopped`]: the command may or may not have been committed.
pub async fn forward(
    client: &reqwest::Client,
    addr: &str,
    cmd: &MetadataCommand,
    timeout: Duration,
) -> Result<MetadataResponse, ProposeError> {
    let url = format!("http://{addr}/controller/propose");
    let failed = |e: String| ProposeError::Stopped(format!("{url}: {e}"));
    let resp = client
        .post(&url)
        .timeout(timeout)
        .json(cmd)
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(failed(resp.status().to_string()));
    }
    let body = read_bounded(resp).await.map_err(failed)?;
    serde_json::from_slice::<Result<MetadataResponse, ProposeError>>(&body)
        .map_err(|e| failed(e.to_string()))?
}

/// Asks the node at `addr` for its [`QuorumView`] (`GET /controller/quorum`).
pub async fn fetch_quorum(
    client: &reqwest::Client,
    addr: &str,
    timeout: Duration,
) -> Result<QuorumView, String> {
    get_json(client, &format!("http://{addr}/controller/quorum"), timeout).await
}

/// The client side: openraft's network factory.
#[derive(Clone)]
pub struct Network {
    client: reqwest::Client,
    /// This node (openraft's `Timeout` error names both ends).
    id: NodeId,
}

impl Network {
    pub fn new(id: NodeId) -> Result<Network, reqwest::Error> {
        let client = reqwest::Client::builder()
            // Openraft's per-RPC timeouts bound each call; this bounds a hung connect.
            .connect_timeout(Duration::from_millis(500))
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .build()?;
        Ok(Network { client, id })
    }
}

/// One target node.
pub struct Connection {
    client: reqwest::Client,
    id: NodeId,
    target: NodeId,
    addr: String,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Connection;

    async fn new_client(&mut self, target: NodeId, node: &ClusterNode) -> Connection {
        Connection {
            client: self.client.clone(),
            id: self.id,
            target,
            addr: node.addr.clone(),
        }
    }
}

impl Connection {
    async fn call<Req, Resp, E>(
        &self,
        action: RPCTypes,
        path: &str,
        req: &Req,
        option: &RPCOption,
    ) -> Rpc<Resp, E>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let timeout = option.hard_ttl();
        let url = format!("http://{}{}", self.addr, path);
        let res = self
            .client
            .post(&url)
            .timeout(timeout)
            .json(req)
            .send()
            .await;
        let resp = match res {
            Ok(r) => r,
            Err(e) => return Err(self.send_error(action, timeout, &e)),
        };
        let status = resp.status();
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_RESPONSE as u64)
        {
            let e = std::io::Error::other(format!("{url}: response too large"));
            return Err(RPCError::Network(NetworkError::new(&e)));
        }
        // Read at most MAX_RESPONSE bytes, whatever the peer sends.
        let mut resp = resp;
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(c)) if body.len() + c.len() <= MAX_RESPONSE => body.extend_from_slice(&c),
                Ok(Some(_)) => {
                    let e = std::io::Error::other(format!("{url}: response too large"));
                    return Err(RPCError::Network(NetworkError::new(&e)));
                }
                Ok(None) => break,
                Err(e) => return Err(self.send_error(action, timeout, &e)),
            }
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned();
            let e = std::io::Error::other(format!("{url}: {status}: {text}"));
            return Err(RPCError::Network(NetworkError::new(&e)));
        }
        let answer: Result<Resp, E> =
            serde_json::from_slice(&body).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        answer.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    fn send_error<E: std::error::Error>(
        &self,
        action: RPCTypes,
        timeout: Duration,
        e: &reqwest::Error,
    ) -> RPCError<NodeId, ClusterNode, E> {
        if e.is_timeout() {
            RPCError::Timeout(Timeout {
                action,
                id: self.id,
                target: self.target,
                timeout,
            })
        } else if e.is_connect() {
            RPCError::Unreachable(Unreachable::new(e))
        } else {
            RPCError::Network(NetworkError::new(e))
        }
    }
}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Rpc<AppendEntriesResponse<NodeId>> {
        self.call(RPCTypes::AppendEntries, "/raft/append", &rpc, &option)
            .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Rpc<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>> {
        self.call(RPCTypes::InstallSnapshot, "/raft/snapshot", &rpc, &option)
            .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Rpc<VoteResponse<NodeId>> {
        self.call(RPCTypes::Vote, "/raft/vote", &rpc, &option).await
    }
}
