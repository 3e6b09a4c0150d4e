//! A real `charter serve` at its resource limits: the open-file limit, many idle or
//! half-sent connections, slow HTTP clients. Each test measures the child process from
//! outside (/proc/PID/stat CPU time, /proc/PID/status VmRSS, its stderr), with bounds far
//! from both the fixed and the broken behaviour so a noisy machine cannot flip them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    kafka: String,
    http: String,
    stderr: PathBuf,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

impl Server {
    /// `charter serve` with `args`, its open-file limit (soft and hard) at `nofile` if given.
    fn start(args: &[&str], nofile: Option<u64>) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let (kp, hp) = (free_port(), free_port());
        let stderr = dir.path().join("stderr.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_charter"));
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--kafka-listen", &format!("127.0.0.1:{kp}")])
            .args(["--registry-listen", &format!("127.0.0.1:{hp}")])
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"));
        if let Some(n) = nofile {
            // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    let lim = libc::rlimit {
                        rlim_cur: n,
                        rlim_max: n,
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

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// User + system CPU time of the child so far.
    fn cpu_time(&self) -> Duration {
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
    fn rss(&self) -> u64 {
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
fn api_versions(addr: &str) -> bool {
    TcpStream::connect(addr).is_ok_and(|mut s| api_versions_on(&mut s))
}

/// An ApiVersions v0 round trip on `s`; true when answered.
fn api_versions_on(s: &mut TcpStream) -> bool {
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

fn http_get_ok(addr: &str) -> bool {
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
fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
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
fn closed_by_peer(s: &mut TcpStream, limit: Duration) -> bool {
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

fn count_lines(text: &str, needle: &str) -> usize {
    text.lines().filter(|l| l.contains(needle)).count()
}

#[test]
fn at_the_fd_limit_the_accept_loop_backs_off_and_recovers() {
    let server = Server::start(&[], Some(128));
    // Far more idle connections than the child has descriptors.
    let conns: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(&server.kafka).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let cpu_before = server.cpu_time();
    let window = Duration::from_secs(4);
    std::thread::sleep(window);
    let cpu = server.cpu_time() - cpu_before;
    let log = server.stderr_text();
    // Spinning on EMFILE burns the whole window on one core; backing off costs next to nothing.
    assert!(
        cpu < window / 4,
        "{cpu:?} of CPU in a {window:?} window at the fd limit"
    );
    let warnings = count_lines(&log, "accept failed");
    assert!(
        (1..=5).contains(&warnings),
        "{warnings} accept warnings (want a few, rate-limited):\n{}",
        &log[..log.len().min(4000)]
    );
    assert!(log.len() < 64 * 1024, "stderr grew to {} bytes", log.len());

    drop(conns);
    assert!(
        eventually(Duration::from_secs(30), || api_versions(&server.kafka)),
        "the broker did not serve again once connections closed"
    );
}

#[test]
fn half_sent_frames_wait_for_the_request_budget() {
    const MIB: usize = 1024 * 1024;
    let budget = (16 * MIB).to_string();
    let server = Server::start(
        &[
            "--socket-request-max-bytes",
            &budget,
            "--queued-max-request-bytes",
            &budget,
        ],
        None,
    );
    let base = server.rss();
    // 24 clients each announce a 16 MiB frame and send half of it. Read eagerly, that is
    // 192 MiB of heap; under the budget only one frame at a time is read.
    let senders: Vec<_> = (0..24)
        .map(|_| {
            let addr = server.kafka.clone();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).expect("connect");
                s.set_write_timeout(Some(Duration::from_secs(3)))
                    .expect("timeout");
                let _ = s.write_all(&(16 * MIB as i32).to_be_bytes());
                // A valid-looking header so nothing is refused before the body is read.
                let chunk = vec![0u8; MIB];
                for _ in 0..8 {
                    if s.write_all(&chunk).is_err() {
                        break;
                    }
                }
                s
            })
        })
        .collect();
    let conns: Vec<TcpStream> = senders
        .into_iter()
        .map(|t| t.join().expect("sender"))
        .collect();
    let mut peak = server.rss();
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(100));
        peak = peak.max(server.rss());
    }
    let growth = peak.saturating_sub(base) as usize;
    assert!(
        growth < 64 * MIB,
        "RSS grew by {} MiB with 24 half-sent 16 MiB frames (budget 16 MiB)",
        growth / MIB
    );
    drop(conns);
    assert!(
        eventually(Duration::from_secs(30), || api_versions(&server.kafka)),
        "the budget was not given back when the connections closed"
    );
}

#[test]
fn slow_and_idle_http_connections_are_closed() {
    let server = Server::start(&["--http-idle-timeout-ms", "300"], None);
    // Slowloris: half a request head, then silence.
    let mut slow = TcpStream::connect(&server.http).expect("connect");
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    let started = Instant::now();
    assert!(
        closed_by_peer(&mut slow, Duration::from_secs(20)),
        "a half-sent request head kept its connection open"
    );
    assert!(started.elapsed() >= Duration::from_millis(250));

    // Keep-alive: one request answered, then idle.
    let mut idle = TcpStream::connect(&server.http).expect("connect");
    idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let mut head = [0u8; 12];
    idle.read_exact(&mut head).expect("response");
    assert_eq!(&head, b"HTTP/1.1 200");
    assert!(
        closed_by_peer(&mut idle, Duration::from_secs(20)),
        "an idle keep-alive connection stayed open"
    );
    // And a connection that never sends a byte.
    let mut silent = TcpStream::connect(&server.http).expect("connect");
    assert!(closed_by_peer(&mut silent, Duration::from_secs(20)));
    assert!(http_get_ok(&server.http));
}

#[test]
fn kafka_connections_over_the_cap_are_closed_and_idle_ones_time_out() {
    let mut server = Server::start(
        &[
            "--max-connections",
            "3",
            "--connections-max-idle-ms",
            "1500",
        ],
        None,
    );
    // Three connections are served (the readiness probes' slots may take a moment to free,
    // so a refused one is retried).
    let mut held = Vec::new();
    while held.len() < 3 {
        assert!(server.child.try_wait().expect("wait").is_none());
        let mut c = TcpStream::connect(&server.kafka).expect("connect");
        if api_versions_on(&mut c) {
            held.push(c);
        } else {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    // A fourth is closed at once, before it can send anything.
    let mut fourth = TcpStream::connect(&server.kafka).expect("connect");
    assert!(closed_by_peer(&mut fourth, Duration::from_secs(20)));
    assert!(eventually(Duration::from_secs(10), || count_lines(
        &server.stderr_text(),
        "connection limit reached"
    ) >= 1));
    // The held ones are idle: connections.max.idle.ms closes them.
    for c in &mut held {
        assert!(
            closed_by_peer(c, Duration::from_secs(30)),
            "idle connection not closed"
        );
    }
    // With their slots free, new connections are served again.
    assert!(eventually(Duration::from_secs(30), || api_versions(
        &server.kafka
    )));
}
