//! How many invitations one caller may send: a per-user quota that refills over an hour, so that
//! nobody can flood inboxes or probe many emails through invitations.

use std::num::NonZeroU32;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

/// Invitations one caller may send per hour (in a burst or spread out), unless the
/// configuration's `invitations_per_hour` says otherwise.
pub const INVITATIONS_PER_HOUR: u32 = 50;

pub struct InviteLimit {
    sent: DefaultKeyedRateLimiter<Uuid>,
}

impl InviteLimit {
    pub fn new(per_hour: u32) -> Self {
        let per_hour = NonZeroU32::new(per_hour.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            sent: RateLimiter::keyed(Quota::per_hour(per_hour)),
        }
    }

    /// Counts one invitation by `caller`: `Err(seconds)` to wait when the quota is spent (and
    /// then nothing is counted).
    pub fn take(&self, caller: Uuid) -> Result<(), u64> {
        let outcome = self.sent.check_key(&caller).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            // Round up: waiting the seconds given is always enough.
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        });
        self.sent.retain_recent();
        outcome.map_err(|s| s.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_is_refused_past_the_quota_and_others_are_not() {
        let limit = InviteLimit::new(3);
        let (busy, other) = (Uuid::now_v7(), Uuid::now_v7());
        for _ in 0..3 {
            assert!(limit.take(busy).is_ok());
        }
        let wait = limit.take(busy).expect_err("past the quota");
        // One invitation refills every 20 minutes.
        assert!((1..=1200).contains(&wait), "{wait}");
        assert!(limit.take(other).is_ok());
    }
}
