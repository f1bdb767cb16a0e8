//! Collector-side acceptances (IEC 62443-4-2 CCSC 2, compensating
//! countermeasures accepted by an operator): the collector's mirror of a
//! device's accept file — a rule, optionally one subject, a justification,
//! an expiry — for one device or (`device_id` NULL) the whole fleet.
//!
//! *Invariants:* an acceptance never changes what a device reported (the
//! evidence report shows it beside the device's result); rows are never
//! deleted, revoking marks them (who accepted what, and when, stays
//! readable); an expired acceptance is listed as expired and covers nothing.

use super::sql::{first, ps, rows, Row, Sql};
use super::{Result, StoreError};

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

fn row(r: &dyn Row) -> Result<Accept> {
    Ok(Accept {
        id: r.i64(0)?,
        device_id: r.opt_i64(1)?,
        rule: r.text(2)?,
        subject: r.text(3)?,
        justification: r.text(4)?,
        expires: r.i64(5)?,
        actor: r.text(6)?,
        at: r.i64(7)?,
        revoked: r.i64(8)? != 0,
    })
}

pub(super) fn add_accept(db: &mut dyn Sql, a: &NewAccept) -> Result<i64> {
    first(
        db,
        "INSERT INTO accepts (device_id, rule, subject, justification, expires, actor, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
        ps![a.device_id, &a.rule, &a.subject, &a.justification, a.expires, &a.actor, a.at],
        |r| r.i64(0),
    )?
    .ok_or_else(|| StoreError::Database("acceptance insert returned no id".into()))
}

/// The unrevoked acceptances of a device and the fleet-wide ones (expired
/// ones included: the caller shows them as expired), by rule.
pub(super) fn accepts_for(db: &mut dyn Sql, device_id: i64) -> Result<Vec<Accept>> {
    rows(
        db,
        &format!(
            "SELECT {COLUMNS} FROM accepts WHERE (device_id = ?1 OR device_id IS NULL) AND revoked = 0
             ORDER BY rule, subject, id LIMIT 1000"
        ),
        ps![device_id],
        row,
    )
}

pub(super) fn accept(db: &mut dyn Sql, id: i64) -> Result<Option<Accept>> {
    first(
        db,
        &format!("SELECT {COLUMNS} FROM accepts WHERE id = ?1"),
        ps![id],
        row,
    )
}

/// Marks an acceptance revoked; false when it does not exist or already was.
/// (Who revoked it is in the audit trail; `actor` is the caller's to audit.)
pub(super) fn revoke_accept(db: &mut dyn Sql, id: i64, _actor: &str) -> Result<bool> {
    Ok(db.exec(
        "UPDATE accepts SET revoked = 1 WHERE id = ?1 AND revoked = 0",
        ps![id],
    )? == 1)
}

#[cfg(test)]
mod tests {
    use super::super::devices::insert_device;
    use super::super::sql::cluster::on_both;
    use super::*;

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
        on_both(|s| {
            let d1 = insert_device(s, b"k1", b"u1", b"p", "x", 1).unwrap();
            let d2 = insert_device(s, b"k2", b"u2", b"p", "x", 1).unwrap();
            let own = add_accept(s, &new(Some(d1), "ssh.root-login", "", 1000)).unwrap();
            let fleet = add_accept(s, &new(None, "kernel.aslr", "sysctl", 1000)).unwrap();
            let old = add_accept(s, &new(Some(d1), "a.b", "", 50)).unwrap();
            add_accept(s, &new(Some(d2), "other.rule", "", 1000)).unwrap();
            let l = accepts_for(s, d1).unwrap();
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
                accepts_for(s, d2).unwrap().len(),
                2,
                "its own and the fleet's"
            );
            assert!(revoke_accept(s, own, "operator bob").unwrap());
            assert!(!revoke_accept(s, own, "operator bob").unwrap(), "only once");
            assert!(!revoke_accept(s, 9999, "operator bob").unwrap());
            assert!(accept(s, own).unwrap().unwrap().revoked);
            assert!(accepts_for(s, d1).unwrap().iter().all(|a| a.id != own));
        });
    }
}
