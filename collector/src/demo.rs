//! A generated demo fleet, written through the store and the real
//! verification path: every device gets a real P-256 key, is enrolled with
//! kid = the key's RFC 9679 thumbprint, and every attestation is a real
//! signed EAT token handed to [`verify::accept`] (offline arrival), so the
//! collector's own checks compute SL ceilings, aggregates and drift. For
//! console tests (headless Chromium over 100 000 devices) and for operators
//! trying the console on demo data. Deterministic from the seed and the end
//! time, except the device keys (ring generates them from the system RNG)
//! and the order of concurrent writes.
//!
//! Distributions:
//! - 40 sites with Zipf-like sizes (weight 1/(rank+1)^1.1: the largest site
//!   holds about 20x the devices of the smallest).
//! - Status: about 96% active, 3% pending (enrolled in the last 5 days, never
//!   approved, no attestations), 1% revoked (attested, then revoked).
//! - Eight image families (`images.rs`, shares 24/12/16/10/10/10/6/12): Debian
//!   12 gateway (arm64, ~120 packages) and HMI (amd64, ~140, telnetd in
//!   some), Yocto scarthgap and kirkstone (`pkg:yocto` recipes), OpenWrt
//!   (opkg, `pkg:generic`), Alpine 3.19 and 3.20 (`pkg:apk` with `upstream`),
//!   Buildroot (binary-detected `pkg:generic`). Each in 2–3 releases: 45% /
//!   35% / 20% of devices run the oldest / middle / newest. About 5% of
//!   devices have one source package upgraded individually (from a list of
//!   2–3 per family), and a change may add a tool or remove the image's last
//!   package: real fleets run a handful of images, so the package sets are
//!   a few dozen to a few hundred (every combination occurs at 100 000
//!   devices), never one per device.
//! - Rules: the 67+ rules of the newest shipped catalog. Whether an image
//!   release fails a rule is decided per (family, release, rule): 14 rules
//!   fail on 25–65% of images, the others on 0–6%; newer releases fail less.
//!   On a device, a failing image rule stays failing on 92% of devices, a
//!   passing one fails locally on 0.2–3.7% (per rule). Rules that do not
//!   apply (OpenSSH rules on Dropbear images, PAM on BusyBox, MQTT without a
//!   broker, SNMP without snmpd) are reported absent; 0.2% of results are
//!   "not run". Every failing rule has a finding (subject, path); 1% of
//!   devices accepted one finding with a documented countermeasure.
//! - SL ceilings claimed as the agent computes them; 0.5% of devices claim
//!   more than their results allow (a dispute the collector records).
//! - Host keys unique per device, except about 0.4% of devices cloned from
//!   an earlier device of the same site and family (shared host keys); a TLS
//!   key on 40% of devices. Key tier: software, 2% TPM, 1% PKCS#11.
//! - Configuration digests per image; 3% of devices with their own SSH daemon
//!   configuration.
//! - Timeline over `days`: enrollment day = days x u^2 (most early), approval
//!   within 2 hours, the first attestation within 30 minutes of it. Every
//!   active device attests again in the last 20 hours (agents report
//!   daily; the routine attestations in between are not generated), except
//!   3% silent ones (last attestation older than 3 days); a revoked device
//!   may attest once more before its revocation. In 25% of devices that
//!   second, latest attestation carries a change (image upgraded, a package
//!   upgraded, added or removed, a rule result changed, the SSH daemon
//!   configuration changed), so the device page shows a two-attestation
//!   diff and the fleet view drift. Events are processed day by day in time
//!   order.
//! - About 200 synthetic OSV advisories (`DEMO-` ids, no aliases) on the
//!   Debian and Alpine source packages, imported before the attestations,
//!   and three VEX statements.

mod advisories;
mod claims;
mod images;
mod rng;
mod rules;
mod tables;
#[cfg(test)]
mod tests;

use crate::store::Store;
use crate::verify::{self, Arrival};
use claims::{image, World};
use fieldattest_protocol::catalog::Catalogs;
use fieldattest_protocol::eat::{self, Claims};
use fieldattest_protocol::{cbor, token};
use images::{Family, Kind, FAMILIES};
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
pub use rng::Rng;
use rng::{fnv, hash01, pct};
use std::collections::{HashMap, HashSet};
use tables::SITES;

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    pub devices: u64,
    pub days: u32,
    pub seed: u64,
    /// The end of the simulated period (seconds since the epoch).
    pub end: i64,
    /// Threads signing and submitting attestations.
    pub threads: usize,
}

/// What was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub devices: u64,
    pub active: u64,
    pub pending: u64,
    pub revoked: u64,
    pub tokens: u64,
    pub package_sets: u64,
    pub advisories: u64,
    pub vex: u64,
}

