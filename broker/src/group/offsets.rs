//! Committed offsets, durable in sled: a commit acknowledged has been flushed to disk.
//!
//! Keys are `len(group) group len(topic) topic partition` (u16 lengths, big-endian partition),
//! so one group's offsets are a prefix scan and topic names may hold any byte. Values are
//! `offset i64, leader epoch i32, commit time i64, metadata` (metadata as UTF-8, a leading
//! flag byte telling null from empty).

use std::collections::BTreeSet;

/// One committed position, as OffsetCommit sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    pub offset: i64,
    /// The leader epoch the consumer saw at `offset`; -1 when unknown.
    pub leader_epoch: i32,
    /// The client's metadata string (`None` is Kafka's null).
    pub metadata: Option<String>,
    /// When the commit was made (ms since the epoch); drives `offsets.retention.minutes`.
    pub commit_timestamp: i64,
}

/// A (topic, partition) pair.
pub type TopicPartition = (String, i32);

/// The committed offsets of every group.
#[derive(Debug, Clone)]
pub struct OffsetStore {
    tree: sled::Tree,
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Group ids and topic names are bounded by the protocol's i16 string lengths.
    let len = s.len().min(u16::MAX as usize);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&s.as_bytes()[..len]);
}

fn group_prefix(group: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + group.len());
    put_str(&mut k, group);
    k
}

fn key(group: &str, topic: &str, partition: i32) -> Vec<u8> {
    let mut k = group_prefix(group);
    put_str(&mut k, topic);
    k.extend_from_slice(&partition.to_be_bytes());
    k
}

/// Splits a key into (group, topic, partition).
fn parse_key(k: &[u8]) -> Option<(String, String, i32)> {
    let take_str = |b: &[u8]| -> Option<(String, usize)> {
        let len = u16::from_be_bytes([*b.first()?, *b.get(1)?]) as usize;
        let s = std::str::from_utf8(b.get(2..2 + len)?).ok()?;
        Some((s.to_string(), 2 + len))
    };
    let (group, used) = take_str(k)?;
    let (topic, used2) = take_str(&k[used..])?;
    let p = k.get(used + used2..used + used2 + 4)?;
    Some((group, topic, i32::from_be_bytes([p[0], p[1], p[2], p[3]])))
}

fn encode_value(c: &CommittedOffset) -> Vec<u8> {
    let mut v = Vec::with_capacity(21 + c.metadata.as_ref().map_or(0, String::len));
    v.extend_from_slice(&c.offset.to_be_bytes());
    v.extend_from_slice(&c.leader_epoch.to_be_bytes());
    v.extend_from_slice(&c.commit_timestamp.to_be_bytes());
    match &c.metadata {
        None => v.push(0),
        Some(m) => {
            v.push(1);
            v.extend_from_slice(m.as_bytes());
        }
    }
    v
}

fn decode_value(v: &[u8]) -> Option<CommittedOffset> {
    let offset = i64::from_be_bytes(v.get(0..8)?.try_into().ok()?);
    let leader_epoch = i32::from_be_bytes(v.get(8..12)?.try_into().ok()?);
    let commit_timestamp = i64::from_be_bytes(v.get(12..20)?.try_into().ok()?);
    let metadata = match v.get(20)? {
        0 => None,
        _ => Some(String::from_utf8_lossy(&v[21..]).into_owned()),
    };
    Some(CommittedOffset {
        offset,
        leader_epoch,
        metadata,
        commit_timestamp,
    })
}

impl OffsetStore {
    /// Offsets kept in the `group-offsets` tree of `db`.
    pub fn open(db: &sled::Db) -> sled::Result<OffsetStore> {
        Ok(OffsetStore {
            tree: db.open_tree("group-offsets")?,
        })
    }

    /// Stores `offsets` for `group` atomically and waits until they are on disk.
    pub async fn commit(
        &self,
        group: &str,
        offsets: &[(TopicPartition, CommittedOffset)],
    ) -> sled::Result<()> {
        let mut batch = sled::Batch::default();
        for ((topic, partition), c) in offsets {
            batch.insert(key(group, topic, *partition), encode_value(c));
        }
        self.tree.apply_batch(batch)?;
        self.tree.flush_async().await?;
        Ok(())
    }

