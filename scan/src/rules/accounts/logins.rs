//! Who can log in: system accounts with a shell or password, and shared
//! generic role accounts.

use super::PASSWD;
use crate::parse::accounts::{is_nologin_shell, pw_state, PwState};
use crate::rules::{Ctx, Hit, Outcome};
use fieldattest_protocol::report::Severity;

const SYSTEM_ALLOW: [&str; 3] = ["sync", "shutdown", "halt"];

pub(super) fn system_account_login(ctx: &Ctx) -> Outcome {
    let uid_min = ctx.uid_min()?;
    let mut hits = Vec::new();
    for p in ctx.passwd()?.iter().filter(|p| {
        !p.nis && p.uid != 0 && p.uid < uid_min && !SYSTEM_ALLOW.contains(&p.name.as_str())
    }) {
        let (field, _, _) = ctx.password_field(p)?;
        let shell = !is_nologin_shell(&p.shell);
        let pw = pw_state(field) == PwState::Usable;
        if shell || pw {
            let what = match (shell, pw) {
                (true, true) => format!(
                    "login shell {} and a usable password",
                    display_shell(&p.shell)
                ),
                (true, false) => format!("login shell {}", display_shell(&p.shell)),
                _ => "usable password".to_string(),
            };
            hits.push(
                Hit::new(format!("UID {} < UID_MIN {uid_min} has {what}", p.uid))
                    .subject(&p.name)
                    .at(PASSWD, Some(p.line)),
            );
        }
    }
    Ok(hits)
}

fn display_shell(s: &str) -> &str {
    if s.is_empty() {
        "(empty = /bin/sh)"
    } else {
        s
    }
}

/// Role names that suggest a shared account (from the default-credential lists).
const GENERIC: [&str; 22] = [
    "admin",
    "administrator",
    "user",
    "operator",
    "guest",
    "service",
    "maint",
    "maintenance",
    "engineer",
    "test",
    "default",
    "support",
    "tech",
    "technician",
    "manager",
    "supervisor",
    "plc",
    "scada",
    "hmi",
    "factory",
    "installer",
    "demo",
];

pub(super) fn shared_generic_login(ctx: &Ctx) -> Outcome {
    let mut hits = Vec::new();
    for p in ctx
        .passwd()?
        .iter()
        .filter(|p| !p.nis && GENERIC.contains(&p.name.to_ascii_lowercase().as_str()))
    {
        let (field, _, _) = ctx.password_field(p)?;
        if pw_state(field) != PwState::Locked && !is_nologin_shell(&p.shell) {
            let sev = if ctx.target_sl >= 2 {
                Severity::High
            } else {
                Severity::Medium
            };
            hits.push(
                Hit::new("role name with a usable password and a login shell")
                    .subject(&p.name)
                    .at(PASSWD, Some(p.line))
                    .severity(sev),
            );
        }
    }
    Ok(hits)
}