/// Enrollment, approval, attestation and revocation events of one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Ev {
    Enroll,
    Approve,
    /// The n-th attestation (0-based).
    Token(usize),
    Revoke,
}

/// A later change a device reports in its second attestation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    Upgrade,
    Hotfix,
    Added,
    Removed,
    Rule,
    Config,
}

/// Everything about one device, decided before anything is written.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    seed: u64,
    site: usize,
    family: usize,
    release: usize,
    hotfix: Option<&'static str>,
    status: &'static str,
    events: Vec<(i64, Ev)>,
    change: Option<Change>,
    /// Host keys copied from this (earlier) device: a cloned image.
    clone_of: Option<usize>,
    key_tier: u8,
    sshd_own: bool,
    tls: bool,
    accepts: bool,
    overclaims: bool,
}

fn plan(i: usize, o: &Options, start: i64, rng: &mut Rng, plans: &[Plan]) -> Plan {
    let sites: Vec<f64> = (0..SITES.len())
        .map(|r| 1.0 / ((r + 1) as f64).powf(1.1))
        .collect();
    let fams: Vec<f64> = FAMILIES.iter().map(|f| f.weight).collect();
    let site = rng.weighted(&sites);
    let family = rng.weighted(&fams);
    let f = &FAMILIES[family];
    let release = rng.weighted(&[0.45, 0.35, 0.2][..f.releases.len()]);
    let hotfix = rng
        .chance(0.05)
        .then(|| f.hotfix[rng.below(f.hotfix.len() as u64) as usize]);
    let status = match rng.f64() {
        x if x < 0.03 => "pending",
        x if x < 0.04 => "revoked",
        _ => "active",
    };
    let day = 86_400;
    let end = o.end;
    let span = end - start;
    let enroll = if status == "pending" {
        end - rng.below(5.min(o.days as u64) * day as u64) as i64 - 1
    } else {
        start + (span as f64 * rng.f64().powi(2) * 0.97) as i64
    };
    let mut events = vec![(enroll, Ev::Enroll)];
    let change = rng.chance(0.25).then(|| {
        [
            Change::Upgrade,
            Change::Hotfix,
            Change::Added,
            Change::Removed,
            Change::Rule,
            Change::Config,
        ][rng.below(6) as usize]
    });
    if status != "pending" {
        let approve = (enroll + 600 + rng.below(6_600) as i64).min(end - 120);
        let first = (approve + 60 + rng.below(1_740) as i64).min(end - 60);
        events.push((approve, Ev::Approve));
        events.push((first, Ev::Token(0)));
        let silent = status == "active" && first < end - 4 * day && rng.chance(0.03);
        let mut last = first;
        let revoke =
            (status == "revoked").then(|| last + 3_600 + rng.below(span as u64 / 4) as i64);
        // The second attestation is the latest, so a change shows as drift:
        // before the revocation, or in the last 20 hours (active devices
        // report daily; only the silent ones stopped).
        let routine = end - 72_000 + rng.below(71_000) as i64;
        match revoke {
            Some(r) if change.is_some() && r > last + 7_200 => {
                last += 3_600 + rng.below((r - last - 7_200) as u64) as i64;
                events.push((last, Ev::Token(1)));
            }
            None if !silent && routine > last + 600 => {
                last = routine;
                events.push((last, Ev::Token(1)));
            }
            _ => {}
        }
        if let Some(r) = revoke {
            events.push((r.max(last + 60).min(end), Ev::Revoke));
        }
    }
    // A cloned image: host keys of an earlier device of the same site and family.
    let clone_of = rng
        .chance(0.004)
        .then(|| {
            (0..i)
                .rev()
                .take(5_000)
                .find(|&j| plans[j].site == site && plans[j].family == family)
        })
        .flatten();
    Plan {
        seed: rng.next_u64(),
        site,
        family,
        release,
        hotfix,
        status,
        events,
        change,
        clone_of: clone_of.map(|j| plans[j].clone_of.unwrap_or(j)),
        key_tier: match rng.f64() {
            x if x < 0.02 => 1,
            x if x < 0.03 => 2,
            _ => 3,
        },
        sshd_own: rng.chance(0.03),
        tls: rng.chance(0.4),
        accepts: rng.chance(0.01),
        overclaims: rng.chance(0.005),
    }
}

/// Who the generator's audit entries name.
const ACTOR: &str = "demo-fleet";

