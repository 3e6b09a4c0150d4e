//! An in-process broker (with its registry) on an ephemeral port, for integration tests.

#![allow(dead_code)]

pub mod child;

use std::sync::Arc;

use charter_broker::kafka::{self, Broker, BrokerConfig};
use charter_registry::Registry;

pub struct TestBroker {
    pub rt: tokio::runtime::Runtime,
    pub bootstrap: String,
    pub broker: Arc<Broker>,
    pub registry: Arc<Registry>,
    _dir: tempfile::TempDir,
}

impl TestBroker {
    pub fn start(max_request_bytes: usize) -> TestBroker {
        TestBroker::start_with(|c| c.max_request_bytes = max_request_bytes)
    }

    /// A broker whose default config `configure` adjusts.
    pub fn start_with(configure: impl FnOnce(&mut BrokerConfig)) -> TestBroker {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let dir = tempfile::tempdir().expect("tempdir");
        let (bootstrap, broker, registry) = rt.block_on(async {
            let registry = Arc::new(Registry::open(dir.path()).expect("registry"));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            let mut config = BrokerConfig {
                advertised_port: addr.port() as i32,
                ..BrokerConfig::default()
            };
            configure(&mut config);
            let broker =
                Arc::new(Broker::open(config, dir.path(), registry.clone()).expect("broker"));
            tokio::spawn(kafka::serve(
                listener,
                broker.clone(),
                std::future::pending(),
            ));
            (addr.to_string(), broker, registry)
        });
        TestBroker {
            rt,
            bootstrap,
            broker,
            registry,
            _dir: dir,
        }
    }
}

/// One Kafka connection speaking typed requests (kafka-protocol codecs) to a test broker.
pub struct Wire {
    stream: std::net::TcpStream,
    correlation: i32,
}

impl Wire {
    pub fn connect(bootstrap: &str) -> Wire {
        let stream = std::net::TcpStream::connect(bootstrap).expect("connect");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .expect("timeout");
        Wire {
            stream,
            correlation: 0,
        }
    }

    /// Sends `body` as `api` at `version` and decodes the whole answer.
    pub fn call<Q, A>(&mut self, api: kafka_protocol::messages::ApiKey, version: i16, body: &Q) -> A
    where
        Q: kafka_protocol::protocol::Encodable + kafka_protocol::protocol::HeaderVersion,
        A: kafka_protocol::protocol::Decodable + kafka_protocol::protocol::HeaderVersion,
    {
        use kafka_protocol::messages::{RequestHeader, ResponseHeader};
        use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
        use std::io::{Read, Write};
        self.correlation += 1;
        let mut header = RequestHeader::default();
        header.request_api_key = api as i16;
        header.request_api_version = version;
        header.correlation_id = self.correlation;
        header.client_id = Some(StrBytes::from_static_str("charter-test"));
        let mut buf = bytes::BytesMut::new();
        header
            .encode(&mut buf, Q::header_version(version))
            .expect("header");
        body.encode(&mut buf, version).expect("body");
        let mut out = (buf.len() as i32).to_be_bytes().to_vec();
        out.extend_from_slice(&buf);
        self.stream.write_all(&out).expect("send");
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size).expect("response size");
        let mut raw = vec![0u8; i32::from_be_bytes(size) as usize];
        self.stream.read_exact(&mut raw).expect("response body");
        let mut r = bytes::Bytes::from(raw);
        let h = ResponseHeader::decode(&mut r, A::header_version(version)).expect("header");
        assert_eq!(h.correlation_id, self.correlation);
        let a = A::decode(&mut r, version).expect("response");
        assert!(r.is_empty(), "the whole response was read");
        a
    }
}
