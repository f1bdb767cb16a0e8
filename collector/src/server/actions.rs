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
