//! The only place that reads the wall clock. Everything time-dependent takes
//! a `&dyn Clock` so tests can pin time with [`FixedClock`](crate::clock::FixedClock).

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

pub trait Clock: Send + Sync {
    /// Wall-clock time, for expiry stamps from AWS.
    fn now(&self) -> SystemTime;
    /// Monotonic time, for countdown ticks and timeouts.
    fn instant(&self) -> Instant;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn instant(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct FixedClock {
    inner: Mutex<(SystemTime, Instant)>,
}

impl FixedClock {
    pub fn new(now: SystemTime) -> Self {
        FixedClock {
            inner: Mutex::new((now, Instant::now())),
        }
    }

    /// Moves both clocks forward.
    pub fn advance(&self, by: Duration) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.0 += by;
        g.1 += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).0
    }
    fn instant(&self) -> Instant {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).1
    }
}

/// Seconds from `now` until `t` (negative when past).
pub fn secs_until(now: SystemTime, t: SystemTime) -> i64 {
    match t.duration_since(now) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}
