//! A real `charter serve` child process for tests that measure it from outside: its stderr,
//! /proc/PID/stat CPU time and /proc/PID/status VmRSS, optionally with a low open-file limit
//! or its data directory on a small tmpfs.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub kafka: String,
    pub http: String,
    stderr: PathBuf,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

/// A file taking space on a tmpfs data directory, so a test can free some.
const FILLER: &str = "filler";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

impl Server {
    /// `charter serve` with `args`, its open-file limit (soft, hard) at `nofile` if given.
    pub fn start(args: &[&str], nofile: Option<(u64, u64)>) -> Server {
        Server::start_in(args, nofile, None)
    }

    /// [`Server::start`] with the data directory on a tmpfs of `tmpfs_size` (e.g. `16m`),
    /// mounted in a private user and mount namespace (`unshare -Urm`), so no root is needed
    /// and nothing leaks into the host's mount table.
    pub fn start_in(args: &[&str], nofile: Option<(u64, u64)>, tmpfs_size: Option<&str>) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let (kp, hp) = (free_port(), free_port());
        let stderr = dir.path().join("stderr.log");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        let mut cmd = match tmpfs_size {
            None => Command::new(env!("CARGO_BIN_EXE_charter")),
            Some(size) => {
                let mut c = Command::new("unshare");
                c.args(["-Urm", "sh", "-c"])
                    .arg(format!(
                        "mount -t tmpfs -o size={size} tmpfs \"$0\" && \
                         head -c 4194304 /dev/zero > \"$0/{FILLER}\" && exec \"$@\""
                    ))
                    .arg(&data)
                    .arg(env!("CARGO_BIN_EXE_charter"));
                c
            }
        };
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(&data)
            .args(["--kafka-listen", &format!("127.0.0.1:{kp}")])
            .args(["--registry-listen", &format!("127.0.0.1:{hp}")])
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"));
        if let Some((soft, hard)) = nofile {
            // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    let lim = libc::rlimit {
                        rlim_cur: soft,
                        rlim_max: hard,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = cmd.spawn().expect("spawn charter serve");
        let s = Server {
            child,
            kafka: format!("127.0.0.1:{kp}"),
            http: format!("127.0.0.1:{hp}"),
            stderr,
            data,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if api_versions(&s.kafka) && http_get_ok(&s.http) {
                return s;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("charter serve did not become ready: {}", s.stderr_text());
    }

    /// On a tmpfs server: deletes the 4 MiB filler file written before start, freeing that
    /// much space (seen through /proc/PID/root, the child's own mount namespace).
    pub fn free_filler(&self) {
        let path = format!("/proc/{}/root{}/{FILLER}", self.pid(), self.data.display());
        std::fs::remove_file(&path).expect("remove the filler");
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// User + system CPU time of the child so far.
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).expect("stat");
        // Fields after the command name (which may hold spaces): state is field 3, utime 14.
        let rest = &stat[stat.rfind(')').expect("comm") + 2..];
        let f: Vec<u64> = rest
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
        Duration::from_millis((f[11] + f[12]) * 1000 / hz)
    }

    /// Resident memory of the child, in bytes.
    pub fn rss(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("status");
        let line = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .expect("VmRSS");
        let kb: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .expect("VmRSS value");
        kb * 1024
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An ApiVersions v0 round trip on a new connection; true when answered.
pub fn api_versions(addr: &str) -> bool {
    TcpStream::connect(addr).is_ok_and(|mut s| api_versions_on(&mut s))
}

/// An ApiVersions v0 round trip on `s`; true when answered.
pub fn api_versions_on(s: &mut TcpStream) -> bool {
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut req = Vec::new();
    req.extend_from_slice(&10i32.to_be_bytes());
    req.extend_from_slice(&18i16.to_be_bytes());
    req.extend_from_slice(&0i16.to_be_bytes());
    req.extend_from_slice(&42i32.to_be_bytes());
    req.extend_from_slice(&(-1i16).to_be_bytes());
    if s.write_all(&req).is_err() {
        return false;
    }
    let mut head = [0u8; 8];
    if s.read_exact(&mut head).is_err() || head[4..8] != 42i32.to_be_bytes() {
        return false;
    }
    let size = i32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let mut rest = vec![0u8; (size as usize).saturating_sub(4)];
    s.read_exact(&mut rest).is_ok()
}

pub fn http_get_ok(addr: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out.starts_with(b"HTTP/1.1 200")
}

/// Waits up to `limit` for `f` to hold.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// True when the peer closes `s` (EOF or reset) within `limit`; false if it stays open.
pub fn closed_by_peer(s: &mut TcpStream, limit: Duration) -> bool {
    s.set_read_timeout(Some(limit)).expect("timeout");
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}
