//! The operator actions, shared by the console and the command line: each
//! changes the store and writes the audit trail naming who did it
//! (`actor`: `operator NAME` in the console, `cli (uid N)` on the command line).

use crate::store::{Store, VexEntry};
use crate::{hex, now, random};

/// Why an action was refused (the caller's fault) or failed (the store's).
#[derive(Debug)]
pub enum ActionError {
    NotFound(String),
    Refused(String),
    Store(String),
}

impl std::fmt::Display for ActionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ActionError::NotFound(m) | ActionError::Refused(m) | ActionError::Store(m) => {
                f.write_str(m)
            }
        }
    }
}

impl From<crate::store::StoreError> for ActionError {
    fn from(e: crate::store::StoreError) -> Self {
        ActionError::Store(e.to_string())
    }
}

fn by(actor: &str) -> String {
    format!(" by {actor}")
}

/// Approves (`active`) or revokes (`revoked`) a device; a revoked device is
/// not approved again. Returns the device's kid (hex).
pub fn set_device_status(
    store: &dyn Store,
    id: i64,
    status: &str,
    actor: &str,
) -> Result<String, ActionError> {
    let d = store
        .device(id)?
        .ok_or_else(|| ActionError::NotFound(format!("device {id} not found")))?;
    if status == "active" && d.status == "revoked" {
        return Err(ActionError::Refused(format!(
            "device {id} is revoked; enroll it again"
        )));
    }
    let cmd = if status == "active" {
        "approve"
    } else {
        "revoke"
    };
    store.set_status(id, status)?;
    if status == "active" && d.status != "active" {
        store.set_approved(id, actor, now())?;
    }
    store.audit(
        now(),
        None,
        Some(id),
        status,
        &format!("operator {cmd}{}", by(actor)),
    )?;
    Ok(hex(&d.kid))
}

/// A single-use enrollment secret for `site`, valid `ttl` seconds; only
/// its SHA-256 is stored. The secret (shown once).
pub fn enrollment_secret(
    store: &dyn Store,
    site: &str,
    ttl: i64,
    actor: &str,
) -> Result<String, ActionError> {
    let secret = hex(&random(32));
    let hash = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
    store.create_enroll_token(hash.as_ref(), site, now() + ttl)?;
    store.audit(
        now(),
        None,
        None,
        "enroll-secret",
        &format!("site {site:?}, valid {ttl} s{}", by(actor)),
    )?;
    Ok(secret)
}

/// Checks a VEX status and justification (CycloneDX analysis states).
pub fn check_vex(status: &str, justification: Option<&str>) -> Result<(), String> {
    if crate::vuln::cdx_state(status).is_none() {
        return Err(format!(
            "status {status:?} (not_affected, affected, fixed, under_investigation)"
        ));
    }
    match justification {
        Some(j) if !crate::vuln::JUSTIFICATIONS.contains(&j) => Err(format!(
            "justification {j:?} is not a CycloneDX justification"
        )),
        None if status == "not_affected" => Err("not_affected needs a justification".into()),
        _ => Ok(()),
    }
}

/// Records a checked VEX statement, audited.
pub fn set_vex(store: &dyn Store, e: &VexEntry, actor: &str) -> Result<(), ActionError> {
    check_vex(&e.status, e.justification.as_deref()).map_err(ActionError::Refused)?;
    store.set_vex(e)?;
    let why = e
        .justification
        .as_deref()
        .map(|j| format!(" ({j})"))
        .unwrap_or_default();
    store.audit(
        now(),
        None,
        e.device_id,
        "vex",
        &format!("{}: {}{why}{}", e.vuln, e.status, by(actor)),
    )?;
    Ok(())
}

/// Longest acceptance validity: 366 days.
pub const MAX_ACCEPT_SECS: i64 = 366 * 86_400;

