//! Open vulnerabilities across the fleet, one row per advisory with the
//! number of active devices on which it is open — counted per device, not
//! per package: an advisory against a source package with two binary
//! packages installed is one device, not two. Computed from the package
//! sets' matches and the devices per set, with the few devices whose own
//! statements differ (an accepted finding, a device-specific VEX) counted
//! one by one (devices with the same statements once), so the cost
//! follows the number of images, not of devices. Each advisory carries its
//! risk (KEV, EPSS, CVSS) and the devices on which it is reachable from the
//! network; the list is in risk order (`risk::Risk::urgency`).

use super::risk::{reach, Reach, Risk};
use crate::store::{DeviceListener, SetVuln, Store, VulnException};
use std::collections::{BTreeMap, HashMap};

/// One advisory across the fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetVuln {
    pub vuln: String,
    /// Source components it matched, sorted.
    pub components: Vec<String>,
    /// Binary packages it matched, sorted.
    pub packages: Vec<String>,
    pub aliases: Vec<String>,
    pub summary: Option<String>,
    pub severity: Option<String>,
    pub score: Option<f64>,
    /// A fixed version of the first component, where the advisory names one.
    pub fixed: Option<String>,
    /// Active devices on which it is open.
    pub devices: u64,
    /// Of those, the devices where a package of the component listens on
    /// a non-loopback address.
    pub reachable: u64,
    /// KEV, EPSS, CVSS; `reach` with up to three listeners as evidence.
    pub risk: Risk,
}

/// Whether statement `status` leaves a vulnerability open.
fn open_status(status: &str) -> bool {
    matches!(status, "affected" | "under_investigation")
}

/// The statement deciding `v` on a device with these exceptions, the
/// fleet-wide VEX status being `fleet` (the order of the store's `OPEN`):
/// the device's VEX, the fleet's, the supplier's, the image's CVE_STATUS
/// when it closes, an accepted finding.
fn open_on(v: &SetVuln, x: Option<&VulnException>, fleet: Option<&str>) -> bool {
    let own = x.and_then(|x| {
        x.vex
            .iter()
            .find(|(id, _)| *id == v.vuln)
            .map(|(_, s)| s.as_str())
    });
    let supplier = v.supplier.as_ref().map(|s| s.status.as_str());
    if let Some(s) = own.or(fleet).or(supplier) {
        return open_status(s);
    }
    let Some(x) = x else { return true };
    let listed = |s: &str, list: &str| list.split(',').any(|p| p == s);
    let image = x.cve_status.iter().find(|(id, comp, _)| {
        (*id == v.vuln || listed(id, &v.aliases))
            && (*comp == v.component || listed(comp, &v.packages))
    });
    if let Some((_, _, status)) = image {
        return open_status(status);
    }
    !x.accepted.iter().any(|s| {
        *s == v.vuln || *s == v.component || listed(s, &v.packages) || listed(s, &v.aliases)
    })
}

/// What a listing of the fleet's vulnerabilities is restricted to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FleetFilter {
    /// Devices of this site only.
    pub site: Option<String>,
}

/// Every advisory open on at least one active device, in risk order.
pub fn fleet_open(store: &dyn Store) -> Result<Vec<FleetVuln>, String> {
    fleet_open_where(store, &FleetFilter::default())
}

/// [`fleet_open`] over the devices `f` selects. The matches are streamed
/// in advisory order and tallied one advisory at a time, so memory follows
/// the number of open advisories, not of matches.
pub fn fleet_open_where(store: &dyn Store, f: &FleetFilter) -> Result<Vec<FleetVuln>, String> {
    let t = Tally::new(store, f)?;
    let mut out = Vec::new();
    let mut cur: Vec<(i64, SetVuln)> = Vec::new();
    store.each_set_vuln(&mut |set, v| {
        if cur.first().is_some_and(|(_, x)| x.vuln != v.vuln) {
            out.extend(t.advisory(std::mem::take(&mut cur)));
        }
        cur.push((set, v));
        Ok(())
    })?;
    out.extend(t.advisory(cur));
    out.sort_by(|a, b| {
        a.risk
            .urgency(&b.risk)
            .then(b.devices.cmp(&a.devices))
            .then(b.score.unwrap_or(-1.0).total_cmp(&a.score.unwrap_or(-1.0)))
            .then(a.vuln.cmp(&b.vuln))
    });
    Ok(out)
}

