//! Idempotent-producer bookkeeping for one partition: which sequence numbers each producer has
//! written, so a retried batch is acknowledged instead of stored twice.
//!
//! Kafka's rules (`ProducerStateManager`), which librdkafka, Java and kafkajs rely on:
//!
//! * Per producer id we keep its epoch and the metadata of its last
//!   [`WINDOW`] batches (librdkafka and Java keep at most 5 batches in flight).
//! * A batch whose first and last sequence equal one in the window is a **duplicate**: it is
//!   not written again and the producer is told the original offsets.
//! * Otherwise the batch must continue the sequence (`last + 1`, wrapping at `i32::MAX`); a
//!   batch entirely below the window is DUPLICATE_SEQUENCE_NUMBER, anything else is
//!   OUT_OF_ORDER_SEQUENCE_NUMBER.
//! * An epoch below the producer's current epoch is INVALID_PRODUCER_EPOCH; a new epoch must
//!   start at sequence 0. A producer id we have never seen may start anywhere (its earlier
//!   batches may have been deleted by retention).
//!
//! The state is rebuilt on open from a snapshot taken at each segment roll plus a scan of the
//! batch headers after it (see `PartitionLog::open`), so deduplication survives a crash.

use std::collections::{HashMap, VecDeque};
use std::path::Path;

use super::batch::BatchHeader;
use super::checkpoint;

/// Batches remembered per producer: the idempotent producer's in-flight limit.
pub const WINDOW: usize = 5;

/// How long a producer that wrote nothing is remembered (`producer.id.expiration.ms`, 1 day).
pub const PRODUCER_EXPIRATION_MS: i64 = 24 * 60 * 60 * 1000;

/// Metadata of one appended batch, enough to answer a retry of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchMeta {
    pub first_seq: i32,
    pub last_seq: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    /// Max timestamp of the batch; producers idle longer than the expiration are dropped.
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMeta>,
}

/// Why a producer's batch cannot be appended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SequenceError {
    #[error("producer {producer_id} epoch {epoch} is older than the current epoch {current}")]
    InvalidEpoch {
        producer_id: i64,
        epoch: i16,
        current: i16,
    },
    #[error("out of order sequence {got} for producer {producer_id} (expected {expected})")]
    OutOfOrder {
        producer_id: i64,
        got: i32,
        expected: i32,
    },
    #[error("sequence {got} of producer {producer_id} is older than its last {WINDOW} batches")]
    Duplicate { producer_id: i64, got: i32 },
}

/// The verdict on an idempotent batch that may be appended or acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sequenced {
    /// New data in sequence: append it.
    Append,
    /// A retry of a batch already in the log, with its original offsets.
    Duplicate(BatchMeta),
}

/// The sequence state of every idempotent producer that wrote to one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerStates {
    producers: HashMap<i64, ProducerEntry>,
}

/// `base + delta` in Kafka's sequence space, which wraps from `i32::MAX` to 0.
fn add_sequence(base: i32, delta: i32) -> i32 {
    if base > i32::MAX - delta {
        delta - (i32::MAX - base) - 1
    } else {
        base + delta
    }
}

fn next_sequence(last: i32) -> i32 {
    add_sequence(last, 1)
}

impl ProducerStates {
    /// Checks `header` (an idempotent batch: `producer_id >= 0`) against the producer's state.
    pub fn check(&self, header: &BatchHeader) -> Result<Sequenced, SequenceError> {
        let pid = header.producer_id;
        let first = header.base_sequence;
        let last = add_sequence(first, header.last_offset_delta);
        let Some(entry) = self.producers.get(&pid) else {
            return Ok(Sequenced::Append);
        };
        if header.producer_epoch < entry.epoch {
            return Err(SequenceError::InvalidEpoch {
                producer_id: pid,
                epoch: header.producer_epoch,
                current: entry.epoch,
            });
        }
        if header.producer_epoch > entry.epoch {
            // A bumped epoch restarts the sequence.
            return if first == 0 {
                Ok(Sequenced::Append)
            } else {
                Err(SequenceError::OutOfOrder {
                    producer_id: pid,
                    got: first,
                    expected: 0,
                })
            };
        }
        if let Some(dup) = entry
            .batches
            .iter()
            .find(|b| b.first_seq == first && b.last_seq == last)
        {
            return Ok(Sequenced::Duplicate(*dup));
        }
        let Some(newest) = entry.batches.back() else {
            return Ok(Sequenced::Append);
        };
        let expected = next_sequence(newest.last_seq);
        if first == expected {
            return Ok(Sequenced::Append);
        }
        // Below the window (and not wrapped around): a retry of something long acknowledged.
        let oldest = entry
            .batches
            .front()
            .map_or(newest.first_seq, |b| b.first_seq);
        if first < oldest && last < oldest && newest.last_seq >= oldest {
            return Err(SequenceError::Duplicate {
                producer_id: pid,
                got: first,
            });
        }
        Err(SequenceError::OutOfOrder {
            producer_id: pid,
            got: first,
            expected,
        })
    }

