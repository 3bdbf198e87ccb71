//! How often a token may be used: named limits on a token, or on an API user for all of its
//! tokens together (`default`: 100 requests per 60 seconds), and the fixed windows they count in.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// The most limits one token (or API user) carries.
pub const MAX_LIMITS: usize = 10;
/// The largest `limit` of one window.
pub const MAX_LIMIT: u32 = 1_000_000_000;
/// The longest window: a day.
pub const MAX_PER_SECONDS: u32 = 86_400;

/// One named limit: at most `limit` (the sum of the requests' costs) in each window of
/// `per_seconds`, windows starting at multiples of `per_seconds` since the epoch.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RateLimit {
    /// The limit's name, unique among a token's: 1–32 of `a-z`, `0-9`, `_`, `-`.
    pub name: String,
    /// How much may be used in one window.
    pub limit: u32,
    /// The window's length, in seconds (1 to a day).
    pub per_seconds: u32,
}

impl RateLimit {
    /// The window that holds `now_seconds` (seconds since the epoch): its start, in seconds.
    pub fn window_start(&self, now_seconds: i64) -> i64 {
        let per = i64::from(self.per_seconds);
        now_seconds.div_euclid(per) * per
    }

    /// Seconds from `now_seconds` until the window that holds it ends (at least 1).
    pub fn reset_after(&self, now_seconds: i64) -> u32 {
        let end = self.window_start(now_seconds) + i64::from(self.per_seconds);
        u32::try_from((end - now_seconds).max(1)).unwrap_or(self.per_seconds)
    }
}

impl fmt::Display for RateLimit {
    /// `default 100/60s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}s", self.name, self.limit, self.per_seconds)
    }
}

/// A token's (or an API user's) limits: never empty (no list: no limit), names unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits(Vec<RateLimit>);

impl RateLimits {
    /// Checks a list as given: 1 to [`MAX_LIMITS`] limits, each named once with a valid name, a
    /// limit of 1 to [`MAX_LIMIT`] and a window of 1 to [`MAX_PER_SECONDS`] seconds.
    pub fn new(limits: Vec<RateLimit>) -> Result<Self, ValidationError> {
        let invalid = |message: String| ValidationError::new("rate_limits", message);
        if limits.is_empty() {
            return Err(invalid(
                "an empty list would let the token do nothing; leave the list out (null) for no \
                 limit"
                    .into(),
            ));
        }
        if limits.len() > MAX_LIMITS {
            return Err(invalid(format!(
                "at most {MAX_LIMITS} limits; this list has {}",
                limits.len()
            )));
        }
        for (i, l) in limits.iter().enumerate() {
            let name_ok = (1..=32).contains(&l.name.len())
                && l.name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            if !name_ok {
                return Err(invalid(format!(
                    "{:?} is not a limit name: 1 to 32 of a-z, 0-9, _ and -",
                    l.name
                )));
            }
            if limits[..i].iter().any(|other| other.name == l.name) {
                return Err(invalid(format!("the name `{}` is given twice", l.name)));
            }
            if !(1..=MAX_LIMIT).contains(&l.limit) {
                return Err(invalid(format!(
                    "`{}`: limit must be from 1 to {MAX_LIMIT}",
                    l.name
                )));
            }
            if !(1..=MAX_PER_SECONDS).contains(&l.per_seconds) {
                return Err(invalid(format!(
                    "`{}`: per_seconds must be from 1 to {MAX_PER_SECONDS} (a day)",
                    l.name
                )));
            }
        }
        Ok(Self(limits))
    }

    /// The limits.
    pub fn limits(&self) -> &[RateLimit] {
        &self.0
    }

    /// Whether this list holds every limit of `acting`, as strict or stricter (the same name and
    /// window, no larger a limit): a token held to limits hands them on, and cannot loosen them.
    pub fn keeps(&self, acting: &RateLimits) -> bool {
        acting.0.iter().all(|a| {
            self.0
                .iter()
                .any(|m| m.name == a.name && m.per_seconds == a.per_seconds && m.limit <= a.limit)
        })
    }

    /// This list with every limit of `acting` that it lacks by name added.
    pub fn with(mut self, acting: &RateLimits) -> Self {
        for l in &acting.0 {
            if !self.0.iter().any(|mine| mine.name == l.name) {
                self.0.push(l.clone());
            }
        }
        self
    }

