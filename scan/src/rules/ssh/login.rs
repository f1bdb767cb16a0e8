//! Who may log in over SSH and how: root logins, empty passwords, password
//! and keyboard-interactive authentication, host-based trust, access lists,
//! and the limits on authentication attempts.

use super::{check_key, condition, effective, is_yes, match_candidates, MAIN};
use crate::parse::sshd::{self, PermitRoot, Rhosts, Val};
use crate::rules::{Ctx, Hit, Meta, Outcome, Rule};
use fieldattest_protocol::report::Severity;

pub(super) fn permit_root_login(ctx: &Ctx) -> Outcome {
    let cfg = ctx.sshd()?;
    Ok(check_key(ctx, cfg, "permitrootlogin", |v| match v {
        Val::PermitRoot(PermitRoot::No) => None,
        Val::PermitRoot(PermitRoot::Yes) => Some("root may log in with a password".into()),
        _ => Some("root may log in (key-only break-glass must be documented)".into()),
    }))
}

fn permit_empty_passwords(ctx: &Ctx) -> Outcome {
    let cfg = ctx.sshd()?;
    Ok(check_key(ctx, cfg, "permitemptypasswords", |v| {
        is_yes(v).then(|| "accounts without a password may log in".into())
    }))
}

fn password_authentication(ctx: &Ctx) -> Outcome {
    let cfg = ctx.sshd()?;
    let sev = if ctx.target_sl >= 2 {
        Severity::Medium
    } else {
        Severity::Info
    };
    let mut hits = check_key(ctx, cfg, "passwordauthentication", |v| {
        is_yes(v).then(|| "password login allowed; use keys".into())
    });
    // Keyboard-interactive (alias ChallengeResponseAuthentication, default
    // yes) hands PAM's password prompt to the client when UsePAM is on.
    let eff = effective(ctx, cfg);
    let use_pam = eff.value("usepam").map(is_yes).unwrap_or(false);
    if use_pam {
        let why =
            |v: &Val| is_yes(v).then(|| "PAM password prompts allowed with UsePAM yes".to_string());
        if let Some(r) = eff.get("kbdinteractiveauthentication") {
            if let Some(w) = why(&r.value) {
                match r.from.last() {
                    Some(k) => hits.push(
                        Hit::new(format!("{} {} with UsePAM yes — {w}", k.key, k.value))
                            .subject(k.key.clone())
                            .at(&k.path, Some(k.line)),
                    ),
                    None => hits.push(
                        Hit::new(format!(
                            "kbdinteractiveauthentication not set; compiled-in default is 'yes' — {w}"
                        ))
                        .subject("kbdinteractiveauthentication")
                        .at(MAIN, None),
                    ),
                }
            }
        }
        for (b, s) in match_candidates(cfg, "kbdinteractiveauthentication") {
            let Ok(v) = sshd::parse_value("kbdinteractiveauthentication", &s.args) else {
                continue;
            };
            if let Some(w) = why(&v) {
                let cond = condition(cfg, b);
                hits.push(
                    Hit::new(format!("{} {} in 'Match {cond}' — {w}", s.key, s.value))
                        .subject(format!("{} (Match {cond})", s.key))
                        .at(&s.path, Some(s.line)),
                );
            }
        }
    }
    Ok(hits.into_iter().map(|h| h.severity(sev)).collect())
}

fn host_based_trust(ctx: &Ctx) -> Outcome {
    let cfg = ctx.sshd()?;
    let mut hits = check_key(ctx, cfg, "hostbasedauthentication", |v| {
        is_yes(v).then(|| "trust by client host".into())
    });
    hits.extend(check_key(ctx, cfg, "ignorerhosts", |v| match v {
        Val::Rhosts(Rhosts::No) => Some(".rhosts/.shosts honoured".into()),
        Val::Rhosts(Rhosts::ShostsOnly) => Some(".shosts honoured".into()),
        _ => None,
    }));
    Ok(hits)
}

