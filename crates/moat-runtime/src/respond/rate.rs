//! Rate limiting of alerts, per rule.

use std::collections::HashMap;
use std::time::Instant;

/// The most alerts per second a limiter refills; higher rates are clamped to it.
const MAX_RATE: f64 = 1e9;

/// A token bucket per rule name: each rule may raise `burst` alerts at once, then
/// `per_second` alerts a second on average. The caller passes the time, so the limiter
/// never reads a clock itself.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: HashMap<String, Bucket>,
    suppressed: u64,
}

#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    last: Instant,
    suppressed: u64,
}

impl RateLimiter {
    /// A limiter refilling `per_second` alerts a second per rule, up to `burst`. A rate that
    /// is negative or not a number counts as 0 (only the burst ever passes); a burst of 0
    /// suppresses everything.
    pub fn new(per_second: f64, burst: u32) -> RateLimiter {
        let per_second = if per_second.is_nan() {
            0.0
        } else {
            per_second.clamp(0.0, MAX_RATE)
        };
        RateLimiter {
            per_second,
            burst: f64::from(burst),
            buckets: HashMap::new(),
            suppressed: 0,
        }
    }

    /// Whether an alert of `rule` raised at `now` may pass; counts it as suppressed if not.
    /// A `now` earlier than the rule's previous alert refills nothing.
    pub fn allow(&mut self, rule: &str, now: Instant) -> bool {
        let (per_second, burst) = (self.per_second, self.burst);
        let allowed = match self.buckets.get_mut(rule) {
            Some(bucket) => bucket.take(now, per_second, burst),
            None => {
                let mut bucket = Bucket {
                    tokens: burst,
                    last: now,
                    suppressed: 0,
                };
                let allowed = bucket.take(now, per_second, burst);
                self.buckets.insert(rule.to_string(), bucket);
                allowed
            }
        };
        if !allowed {
            self.suppressed += 1;
        }
        allowed
    }

    /// Alerts suppressed so far, all rules together.
    pub fn suppressed(&self) -> u64 {
        self.suppressed
    }

    /// Alerts of `rule` suppressed so far.
    pub fn suppressed_for(&self, rule: &str) -> u64 {
        self.buckets.get(rule).map_or(0, |bucket| bucket.suppressed)
    }
}

impl Bucket {
    /// Refills the tokens earned since the last alert, then takes one if there is one.
    fn take(&mut self, now: Instant, per_second: f64, burst: f64) -> bool {
        if now > self.last {
            let elapsed = now.duration_since(self.last).as_secs_f64();
            self.tokens = (self.tokens + elapsed * per_second).min(burst);
            self.last = now;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return true;
        }
        self.suppressed += 1;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(start: Instant, millis: u64) -> Instant {
        start + Duration::from_millis(millis)
    }

    #[test]
    fn burst_then_suppression_then_refill() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(2.0, 3);
        let passed: Vec<bool> = (0..5).map(|_| limiter.allow("r", start)).collect();
        assert_eq!(passed, [true, true, true, false, false]);
        assert_eq!(limiter.suppressed(), 2);
        // Half a second at 2 a second refills one alert, not two.
        assert!(limiter.allow("r", at(start, 500)));
        assert!(!limiter.allow("r", at(start, 500)));
        // A long pause refills the burst, and no more.
        let later = at(start, 60_000);
        let passed: Vec<bool> = (0..4).map(|_| limiter.allow("r", later)).collect();
        assert_eq!(passed, [true, true, true, false]);
        assert_eq!(limiter.suppressed(), 4);
        assert_eq!(limiter.suppressed_for("r"), 4);
    }

    #[test]
    fn every_rule_has_its_own_bucket() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(1.0, 1);
        assert!(limiter.allow("a", start));
        assert!(!limiter.allow("a", start));
        assert!(limiter.allow("b", start));
        assert_eq!(limiter.suppressed_for("a"), 1);
        assert_eq!(limiter.suppressed_for("b"), 0);
        assert_eq!(limiter.suppressed_for("never seen"), 0);
    }

    #[test]
    fn time_going_backwards_refills_nothing() {
        let start = at(Instant::now(), 10_000);
        let mut limiter = RateLimiter::new(1.0, 1);
        assert!(limiter.allow("r", start));
        assert!(!limiter.allow("r", start - Duration::from_secs(5)));
        assert!(!limiter.allow("r", at(start, 999)));
        assert!(limiter.allow("r", at(start, 1000)));
    }

    #[test]
    fn odd_rates_and_bursts_are_tamed() {
        let start = Instant::now();
        let mut nothing = RateLimiter::new(5.0, 0);
        assert!(!nothing.allow("r", start));
        let mut burst_only = RateLimiter::new(f64::NAN, 1);
        assert!(burst_only.allow("r", start));
        assert!(!burst_only.allow("r", at(start, 3_600_000)));
        let mut unlimited = RateLimiter::new(f64::INFINITY, 2);
        assert!((0..10).all(|n| unlimited.allow("r", at(start, n + 1))));
    }
}