    /// Records an appended idempotent batch (stored at `first_offset..=last_offset`).
    pub fn record(&mut self, header: &BatchHeader, first_offset: i64, last_offset: i64) {
        if header.producer_id < 0 {
            return;
        }
        let meta = BatchMeta {
            first_seq: header.base_sequence,
            last_seq: add_sequence(header.base_sequence, header.last_offset_delta),
            first_offset,
            last_offset,
            timestamp: header.max_timestamp,
        };
        let entry = self
            .producers
            .entry(header.producer_id)
            .or_insert_with(|| ProducerEntry {
                epoch: header.producer_epoch,
                batches: VecDeque::with_capacity(WINDOW),
            });
        if header.producer_epoch != entry.epoch {
            entry.epoch = header.producer_epoch;
            entry.batches.clear();
        }
        if entry.batches.len() == WINDOW {
            entry.batches.pop_front();
        }
        entry.batches.push_back(meta);
    }

    /// Forgets producers whose newest batch is older than the expiration.
    pub fn expire(&mut self, now_ms: i64) {
        self.producers.retain(|_, e| {
            e.batches
                .back()
                .is_none_or(|b| now_ms.saturating_sub(b.timestamp) < PRODUCER_EXPIRATION_MS)
        });
    }

    /// Number of producers tracked.
    pub fn len(&self) -> usize {
        self.producers.len()
    }

    /// Whether no producer is tracked.
    pub fn is_empty(&self) -> bool {
        self.producers.is_empty()
    }

    /// Writes the state as of `offset` to `dir/{offset}.snapshot` (atomically, fsync'd).
    pub fn write_snapshot(&self, dir: &Path, offset: i64) -> std::io::Result<()> {
        let mut lines = Vec::new();
        for (pid, e) in &self.producers {
            for b in &e.batches {
                lines.push(format!(
                    "{pid} {} {} {} {} {} {}",
                    e.epoch, b.first_seq, b.last_seq, b.first_offset, b.last_offset, b.timestamp
                ));
            }
        }
        checkpoint::write_atomic(dir, &snapshot_name(offset), &lines)
    }

    /// Reads a snapshot written by [`ProducerStates::write_snapshot`]; `None` if it is missing
    /// or malformed (the caller then rebuilds from the log).
    pub fn read_snapshot(path: &Path) -> Option<ProducerStates> {
        let mut states = ProducerStates::default();
        for line in checkpoint::read_lines(path)? {
            let f: Vec<i64> = line
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            let [pid, epoch, first_seq, last_seq, first_offset, last_offset, timestamp] = f[..]
            else {
                return None;
            };
            let entry = states
                .producers
                .entry(pid)
                .or_insert_with(|| ProducerEntry {
                    epoch: epoch as i16,
                    batches: VecDeque::with_capacity(WINDOW),
                });
            if entry.batches.len() == WINDOW {
                entry.batches.pop_front();
            }
            entry.batches.push_back(BatchMeta {
                first_seq: i32::try_from(first_seq).ok()?,
                last_seq: i32::try_from(last_seq).ok()?,
                first_offset,
                last_offset,
                timestamp,
            });
        }
        Some(states)
    }
}