/// An expiry as given on the form: a duration from `now` (`90d`, `12w`)
/// or a date `YYYY-MM-DD` (the acceptance holds through that day, UTC).
/// Unix seconds; in the future and at most [`MAX_ACCEPT_SECS`] away.
pub fn accept_expiry(text: &str, now: i64) -> Result<i64, String> {
    let t = text.trim();
    let at = match humantime::parse_duration(t) {
        Ok(d) => now.saturating_add(d.as_secs().min(i64::MAX as u64) as i64),
        Err(_) => date_end(t)
            .ok_or_else(|| format!("expiry {t:?}: a duration such as 90d or a date YYYY-MM-DD"))?,
    };
    if at <= now {
        return Err(format!("expiry {t:?} is not in the future"));
    }
    if at - now > MAX_ACCEPT_SECS {
        return Err(format!("expiry {t:?} is more than 366 days away"));
    }
    Ok(at)
}

/// The end (exclusive) of day `YYYY-MM-DD`, UTC, as Unix seconds.
fn date_end(s: &str) -> Option<i64> {
    let mut it = s.splitn(3, '-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let len = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d < 1 || d > len[(m - 1) as usize] {
        return None;
    }
    // Days since 1970-01-01 (H. Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    Some((days + 1) * 86_400)
}

/// An acceptance as entered on the device page.
#[derive(Debug, Clone)]
pub struct AcceptRequest {
    pub device_id: i64,
    pub rule: String,
    pub subject: String,
    pub justification: String,
    /// As typed: `90d` or `YYYY-MM-DD`.
    pub expires: String,
}

/// Records a collector-side acceptance of a device's finding: the rule is
/// known to a held catalog or reported by the device, the justification
/// 10..2000 characters, the expiry within 366 days. Audited
/// (`accept-added`). Its id.
pub fn accept_finding(
    store: &dyn Store,
    r: &AcceptRequest,
    actor: &str,
) -> Result<i64, ActionError> {
    let now = now();
    store
        .device(r.device_id)?
        .ok_or_else(|| ActionError::NotFound(format!("device {} not found", r.device_id)))?;
    let refuse = |m: String| Err(ActionError::Refused(m));
    let (rule, subject, why) = (r.rule.trim(), r.subject.trim(), r.justification.trim());
    if rule.is_empty() || rule.len() > 200 || subject.len() > 500 {
        return refuse("rule: 1 to 200 characters, subject at most 500".into());
    }
    let n = why.chars().count();
    if !(10..=2000).contains(&n) {
        return refuse(format!("justification: 10 to 2000 characters, not {n}"));
    }
    let expires = accept_expiry(&r.expires, now).map_err(ActionError::Refused)?;
    let catalogs =
        crate::ceiling::held_catalogs(store).map_err(|x| ActionError::Store(x.reason))?;
    let known = !matches!(
        catalogs.lookup(None, rule),
        fieldattest_protocol::catalog::Lookup::Unknown
    );
    let reported = match store.latest_token(r.device_id)? {
        Some(t) => store
            .token_detail(r.device_id, t.id)?
            .is_some_and(|d| d.results.iter().any(|(x, _)| x == rule)),
        None => false,
    };
    if !known && !reported {
        return refuse(format!(
            "rule {rule:?} is in no catalog this collector holds and the device did not report it"
        ));
    }
    let id = store.add_accept(&crate::store::NewAccept {
        device_id: Some(r.device_id),
        rule: rule.to_string(),
        subject: subject.to_string(),
        justification: why.to_string(),
        expires,
        actor: actor.to_string(),
        at: now,
    })?;
    let on = if subject.is_empty() {
        String::new()
    } else {
        format!(" subject {subject:?}")
    };
    store.audit(
        now,
        None,
        Some(r.device_id),
        "accept-added",
        &format!(
            "acceptance {id}: {rule}{on} until {}{}",
            crate::rfc3339(expires),
            by(actor)
        ),
    )?;
    Ok(id)
}

