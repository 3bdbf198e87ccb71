//! Throttling of failed authentications: a client address that fails too often is refused (429,
//! with the seconds to wait) until its quota refills, whatever token it presents next.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Addresses refused at most at once; beyond this the ones whose wait is over are forgotten.
const MAX_BLOCKED: usize = 100_000;

pub struct Throttle {
    failures: DefaultKeyedRateLimiter<IpAddr>,
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    /// Whether any address is in `blocked`: while none is, checking an address takes no lock.
    any_blocked: AtomicBool,
}

impl Throttle {
    /// Allows `per_minute` failed authentications per address (in a burst or spread out).
    pub fn new(per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            failures: RateLimiter::keyed(Quota::per_minute(per_minute)),
            blocked: Mutex::new(HashMap::new()),
            any_blocked: AtomicBool::new(false),
        }
    }

    /// Seconds `ip` must still wait, if it is refused now.
    pub fn retry_after(&self, ip: IpAddr) -> Option<u64> {
        if !self.any_blocked.load(Ordering::Acquire) {
            return None;
        }
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let wait = match blocked.get(&ip) {
            Some(until) if *until > now => Some((*until - now).as_secs().max(1)),
            Some(_) => {
                blocked.remove(&ip);
                None
            }
            None => None,
        };
        self.any_blocked
            .store(!blocked.is_empty(), Ordering::Release);
        wait
    }

    /// Counts a failure from `ip`; past the quota, the address is refused until it refills.
    pub fn failed(&self, ip: IpAddr) {
        if let Err(not_until) = self.failures.check_key(&ip) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
            if blocked.len() >= MAX_BLOCKED {
                let now = Instant::now();
                blocked.retain(|_, until| *until > now);
            }
            blocked.insert(ip, Instant::now() + wait.max(Duration::from_secs(1)));
            self.any_blocked.store(true, Ordering::Release);
        }
        self.failures.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_refused_past_its_quota_and_others_are_not() {
        let t = Throttle::new(3);
        let bad: IpAddr = "192.0.2.1".parse().expect("ip");
        let good: IpAddr = "192.0.2.2".parse().expect("ip");
        for _ in 0..3 {
            assert_eq!(t.retry_after(bad), None);
            t.failed(bad);
        }
        assert_eq!(
            t.retry_after(bad),
            None,
            "three failures are within the quota"
        );
        t.failed(bad);
        let wait = t.retry_after(bad).expect("refused");
        assert!((1..=60).contains(&wait), "{wait}");
        assert_eq!(t.retry_after(good), None);
    }
}
