//! A real `charter serve` at its resource limits: the open-file limit, many idle or
//! half-sent connections, slow HTTP clients. Each test measures the child process from
//! outside (/proc/PID/stat CPU time, /proc/PID/status VmRSS, its stderr), with bounds far
//! from both the fixed and the broken behaviour so a noisy machine cannot flip them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

mod common;

use common::child::{
    api_versions, api_versions_on, closed_by_peer, eventually, http_get_ok, Server,
};

fn count_lines(text: &str, needle: &str) -> usize {
    text.lines().filter(|l| l.contains(needle)).count()
}

#[test]
fn at_the_fd_limit_the_accept_loop_backs_off_and_recovers() {
    let server = Server::start(&[], Some((128, 128)));
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

#[test]
fn the_soft_open_file_limit_is_raised_to_the_hard_limit() {
    let server = Server::start(&[], Some((256, 4096)));
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.pid())).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("Max open files");
    let fields: Vec<&str> = line.split_whitespace().collect();
    // "Max open files  <soft>  <hard>  files"
    assert_eq!(&fields[3..5], &["4096", "4096"], "{line}");
}