    /// The committed offset of one partition.
    pub fn get(&self, group: &str, topic: &str, partition: i32) -> Option<CommittedOffset> {
        let v = self.tree.get(key(group, topic, partition)).ok()??;
        decode_value(&v)
    }

    /// Every committed offset of `group`, ordered by topic and partition.
    pub fn all(&self, group: &str) -> Vec<(TopicPartition, CommittedOffset)> {
        self.tree
            .scan_prefix(group_prefix(group))
            .filter_map(Result::ok)
            .filter_map(|(k, v)| {
                let (_, topic, partition) = parse_key(&k)?;
                Some(((topic, partition), decode_value(&v)?))
            })
            .collect()
    }

    /// Whether `group` has any committed offset (without reading them all).
    pub fn has_any(&self, group: &str) -> bool {
        self.tree.scan_prefix(group_prefix(group)).next().is_some()
    }

    /// Groups that have at least one committed offset.
    pub fn groups(&self) -> BTreeSet<String> {
        self.tree
            .iter()
            .keys()
            .filter_map(Result::ok)
            .filter_map(|k| parse_key(&k).map(|(g, _, _)| g))
            .collect()
    }

    /// Deletes the given partitions' offsets of `group` (all of them when `None`).
    pub async fn delete(
        &self,
        group: &str,
        partitions: Option<&[TopicPartition]>,
    ) -> sled::Result<()> {
        let mut batch = sled::Batch::default();
        match partitions {
            Some(ps) => {
                for (topic, p) in ps {
                    batch.remove(key(group, topic, *p));
                }
            }
            None => {
                for k in self.tree.scan_prefix(group_prefix(group)).keys() {
                    batch.remove(k?);
                }
            }
        }
        self.tree.apply_batch(batch)?;
        self.tree.flush_async().await?;
        Ok(())
    }

    /// Deletes `group`'s offsets committed before `cutoff_ms`; returns how many went.
    pub async fn expire(&self, group: &str, cutoff_ms: i64) -> sled::Result<usize> {
        let expired: Vec<TopicPartition> = self
            .all(group)
            .into_iter()
            .filter(|(_, c)| c.commit_timestamp < cutoff_ms)
            .map(|(tp, _)| tp)
            .collect();
        if !expired.is_empty() {
            self.delete(group, Some(&expired)).await?;
        }
        Ok(expired.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed(offset: i64, metadata: Option<&str>, ts: i64) -> CommittedOffset {
        CommittedOffset {
            offset,
            leader_epoch: 3,
            metadata: metadata.map(str::to_string),
            commit_timestamp: ts,
        }
    }

    #[tokio::test]
    async fn commits_round_trip_and_stay_per_group() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let store = OffsetStore::open(&db).unwrap();
        let t = |s: &str, p| (s.to_string(), p);
        store
            .commit(
                "g1",
                &[
                    (t("a", 0), committed(5, Some("meta"), 10)),
                    (t("a", 1), committed(7, None, 10)),
                ],
            )
            .await
            .unwrap();
        store
            .commit("g10", &[(t("a", 0), committed(1, Some(""), 20))])
            .await
            .unwrap();
        assert_eq!(
            store.get("g1", "a", 0),
            Some(committed(5, Some("meta"), 10))
        );
        assert_eq!(store.get("g1", "a", 1), Some(committed(7, None, 10)));
        assert_eq!(
            store.all("g1").len(),
            2,
            "g10 must not leak into g1's prefix"
        );
        assert_eq!(store.all("g10")[0].1.metadata.as_deref(), Some(""));
        assert_eq!(
            store.groups().into_iter().collect::<Vec<_>>(),
            vec!["g1", "g10"]
        );
        assert_eq!(store.expire("g1", 11).await.unwrap(), 2);
        assert!(store.all("g1").is_empty());
        store.delete("g10", None).await.unwrap();
        assert!(store.groups().is_empty());
    }
}
