//! The application's clock. Every command's time, every session's expiry and the expiry sweep
//! read it, so a test can move time forward instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

/// The system clock, or one that tests can move forward (system time plus a shift).
#[derive(Debug, Clone, Default)]
pub struct Clock {
    shift_ms: Option<Arc<AtomicI64>>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that starts at system time and that `advance` moves forward.
    pub fn shiftable() -> Self {
        Self { shift_ms: Some(Arc::new(AtomicI64::new(0))) }
    }

    pub fn now(&self) -> DateTime<Utc> {
        let shift = self.shift_ms.as_ref().map_or(0, |s| s.load(Ordering::Relaxed));
        Utc::now() + Duration::milliseconds(shift)
    }

    /// Moves a shiftable clock forward; the system clock cannot be moved.
    pub fn advance(&self, by: Duration) {
        let shift = self.shift_ms.as_ref().expect("only a shiftable clock can be moved");
        shift.fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shiftable_clock_moves_forward_and_its_clones_with_it() {
        let clock = Clock::shiftable();
        let seen_by_engine = clock.clone();
        let before = seen_by_engine.now();
        clock.advance(Duration::hours(13));
        let after = seen_by_engine.now();
        assert!(after - before >= Duration::hours(13) && after - before < Duration::hours(13) + Duration::seconds(5));
    }
}
