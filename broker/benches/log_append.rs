//! Partition log append throughput with 1 KiB records (16 per batch, ~16.5 KiB batches):
//! page-cache appends (acks=1) and group-committed fsync appends from concurrent producers
//! (acks=all).
//!
//! Run: `cargo bench -p charter-broker --bench log_append`

use std::sync::Arc;
use std::time::{Duration, Instant};

use charter_broker::log::batch::simple_batch;
use charter_broker::log::{LogConfig, PartitionLog};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const RECORDS: usize = 16;
const RECORD_BYTES: usize = 1024;

fn config() -> LogConfig {
    // Bound the disk used by long runs: small segments plus size retention.
    LogConfig {
        segment_bytes: 64 << 20,
        retention_bytes: 256 << 20,
        retention_ms: -1,
        ..LogConfig::default()
    }
}

fn append_no_sync(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let log = PartitionLog::open(dir.path(), config()).unwrap();
    let mut batch = simple_batch(RECORDS, RECORD_BYTES, 1);
    let mut group = c.benchmark_group("log_append");
    group.throughput(Throughput::Bytes(batch.len() as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    let mut n = 0u64;
    group.bench_function("no_sync_16x1KiB", |b| {
        b.iter(|| {
            // Re-stamping the same buffer is fine: offsets and epoch are outside the CRC.
            log.append(&mut batch, 0).unwrap();
            n += 1;
            if n.is_multiple_of(4096) {
                log.enforce_retention(0).unwrap();
            }
        })
    });
    group.finish();
}

fn append_group_commit(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let batch_len = simple_batch(RECORDS, RECORD_BYTES, 1).len() as u64;
    let mut group = c.benchmark_group("log_append");
    group.throughput(Throughput::Bytes(batch_len));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for producers in [1usize, 8, 32] {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(PartitionLog::open(dir.path(), config()).unwrap());
        group.bench_function(format!("sync_{producers}_producers_16x1KiB"), |b| {
            b.iter_custom(|iters| {
                let log = log.clone();
                rt.block_on(async move {
                    let per = iters.div_ceil(producers as u64);
                    let start = Instant::now();
                    let mut tasks = Vec::new();
                    for _ in 0..producers {
                        let log = log.clone();
                        tasks.push(tokio::spawn(async move {
                            let mut batch = simple_batch(RECORDS, RECORD_BYTES, 1);
                            for _ in 0..per {
                                log.append(&mut batch, 0).unwrap();
                                log.sync().await.unwrap();
                            }
                        }));
                    }
                    for t in tasks {
                        t.await.unwrap();
                    }
                    log.enforce_retention(0).unwrap();
                    // Report time per append (iters may be rounded up to a multiple).
                    start
                        .elapsed()
                        .mul_f64(iters as f64 / (per * producers as u64) as f64)
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, append_no_sync, append_group_commit);
criterion_main!(benches);
