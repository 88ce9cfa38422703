//! Event timestamps: the local clock, made strictly increasing per client so
//! that two events with the same content never get the same id.

use accord_proto::Timestamp;
use std::sync::Mutex;

/// Hands out strictly increasing timestamps.
#[derive(Debug, Default)]
pub(crate) struct EventClock {
    last: Mutex<u64>,
}

impl EventClock {
    /// The current time, or 1 ms after the last timestamp handed out if the
    /// clock has not moved past it (same millisecond, or a clock step back).
    pub(crate) fn next(&self) -> Timestamp {
        self.next_at(Timestamp::now())
    }

    pub(crate) fn next_at(&self, now: Timestamp) -> Timestamp {
        // A poisoned lock only means another thread panicked while holding a
        // plain integer; the value is still usable.
        let mut last = self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let ts = now.as_millis().max(last.saturating_add(1));
        *last = ts;
        Timestamp::from_millis(ts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_millisecond_is_bumped() {
        let clock = EventClock::default();
        let now = Timestamp::from_millis(1_700_000_000_000);
        assert_eq!(clock.next_at(now).as_millis(), 1_700_000_000_000);
        assert_eq!(clock.next_at(now).as_millis(), 1_700_000_000_001);
        assert_eq!(clock.next_at(now).as_millis(), 1_700_000_000_002);
        // The clock moved on: its value is used again.
        assert_eq!(clock.next_at(Timestamp::from_millis(1_700_000_000_010)).as_millis(), 1_700_000_000_010);
    }

    #[test]
    fn clock_stepping_back_never_repeats() {
        let clock = EventClock::default();
        let a = clock.next_at(Timestamp::from_millis(5_000));
        let b = clock.next_at(Timestamp::from_millis(4_000));
        assert!(b > a);
    }

    #[test]
    fn real_clock_is_strictly_increasing() {
        let clock = EventClock::default();
        let stamps: Vec<Timestamp> = (0..100).map(|_| clock.next()).collect();
        assert!(stamps.windows(2).all(|w| w[0] < w[1]));
    }
}