/// File name of the producer snapshot taken at `offset` (Kafka's `.snapshot` files).
pub fn snapshot_name(offset: i64) -> String {
    super::segment::file_name(offset, "snapshot")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(pid: i64, epoch: i16, first_seq: i32, records: i32) -> BatchHeader {
        BatchHeader {
            base_offset: 0,
            batch_length: 100,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0,
            attributes: 0,
            last_offset_delta: records - 1,
            base_timestamp: 1,
            max_timestamp: 1,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: first_seq,
            records_count: records,
        }
    }

    /// Appends `h` at `offset` if the check allows it; returns the verdict.
    fn offer(
        s: &mut ProducerStates,
        h: BatchHeader,
        offset: i64,
    ) -> Result<Sequenced, SequenceError> {
        let v = s.check(&h)?;
        if v == Sequenced::Append {
            s.record(&h, offset, offset + h.last_offset_delta as i64);
        }
        Ok(v)
    }

    #[test]
    fn in_sequence_batches_append_and_retries_are_duplicates() {
        let mut s = ProducerStates::default();
        assert_eq!(offer(&mut s, header(7, 0, 0, 3), 0), Ok(Sequenced::Append));
        assert_eq!(offer(&mut s, header(7, 0, 3, 2), 3), Ok(Sequenced::Append));
        match offer(&mut s, header(7, 0, 0, 3), 99) {
            Ok(Sequenced::Duplicate(m)) => assert_eq!((m.first_offset, m.last_offset), (0, 2)),
            other => panic!("expected duplicate, got {other:?}"),
        }
        assert_eq!(
            offer(&mut s, header(7, 0, 9, 1), 5),
            Err(SequenceError::OutOfOrder {
                producer_id: 7,
                got: 9,
                expected: 5
            })
        );
    }

    #[test]
    fn only_the_last_five_batches_are_remembered() {
        let mut s = ProducerStates::default();
        for i in 0..7 {
            assert_eq!(
                offer(&mut s, header(1, 0, i, 1), i as i64),
                Ok(Sequenced::Append)
            );
        }
        assert!(matches!(
            offer(&mut s, header(1, 0, 2, 1), 0),
            Ok(Sequenced::Duplicate(_))
        ));
        assert_eq!(
            offer(&mut s, header(1, 0, 0, 1), 0),
            Err(SequenceError::Duplicate {
                producer_id: 1,
                got: 0
            })
        );
    }

    #[test]
    fn epochs_fence_old_producers_and_restart_sequences() {
        let mut s = ProducerStates::default();
        offer(&mut s, header(1, 3, 0, 5), 0).unwrap();
        assert!(matches!(
            offer(&mut s, header(1, 2, 5, 1), 5),
            Err(SequenceError::InvalidEpoch { current: 3, .. })
        ));
        assert!(matches!(
            offer(&mut s, header(1, 4, 5, 1), 5),
            Err(SequenceError::OutOfOrder { expected: 0, .. })
        ));
        assert_eq!(offer(&mut s, header(1, 4, 0, 1), 5), Ok(Sequenced::Append));
        // Unknown producers may start anywhere.
        assert_eq!(offer(&mut s, header(2, 0, 42, 1), 6), Ok(Sequenced::Append));
    }

    #[test]
    fn sequences_wrap_at_i32_max() {
        let mut s = ProducerStates::default();
        offer(&mut s, header(1, 0, i32::MAX - 1, 2), 0).unwrap();
        assert_eq!(offer(&mut s, header(1, 0, 0, 1), 2), Ok(Sequenced::Append));
    }

    #[test]
    fn snapshots_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = ProducerStates::default();
        for i in 0..7 {
            offer(&mut s, header(1, 2, i * 2, 2), i as i64 * 2).unwrap();
        }
        offer(&mut s, header(9, 0, 0, 1), 20).unwrap();
        s.write_snapshot(dir.path(), 21).unwrap();
        let back = ProducerStates::read_snapshot(&dir.path().join(snapshot_name(21))).unwrap();
        assert_eq!(back, s);
        assert!(ProducerStates::read_snapshot(&dir.path().join("missing")).is_none());
    }

    #[test]
    fn idle_producers_expire() {
        let mut s = ProducerStates::default();
        offer(&mut s, header(1, 0, 0, 1), 0).unwrap();
        s.expire(1 + PRODUCER_EXPIRATION_MS - 1);
        assert_eq!(s.len(), 1);
        s.expire(1 + PRODUCER_EXPIRATION_MS);
        assert!(s.is_empty());
    }
}
