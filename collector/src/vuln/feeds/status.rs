//! How fresh the imported data is: each feed's age (from its data date,
//! else its import time) and whether it is older than the operator's limit
//! — stale data must never pass for "no vulnerabilities".

use crate::store::{Feed, Store};

/// Default age limit of a feed: 7 days.
pub const DEFAULT_MAX_AGE: i64 = 7 * 86400;

/// A feed with its age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedStatus {
    pub feed: Feed,
    /// Seconds since the data date (else the import time) at `now`.
    pub age: i64,
    pub stale: bool,
}

/// Unix seconds of the date a text starts with (`YYYY-MM-DD…`).
pub(super) fn day(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| t.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (H. Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146097 + doe - 719468) * 86400)
}

/// Whether a feed kind describes builds (kernel configurations, the
/// Kbuild map), not vulnerabilities: it does not age.
pub fn is_build_data(kind: &str) -> bool {
    matches!(kind, "kconfig" | "kbuild")
}

/// Every feed with its age at `now` and whether it is older than `max_age`
/// seconds.
pub fn feed_status(store: &dyn Store, now: i64, max_age: i64) -> Result<Vec<FeedStatus>, String> {
    Ok(store
        .feeds()?
        .into_iter()
        .map(|feed| {
            let since = feed
                .data_date
                .as_deref()
                .and_then(day)
                .map_or(feed.imported_at, |d| d.min(feed.imported_at));
            let age = now.saturating_sub(since).max(0);
            FeedStatus {
                stale: age > max_age && !is_build_data(&feed.kind),
                age,
                feed,
            }
        })
        .collect())
}