/// Generates the demo fleet into `store`, which must hold no device. Err:
/// the refusal or storage failure, as text.
pub fn generate(store: &dyn Store, o: &Options) -> Result<Summary, String> {
    if !store.devices()?.is_empty() {
        return Err(
            "the database already holds devices: demo-fleet fills an empty collector only".into(),
        );
    }
    let n = usize::try_from(o.devices).map_err(|_| "too many devices")?;
    let days = i64::from(o.days.max(1));
    let start = o.end - days * 86_400;
    let mut rng = Rng::new(o.seed);
    let mut plans: Vec<Plan> = Vec::with_capacity(n);
    for i in 0..n {
        let p = plan(i, o, start, &mut rng, &plans);
        plans.push(p);
    }
    let shipped = Catalogs::shipped();
    let version = shipped
        .versions()
        .last()
        .map(|v| v.to_string())
        .ok_or("no shipped catalog")?;
    let rules: Vec<String> = shipped
        .get(&version)
        .map(|c| c.rules.iter().map(|r| r.id.clone()).collect())
        .unwrap_or_default();
    let mut images = HashMap::new();
    for (fi, f) in FAMILIES.iter().enumerate() {
        for k in 0..f.releases.len() {
            for h in std::iter::once(None).chain(f.hotfix.iter().map(|h| Some(*h))) {
                images.insert((fi, k, h), image(f, k, h));
            }
        }
    }
    let mut verdicts = HashMap::new();
    for (fi, f) in FAMILIES.iter().enumerate() {
        for k in 0..f.releases.len() {
            for facts in rules::Facts::all() {
                verdicts.insert((fi, k, facts), rules::verdicts(f, k, &rules, facts));
            }
        }
    }
    let world = World {
        plans,
        images,
        catalogs: crate::ceiling::held_catalogs(store)
            .map_err(|r| r.reason)?
            .into_owned(),
        version,
        rule_seeds: rules.iter().map(|r| fnv(&[r.as_bytes()])).collect(),
        rules,
        verdicts,
    };
    let at = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(start.max(0) as u64),
    )
    .to_string();
    let advs = advisories::generate(200, &at, &mut rng);
    let docs = serde_json::to_vec(&advs.iter().map(|a| &a.json).collect::<Vec<_>>())
        .map_err(|e| e.to_string())?;
    let mut rep = crate::vuln::ImportReport::default();
    crate::vuln::import_bytes(store, "demo-advisories.json", &docs, start, &mut rep);
    if let Some((f, e)) = rep.errors.first() {
        return Err(format!("advisories: {f}: {e}"));
    }
    let mut vex = vec![
        vex_entry(
            &advs,
            |a| a.affects_oldest && a.id.ends_with('1'),
            None,
            "not_affected",
            Some("code_not_reachable"),
            start,
        ),
        vex_entry(
            &advs,
            |a| a.affects_oldest && a.id.ends_with('2'),
            None,
            "under_investigation",
            None,
            start,
        ),
    ];
    let keys = parallel(o.threads, n, |_| {
        let rng = ring::rand::SystemRandom::new();
        let p8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| "key generation failed")?;
        let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, p8.as_ref(), &rng)
            .map_err(|_| "key generation failed")?;
        let pk = token::PublicKey::from_sec1(kp.public_key().as_ref())?;
        Ok((kp, pk))
    })?;
    let mut by_day: Vec<Vec<(i64, usize, Ev)>> = vec![Vec::new(); days as usize];
    for (d, p) in world.plans.iter().enumerate() {
        for (t, ev) in &p.events {
            let day = ((t - start) / 86_400).clamp(0, days - 1) as usize;
            by_day[day].push((*t, d, *ev));
        }
    }
    let mut ids = vec![0i64; n];
    let mut sum = Summary {
        devices: o.devices,
        advisories: rep.new as u64 + rep.updated as u64 + rep.unchanged as u64,
        ..Default::default()
    };
    let mut sets: HashSet<u64> = HashSet::new();
    for (day, evs) in by_day.iter_mut().enumerate() {
        evs.sort();
        // Enrollments and approvals in time order, then the day's
        // attestations (each device's in order, devices concurrently), then
        // revocations.
        for &(t, d, ev) in evs.iter() {
            let p = &world.plans[d];
            match ev {
                Ev::Enroll => {
                    let (_, pk) = &keys[d];
                    let site = SITES[p.site];
                    let id = store.insert_device(&pk.kid(), &world.ueid(d), &pk.0, site, t)?;
                    store.audit(
                        t,
                        Some(&pk.kid()),
                        Some(id),
                        "enrolled",
                        &format!("site {site}; pending approval"),
                    )?;
                    ids[d] = id;
                }
                Ev::Approve => status(store, ids[d], "active", t)?,
                _ => {}
            }
        }
        let mut groups: std::collections::BTreeMap<usize, Vec<(i64, usize)>> = Default::default();
        for &(t, d, ev) in evs.iter() {
            if let Ev::Token(k) = ev {
                groups.entry(d).or_default().push((t, k));
            }
        }
        let groups: Vec<(usize, Vec<(i64, usize)>)> = groups.into_iter().collect();
        let done = parallel(o.threads, groups.len(), |g| {
            let (d, toks) = &groups[g];
            let mut hashes = Vec::new();
            for &(t, k) in toks {
                hashes.push(attest(&world, store, &keys[*d], *d, ids[*d], k, t, o.end)?);
            }
            Ok(hashes)
        })?;
        for h in done.into_iter().flatten() {
            sum.tokens += 1;
            sets.insert(h);
        }
        for &(t, d, ev) in evs.iter() {
            if ev == Ev::Revoke {
                status(store, ids[d], "revoked", t)?;
            }
        }
        // The fleet's posture at the simulated day's end, for the console's charts.
        crate::posture::record(store, start + (day as i64 + 1) * 86_400)?;
    }
    // An operator's statement on one device of the oldest Debian image.
    if let Some(d) = world.plans.iter().position(|p| {
        p.status == "active" && FAMILIES[p.family].kind == Kind::Debian && p.release == 0
    }) {
        let fam = world.plans[d].family;
        vex.push(vex_entry(
            &advs,
            |a| a.affects_oldest && a.family == fam,
            Some(ids[d]),
            "not_affected",
            Some("protected_at_perimeter"),
            o.end,
        ));
    }
    for v in vex.into_iter().flatten() {
        store.set_vex(&v)?;
        store.audit(
            v.at,
            None,
            v.device_id,
            "vex",
            &format!("{}: {} by {ACTOR}", v.vuln, v.status),
        )?;
        sum.vex += 1;
    }
    for p in &world.plans {
        match p.status {
            "active" => sum.active += 1,
            "pending" => sum.pending += 1,
            _ => sum.revoked += 1,
        }
    }
    sum.package_sets = sets.len() as u64;
    Ok(sum)
}

