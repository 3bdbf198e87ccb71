//! Rate limits, counted per deployment without a database round trip per request: each node
//! admits against the total it last heard from the database plus what it admitted since, and a
//! background task adds what it admitted to the shared count and reads back the total every
//! [`SYNC_INTERVAL`]. Between two reports a node does not see the others' use: see
//! `docs/rate-limits.md` for how far over a limit a burst across nodes can go.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use keygate_domain::{RateLimit, RateLimits};
use keygate_store::RateUse;
use uuid::Uuid;

use super::Keygate;

/// How often each node reports what it admitted and learns the others' use.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(200);

/// Where a request stands against the tightest limit it is held to: what answers carry in
/// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateState {
    /// The limit's size per window.
    pub limit: u32,
    /// What is left of it in this window, after this request.
    pub remaining: u32,
    /// Seconds until the window ends.
    pub reset: u32,
}

/// One limit of one subject (a token or an API user) in its current window, on this node.
#[derive(Debug)]
struct Counter {
    name: String,
    window: i64,
    per_seconds: u32,
    /// The window's total over every node, as last read from the database.
    known: u64,
    /// Admitted here and not yet reported.
    pending: u64,
    /// Reported, and not yet answered with a total.
    in_flight: u64,
    /// Used since the last report: reported even with nothing pending, to learn the total.
    touched: bool,
}

impl Counter {
    fn used(&self) -> u64 {
        self.known + self.pending + self.in_flight
    }
}

/// The counters of this node.
#[derive(Debug, Default)]
pub struct RateCounters {
    by_subject: Mutex<HashMap<Uuid, Vec<Counter>>>,
}

impl RateCounters {
    /// Admits a request of `cost` held to each of `held` (a subject and its limits) at
    /// `now_seconds`: all of them must allow it, and then it counts against all of them. The
    /// state of the tightest limit, or of the first one it would break.
    pub fn admit(
        &self,
        held: &[(Uuid, &RateLimits)],
        cost: u32,
        now_seconds: i64,
    ) -> Result<Option<RateState>, RateState> {
        let cost = u64::from(cost);
        let mut all = self.by_subject.lock().unwrap_or_else(|e| e.into_inner());
        let mut tightest: Option<RateState> = None;
        for (subject, limits) in held {
            let counters = all.entry(*subject).or_default();
            for limit in limits.limits() {
                let counter = counter(counters, limit, now_seconds);
                let used = counter.used();
                let size = u64::from(limit.limit);
                let reset = limit.reset_after(now_seconds);
                if used + cost > size {
                    return Err(RateState {
                        limit: limit.limit,
                        remaining: u32::try_from(size.saturating_sub(used)).unwrap_or(0),
                        reset,
                    });
                }
                let state = RateState {
                    limit: limit.limit,
                    remaining: u32::try_from(size - used - cost).unwrap_or(u32::MAX),
                    reset,
                };
                if tightest.is_none_or(|t| state.remaining < t.remaining) {
                    tightest = Some(state);
                }
            }
        }
        for (subject, limits) in held {
            if let Some(counters) = all.get_mut(subject) {
                for limit in limits.limits() {
                    let c = counter(counters, limit, now_seconds);
                    c.pending += cost;
                    c.touched = true;
                }
            }
        }
        Ok(tightest)
    }

    /// What to report: each counter used since the last report, its pending use moved to in
    /// flight. Counters of windows that ended are forgotten.
    fn take_report(&self, now_seconds: i64) -> Vec<RateUse> {
        let mut all = self.by_subject.lock().unwrap_or_else(|e| e.into_inner());
        let mut report = Vec::new();
        all.retain(|subject, counters| {
            counters.retain(|c| c.window + i64::from(c.per_seconds) > now_seconds);
            for c in counters.iter_mut().filter(|c| c.touched || c.pending > 0) {
                report.push(RateUse {
                    subject: *subject,
                    name: c.name.clone(),
                    window: (c.window, c.window + i64::from(c.per_seconds)),
                    used: c.pending,
                });
                c.in_flight += c.pending;
                c.pending = 0;
                c.touched = false;
            }
            !counters.is_empty()
        });
        report
    }

    /// Takes in the totals the database answered for `report` (`None`: it could not be
    /// reached, and what was in flight is pending again).
    fn settle(&self, report: &[RateUse], totals: Option<&[u64]>) {
        let mut all = self.by_subject.lock().unwrap_or_else(|e| e.into_inner());
        for (i, sent) in report.iter().enumerate() {
            let Some(c) = all.get_mut(&sent.subject).and_then(|cs| {
                cs.iter_mut()
                    .find(|c| c.name == sent.name && c.window == sent.window.0)
            }) else {
                continue;
            };
            c.in_flight = c.in_flight.saturating_sub(sent.used);
            match totals.and_then(|t| t.get(i)) {
                Some(total) => c.known = c.known.max(*total),
                None => c.pending += sent.used,
            }
        }
    }
}

