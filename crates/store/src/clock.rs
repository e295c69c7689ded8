//! Timestamps as fixed-width ISO-8601 UTC text (`2025-01-31T12:00:00.000000Z`): readable in any
//! SQL shell and, having one width, ordered and compared correctly as text on every engine.
//!
//! Every time the store writes or compares comes from the [`Clock`] it was opened with: the
//! system's, or in tests one moved forward on demand, so that staleness and takeovers are tested
//! without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

/// The store's time: the system clock plus an offset that only [`Clock::advance`] changes.
/// Clones share the offset, so a test advances every store handle opened with one clock.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Microseconds added to the system time.
    offset_micros: Arc<AtomicI64>,
}

impl Clock {
    /// Moves this clock (and its clones) forward: heartbeats recorded before look `by` older.
    pub fn advance(&self, by: Duration) {
        let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.offset_micros.fetch_add(micros, Ordering::SeqCst);
    }

    fn time(&self) -> DateTime<Utc> {
        let offset = chrono::Duration::microseconds(self.offset_micros.load(Ordering::SeqCst));
        Utc::now().checked_add_signed(offset).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Now, as stored.
    pub(crate) fn now(&self) -> String {
        format(self.time())
    }

    /// `older_than` before now, as stored: heartbeats below it are stale.
    pub(crate) fn cutoff(&self, older_than: Duration) -> String {
        // Absurd durations clamp to 1970, which keeps the text fixed-width and still below every stamp.
        let delta = chrono::Duration::from_std(older_than).unwrap_or(chrono::Duration::MAX);
        let t = self.time().checked_sub_signed(delta).unwrap_or(DateTime::UNIX_EPOCH);
        format(t.max(DateTime::UNIX_EPOCH))
    }
}

/// Formats a time as stored.
fn format(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Clock;

    #[test]
    fn fixed_width_and_ordered() {
        let clock = Clock::default();
        let a = clock.cutoff(Duration::from_secs(60));
        let b = clock.now();
        assert_eq!(a.len(), "2025-01-31T12:00:00.000000Z".len());
        assert_eq!(a.len(), b.len());
        assert!(a < b);
    }

    #[test]
    fn advancing_moves_every_clone() {
        let clock = Clock::default();
        let before = clock.now();
        clock.clone().advance(Duration::from_secs(3600));
        assert!(clock.cutoff(Duration::from_secs(3000)) > before, "an hour later, a stamp is 50 minutes old");
    }
}
