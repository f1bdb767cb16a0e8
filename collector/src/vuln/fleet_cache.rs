//! The fleet vulnerability view, kept between requests (ISSUE18: "the
//! fleet view reads stored results", served in < 200 ms at 10,000 devices
//! × 300 components × 250,000 records). A view is computed by
//! [`fleet_open_where`] at the store's generation
//! ([`Store::fleet_generation`], bumped by trigger by every change the view
//! depends on) and served as long as the generation holds.
//!
//! When it no longer holds: a view whose computation took at most
//! [`INLINE_MAX_MS`] is recomputed in the request (small fleets always see
//! the current view); a longer one is served as it is, marked with its age
//! ([`View::current`] false), while [`FleetCache::refresh`] — run by
//! `serve` every few seconds on the blocking pool — recomputes it. At most
//! [`MAX_SCOPES`] scopes (the fleet, then sites) are kept, least recently
//! used dropped first; a site's view unused for [`SCOPE_IDLE`] is dropped
//! rather than recomputed.
//!
//! Invariant: a view is never labelled current unless it was computed from
//! matches read at or after the generation it carries (the generation is
//! read before the computation starts, so a change during it leaves the
//! view stale).

use super::fleet::{fleet_open_where, FleetFilter, FleetVuln};
use crate::store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Computations up to this long (milliseconds) are redone in the request.
pub const INLINE_MAX_MS: u64 = 500;

/// Scopes kept (the fleet and the sites most recently viewed).
pub const MAX_SCOPES: usize = 8;

/// A site's view not asked for this long is dropped by the refresher
/// rather than recomputed (at 10,000 devices one computation takes tens of
/// seconds: only what operators look at is kept current).
pub const SCOPE_IDLE: std::time::Duration = std::time::Duration::from_secs(600);

/// One computed view.
#[derive(Debug, Clone)]
pub struct View {
    /// Open advisories in risk order.
    pub rows: Arc<Vec<FleetVuln>>,
    /// When it was computed (epoch seconds).
    pub computed_at: i64,
    /// How long the computation took (milliseconds).
    pub millis: u64,
    /// Whether it is the view at the store's current generation.
    pub current: bool,
}

#[derive(Debug)]
struct Entry {
    scope: Option<String>,
    generation: u64,
    view: View,
    used: Instant,
}

/// Views per scope (`None`: the whole fleet; `Some(site)`), and one day's
/// recorded per-advisory counts (the overview's "open on more devices than
/// yesterday").
#[derive(Debug, Default)]
pub struct FleetCache {
    entries: Mutex<Vec<Entry>>,
    day: Mutex<Option<Recorded>>,
}

/// A day's recorded counts by advisory, with the day and its `vuln:`
/// metrics' count and sum (read again when those change).
type Recorded = (i64, (u64, u64), Arc<HashMap<String, u64>>);