/// The counter of `limit` in the window holding `now_seconds`, started when missing or when its
/// window is over.
fn counter<'a>(
    counters: &'a mut Vec<Counter>,
    limit: &RateLimit,
    now_seconds: i64,
) -> &'a mut Counter {
    let window = limit.window_start(now_seconds);
    let fresh = || Counter {
        name: limit.name.clone(),
        window,
        per_seconds: limit.per_seconds,
        known: 0,
        pending: 0,
        in_flight: 0,
        touched: false,
    };
    let at = match counters.iter().position(|c| c.name == limit.name) {
        Some(at) => at,
        None => {
            counters.push(fresh());
            counters.len() - 1
        }
    };
    let c = &mut counters[at];
    if c.window != window || c.per_seconds != limit.per_seconds {
        *c = fresh();
    }
    c
}

impl Keygate {
    /// Reports this node's use of rate limits and learns every node's, every [`SYNC_INTERVAL`],
    /// until the process ends.
    pub async fn run_rate_sync(self) {
        let mut tick = tokio::time::interval(SYNC_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.sync_rates().await;
        }
    }

    /// One report: what this node admitted since the last, and the totals back.
    pub async fn sync_rates(&self) {
        let now = self.clock.now().timestamp();
        let report = self.rates.take_report(now);
        if report.is_empty() {
            return;
        }
        // Windows are a day at most; an hour's grace for clocks that differ.
        match self.store.add_rate_uses(&report, now - 3600).await {
            Ok(totals) => self.rates.settle(&report, Some(&totals)),
            Err(e) => {
                tracing::warn!(error = %e, "could not share rate limit counts; trying again");
                self.rates.settle(&report, None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(list: &[(&str, u32, u32)]) -> RateLimits {
        RateLimits::new(
            list.iter()
                .map(|(name, limit, per_seconds)| RateLimit {
                    name: (*name).to_owned(),
                    limit: *limit,
                    per_seconds: *per_seconds,
                })
                .collect(),
        )
        .expect("valid")
    }

    /// What is left of the tightest limit after a request that passes.
    fn remaining(c: &RateCounters, held: &[(Uuid, &RateLimits)], cost: u32, now: i64) -> u32 {
        c.admit(held, cost, now)
            .expect("valid")
            .expect("valid")
            .remaining
    }

    #[test]
    fn a_limit_admits_its_size_per_window_then_refuses_until_the_next() {
        let c = RateCounters::default();
        let token = Uuid::now_v7();
        let l = limits(&[("default", 3, 60)]);
        let held = [(token, &l)];
        for left in [2, 1, 0] {
            let state = c.admit(&held, 1, 120).expect("valid").expect("valid");
            assert_eq!((state.limit, state.remaining, state.reset), (3, left, 60));
        }
        let refused = c.admit(&held, 1, 150).expect_err("refused");
        assert_eq!((refused.remaining, refused.reset), (0, 30));
        // A question that costs nothing still passes; the next window starts afresh.
        assert!(c.admit(&held, 0, 150).is_ok());
        assert_eq!(remaining(&c, &held, 1, 180), 2);
    }

    #[test]
    fn a_request_must_pass_every_limit_and_counts_only_when_it_does() {
        let c = RateCounters::default();
        let (token, api_user) = (Uuid::now_v7(), Uuid::now_v7());
        let own = limits(&[("burst", 2, 1), ("default", 100, 60)]);
        let shared = limits(&[("default", 3, 60)]);
        let held = [(token, &own), (api_user, &shared)];
        assert_eq!(remaining(&c, &held, 1, 0), 1);
        assert_eq!(remaining(&c, &held, 1, 0), 0);
        // The burst limit refuses; the shared one is not charged for it.
        assert!(c.admit(&held, 1, 0).is_err());
        assert_eq!(remaining(&c, &held, 1, 1), 0);
        assert!(c.admit(&held, 1, 2).is_err(), "the API user's 3 are used");
    }

    #[test]
    fn other_nodes_use_counts_once_reported() {
        let c = RateCounters::default();
        let token = Uuid::now_v7();
        let l = limits(&[("default", 10, 60)]);
        let held = [(token, &l)];
        c.admit(&held, 4, 0).expect("valid");
        let report = c.take_report(1);
        assert_eq!(report.len(), 1);
        assert_eq!((report[0].used, report[0].window), (4, (0, 60)));
        // Still counted while in flight.
        assert_eq!(remaining(&c, &held, 0, 1), 6);
        // The database says 9 in all: 5 came from another node.
        c.settle(&report, Some(&[9]));
        assert_eq!(remaining(&c, &held, 1, 2), 0);
        assert!(c.admit(&held, 1, 2).is_err());
        // A failed report keeps the use pending.
        let report = c.take_report(3);
        assert_eq!(report[0].used, 1);
        c.settle(&report, None);
        assert_eq!(c.take_report(4)[0].used, 1);
        // Windows that ended are forgotten.
        assert!(c.take_report(61).is_empty());
    }
}