/// Approval or revocation by the operator, audited at `t`.
fn status(store: &dyn Store, id: i64, to: &str, t: i64) -> Result<(), String> {
    store.set_status(id, to)?;
    if to == "active" {
        store.set_approved(id, ACTOR, t)?;
    }
    let cmd = if to == "active" { "approve" } else { "revoke" };
    store.audit(t, None, Some(id), to, &format!("operator {cmd} by {ACTOR}"))?;
    Ok(())
}

/// A VEX statement on the first advisory that `pick` chooses.
fn vex_entry(
    advs: &[advisories::Advisory],
    pick: impl Fn(&advisories::Advisory) -> bool,
    device_id: Option<i64>,
    status: &str,
    justification: Option<&str>,
    at: i64,
) -> Option<crate::store::VexEntry> {
    let a = advs.iter().find(|a| pick(a))?;
    Some(crate::store::VexEntry {
        vuln: a.id.clone(),
        device_id,
        status: status.into(),
        justification: justification.map(str::to_string),
        detail: Some(format!("demo statement by {ACTOR}")),
        at,
    })
}

/// Signs device `d`'s `k`-th attestation at `t` and hands it to the
/// verification path (offline arrival, received shortly after); the hash of
/// its package set.
#[allow(clippy::too_many_arguments)]
fn attest(
    w: &World,
    store: &dyn Store,
    key: &(EcdsaKeyPair, token::PublicKey),
    d: usize,
    id: i64,
    k: usize,
    t: i64,
    end: i64,
) -> Result<u64, String> {
    let claims = w.claims(d, k, t);
    let rng = ring::rand::SystemRandom::new();
    let tok = token::sign(&claims, &key.1.kid(), |tbs| {
        key.0
            .sign(&rng, tbs)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| "signing failed".to_string())
    })?;
    let received = (t + 5 + (w.plans[d].seed % 120) as i64).min(end);
    verify::accept(store, &tok, Arrival::Offline, received)
        .map_err(|r| format!("device {id}, seq {}: refused: {}", k + 1, r.reason))?;
    let tags: Vec<&[u8]> = claims
        .measurements
        .iter()
        .filter(|m| m.0 == eat::CF_COSWID)
        .map(|m| m.1.as_slice())
        .collect();
    Ok(fnv(&tags))
}

/// `f(0..n)` on `threads` threads (interleaved), results in index order.
fn parallel<T: Send>(
    threads: usize,
    n: usize,
    f: impl Fn(usize) -> Result<T, String> + Sync,
) -> Result<Vec<T>, String> {
    let threads = threads.clamp(1, 64);
    let parts: Vec<Result<Vec<(usize, T)>, String>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|w| {
                let f = &f;
                s.spawn(move || {
                    (w..n)
                        .step_by(threads)
                        .map(|i| f(i).map(|v| (i, v)))
                        .collect::<Result<Vec<_>, String>>()
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("worker panicked".into())))
            .collect()
    });
    let mut all = Vec::with_capacity(n);
    for p in parts {
        all.extend(p?);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, v)| v).collect())
}
