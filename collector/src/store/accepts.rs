//! Collector-side acceptances (IEC 62443-4-2 CCSC 2, compensating
//! countermeasures accepted by an operator): the collector's mirror of a
//! device's accept file — a rule, optionally one subject, a justification,
//! an expiry — for one device or (`device_id` NULL) the whole fleet.
//!
//! *Invariants:* an acceptance never changes what a device reported (the
//! evidence report shows it beside the device's result); rows are never
//! deleted, revoking marks them (who accepted what, and when, stays
//! readable); an expired acceptance is listed as expired and covers nothing.

use super::{e, Result};
use rusqlite::{params, Connection, OptionalExtension};

/// An acceptance to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccept {
    /// `None`: every device of the fleet.
    pub device_id: Option<i64>,
    pub rule: String,
    /// `""`: every subject of the rule.
    pub subject: String,
    pub justification: String,
    /// Unix seconds after which it no longer applies.
    pub expires: i64,
    /// `operator NAME`, `cli (uid N)`.
    pub actor: String,
    pub at: i64,
}

/// A recorded acceptance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accept {
    pub id: i64,
    pub device_id: Option<i64>,
    pub rule: String,
    pub subject: String,
    pub justification: String,
    pub expires: i64,
    pub actor: String,
    pub at: i64,
    pub revoked: bool,
}

impl Accept {
    /// Unrevoked and not expired at `now`.
    pub fn live(&self, now: i64) -> bool {
        !self.revoked && self.expires > now
    }

    /// Whether it covers a finding of `rule` about `subject` (`None`: the
    /// rule's result as a whole, covered only by an all-subjects acceptance).
    pub fn covers(&self, rule: &str, subject: Option<&str>) -> bool {
        self.rule == rule && (self.subject.is_empty() || Some(self.subject.as_str()) == subject)
    }
}

const COLUMNS: &str = "id, device_id, rule, subject, justification, expires, actor, at, revoked";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Accept> {
    Ok(Accept {
        id: r.get(0)?,
        device_id: r.get(1)?,
        rule: r.get(2)?,
        subject: r.get(3)?,
        justification: r.get(4)?,
        expires: r.get(5)?,
        actor: r.get(6)?,
        at: r.get(7)?,
        revoked: r.get::<_, i64>(8)? != 0,
    })
}

pub(super) fn add_accept(c: &Connection, a: &NewAccept) -> Result<i64> {
    c.prepare_cached(
        "INSERT INTO accepts (device_id, rule, subject, justification, expires, actor, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .map_err(e)?
    .execute(params![a.device_id, a.rule, a.subject, a.justification, a.expires, a.actor, a.at])
    .map_err(e)?;
    Ok(c.last_insert_rowid())
}

/// The unrevoked acceptances of a device and the fleet-wide ones (expired
/// ones included: the caller shows them as expired), by rule.
pub(super) fn accepts_for(c: &Connection, device_id: i64) -> Result<Vec<Accept>> {
    let mut st = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM accepts WHERE (device_id = ?1 OR device_id IS NULL) AND revoked = 0
             ORDER BY rule, subject, id LIMIT 1000"
        ))
        .map_err(e)?;
    let v = st
        .query_map([device_id], row)
        .map_err(e)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(e)?;
    Ok(v)
}

pub(super) fn accept(c: &Connection, id: i64) -> Result<Option<Accept>> {
    c.prepare_cached(&format!("SELECT {COLUMNS} FROM accepts WHERE id = ?1"))
        .map_err(e)?
        .query_row([id], row)
        .optional()
        .map_err(e)
}

/// Marks an acceptance revoked; false when it does not exist or already was.
/// (Who revoked it is in the audit trail; `actor` is the caller's to audit.)
pub(super) fn revoke_accept(c: &Connection, id: i64, _actor: &str) -> Result<bool> {
    let n = c
        .prepare_cached("UPDATE accepts SET revoked = 1 WHERE id = ?1 AND revoked = 0")
        .map_err(e)?
        .execute([id])
        .map_err(e)?;
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    use super::super::{SqliteStore, Store};
    use super::NewAccept;

    fn new(device_id: Option<i64>, rule: &str, subject: &str, expires: i64) -> NewAccept {
        NewAccept {
            device_id,
            rule: rule.into(),
            subject: subject.into(),
            justification: "jump host enforces MFA (SP-12)".into(),
            expires,
            actor: "operator alice".into(),
            at: 100,
        }
    }

    #[test]
    fn accepts_list_fleet_wide_ones_mark_expiry_and_revoke_once() {
        let s = SqliteStore::memory().unwrap();
        let d1 = s.insert_device(b"k1", b"u1", b"p", "x", 1).unwrap();
        let d2 = s.insert_device(b"k2", b"u2", b"p", "x", 1).unwrap();
        let own = s
            .add_accept(&new(Some(d1), "ssh.root-login", "", 1000))
            .unwrap();
        let fleet = s
            .add_accept(&new(None, "kernel.aslr", "sysctl", 1000))
            .unwrap();
        let old = s.add_accept(&new(Some(d1), "a.b", "", 50)).unwrap();
        s.add_accept(&new(Some(d2), "other.rule", "", 1000))
            .unwrap();
        let l = s.accepts_for(d1).unwrap();
        let ids: Vec<i64> = l.iter().map(|a| a.id).collect();
        assert_eq!(ids, vec![old, fleet, own]);
        assert!(l.iter().all(|a| a.device_id != Some(d2)));
        let by = |id: i64| l.iter().find(|a| a.id == id).unwrap().clone();
        assert!(!by(old).live(100), "expired");
        assert!(by(own).live(100) && !by(own).live(1000));
        assert_eq!(by(fleet).device_id, None);
        assert!(by(fleet).covers("kernel.aslr", Some("sysctl")));
        assert!(!by(fleet).covers("kernel.aslr", Some("other")));
        assert!(!by(fleet).covers("kernel.aslr", None));
        assert!(by(own).covers("ssh.root-login", None));
        assert_eq!(
            s.accepts_for(d2).unwrap().len(),
            2,
            "its own and the fleet's"
        );
        assert!(s.revoke_accept(own, "operator bob").unwrap());
        assert!(!s.revoke_accept(own, "operator bob").unwrap(), "only once");
        assert!(!s.revoke_accept(9999, "operator bob").unwrap());
        assert!(s.accept(own).unwrap().unwrap().revoked);
        assert!(s.accepts_for(d1).unwrap().iter().all(|a| a.id != own));
    }
}