impl FleetCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The view of `f`'s scope at `now`: kept, recomputed here, or (a long
    /// computation) the last one marked not current.
    pub fn view(&self, store: &dyn Store, f: &FleetFilter, now: i64) -> Result<View, String> {
        let g = store.fleet_generation()?;
        {
            let mut es = self.lock();
            if let Some(e) = es.iter_mut().find(|e| e.scope == f.site) {
                e.used = Instant::now();
                if e.generation == g {
                    return Ok(View {
                        current: true,
                        ..e.view.clone()
                    });
                }
                if e.view.millis > INLINE_MAX_MS {
                    return Ok(View {
                        current: false,
                        ..e.view.clone()
                    });
                }
            }
        }
        self.compute(store, f, g, now)
    }

    /// Computes and keeps `f`'s view at generation `g` (read by the caller
    /// before).
    fn compute(
        &self,
        store: &dyn Store,
        f: &FleetFilter,
        g: u64,
        now: i64,
    ) -> Result<View, String> {
        let t = Instant::now();
        let rows = fleet_open_where(store, f)?;
        let view = View {
            rows: Arc::new(rows),
            computed_at: now,
            millis: t.elapsed().as_millis().min(u128::from(u64::MAX)) as u64,
            current: true,
        };
        let mut es = self.lock();
        match es.iter_mut().find(|e| e.scope == f.site) {
            // A later computation may have landed first: keep the newer.
            Some(e) if e.generation > g => {}
            Some(e) => {
                e.generation = g;
                e.view = view.clone();
                e.used = Instant::now();
            }
            None => {
                if es.len() >= MAX_SCOPES {
                    if let Some(i) = es
                        .iter()
                        .enumerate()
                        .filter(|(_, e)| e.scope.is_some())
                        .min_by_key(|(_, e)| e.used)
                        .map(|(i, _)| i)
                    {
                        es.swap_remove(i);
                    }
                }
                es.push(Entry {
                    scope: f.site.clone(),
                    generation: g,
                    view: view.clone(),
                    used: Instant::now(),
                });
            }
        }
        Ok(view)
    }

    /// Drops the sites' views not asked for within `idle` (the fleet's is
    /// always kept).
    fn drop_idle(&self, idle: std::time::Duration) {
        self.lock()
            .retain(|e| e.scope.is_none() || e.used.elapsed() < idle);
    }

    /// Day `day`'s recorded open devices per advisory (posture `vuln:ID`),
    /// read again only when that day's records changed.
    pub fn recorded(
        &self,
        store: &dyn Store,
        day: i64,
    ) -> Result<Arc<HashMap<String, u64>>, String> {
        let key = store.posture_count(day, "vuln:")?;
        let mut held = self.day.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((d, k, m)) = held.as_ref() {
            if *d == day && *k == key {
                return Ok(m.clone());
            }
        }
        let m: HashMap<String, u64> = store
            .posture_day(day, "vuln:")?
            .into_iter()
            .filter_map(|(k, n)| Some((k.strip_prefix("vuln:")?.to_string(), n)))
            .collect();
        let m = Arc::new(m);
        *held = Some((day, key, m.clone()));
        Ok(m)
    }

    /// Recomputes every kept view whose generation no longer holds, and
    /// the fleet's when none is kept (the first page after start is then
    /// served from it). Returns the scopes recomputed.
    pub fn refresh(&self, store: &dyn Store, now: i64) -> Result<usize, String> {
        self.drop_idle(SCOPE_IDLE);
        let g = store.fleet_generation()?;
        let stale: Vec<Option<String>> = {
            let es = self.lock();
            let fleet_kept = es.iter().any(|e| e.scope.is_none());
            (!fleet_kept)
                .then_some(None)
                .into_iter()
                .chain(
                    es.iter()
                        .filter(|e| e.generation != g)
                        .map(|e| e.scope.clone()),
                )
                .collect()
        };
        for scope in &stale {
            self.compute(
                store,
                &FleetFilter {
                    site: scope.clone(),
                },
                g,
                now,
            )?;
        }
        Ok(stale.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    #[test]
    fn a_view_is_kept_while_the_generation_holds_and_recomputed_after_a_change() {
        let s = SqliteStore::memory().unwrap();
        let c = FleetCache::default();
        let all = FleetFilter::default();
        let v1 = c.view(&s, &all, 10).unwrap();
        assert!(v1.current && v1.rows.is_empty());
        assert_eq!(v1.computed_at, 10);
        // Nothing changed: the kept view, not a new computation.
        let v2 = c.view(&s, &all, 20).unwrap();
        assert_eq!(v2.computed_at, 10);
        assert!(Arc::ptr_eq(&v1.rows, &v2.rows));
        // A VEX statement bumps the generation: computed again.
        let g = s.fleet_generation().unwrap();
        s.set_vex(&crate::store::VexEntry {
            vuln: "CVE-2024-1".into(),
            device_id: None,
            status: "not_affected".into(),
            justification: Some("component_not_present".into()),
            detail: None,
            at: 1,
        })
        .unwrap();
        assert!(s.fleet_generation().unwrap() > g);
        assert_eq!(c.view(&s, &all, 30).unwrap().computed_at, 30);
        // A long computation is not redone in the request: served with its age.
        c.lock()[0].view.millis = INLINE_MAX_MS + 1;
        s.set_vex(&crate::store::VexEntry {
            vuln: "CVE-2024-2".into(),
            device_id: None,
            status: "affected".into(),
            justification: None,
            detail: None,
            at: 2,
        })
        .unwrap();
        let stale = c.view(&s, &all, 40).unwrap();
        assert!(!stale.current);
        assert_eq!(stale.computed_at, 30);
        // The refresher brings it up to date.
        assert_eq!(c.refresh(&s, 50).unwrap(), 1);
        let v = c.view(&s, &all, 60).unwrap();
        assert!(v.current);
        assert_eq!(v.computed_at, 50);
        assert_eq!(c.refresh(&s, 70).unwrap(), 0);
    }

    #[test]
    fn scopes_are_bounded_and_the_fleet_is_kept() {
        let s = SqliteStore::memory().unwrap();
        let c = FleetCache::default();
        c.view(&s, &FleetFilter::default(), 1).unwrap();
        for i in 0..(MAX_SCOPES + 5) {
            let f = FleetFilter {
                site: Some(format!("site-{i}")),
            };
            c.view(&s, &f, 1).unwrap();
        }
        {
            let es = c.lock();
            assert_eq!(es.len(), MAX_SCOPES);
            assert!(es.iter().any(|e| e.scope.is_none()));
            assert!(es
                .iter()
                .any(|e| e.scope.as_deref() == Some(&*format!("site-{}", MAX_SCOPES + 4))));
        }
        // Sites nobody looks at are dropped, not recomputed; the fleet stays.
        c.drop_idle(std::time::Duration::ZERO);
        assert_eq!(c.lock().len(), 1);
        assert!(c.lock()[0].scope.is_none());
    }
}
