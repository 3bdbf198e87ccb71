//! The service's notion of now. Truncated to microseconds, the precision both databases keep, so
//! a timestamp read back equals the one written. Tests move it forward to expire tokens.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_micros: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        // Whole microseconds since the epoch, made a date once: every request asks.
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
            })
            .saturating_add(self.offset_micros.load(Ordering::Relaxed));
        DateTime::from_timestamp_micros(micros).unwrap_or_else(Utc::now)
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: Duration) {
        self.offset_micros
            .fetch_add(by.num_microseconds().unwrap_or(i64::MAX), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_whole_microseconds_and_follows_advance() {
        let clock = Clock::default();
        let before = Utc::now() - Duration::microseconds(1);
        let now = clock.now();
        assert_eq!(now.timestamp_subsec_nanos() % 1_000, 0);
        assert!(now >= before && now <= Utc::now());
        let other = clock.clone();
        other.advance(Duration::days(3));
        let later = clock.now();
        assert!(later - now >= Duration::days(3));
        assert!(later - now < Duration::days(3) + Duration::seconds(5));
        assert_eq!(later.timestamp_subsec_nanos() % 1_000, 0);
    }
}
