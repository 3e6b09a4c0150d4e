//! Rate-limited warnings: conditions that can repeat thousands of times a second (accept
//! failures at the fd limit, refused connections, writes to a full disk) are logged once per
//! interval with the number of occurrences, so the log cannot become the next problem.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts occurrences of one condition and says when to log them.
#[derive(Debug)]
pub struct RateLimited {
    interval: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    last_logged: Option<Instant>,
    count: u64,
}

impl RateLimited {
    /// At most one line per `interval`.
    pub const fn new(interval: Duration) -> RateLimited {
        RateLimited {
            interval,
            state: Mutex::new(State {
                last_logged: None,
                count: 0,
            }),
        }
    }

    /// Records one occurrence now; see [`RateLimited::hit_at`].
    pub fn hit(&self) -> Option<u64> {
        self.hit_at(Instant::now())
    }

    /// Records one occurrence at `now`. `Some(n)` when a line should be logged: `n` is the
    /// number of occurrences since the previous line, this one included. The first occurrence
    /// is always logged, so a single event is never hidden.
    pub fn hit_at(&self, now: Instant) -> Option<u64> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.count += 1;
        let due = s
            .last_logged
            .is_none_or(|last| now.saturating_duration_since(last) >= self.interval);
        if !due {
            return None;
        }
        s.last_logged = Some(now);
        Some(std::mem::take(&mut s.count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_with_the_count() {
        let r = RateLimited::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(r.hit_at(t0), Some(1));
        for i in 1..1000 {
            assert_eq!(r.hit_at(t0 + Duration::from_millis(i)), None);
        }
        // The next line reports everything since the previous one, including itself.
        assert_eq!(r.hit_at(t0 + Duration::from_secs(10)), Some(1000));
        assert_eq!(r.hit_at(t0 + Duration::from_secs(11)), None);
        assert_eq!(r.hit_at(t0 + Duration::from_secs(30)), Some(2));
    }
}
