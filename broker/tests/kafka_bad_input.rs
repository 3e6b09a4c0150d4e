//! Hostile bytes on the Kafka port: oversized and negative frame sizes, garbage bodies for
//! every supported API, truncated headers. The broker closes those connections, never panics,
//! and keeps serving everyone else.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

mod common;

static PANICS: AtomicUsize = AtomicUsize::new(0);

fn start() -> (common::TestBroker, String) {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        prev(info);
    }));
    let b = common::TestBroker::start(1024 * 1024);
    let addr = b.bootstrap.clone();
    (b, addr)
}

/// Sends one frame (size prefix + bytes) and returns whatever comes back before the
/// connection closes or a short timeout.
fn exchange(addr: &str, size: i32, body: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let _ = s.write_all(&size.to_be_bytes());
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// A well-formed ApiVersions v0 request; the answer proves the broker still serves.
fn api_versions_ok(addr: &str) -> bool {
    let mut req = Vec::new();
    req.extend_from_slice(&18i16.to_be_bytes()); // ApiVersions
    req.extend_from_slice(&0i16.to_be_bytes()); // v0
    req.extend_from_slice(&7i32.to_be_bytes()); // correlation id
    req.extend_from_slice(&(-1i16).to_be_bytes()); // null client id
    let resp = exchange(addr, req.len() as i32, &req);
    resp.len() > 8 && resp[4..8] == 7i32.to_be_bytes()
}

#[test]
fn garbage_never_panics_and_service_continues() {
    let (_broker, addr) = start();
    assert!(api_versions_ok(&addr));

    // Sizes: negative, zero, tiny, over socket.request.max.bytes.
    for size in [-1, 0, 2, 2 * 1024 * 1024] {
        exchange(&addr, size, &[0u8; 8]);
    }
    // Unknown API key, unsupported version.
    exchange(&addr, 8, &[0x7f, 0x00, 0, 0, 0, 0, 0, 1]);
    exchange(&addr, 8, &[0, 0, 0x40, 0, 0, 0, 0, 1]);

    // Garbage bodies behind valid headers for every API we speak, at several versions.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for (key, versions) in [
        (0i16, 3i16..=9),
        (1, 4..=12),
        (2, 1..=7),
        (3, 0..=12),
        (18, 0..=3),
        (19, 2..=7),
        (20, 1..=6),
        (22, 0..=4),
        (32, 1..=4),
        (44, 0..=1),
        // The group APIs.
        (8, 2..=8),
        (9, 1..=8),
        (10, 0..=4),
        (11, 0..=7),
        (12, 0..=4),
        (13, 0..=5),
        (14, 0..=5),
        (15, 0..=5),
        (16, 0..=4),
        (42, 0..=2),
        (47, 0..=0),
    ] {
        for v in versions {
            for len in [0usize, 1, 7, 64, 300] {
                let mut req = Vec::new();
                req.extend_from_slice(&key.to_be_bytes());
                req.extend_from_slice(&v.to_be_bytes());
                req.extend_from_slice(&1i32.to_be_bytes());
                req.extend_from_slice(&(-1i16).to_be_bytes());
                for _ in 0..len {
                    req.push(rand() as u8);
                }
                exchange(&addr, req.len() as i32, &req);
            }
        }
    }
    assert_eq!(
        PANICS.load(Ordering::SeqCst),
        0,
        "a request made the broker panic"
    );
    assert!(
        api_versions_ok(&addr),
        "the broker still answers after the garbage"
    );
}
