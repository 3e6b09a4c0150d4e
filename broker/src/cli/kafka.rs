//! A small async Kafka client for the CLI, on the same `kafka-protocol` codecs the broker
//! uses: one TCP connection, requests one at a time, versions negotiated with ApiVersions.
//!
//! It talks to the bootstrap broker only. Charter is a single node, so the bootstrap broker
//! leads every partition and coordinates every group; against a multi-broker cluster,
//! requests for partitions led elsewhere fail with NOT_LEADER_OR_FOLLOWER, which is reported.

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// UNKNOWN_TOPIC_OR_PARTITION.
pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
/// GROUP_ID_NOT_FOUND.
pub const GROUP_ID_NOT_FOUND: i16 = 69;
/// INVALID_RECORD: a record failed the broker's validation.
pub const INVALID_RECORD: i16 = 87;

/// The largest response accepted (a fetch is bounded well below this by `max_bytes`).
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a Kafka call failed.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// The broker could not be reached.
    #[error("cannot reach the broker: {0}")]
    Unreachable(String),
    /// The connection failed after it was established, or an answer did not decode.
    #[error("{0}")]
    Protocol(String),
    /// The broker speaks no version of an API the command needs.
    #[error("the broker does not support {0:?} at a version this client speaks")]
    Unsupported(ApiKey),
    /// The broker answered an error code.
    #[error("{}", broker_error_text(*code, message))]
    Broker {
        /// The Kafka error code.
        code: i16,
        /// The broker's message, when it sent one.
        message: String,
    },
}

/// The name of a Kafka error code, e.g. `InvalidRecord (87)`.
pub fn error_name(code: i16) -> String {
    match ResponseError::try_from_code(code) {
        Some(ResponseError::Unknown(c)) => format!("error {c}"),
        Some(e) => format!("{e:?} ({code})"),
        None => "none".to_string(),
    }
}

fn broker_error_text(code: i16, message: &str) -> String {
    if message.is_empty() {
        error_name(code)
    } else {
        format!("{}: {message}", error_name(code))
    }
}

impl KafkaError {
    /// An error for a non-zero `code`, with the broker's optional message.
    pub fn broker(code: i16, message: Option<&StrBytes>) -> Self {
        KafkaError::Broker {
            code,
            message: message.map(|m| m.to_string()).unwrap_or_default(),
        }
    }
}

/// `Ok` for code 0, the broker error otherwise.
pub fn check(code: i16, message: Option<&StrBytes>) -> Result<(), KafkaError> {
    if code == 0 {
        Ok(())
    } else {
        Err(KafkaError::broker(code, message))
    }
}

/// A protocol string.
pub fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// A connection to one broker.
pub struct KafkaClient {
    stream: TcpStream,
    address: String,
    correlation_id: i32,
    versions: HashMap<i16, (i16, i16)>,
}

