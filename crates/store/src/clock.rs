//! Timestamps as fixed-width ISO-8601 UTC text (`2025-01-31T12:00:00.000000Z`): readable in any
//! SQL shell and, having one width, ordered and compared correctly as text on every engine.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};

/// Now, as stored.
pub(crate) fn now() -> String {
    format(Utc::now())
}

/// `older_than` before now, as stored: heartbeats below it are stale.
pub(crate) fn cutoff(older_than: Duration) -> String {
    // Absurd durations clamp to 1970, which keeps the text fixed-width and still below every stamp.
    let delta = chrono::Duration::from_std(older_than).unwrap_or(chrono::Duration::MAX);
    let t = Utc::now().checked_sub_signed(delta).unwrap_or(chrono::DateTime::UNIX_EPOCH);
    format(t.max(chrono::DateTime::UNIX_EPOCH))
}

/// Formats a time as stored.
fn format(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn fixed_width_and_ordered() {
        let a = super::cutoff(std::time::Duration::from_secs(60));
        let b = super::now();
        assert_eq!(a.len(), "2025-01-31T12:00:00.000000Z".len());
        assert_eq!(a.len(), b.len());
        assert!(a < b);
    }
}