/// Revokes a collector-side acceptance, audited (`accept-revoked`). The
/// device it was for (`None`: fleet-wide).
pub fn revoke_accept(store: &dyn Store, id: i64, actor: &str) -> Result<Option<i64>, ActionError> {
    let a = store
        .accept(id)?
        .ok_or_else(|| ActionError::NotFound(format!("acceptance {id} not found")))?;
    if !store.revoke_accept(id, actor)? {
        return Err(ActionError::Refused(format!(
            "acceptance {id} is already revoked"
        )));
    }
    store.audit(
        now(),
        None,
        a.device_id,
        "accept-revoked",
        &format!("acceptance {id}: {}{}", a.rule, by(actor)),
    )?;
    Ok(a.device_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    fn req(device_id: i64, rule: &str, why: &str, expires: &str) -> AcceptRequest {
        AcceptRequest {
            device_id,
            rule: rule.into(),
            subject: String::new(),
            justification: why.into(),
            expires: expires.into(),
        }
    }

    #[test]
    fn expiries_are_durations_or_dates_within_a_year() {
        let now = 1_767_225_600; // 2026-01-01T00:00:00Z
        assert_eq!(accept_expiry("90d", now), Ok(now + 90 * 86_400));
        assert_eq!(accept_expiry("2026-01-31", now), Ok(now + 31 * 86_400));
        assert!(accept_expiry("2025-12-31", now).is_err(), "past");
        assert!(accept_expiry("0s", now).is_err(), "not in the future");
        assert!(accept_expiry("367d", now).is_err(), "too far");
        assert!(accept_expiry("2027-01-03", now).is_err(), "too far");
        assert!(accept_expiry("2026-02-30", now).is_err());
        assert!(accept_expiry("soon", now).is_err());
        assert!(accept_expiry("99999999999999999999d", now).is_err());
    }

    #[test]
    fn acceptances_are_refused_without_reason_expiry_or_known_rule() {
        let s = SqliteStore::memory().unwrap();
        let d = s.insert_device(b"k", b"u", b"p", "x", 1).unwrap();
        let why = "jump host enforces MFA, procedure SP-12";
        let cats = crate::ceiling::held_catalogs(&s).unwrap();
        let rule = cats.get(cats.versions()[0]).unwrap().rules[0].id.clone();
        let refused = |r: AcceptRequest, what: &str| match accept_finding(&s, &r, "operator a") {
            Err(ActionError::Refused(m)) => assert!(m.contains(what), "{m}"),
            x => panic!("{x:?}"),
        };
        refused(req(d, &rule, "too short", "30d"), "justification");
        refused(req(d, &rule, &"x".repeat(2001), "30d"), "justification");
        refused(req(d, &rule, why, "2001-01-01"), "not in the future");
        refused(req(d, &rule, why, "400d"), "366 days");
        refused(req(d, "no.such-rule", why, "30d"), "no catalog");
        assert!(matches!(
            accept_finding(&s, &req(d + 1, &rule, why, "30d"), "operator a"),
            Err(ActionError::NotFound(_))
        ));
        assert!(s.accepts_for(d).unwrap().is_empty());
        let id = accept_finding(&s, &req(d, &rule, why, "30d"), "operator a").unwrap();
        let a = s.accept(id).unwrap().unwrap();
        assert_eq!(
            (a.device_id, a.rule.as_str(), a.justification.as_str()),
            (Some(d), rule.as_str(), why)
        );
        let log = s.audit_for_device(d, 10).unwrap();
        assert_eq!(log[0].outcome, "accept-added");
        assert!(
            log[0].reason.ends_with("by operator a"),
            "{}",
            log[0].reason
        );
        assert_eq!(revoke_accept(&s, id, "operator b").unwrap(), Some(d));
        assert!(matches!(
            revoke_accept(&s, id, "operator b"),
            Err(ActionError::Refused(_))
        ));
        let log = s.audit_for_device(d, 10).unwrap();
        assert_eq!(log[0].outcome, "accept-revoked");
        assert!(log[0].reason.contains("by operator b"), "{}", log[0].reason);
    }
}
