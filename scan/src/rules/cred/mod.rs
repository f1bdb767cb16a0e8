//! Default credentials (catalog 2.B rule 9, CR 1.5): every usable password hash
//! is re-hashed, with its own stored salt, against the publicly known defaults
//! for that account, the account name, the empty string, and a common list —
//! most likely first, within a CPU-time budget (CCSC 1). Nothing tries a
//! login; nothing prints a password or a hash.
//!
//! With a state directory, hashes already fully checked against this list are
//! remembered by an HMAC-SHA256 under a device-local key (never the hash), so
//! an unchanged account costs nothing on the next scan.
//!
//! Layout: `list` holds the candidates and the memo digests, `verify` the
//! per-hash verification (with [`shacrypt`] on ring's SHA-2); this file holds
//! the rule that orders candidates and spends the budget.

mod list;
pub mod shacrypt;
mod verify;

pub use list::{list_digest, memo_key, parse_list, LIST, LIST_NAME};
pub use verify::{verify, Prepared, Verify, BCRYPT_MAX_COST, YESCRYPT_MAX_COST};

use super::{Ctx, Hit, Meta, Outcome, Rule};
use crate::parse::accounts::{pw_state, PwState};
use fieldattest_protocol::report::Severity;

/// Scheme label for coverage notes.
fn scheme(hash: &str) -> &'static str {
    super::accounts::scheme_name(hash)
}

fn known_default(ctx: &Ctx) -> Outcome {
    if let Some(why) = ctx.cred_skip() {
        // Off by request: not applicable (never "pass"), naming the option.
        return Err(super::Skip::na(format!(
            "default-credential check skipped ({why})"
        )));
    }
    let (per, common) = parse_list(LIST);
    struct Account<'a> {
        name: &'a str,
        hash: &'a str,
        prepared: Prepared<'a>,
        path: &'static str,
        line: u64,
        /// (password, why it is a candidate, likelihood tier 0..=2)
        candidates: Vec<(&'a str, &'static str, u8)>,
        next: usize,
        found: Option<&'static str>,
        unsupported: bool,
    }
    let mut accounts = Vec::new();
    for p in ctx.passwd()?.iter().filter(|p| !p.nis) {
        let (h, path, line) = ctx.password_field(p)?;
        if pw_state(h) != PwState::Usable {
            continue;
        }
        if ctx.cred_memo_contains(h) {
            ctx.cred_note_skipped();
            continue;
        }
        accounts.push(Account {
            name: &p.name,
            hash: h,
            prepared: Prepared::new(h),
            path,
            line,
            candidates: Vec::new(),
            next: 0,
            found: None,
            unsupported: false,
        });
    }
    // Candidates, most likely first: this account's defaults, its name, empty, the common list.
    for a in &mut accounts {
        let mut c: Vec<(&str, &'static str, u8)> = per
            .iter()
            .filter(|(u, _)| *u == a.name)
            .map(|(_, p)| (*p, "per-account default", 0))
            .collect();
        c.push((a.name, "account name", 1));
        c.push(("", "empty password", 1));
        c.extend(common.iter().map(|p| (*p, "common default", 2)));
        let mut seen = Vec::new();
        c.retain(|(p, _, _)| {
            let fresh = !seen.contains(p);
            seen.push(*p);
            fresh
        });
        a.candidates = c;
    }
    let total: usize = accounts.iter().map(|a| a.candidates.len()).sum();
    let mut checked = 0usize;
    let deadline = ctx.cred_deadline();
    // Round-robin by likelihood tier so every account gets its best guesses first.
    let mut exhausted = false;
    'outer: for tier in 0..3 {
        for i in 0..accounts.len() {
            let a = &mut accounts[i];
            if a.found.is_some() || a.unsupported {
                continue;
            }
            while a.next < a.candidates.len() {
                let (pw, why, t) = a.candidates[a.next];
                if t > tier {
                    break;
                }
                if !ctx.cred_budget_left() {
                    exhausted = true;
                    break 'outer;
                }
                let v = a.prepared.verify(pw, deadline);
                if v == Verify::OutOfBudget {
                    exhausted = true;
                    break 'outer;
                }
                a.next += 1;
                checked += 1;
                match v {
                    Verify::Match => {
                        a.found = Some(why);
                        // A password found on this device is the likeliest
                        // guess for its other accounts: try it next there.
                        for b in accounts.iter_mut().filter(|b| b.found.is_none()) {
                            if let Some(k) = b.candidates[b.next..].iter().position(|c| c.0 == pw) {
                                let (p, w, _) = b.candidates.remove(b.next + k);
                                b.candidates.insert(b.next, (p, w, 0));
                            }
                        }
                        break;
                    }
                    Verify::NoMatch | Verify::OutOfBudget => {}
                    Verify::Unsupported => {
                        a.unsupported = true;
                        break;
                    }
                }
            }
        }
    }
    let mut hits = Vec::new();
    let mut unsupported = Vec::new();
    for a in &accounts {
        match a.found {
            Some(why) => hits.push(
                Hit::new(format!("default password in list {LIST_NAME} ({why})"))
                    .subject(a.name)
                    .at(a.path, Some(a.line)),
            ),
            None if a.unsupported => unsupported.push(format!("{} ({})", a.name, scheme(a.hash))),
            None if a.next >= a.candidates.len() => ctx.cred_memo_record(a.hash),
            None => {}
        }
    }
    let mut note = format!(
        "checked {checked} of {total} candidates for {} account(s)",
        accounts.len()
    );
    if exhausted {
        note.push_str("; CPU budget exhausted before the list was complete");
    }
    if !unsupported.is_empty() {
        note.push_str(&format!(
            "; unsupported hash scheme: {}",
            unsupported.join(", ")
        ));
    }
    let skipped = ctx.cred_skipped();
    if skipped > 0 {
        note.push_str(&format!(
            "; {skipped} unchanged account(s) already checked in an earlier scan"
        ));
    }
    ctx.note("cred.known-default-password", note);
    Ok(hits)
}

pub const RULES: &[Rule] = &[Rule {
    meta: Meta {
        id: "cred.known-default-password",
        title: "Account still has a publicly known default password",
        fr: "FR1",
        severity: Severity::Critical,
        reqs: &[("CR 1.5", 1), ("CR 1.7", 1)],
        remediation: "Set a unique password per device (or lock the account) at commissioning; force a change at first login.",
        reference: "Metasploit root_userpass.txt, scada_default_userpass.txt; SecLists default credentials; NIST SP 800-63B 5.1.1.2",
    },
    check: known_default,
}];

#[cfg(test)]
mod tests;