impl KafkaClient {
    /// Connects to `address` (`host:port`) and asks which API versions it speaks.
    pub async fn connect(address: &str) -> Result<KafkaClient, KafkaError> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address))
            .await
            .map_err(|_| KafkaError::Unreachable(format!("{address}: connection timed out")))?
            .map_err(|e| KafkaError::Unreachable(format!("{address}: {e}")))?;
        let _ = stream.set_nodelay(true);
        let mut client = KafkaClient {
            stream,
            address: address.to_string(),
            correlation_id: 0,
            versions: HashMap::new(),
        };
        // v0: every broker answers it, and it carries the full version table.
        let resp = client
            .send_at(&ApiVersionsRequest::default(), 0)
            .await
            .map_err(|e| match e {
                KafkaError::Protocol(m) => {
                    KafkaError::Unreachable(format!("{address} does not speak Kafka: {m}"))
                }
                other => other,
            })?;
        check(resp.error_code, None)?;
        for k in resp.api_keys {
            client
                .versions
                .insert(k.api_key, (k.min_version, k.max_version));
        }
        Ok(client)
    }

    /// The address this client is connected to.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The highest version of `api` both sides speak, within `lo..=hi`.
    pub fn version(&self, api: ApiKey, lo: i16, hi: i16) -> Result<i16, KafkaError> {
        let (bmin, bmax) = self
            .versions
            .get(&(api as i16))
            .copied()
            .ok_or(KafkaError::Unsupported(api))?;
        let v = hi.min(bmax);
        if v < lo.max(bmin) {
            return Err(KafkaError::Unsupported(api));
        }
        Ok(v)
    }

    /// Whether the broker speaks `api` at all.
    pub fn supports(&self, api: ApiKey) -> bool {
        self.versions.contains_key(&(api as i16))
    }

    /// Sends `req` at the highest common version within `lo..=hi`; returns the answer and the
    /// version used (fields present differ by version).
    pub async fn send<R: Request>(
        &mut self,
        req: &R,
        lo: i16,
        hi: i16,
    ) -> Result<(R::Response, i16), KafkaError> {
        let api = ApiKey::try_from(R::KEY).map_err(|_| KafkaError::Protocol("bad api".into()))?;
        let v = self.version(api, lo, hi)?;
        Ok((self.send_at(req, v).await?, v))
    }

    /// Sends `req` at `version` and reads its answer.
    pub async fn send_at<R: Request>(
        &mut self,
        req: &R,
        version: i16,
    ) -> Result<R::Response, KafkaError> {
        let api = ApiKey::try_from(R::KEY).map_err(|_| KafkaError::Protocol("bad api".into()))?;
        self.correlation_id = self.correlation_id.wrapping_add(1);
        let correlation_id = self.correlation_id;
        let mut header = RequestHeader::default();
        header.request_api_key = R::KEY;
        header.request_api_version = version;
        header.correlation_id = correlation_id;
        header.client_id = Some(StrBytes::from_static_str("charter-cli"));
        let mut buf = BytesMut::new();
        buf.put_i32(0); // size, filled in below
        header
            .encode(&mut buf, api.request_header_version(version))
            .map_err(|e| KafkaError::Protocol(format!("encoding {api:?} header: {e}")))?;
        req.encode(&mut buf, version)
            .map_err(|e| KafkaError::Protocol(format!("encoding {api:?} v{version}: {e}")))?;
        let size = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&size.to_be_bytes());
        let exchange = async {
            self.stream.write_all(&buf).await?;
            let size = self.stream.read_i32().await?;
            if size < 0 || size as usize > MAX_RESPONSE_BYTES {
                return Err(std::io::Error::other(format!("response size {size}")));
            }
            let mut body = vec![0u8; size as usize];
            self.stream.read_exact(&mut body).await?;
            Ok(body)
        };
        let body = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| KafkaError::Protocol(format!("{api:?} timed out")))?
            .map_err(|e| KafkaError::Protocol(format!("{api:?} to {}: {e}", self.address)))?;
        let mut body = Bytes::from(body);
        let header = ResponseHeader::decode(&mut body, api.response_header_version(version))
            .map_err(|e| KafkaError::Protocol(format!("decoding {api:?} header: {e}")))?;
        if header.correlation_id != correlation_id {
            return Err(KafkaError::Protocol(format!(
                "{api:?}: correlation id {} instead of {correlation_id}",
                header.correlation_id
            )));
        }
        let resp = R::Response::decode(&mut body, version)
            .map_err(|e| KafkaError::Protocol(format!("decoding {api:?} v{version}: {e}")))?;
        if body.has_remaining() {
            tracing::debug!("{api:?}: {} trailing bytes", body.remaining());
        }
        Ok(resp)
    }

    /// Metadata for `topics` (every topic when `None`), without creating any.
    pub async fn metadata(
        &mut self,
        topics: Option<&[String]>,
    ) -> Result<MetadataResponse, KafkaError> {
        let mut req = MetadataRequest::default();
        req.topics = topics.map(|ts| {
            ts.iter()
                .map(|t| {
                    let mut mt = metadata_request::MetadataRequestTopic::default();
                    mt.name = Some(TopicName(s(t)));
                    mt
                })
                .collect()
        });
        req.allow_auto_topic_creation = false;
        Ok(self.send(&req, 4, 12).await?.0)
    }

    /// The partitions of `topic`, ascending; UNKNOWN_TOPIC_OR_PARTITION if it does not exist.
    pub async fn partitions(&mut self, topic: &str) -> Result<Vec<i32>, KafkaError> {
        let md = self.metadata(Some(&[topic.to_string()])).await?;
        let t = md
            .topics
            .into_iter()
            .find(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(topic))
            .ok_or(KafkaError::Broker {
                code: UNKNOWN_TOPIC_OR_PARTITION,
                message: format!("topic {topic} does not exist"),
            })?;
        if t.error_code != 0 {
            return Err(KafkaError::Broker {
                code: t.error_code,
                message: format!("topic {topic}"),
            });
        }
        let mut ps: Vec<i32> = t.partitions.iter().map(|p| p.partition_index).collect();
        ps.sort_unstable();
        Ok(ps)
    }

    /// The offset for `timestamp` (-1 latest, -2 earliest) of each of `partitions`.
    pub async fn list_offsets(
        &mut self,
        topic: &str,
        partitions: &[i32],
        timestamp: i64,
    ) -> Result<HashMap<i32, i64>, KafkaError> {
        let mut t = list_offsets_request::ListOffsetsTopic::default();
        t.name = TopicName(s(topic));
        t.partitions = partitions
            .iter()
            .map(|p| {
                let mut lp = list_offsets_request::ListOffsetsPartition::default();
                lp.partition_index = *p;
                lp.timestamp = timestamp;
                lp.current_leader_epoch = -1;
                lp
            })
            .collect();
        let mut req = ListOffsetsRequest::default();
        req.replica_id = BrokerId(-1);
        req.topics = vec![t];
        let (resp, _) = self.send(&req, 1, 7).await?;
        let mut out = HashMap::new();
        for t in resp.topics {
            for p in t.partitions {
                check(p.error_code, None)?;
                out.insert(p.partition_index, p.offset);
            }
        }
        Ok(out)
    }

    /// Committed offsets of `group` for `topic`'s `partitions` (-1 where none).
    pub async fn offset_fetch(
        &mut self,
        group: &str,
        topic: &str,
        partitions: &[i32],
    ) -> Result<HashMap<i32, i64>, KafkaError> {
        let v = self.version(ApiKey::OffsetFetch, 1, 8)?;
        let mut req = OffsetFetchRequest::default();
        if v >= 8 {
            let mut t = offset_fetch_request::OffsetFetchRequestTopics::default();
            t.name = TopicName(s(topic));
            t.partition_indexes = partitions.to_vec();
            let mut g = offset_fetch_request::OffsetFetchRequestGroup::default();
            g.group_id = GroupId(s(group));
            g.topics = Some(vec![t]);
            req.groups = vec![g];
        } else {
            let mut t = offset_fetch_request::OffsetFetchRequestTopic::default();
            t.name = TopicName(s(topic));
            t.partition_indexes = partitions.to_vec();
            req.group_id = GroupId(s(group));
            req.topics = Some(vec![t]);
        }
        let resp = self.send_at(&req, v).await?;
        let mut out = HashMap::new();
        if v >= 8 {
            for g in resp.groups {
                check(g.error_code, None)?;
                for t in g.topics {
                    for p in t.partitions {
                        check(p.error_code, None)?;
                        out.insert(p.partition_index, p.committed_offset);
                    }
                }
            }
        } else {
            check(resp.error_code, None)?;
            for t in resp.topics {
                for p in t.partitions {
                    check(p.error_code, None)?;
                    out.insert(p.partition_index, p.committed_offset);
                }
            }
        }
        Ok(out)
    }

    /// Commits `offsets` (partition -> next offset to read) for `group` as a standalone
    /// consumer: generation -1 and no member id, which Kafka accepts for a group without
    /// active members.
    pub async fn offset_commit(
        &mut self,
        group: &str,
        topic: &str,
        offsets: &HashMap<i32, i64>,
    ) -> Result<(), KafkaError> {
        let v = self.version(ApiKey::OffsetCommit, 2, 8)?;
        let mut t = offset_commit_request::OffsetCommitRequestTopic::default();
        t.name = TopicName(s(topic));
        let mut parts: Vec<_> = offsets.iter().collect();
        parts.sort();
        t.partitions = parts
            .into_iter()
            .map(|(p, o)| {
                let mut cp = offset_commit_request::OffsetCommitRequestPartition::default();
                cp.partition_index = *p;
                cp.committed_offset = *o;
                cp.committed_leader_epoch = -1;
                cp
            })
            .collect();
        let mut req = OffsetCommitRequest::default();
        req.group_id = GroupId(s(group));
        req.generation_id_or_member_epoch = -1;
        req.member_id = StrBytes::default();
        req.retention_time_ms = -1;
        req.topics = vec![t];
        let resp = self.send_at(&req, v).await?;
        for t in resp.topics {
            for p in t.partitions {
                check(p.error_code, None)?;
            }
        }
        Ok(())
    }
}
