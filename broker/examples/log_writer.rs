//! Crash-test helper: appends batches to a partition log from several concurrent producers,
//! waits for the group-committed `sync` after each append (acks=all), and prints every
//! acknowledged range as `ack <base> <last>` on stdout. `tests/log_crash.rs` kills it with
//! SIGKILL mid-stream and checks that every acknowledged batch survived.
//!
//! Usage: `log_writer <dir> [producers] [max_batches_per_producer]`

use std::io::Write;
use std::sync::Arc;

use charter_broker::log::batch::simple_batch;
use charter_broker::log::{LogConfig, PartitionLog};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .ok_or("usage: log_writer <dir> [producers] [batches]")?;
    let producers: usize = args.next().map_or(Ok(4), |s| s.parse())?;
    let batches: usize = args.next().map_or(Ok(usize::MAX), |s| s.parse())?;
    // Small segments so the crash can land around rolls too.
    let config = LogConfig {
        segment_bytes: 256 * 1024,
        ..LogConfig::default()
    };
    let log = Arc::new(PartitionLog::open(&dir, config)?);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(i64, i64)>();
    let mut tasks = Vec::new();
    for p in 0..producers {
        let log = log.clone();
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..batches {
                // Varying sizes (1..=16 records of 1 KiB) so batch boundaries vary.
                let mut b = simple_batch(1 + (i + p) % 16, 1024, (i * producers + p) as i64);
                let info = log.append(&mut b, 0).expect("append");
                log.sync().await.expect("sync");
                if tx.send((info.base_offset, info.last_offset)).is_err() {
                    return;
                }
            }
        }));
    }
    drop(tx);
    // One printer, so lines never interleave; each ack is flushed before the next is printed.
    let mut out = std::io::stdout().lock();
    while let Some((base, last)) = rx.recv().await {
        writeln!(out, "ack {base} {last}")?;
        out.flush()?;
    }
    for t in tasks {
        t.await?;
    }
    Ok(())
}
