//! The client's caches: bounded maps of single-flight slots, with an optional TTL.
//!
//! Each key owns a slot holding the last good answer and a fetch lock. A caller that finds a
//! fresh answer returns it after two uncontended mutex acquisitions, without awaiting. On a miss
//! the first caller fetches while holding the slot's async lock; concurrent callers for the
//! same key wait on that lock and then find the answer (single flight: one HTTP request for
//! any number of simultaneous misses). Errors are never cached. When a TTL'd answer has
//! expired and the refresh fails with a retriable error (registry down), the expired answer is
//! returned if `stale_on_error` is set.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::error::Result;

struct Slot<T> {
    value: Mutex<Option<(Instant, Arc<T>)>>,
    fetch: tokio::sync::Mutex<()>,
}

impl<T> Slot<T> {
    fn new() -> Self {
        Slot {
            value: Mutex::new(None),
            fetch: tokio::sync::Mutex::new(()),
        }
    }

    fn get(&self, ttl: Option<Duration>) -> (Option<Arc<T>>, Option<Arc<T>>) {
        let g = self.value.lock().unwrap_or_else(|e| e.into_inner());
        match &*g {
            None => (None, None),
            Some((at, v)) => {
                let fresh = ttl.is_none_or(|ttl| at.elapsed() < ttl);
                if fresh {
                    (Some(v.clone()), None)
                } else {
                    (None, Some(v.clone()))
                }
            }
        }
    }

    fn set(&self, v: Arc<T>) {
        *self.value.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), v));
    }
}

struct Entry<T> {
    slot: Arc<Slot<T>>,
    /// Insertion order, for eviction.
    seq: u64,
}

/// A bounded map `K → T` of single-flight slots.
pub(crate) struct Cache<K, T> {
    map: Mutex<(HashMap<K, Entry<T>>, u64)>,
    capacity: usize,
    ttl: Option<Duration>,
    stale_on_error: bool,
}

impl<K: Eq + Hash + Clone, T> Cache<K, T> {
    /// A cache of at most `capacity` keys whose answers expire after `ttl` (never if `None`).
    pub(crate) fn new(capacity: usize, ttl: Option<Duration>, stale_on_error: bool) -> Self {
        Cache {
            map: Mutex::new((HashMap::new(), 0)),
            capacity: capacity.max(1),
            ttl,
            stale_on_error,
        }
    }

    fn slot(&self, key: &K) -> Arc<Slot<T>> {
        let mut g = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let (map, seq) = &mut *g;
        if let Some(e) = map.get(key) {
            return e.slot.clone();
        }
        if map.len() >= self.capacity {
            // Evict the oldest entry (O(n), only when full).
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, e)| e.seq)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        *seq += 1;
        let slot = Arc::new(Slot::new());
        map.insert(
            key.clone(),
            Entry {
                slot: slot.clone(),
                seq: *seq,
            },
        );
        slot
    }

    /// The cached answer for `key` if fresh, without fetching.
    pub(crate) fn peek(&self, key: &K) -> Option<Arc<T>> {
        let g = self.map.lock().unwrap_or_else(|e| e.into_inner());
        g.0.get(key).and_then(|e| e.slot.get(self.ttl).0)
    }

    /// The answer for `key`: cached if fresh, else fetched once for all concurrent callers.
    pub(crate) async fn get_or_fetch<F, Fut>(&self, key: &K, fetch: F) -> Result<Arc<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let slot = self.slot(key);
        if let (Some(v), _) = slot.get(self.ttl) {
            return Ok(v);
        }
        let _guard = slot.fetch.lock().await;
        let stale = match slot.get(self.ttl) {
            (Some(v), _) => return Ok(v),
            (None, stale) => stale,
        };
        match fetch().await {
            Ok(v) => {
                let v = Arc::new(v);
                slot.set(v.clone());
                Ok(v)
            }
            Err(e) => match stale {
                Some(v) if self.stale_on_error && e.is_retriable() => Ok(v),
                _ => Err(e),
            },
        }
    }

    /// Stores an answer obtained otherwise.
    pub(crate) fn insert(&self, key: K, value: Arc<T>) {
        self.slot(&key).set(value);
    }

    /// Forgets `key`.
    pub(crate) fn remove(&self, key: &K) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .remove(key);
    }

    /// Forgets the keys for which `keep` is false.
    pub(crate) fn retain(&self, mut keep: impl FnMut(&K) -> bool) {
        let mut g = self.map.lock().unwrap_or_else(|e| e.into_inner());
        g.0.retain(|k, _| keep(k));
    }

    /// Forgets everything.
    pub(crate) fn clear(&self) {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).0.clear();
    }

    /// Number of keys.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::error::Error;
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn single_flight_and_ttl() {
        rt().block_on(async {
            let cache: Arc<Cache<u32, u32>> =
                Arc::new(Cache::new(10, Some(Duration::from_millis(50)), true));
            let calls = Arc::new(AtomicUsize::new(0));
            let mut tasks = Vec::new();
            for _ in 0..8 {
                let (cache, calls) = (cache.clone(), calls.clone());
                tasks.push(tokio::spawn(async move {
                    *cache
                        .get_or_fetch(&1, || async {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            Ok(7)
                        })
                        .await
                        .unwrap()
                }));
            }
            for t in tasks {
                assert_eq!(t.await.unwrap(), 7);
            }
            assert_eq!(calls.load(Ordering::SeqCst), 1);
            tokio::time::sleep(Duration::from_millis(60)).await;
            assert!(cache.peek(&1).is_none());
            // Expired + retriable failure: the stale answer is served.
            let v = cache
                .get_or_fetch(&1, || async {
                    Err(Error::Registry {
                        status: 503,
                        error_code: 50301,
                        message: String::new(),
                    })
                })
                .await
                .unwrap();
            assert_eq!(*v, 7);
            // Expired + permanent failure: the error.
            let e = cache
                .get_or_fetch(&1, || async {
                    Err(Error::Registry {
                        status: 404,
                        error_code: 40401,
                        message: String::new(),
                    })
                })
                .await;
            assert!(e.is_err());
            let v = cache.get_or_fetch(&1, || async { Ok(8) }).await.unwrap();
            assert_eq!(*v, 8);
        });
    }

    #[test]
    fn bounded() {
        rt().block_on(async {
            let cache: Cache<u32, u32> = Cache::new(3, None, false);
            for k in 0..10 {
                cache
                    .get_or_fetch(&k, || async move { Ok(k) })
                    .await
                    .unwrap();
            }
            assert_eq!(cache.len(), 3);
            assert!(cache.peek(&9).is_some());
            assert!(cache.peek(&0).is_none());
        });
    }
}
