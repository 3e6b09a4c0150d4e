//! A real `charter serve` child on free ports with a temporary data directory, and a runner
//! for `charter` client commands against it, for the CLI end-to-end tests.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (bound and released; tests tolerate the tiny race).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A running `charter serve`.
pub struct Server {
    child: Child,
    /// The registry's base URL.
    pub registry: String,
    /// The Kafka bootstrap address.
    pub bootstrap: String,
    /// The data directory (kept until drop).
    pub data: tempfile::TempDir,
}

impl Server {
    /// Starts `charter serve` and waits until the registry answers `GET /` and the Kafka port
    /// accepts connections.
    pub fn start() -> Server {
        let data = tempfile::tempdir().expect("tempdir");
        let (rp, kp) = (free_port(), free_port());
        let child = Command::new(env!("CARGO_BIN_EXE_charter"))
            .arg("serve")
            .arg("--data-dir")
            .arg(data.path())
            .args(["--registry-listen", &format!("127.0.0.1:{rp}")])
            .args(["--kafka-listen", &format!("127.0.0.1:{kp}")])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn charter serve");
        let s = Server {
            child,
            registry: format!("http://127.0.0.1:{rp}"),
            bootstrap: format!("127.0.0.1:{kp}"),
            data,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let http = reqwest::blocking::Client::new();
        while Instant::now() < deadline {
            let registry_up = http
                .get(&s.registry)
                .send()
                .is_ok_and(|r| r.status().is_success());
            if registry_up && TcpStream::connect(&s.bootstrap).is_ok() {
                return s;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("charter serve did not become ready");
    }

    /// A `charter` command aimed at this server (through the environment variables users
    /// set), run in `dir`.
    pub fn charter(&self, dir: &Path) -> Command {
        let mut c = charter(dir);
        c.env("CHARTER_REGISTRY_URL", &self.registry)
            .env("CHARTER_BOOTSTRAP_SERVER", &self.bootstrap);
        c
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `charter` command run in `dir`, with a clean environment for its variables.
pub fn charter(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_charter"));
    c.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("CHARTER_") || k == "NO_COLOR" || k == "CLICOLOR_FORCE" {
            c.env_remove(k);
        }
    }
    c.stdin(Stdio::null());
    c
}

/// What a finished command printed and returned.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The stdout parsed as one JSON document.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` with `args` to completion.
pub fn run(mut cmd: Command, args: &[&str]) -> Run {
    let o: Output = cmd.args(args).output().expect("run charter");
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Runs `cmd` with `args` and `input` on stdin.
pub fn run_with_input(mut cmd: Command, args: &[&str], input: &str) -> Run {
    use std::io::Write;
    let mut child = cmd
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn charter");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).expect("write stdin");
    }
    let o = child.wait_with_output().expect("wait");
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// The repository's `schemas/` directory.
pub fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas")
}

/// Writes `files` (relative path, contents) under `dir`.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (p, c) in files {
        let path = dir.join(p);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, c).expect("write");
    }
}
