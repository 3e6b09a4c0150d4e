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