/// Per set, the listening devices grouped by their listeners' digest and
/// their statements (devices of one image listen alike, and devices with
/// the same statements decide alike: a group's exposure is decided once,
/// with one device's listeners and statements): (statements, listeners,
/// how many).
type Group = (Option<usize>, Vec<DeviceListener>, u64);

/// What deciding one advisory across the fleet needs, read once.
struct Tally {
    /// Active devices per package set.
    counts: HashMap<i64, u64>,
    exceptions: Vec<VulnException>,
    /// Per set, the devices with their own statements, by statements:
    /// (one of them, how many).
    by_set: HashMap<i64, Vec<(usize, u64)>>,
    listening: HashMap<i64, Vec<Group>>,
    fleet_vex: HashMap<String, String>,
    kev: HashMap<String, crate::store::Kev>,
    epss: HashMap<String, crate::store::Epss>,
}

impl Tally {
    fn new(store: &dyn Store, f: &FleetFilter) -> Result<Self, String> {
        let counts: HashMap<i64, u64> = store.set_counts(f.site.as_deref())?.into_iter().collect();
        let exceptions: Vec<VulnException> = store
            .vuln_exceptions()?
            .into_iter()
            .filter(|x| f.site.as_ref().is_none_or(|s| *s == x.site))
            .collect();
        // A device's statements, as one comparable value (the group it decides with).
        let mut sig_of: HashMap<i64, (usize, String)> = HashMap::new();
        let mut by_set: HashMap<i64, Vec<(usize, u64)>> = HashMap::new();
        {
            let mut groups: HashMap<(i64, String), (usize, u64)> = HashMap::new();
            for (i, x) in exceptions.iter().enumerate() {
                let mut sig = (x.accepted.clone(), x.vex.clone(), x.cve_status.clone());
                sig.0.sort();
                sig.1.sort();
                sig.2.sort();
                let sig = format!("{sig:?}");
                let g = groups.entry((x.pkgset, sig.clone())).or_insert((i, 0));
                g.1 += 1;
                sig_of.insert(x.device_id, (g.0, sig));
            }
            for ((set, _), (i, n)) in groups {
                by_set.entry(set).or_default().push((i, n));
            }
        }
        // (set, digest, statements) → (one device, its exception, how many).
        type Key<'s> = (i64, Vec<u8>, Option<&'s str>);
        let mut alike: BTreeMap<Key, (i64, Option<usize>, u64)> = BTreeMap::new();
        for (set, digest, d, n) in store.listening_groups(f.site.as_deref())? {
            alike.insert((set, digest, None), (d, None, n));
        }
        // Devices with their own statements leave their digest's group for
        // the group of their statements.
        for x in &exceptions {
            let Some((set, digest)) = store.listening_of(x.device_id)? else {
                continue;
            };
            let Some((i, sig)) = sig_of.get(&x.device_id) else {
                continue;
            };
            if let Some(g) = alike.get_mut(&(set, digest.clone(), None)) {
                g.2 = g.2.saturating_sub(1);
            }
            alike
                .entry((set, digest, Some(sig.as_str())))
                .or_insert((x.device_id, Some(*i), 0))
                .2 += 1;
        }
        alike.retain(|_, g| g.2 > 0);
        let mut listening: HashMap<i64, Vec<Group>> = HashMap::new();
        for ((set, _, _), (d, x, n)) in alike {
            let ls = store.device_listeners(d)?;
            if !ls.is_empty() {
                listening.entry(set).or_default().push((x, ls, n));
            }
        }
        let fleet_vex: HashMap<String, String> = store
            .vex_entries()?
            .into_iter()
            .filter(|v| v.device_id.is_none())
            .map(|v| (v.vuln, v.status))
            .collect();
        let (kev, epss) = (store.kev_all()?, store.epss_all()?);
        Ok(Tally {
            counts,
            exceptions,
            by_set,
            listening,
            fleet_vex,
            kev,
            epss,
        })
    }

    /// One advisory's rows (all of one vulnerability) across the fleet;
    /// `None` when it is open on no active device.
    fn advisory(&self, mut rows: Vec<(i64, SetVuln)>) -> Option<FleetVuln> {
        rows.sort_by(|a, b| a.1.component.cmp(&b.1.component).then(a.0.cmp(&b.0)));
        let vuln = rows.first()?.1.vuln.clone();
        // set → rows of the advisory on that set
        let mut sets: BTreeMap<i64, Vec<&SetVuln>> = BTreeMap::new();
        for (set, v) in &rows {
            sets.entry(*set).or_default().push(v);
        }
        let fleet = self.fleet_vex.get(&vuln).map(String::as_str);
        let (mut devices, mut reachable) = (0u64, 0u64);
        let mut evidence: Vec<String> = Vec::new();
        let mut first: Option<&SetVuln> = None;
        let mut components: Vec<String> = Vec::new();
        let mut packages: Vec<String> = Vec::new();
        for (set, vs) in &sets {
            let n = self.counts.get(set).copied().unwrap_or(0);
            if n == 0 {
                continue;
            }
            let xs = self.by_set.get(set).map(Vec::as_slice).unwrap_or(&[]);
            let base = vs.iter().any(|v| open_on(v, None, fleet));
            let mut open = if base { n } else { 0 };
            for (x, k) in xs {
                let here = vs
                    .iter()
                    .any(|v| open_on(v, Some(&self.exceptions[*x]), fleet));
                match (base, here) {
                    (true, false) => open = open.saturating_sub(*k),
                    (false, true) => open += k,
                    _ => {}
                }
            }
            if open == 0 {
                continue;
            }
            devices += open;
            for (x, ls, n) in self.listening.get(set).map(Vec::as_slice).unwrap_or(&[]) {
                let x = x.map(|i| &self.exceptions[i]);
                let exposed = vs.iter().filter(|v| open_on(v, x, fleet)).find_map(|v| {
                    let bins: Vec<String> = v.packages.split(',').map(str::to_string).collect();
                    match reach(ls, &v.component, &bins) {
                        Reach::Network(e) => Some(e),
                        _ => None,
                    }
                });
                if let Some(e) = exposed {
                    reachable += n;
                    for x in e {
                        if evidence.len() < 3 && !evidence.contains(&x) {
                            evidence.push(x);
                        }
                    }
                }
            }
            for v in vs {
                first.get_or_insert(v);
                if !components.contains(&v.component) {
                    components.push(v.component.clone());
                }
                for p in v.packages.split(',').filter(|p| !p.is_empty()) {
                    if !packages.iter().any(|q| q == p) {
                        packages.push(p.to_string());
                    }
                }
            }
        }
        let f = first?;
        components.sort();
        packages.sort();
        let aliases: Vec<String> = f
            .aliases
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect();
        let vectors: Vec<(String, String)> = f
            .cvss
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(t, v)| (t.to_string(), v.to_string()))
            .collect();
        let ids = std::iter::once(vuln.as_str())
            .chain(aliases.iter().map(String::as_str))
            .filter(|a| a.starts_with("CVE-"));
        let exposure = if evidence.is_empty() {
            Reach::None
        } else {
            Reach::Network(evidence)
        };
        let risk = Risk::of(ids, &self.kev, &self.epss, exposure, &vectors);
        Some(FleetVuln {
            vuln: vuln.clone(),
            components,
            packages,
            aliases,
            summary: f.summary.clone(),
            severity: f.severity.clone(),
            score: risk.base().map(|c| c.score).or(f.score),
            fixed: f.fixed.clone(),
            devices,
            reachable,
            risk,
        })
    }
}

/// The severity band of a score (CVSS v3 qualitative ratings).
pub fn band(score: Option<f64>) -> &'static str {
    match score {
        Some(s) if s >= 9.0 => "critical",
        Some(s) if s >= 7.0 => "high",
        Some(s) if s >= 4.0 => "medium",
        Some(s) if s > 0.0 => "low",
        _ => "unknown",
    }
}
