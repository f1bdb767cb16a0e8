//! What an SSH session may do and how it is kept: environment and
//! forwarding, the log level, idle timeout and concurrent sessions.

use super::{check_key, effective, is_yes, match_candidates};
use crate::parse::sshd::{Forwarding, Gateway, LogLevel, Tunnel, Val};
use crate::rules::{Ctx, Meta, Outcome, Rule};
use fieldattest_protocol::report::Severity;

fn env_and_forwarding(ctx: &Ctx) -> Outcome {
    let cfg = ctx.sshd()?;
    let eff = effective(ctx, cfg);
    // DisableForwarding yes turns X11, agent, TCP and StreamLocal forwarding
    // off whatever they say (unless a Match block can turn it back on).
    let disabled = eff.value("disableforwarding").map(is_yes).unwrap_or(false)
        && match_candidates(cfg, "disableforwarding").is_empty();
    let mut hits = Vec::new();
    for key in ["x11forwarding", "allowagentforwarding"] {
        if !disabled {
            hits.extend(check_key(ctx, cfg, key, |v| {
                is_yes(v).then(|| "enabled".into())
            }));
        }
    }
    hits.extend(check_key(ctx, cfg, "permituserenvironment", |v| match v {
        Val::UserEnv {
            on: true,
            allow: None,
        } => Some("enabled".into()),
        Val::UserEnv {
            on: true,
            allow: Some(a),
        } => Some(format!("enabled for {a}")),
        _ => None,
    }));
    hits.extend(check_key(ctx, cfg, "gatewayports", |v| {
        (!matches!(v, Val::Gateway(Gateway::No))).then(|| "enabled".into())
    }));
    for key in ["allowtcpforwarding", "allowstreamlocalforwarding"] {
        if !disabled {
            hits.extend(check_key(ctx, cfg, key, |v| {
                (!matches!(v, Val::Forwarding(Forwarding::No)))
                    .then(|| "forwarding/tunnelling enabled".into())
            }));
        }
    }
    hits.extend(check_key(ctx, cfg, "permittunnel", |v| {
        (!matches!(v, Val::Tunnel(Tunnel::No))).then(|| "forwarding/tunnelling enabled".into())
    }));
    Ok(hits)
}

fn loglevel(ctx: &Ctx) -> Outcome {
    let cfg = ctx.sshd()?;
    Ok(check_key(ctx, cfg, "loglevel", |v| {
        (!matches!(
            v,
            Val::Level(LogLevel::Info) | Val::Level(LogLevel::Verbose)
        ))
        .then(|| "want INFO or VERBOSE".into())
    }))
}

fn idle_timeout(ctx: &Ctx) -> Outcome {
    let cfg = ctx.sshd()?;
    let sev = if ctx.target_sl >= 2 {
        Severity::Medium
    } else {
        Severity::Low
    };
    let hits = check_key(ctx, cfg, "clientaliveinterval", |v| match v {
        Val::Seconds(n) if *n > 0 && *n <= 300 => None,
        _ => Some("idle sessions are never terminated (want 1..300 s)".into()),
    });
    Ok(hits.into_iter().map(|h| h.severity(sev)).collect())
}

fn concurrency(ctx: &Ctx) -> Outcome {
    let cfg = ctx.sshd()?;
    Ok(check_key(ctx, cfg, "maxsessions", |v| match v {
        Val::Int(n) if *n <= 4 => None,
        _ => Some("want <= 4".into()),
    }))
}

pub const ENV_AND_FORWARDING: Rule = Rule {
    meta: Meta {
        id: "ssh.env-and-forwarding",
        title: "SSH forwarding or user environment enabled",
        fr: "FR2",
        severity: Severity::Medium,
        reqs: &[("CR 2.1", 1), ("CR 5.1", 1), ("CR 7.7", 1)],
        remediation: "Set X11Forwarding, AllowTcpForwarding, AllowAgentForwarding, AllowStreamLocalForwarding, PermitTunnel, PermitUserEnvironment and GatewayPorts to 'no' unless documented.",
        reference: "CIS 5.2.6, 5.2.12, 5.2.20",
    },
    check: env_and_forwarding,
};

pub const LOGLEVEL: Rule = Rule {
    meta: Meta {
        id: "ssh.loglevel",
        title: "SSH log level too low",
        fr: "FR2",
        severity: Severity::Low,
        reqs: &[("CR 2.8", 1)],
        remediation: "Set 'LogLevel VERBOSE' (logs the key fingerprint used).",
        reference: "CIS 5.2.5; STIG UBTU-20-010046",
    },
    check: loglevel,
};

pub const IDLE_TIMEOUT: Rule = Rule {
    meta: Meta {
        id: "session.idle-timeout",
        title: "Idle SSH sessions are not terminated",
        fr: "FR2",
        severity: Severity::Low,
        reqs: &[("CR 2.5", 1), ("CR 2.6", 2)],
        remediation: "Set ClientAliveInterval 300 and ClientAliveCountMax 0..3.",
        reference: "CIS 5.2.23; STIG UBTU-20-010036",
    },
    check: idle_timeout,
};

pub const CONCURRENCY_LIMIT: Rule = Rule {
    meta: Meta {
        id: "session.concurrency-limit",
        title: "Concurrent SSH sessions not limited",
        fr: "FR2",
        severity: Severity::Low,
        reqs: &[("CR 2.7", 3)],
        remediation: "Set MaxSessions 4 (and maxlogins in limits.conf).",
        reference: "CIS 5.2.24; STIG UBTU-20-010400",
    },
    check: concurrency,
};
