//! A real `charter serve` child process over a given data directory, for the storage tests
//! (`disk_full.rs`, `damaged_stores.rs`, `upgrade.rs`): started on free loopback ports, waited
//! for until the registry answers, stopped by SIGTERM or SIGKILL.

// Each test binary includes this module and uses a different part of it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// `charter serve` over `dir` on the given ports, with `extra` flags.
pub fn command(dir: &Path, http: u16, kafka: u16, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_charter"));
    c.arg("serve")
        .arg("--data-dir")
        .arg(dir)
        .args(["--registry-listen", &format!("127.0.0.1:{http}")])
        .args(["--kafka-listen", &format!("127.0.0.1:{kafka}")])
        .args(extra)
        .env("RUST_LOG", "warn");
    c
}

pub struct Server {
    pub child: Child,
    pub base: String,
    pub kafka: String,
}

impl Server {
    /// Starts and waits (30 s at most) until `GET /` answers; panics if the process exits.
    pub fn start(dir: &Path, extra: &[&str]) -> Server {
        let mut s = Server::spawn(dir, (free_port(), free_port()), extra);
        s.wait_ready();
        s
    }

    /// Starts on the given (registry, Kafka) ports without waiting: the nodes of a new cluster
    /// only become ready together, once a majority of them runs.
    pub fn spawn(dir: &Path, (http, kafka): (u16, u16), extra: &[&str]) -> Server {
        let child = command(dir, http, kafka, extra)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn charter");
        Server {
            child,
            base: format!("http://127.0.0.1:{http}"),
            kafka: format!("127.0.0.1:{kafka}"),
        }
    }

    /// Waits (30 s at most) until `GET /` answers; panics if the process exits.
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = reqwest::blocking::Client::new();
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("charter serve exited during start: {status}");
            }
            if client
                .get(&self.base)
                .send()
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("charter serve did not become ready");
    }

    /// SIGKILL: no shutdown hooks, no flush.
    pub fn kill9(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("wait");
    }

    /// SIGTERM; the exit status, or a panic if the process outlives `bound`.
    pub fn terminate_within(mut self, bound: Duration) -> ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + bound;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "SIGTERM did not end the process within {bound:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, and a clean (zero) exit within 30 s.
    pub fn stop(self) {
        let status = self.terminate_within(Duration::from_secs(30));
        assert!(status.success(), "clean shutdown: {status}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
