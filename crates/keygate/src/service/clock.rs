//! The service's notion of now. Truncated to microseconds, the precision both databases keep, so
//! a timestamp read back equals the one written. Tests move it forward to expire tokens.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, DurationRound, Utc};

#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_micros: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        let now = Utc::now() + Duration::microseconds(self.offset_micros.load(Ordering::Relaxed));
        now.duration_trunc(Duration::microseconds(1)).unwrap_or(now)
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: Duration) {
        self.offset_micros
            .fetch_add(by.num_microseconds().unwrap_or(i64::MAX), Ordering::Relaxed);
    }
}
