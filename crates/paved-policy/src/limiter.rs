//! [`RefusalLimiter`]: at most a few refusal records per second per source.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Refusals a source may have recorded in a burst, and per second after it.
const BURST: f64 = 20.0;
const PER_SECOND: f64 = 2.0;
/// Sources tracked at once; beyond this, the stalest are forgotten.
const MAX_SOURCES: usize = 10_000;

/// A token bucket per source address: a caller can have its refusals recorded at a bounded
/// rate, so refused calls cannot grow the audit log without bound. What goes over is counted.
#[derive(Debug, Default)]
pub struct RefusalLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
    suppressed: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RefusalLimiter {
    /// Whether a refusal from `source` may be recorded now.
    pub fn admit(&self, source: &str) -> bool {
        self.admit_at(source, Instant::now())
    }

    fn admit_at(&self, source: &str, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().expect("limiter lock");
        if buckets.len() >= MAX_SOURCES && !buckets.contains_key(source) {
            let stalest = buckets
                .iter()
                .min_by_key(|(_, bucket)| bucket.at)
                .map(|(source, _)| source.clone());
            if let Some(stalest) = stalest {
                buckets.remove(&stalest);
            }
        }
        let bucket = buckets.entry(source.to_owned()).or_insert(Bucket {
            tokens: BURST,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * PER_SECOND).min(BURST);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            false
        }
    }

    pub fn suppressed(&self) -> u64 {
        self.suppressed.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bursts_then_refills() {
        let limiter = RefusalLimiter::default();
        let start = Instant::now();
        let admitted = (0..100)
            .filter(|_| limiter.admit_at("10.0.0.1", start))
            .count();
        assert_eq!(admitted, BURST as usize);
        assert_eq!(limiter.suppressed(), 100 - BURST as u64);
        // Another source has its own bucket.
        assert!(limiter.admit_at("10.0.0.2", start));
        // Two tokens a second come back.
        let later = start + Duration::from_secs(1);
        let admitted = (0..10)
            .filter(|_| limiter.admit_at("10.0.0.1", later))
            .count();
        assert_eq!(admitted, PER_SECOND as usize);
    }
}