    /// The form the web UI edits: one limit per line, `name limit/seconds`.
    pub fn to_lines(&self) -> String {
        self.0
            .iter()
            .map(|l| format!("{} {}/{}", l.name, l.limit, l.per_seconds))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Parses [`RateLimits::to_lines`]' form: `default 100/60` per line (`s` after the seconds
    /// allowed); blank lines are skipped, and no line at all is `None`.
    pub fn parse_lines(text: &str) -> Result<Option<Self>, ValidationError> {
        let mut limits = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let bad = || {
                ValidationError::new(
                    "rate_limits",
                    format!(
                        "{line:?}: write a limit as `name limit/seconds`, e.g. `default 100/60`"
                    ),
                )
            };
            let (name, rate) = line.split_once(char::is_whitespace).ok_or_else(bad)?;
            let (limit, per) = rate.trim().split_once('/').ok_or_else(bad)?;
            let per = per.trim().trim_end_matches('s');
            limits.push(RateLimit {
                name: name.to_owned(),
                limit: limit.trim().parse().map_err(|_| bad())?,
                per_seconds: per.parse().map_err(|_| bad())?,
            });
        }
        if limits.is_empty() {
            return Ok(None);
        }
        Self::new(limits).map(Some)
    }
}

impl fmt::Display for RateLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, l) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{l}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(name: &str, limit: u32, per_seconds: u32) -> RateLimit {
        RateLimit {
            name: name.into(),
            limit,
            per_seconds,
        }
    }

    #[test]
    fn windows_start_at_multiples_of_their_length() {
        let l = limit("default", 100, 60);
        assert_eq!(l.window_start(125), 120);
        assert_eq!(l.reset_after(125), 55);
        assert_eq!(l.reset_after(120), 60);
        assert_eq!(l.window_start(-1), -60);
    }

    #[test]
    fn lists_are_checked() {
        assert!(RateLimits::new(vec![]).is_err());
        assert!(RateLimits::new(vec![limit("a", 1, 1), limit("a", 2, 2)]).is_err());
        assert!(RateLimits::new(vec![limit("Bad Name", 1, 1)]).is_err());
        assert!(RateLimits::new(vec![limit("a", 0, 1)]).is_err());
        assert!(RateLimits::new(vec![limit("a", 1, 0)]).is_err());
        assert!(RateLimits::new(vec![limit("a", 1, MAX_PER_SECONDS + 1)]).is_err());
        let many = (0..=MAX_LIMITS)
            .map(|i| limit(&format!("l{i}"), 1, 1))
            .collect();
        assert!(RateLimits::new(many).is_err());
        let ok =
            RateLimits::new(vec![limit("default", 100, 60), limit("burst", 10, 1)]).expect("valid");
        assert_eq!(ok.to_string(), "default 100/60s, burst 10/1s");
    }

    #[test]
    fn the_lines_form_round_trips() {
        let parsed = RateLimits::parse_lines("default 100/60\n\n burst 10/1s \n")
            .expect("valid")
            .expect("valid");
        assert_eq!(parsed.to_lines(), "default 100/60\nburst 10/1");
        assert_eq!(
            RateLimits::parse_lines(&parsed.to_lines()).expect("valid"),
            Some(parsed)
        );
        assert_eq!(RateLimits::parse_lines("  \n").expect("valid"), None);
        for bad in ["default", "default 100", "default x/60", "default 100/x"] {
            assert!(RateLimits::parse_lines(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_list_keeps_the_acting_limits_only_unchanged() {
        let acting = RateLimits::new(vec![limit("default", 100, 60)]).expect("valid");
        let mine = RateLimits::new(vec![limit("burst", 5, 1)]).expect("valid");
        assert!(!mine.keeps(&acting));
        let merged = mine.with(&acting);
        assert!(merged.keeps(&acting));
        let looser = RateLimits::new(vec![limit("default", 1000, 60)]).expect("valid");
        assert!(!looser.keeps(&acting));
        let stricter = RateLimits::new(vec![limit("default", 10, 60)]).expect("valid");
        assert!(stricter.keeps(&acting));
        let other_window = RateLimits::new(vec![limit("default", 100, 1)]).expect("valid");
        assert!(!other_window.keeps(&acting));
        assert_eq!(looser.with(&acting).limits().len(), 1, "a name given wins");
    }
}