fn access_restricted(ctx: &Ctx) -> Outcome {
    let cfg = ctx.sshd()?;
    let eff = effective(ctx, cfg);
    let any = ["allowusers", "allowgroups", "denyusers", "denygroups"]
        .iter()
        .any(|k| eff.value(k).is_some_and(|v| !v.list().is_empty()));
    if any {
        Ok(vec![])
    } else {
        Ok(vec![Hit::new("no AllowUsers/AllowGroups/DenyUsers/DenyGroups: every account with a shell may try SSH").at(MAIN, None)])
    }
}

fn auth_rate_limits(ctx: &Ctx) -> Outcome {
    let cfg = ctx.sshd()?;
    let mut hits = check_key(ctx, cfg, "maxauthtries", |v| match v {
        Val::Int(n) if *n <= 4 => None,
        _ => Some("want <= 4".into()),
    });
    hits.extend(check_key(ctx, cfg, "logingracetime", |v| match v {
        Val::Seconds(s) if *s > 0 && *s <= 60 => None,
        _ => Some("want 1..60 seconds".into()),
    }));
    hits.extend(check_key(ctx, cfg, "maxstartups", |v| {
        let ok = matches!(v, Val::Startups { begin, rate, full } if *begin <= 10 && *rate >= 30 && *full <= 60);
        (!ok).then(|| "looser than 10:30:60".into())
    }));
    Ok(hits)
}

pub const PERMIT_ROOT_LOGIN: Rule = Rule {
    meta: Meta {
        id: "ssh.permit-root-login",
        title: "SSH root login permitted",
        fr: "FR1",
        severity: Severity::High,
        reqs: &[("CR 1.1 RE(1)", 2), ("CR 2.1", 1)],
        remediation: "Set 'PermitRootLogin no' and log in as a personal account.",
        reference: "CIS 5.2.8; STIG UBTU-20-010047",
    },
    check: permit_root_login,
};

pub const PERMIT_EMPTY_PASSWORDS: Rule = Rule {
    meta: Meta {
        id: "ssh.permit-empty-passwords",
        title: "SSH accepts empty passwords",
        fr: "FR1",
        severity: Severity::Critical,
        reqs: &[("CR 1.1", 1)],
        remediation: "Set 'PermitEmptyPasswords no'.",
        reference: "CIS 5.2.9; STIG UBTU-20-010047",
    },
    check: permit_empty_passwords,
};

pub const PASSWORD_AUTHENTICATION: Rule = Rule {
    meta: Meta {
        id: "ssh.password-authentication",
        title: "SSH password authentication allowed",
        fr: "FR1",
        severity: Severity::Medium,
        reqs: &[("CR 1.7", 1), ("CR 1.9", 2)],
        remediation: "Set 'PasswordAuthentication no' and 'KbdInteractiveAuthentication no' once every user has a key.",
        reference: "ssh-audit; CIS 5.2 rationale",
    },
    check: password_authentication,
};

pub const HOST_BASED_TRUST: Rule = Rule {
    meta: Meta {
        id: "ssh.host-based-trust",
        title: "SSH trusts client hosts",
        fr: "FR1",
        severity: Severity::High,
        reqs: &[("CR 1.1", 1), ("CR 1.2", 2)],
        remediation: "Set 'HostbasedAuthentication no' and 'IgnoreRhosts yes'.",
        reference: "CIS 5.2.10, 5.2.11",
    },
    check: host_based_trust,
};

pub const ACCESS_RESTRICTED: Rule = Rule {
    meta: Meta {
        id: "ssh.access-restricted",
        title: "SSH access not restricted to named users or groups",
        fr: "FR2",
        severity: Severity::Low,
        reqs: &[("CR 2.1", 1)],
        remediation: "Add 'AllowGroups <group>' (or AllowUsers) for the accounts that need SSH.",
        reference: "CIS 5.2.4",
    },
    check: access_restricted,
};

pub const AUTH_RATE_LIMITS: Rule = Rule {
    meta: Meta {
        id: "ssh.auth-rate-limits",
        title: "SSH authentication attempts not limited",
        fr: "FR1",
        severity: Severity::Medium,
        reqs: &[("CR 1.11", 1), ("CR 7.1", 1)],
        remediation: "Set MaxAuthTries 4, LoginGraceTime 60, MaxStartups 10:30:60.",
        reference: "CIS 5.2.7, 5.2.16, 5.2.21, 5.2.22",
    },
    check: auth_rate_limits,
};
