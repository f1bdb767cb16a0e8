//! OpenSSH server (catalog 2.D rules 26-40): the effective configuration as
//! `sshd -T` shows it (parse::sshd resolves includes, quotes, first value
//! wins, `Match all`, and the compiled-in default of the installed OpenSSH
//! version when a keyword is absent), plus settings in `Match` blocks that can
//! take effect for some connection, reported with their condition.

use super::{Ctx, Hit, Meta, Outcome, Rule};
use crate::parse::sshd::{
    self, canonical, default_for, Defaults, Effective, Forwarding, Gateway, LogLevel, PermitRoot,
    Rhosts, Setting, SshdConfig, Tunnel, Val,
};
use crate::root::EntryKind;
use fieldattest_protocol::report::Severity;

const MAIN: &str = "/etc/ssh/sshd_config";

fn effective<'c>(ctx: &Ctx, cfg: &'c SshdConfig) -> Effective<'c> {
    cfg.effective(None, &Defaults::openssh(ctx.openssh_version()))
}

/// The Match block a setting is in (None: top level).
fn block_of(cfg: &SshdConfig, s: &Setting) -> Option<usize> {
    cfg.ordered()
        .find(|(_, x)| std::ptr::eq(*x, s))
        .and_then(|(b, _)| b)
}

/// `Match A' and 'Match B` for a block and the blocks it sits in.
fn condition(cfg: &SshdConfig, b: usize) -> String {
    let mut chain = vec![b];
    while let Some(p) = cfg.matches[*chain.last().unwrap_or(&b)].parent {
        chain.push(p);
    }
    chain
        .iter()
        .rev()
        .map(|i| cfg.matches[*i].condition.as_str())
        .filter(|c| !c.eq_ignore_ascii_case("all"))
        .collect::<Vec<_>>()
        .join("' and 'Match ")
}

/// Settings of `key` in Match blocks that can take effect for some
/// connection: in a block that can match, with a condition beyond `all`, for
/// a keyword a Match block can set, and not shadowed by an earlier setting
/// whose conditions are a subset of its own (the same condition, or `Match
/// all`: the earlier one always wins there).
fn match_candidates<'c>(cfg: &'c SshdConfig, key: &str) -> Vec<(usize, &'c Setting)> {
    use std::collections::HashSet;
    if !sshd::settable_in_match(key) {
        return Vec::new();
    }
    // Guards (sorted criteria) of earlier settings; a later setting is
    // shadowed when one of them is a subset of its own guard. Subsets are
    // looked up (at most 2^8 per setting), so hostile files stay linear.
    let mut earlier: HashSet<Vec<&sshd::Criterion>> = HashSet::new();
    let mut out = Vec::new();
    for (b, s) in cfg.ordered() {
        let Some(b) = b else { continue };
        if canonical(&s.key) != key || !cfg.reachable(b) {
            continue;
        }
        let mut guard = cfg.guard(b);
        guard.sort();
        guard.dedup();
        let shadowed = if guard.len() <= 8 {
            (0u32..1 << guard.len()).any(|mask| {
                let sub: Vec<_> = (0..guard.len())
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| guard[i])
                    .collect();
                earlier.contains(&sub)
            })
        } else {
            earlier.contains(&Vec::new())
                || earlier.contains(&guard)
                || guard.iter().any(|c| earlier.contains(&vec![*c]))
        };
        if !shadowed && !guard.is_empty() {
            out.push((b, s));
        }
        earlier.insert(guard);
    }
    out
}

/// Hits for `key`: the effective global value (or the compiled-in default)
/// and every Match-block setting that can take effect. `bad` says why a
/// value is a problem.
fn check_key(
    ctx: &Ctx,
    cfg: &SshdConfig,
    key: &str,
    bad: impl Fn(&Val) -> Option<String>,
) -> Vec<Hit> {
    let eff = effective(ctx, cfg);
    let mut hits = Vec::new();
    let ver = ctx.openssh_version();
    if let Some(r) = eff.get(key) {
        if let Some(why) = bad(&r.value) {
            match r.from.last() {
                Some(s) => {
                    let note = block_of(cfg, s)
                        .map(|b| format!(" in 'Match {}'", cfg.matches[b].condition))
                        .unwrap_or_default();
                    hits.push(
                        Hit::new(format!("{key} {}{note} — {why}", s.value))
                            .subject(key)
                            .at(&s.path, Some(s.line)),
                    );
                }
                None => {
                    let d = default_for(key, ver).unwrap_or("?");
                    let v = ver
                        .map(|(a, b)| format!("OpenSSH {a}.{b}"))
                        .unwrap_or_else(|| "OpenSSH (version unknown)".into());
                    hits.push(
                        Hit::new(format!(
                            "{key} not set; compiled-in default of {v} is '{d}' — {why}"
                        ))
                        .subject(key)
                        .at(MAIN, None),
                    );
                }
            }
        }
    }
    for (b, s) in match_candidates(cfg, key) {
        let Ok(v) = sshd::parse_value(key, &s.args) else {
            continue;
        };
        if let Some(why) = bad(&v) {
            let cond = condition(cfg, b);
            hits.push(
                Hit::new(format!("{key} {} in 'Match {cond}' — {why}", s.value))
                    .subject(format!("{key} (Match {cond})"))
                    .at(&s.path, Some(s.line)),
            );
        }
    }
    hits
}

fn is_yes(v: &Val) -> bool {
    v.flag() == Some(true)
}

fn permit_root_login(ctx: &Ctx) -> Outcome {
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

/// sshd time format: `120`, `2m`, `1m30s`.
#[cfg(test)]
fn parse_time(v: &str) -> Option<u64> {
    sshd::convtime(v)
}

fn algorithms(
    ctx: &Ctx,
    key: &str,
    classify: fn(&str) -> Option<(Severity, &'static str)>,
) -> Outcome {
    let cfg = ctx.sshd()?;
    let eff = effective(ctx, cfg);
    let mut hits = Vec::new();
    let Some(r) = eff.get(key) else {
        return Ok(hits);
    };
    let note = if r.from.is_empty() {
        " (compiled-in default)"
    } else {
        ""
    };
    for a in r.value.list() {
        if let Some((sev, why)) = classify(a) {
            let h = Hit::new(format!("{key}: {a} offered{note} — {why}"))
                .subject(a.clone())
                .severity(sev);
            hits.push(match r.from.last() {
                Some(s) => h.at(&s.path, Some(s.line)),
                None => h.at(MAIN, None),
            });
        }
    }
    Ok(hits)
}

fn weak_cipher(a: &str) -> Option<(Severity, &'static str)> {
    let weak = a.ends_with("-cbc")
        || a.starts_with("arcfour")
        || a == "none"
        || a == "rijndael-cbc@lysator.liu.se";
    weak.then_some((Severity::High, "CBC/RC4/none cipher"))
}

fn weak_mac(a: &str) -> Option<(Severity, &'static str)> {
    if a.starts_with("hmac-md5")
        || a.starts_with("hmac-sha1")
        || a.starts_with("umac-64")
        || a.starts_with("hmac-ripemd160")
    {
        Some((Severity::High, "MD5/SHA-1/64-bit MAC"))
    } else if a.starts_with("hmac-sha2-") && !a.contains("-etm@") {
        Some((Severity::Low, "encrypt-and-MAC mode (prefer -etm)"))
    } else {
        None
    }
}

fn weak_kex(a: &str) -> Option<(Severity, &'static str)> {
    matches!(
        a,
        "diffie-hellman-group1-sha1"
            | "diffie-hellman-group14-sha1"
            | "diffie-hellman-group-exchange-sha1"
    )
    .then_some((Severity::High, "SHA-1 or 1024-bit key exchange"))
}

fn ciphers(ctx: &Ctx) -> Outcome {
    let mut hits = algorithms(ctx, "ciphers", weak_cipher)?;
    if let Some(p) = ctx.sshd()?.get("protocol") {
        if p.value.contains('1') {
            hits.push(
                Hit::new(format!("Protocol {}", p.value))
                    .subject("protocol")
                    .at(&p.path, Some(p.line)),
            );
        }
    }
    Ok(hits)
}

fn macs(ctx: &Ctx) -> Outcome {
    algorithms(ctx, "macs", weak_mac)
}

fn kex(ctx: &Ctx) -> Outcome {
    let mut hits = algorithms(ctx, "kexalgorithms", weak_kex)?;
    // moduli: column 5 is the size in bits minus one.
    if let Some(t) = ctx.text("/etc/ssh/moduli")? {
        let small = crate::parse::content_lines(&t)
            .filter(|(_, l)| {
                l.split_whitespace()
                    .nth(4)
                    .and_then(|b| b.parse::<u32>().ok())
                    .map(|b| b + 1 < 3072)
                    .unwrap_or(false)
            })
            .count();
        if small > 0 {
            hits.push(
                Hit::new(format!(
                    "{small} Diffie-Hellman groups smaller than 3072 bits"
                ))
                .subject("moduli")
                .at("/etc/ssh/moduli", None)
                .severity(Severity::Low),
            );
        }
    }
    Ok(hits)
}

fn mode_str(m: u32) -> String {
    format!("{:04o}", m & 0o7777)
}

fn key_and_config_perms(ctx: &Ctx) -> Outcome {
    let cfg = ctx.sshd()?;
    let mut hits = Vec::new();
    for f in &cfg.files {
        if let Ok(m) = ctx.root.metadata(f) {
            if m.mode & 0o022 != 0 || m.uid != 0 {
                hits.push(
                    Hit::new(format!(
                        "mode {} uid {} (want root-owned, not group/other-writable)",
                        mode_str(m.mode),
                        m.uid
                    ))
                    .at(f, None),
                );
            }
        }
    }
    let ssh_keys_gid = ctx
        .group()
        .ok()
        .and_then(|g| g.iter().find(|g| g.name == "ssh_keys").map(|g| g.gid));
    let mut keys: Vec<String> = cfg.all("hostkey").iter().map(|s| s.value.clone()).collect();
    if keys.is_empty() {
        if let Ok(ents) = ctx.root.read_dir("/etc/ssh") {
            for e in ents.iter().filter(|e| e.kind == EntryKind::File) {
                let n = e.name.to_string_lossy();
                if n.starts_with("ssh_host_") && n.ends_with("_key") {
                    keys.push(format!("/etc/ssh/{n}"));
                }
            }
        }
    }
    for k in keys {
        if let Ok(m) = ctx.root.metadata(&k) {
            let group_ok =
                m.mode & 0o077 == 0 || (m.mode & 0o037 == 0 && Some(m.gid) == ssh_keys_gid);
            if !group_ok || m.uid != 0 {
                hits.push(
                    Hit::new(format!(
                        "private host key mode {} uid {} (want 0600 root)",
                        mode_str(m.mode),
                        m.uid
                    ))
                    .subject(k.clone())
                    .at(&k, None),
                );
            }
        }
        let pubk = format!("{k}.pub");
        if let Ok(m) = ctx.root.metadata(&pubk) {
            if m.mode & 0o022 != 0 {
                hits.push(
                    Hit::new(format!(
                        "public host key mode {} is writable by group/other",
                        mode_str(m.mode)
                    ))
                    .subject(pubk.clone())
                    .at(&pubk, None),
                );
            }
        }
    }
    let eff = effective(ctx, cfg);
    if let Some(r) = eff.get("strictmodes") {
        if r.value.flag() == Some(false) {
            let h = Hit::new("StrictModes no: sshd accepts keys from writable home directories")
                .subject("strictmodes");
            hits.push(match r.from.last() {
                Some(s) => h.at(&s.path, Some(s.line)),
                None => h.at(MAIN, None),
            });
        }
    }
    Ok(hits)
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

pub const RULES: &[Rule] = &[
    Rule {
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
    },
    Rule {
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
    },
    Rule {
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
    },
    Rule {
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
    },
    Rule {
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
    },
    Rule {
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
    },
    Rule {
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
    },
    Rule {
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
    },
    Rule {
        meta: Meta {
            id: "ssh.ciphers",
            title: "SSH offers weak ciphers",
            fr: "FR4",
            severity: Severity::High,
            reqs: &[("CR 4.1", 1), ("CR 4.3", 1), ("CR 3.1", 1)],
            remediation: "Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr",
            reference: "CIS 5.2.13; STIG UBTU-20-010044; ssh-audit",
        },
        check: ciphers,
    },
    Rule {
        meta: Meta {
            id: "ssh.macs",
            title: "SSH offers weak MACs",
            fr: "FR3",
            severity: Severity::High,
            reqs: &[("CR 3.1", 1), ("CR 3.1 RE(1)", 2), ("CR 4.3", 1)],
            remediation: "MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com",
            reference: "CIS 5.2.14; STIG UBTU-20-010043; ssh-audit",
        },
        check: macs,
    },
    Rule {
        meta: Meta {
            id: "ssh.kex",
            title: "SSH offers weak key exchange",
            fr: "FR4",
            severity: Severity::High,
            reqs: &[("CR 4.3", 1), ("CR 3.1", 1)],
            remediation: "KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512; remove moduli below 3072 bits.",
            reference: "CIS 5.2.15; ssh-audit",
        },
        check: kex,
    },
    Rule {
        meta: Meta {
            id: "ssh.key-and-config-perms",
            title: "SSH configuration or host keys with loose permissions",
            fr: "FR1",
            severity: Severity::High,
            reqs: &[("CR 1.5", 1), ("CR 2.1", 1)],
            remediation: "chown root:root /etc/ssh/sshd_config*; chmod 0600 private host keys; keep StrictModes yes.",
            reference: "CIS 5.2.1-5.2.3; STIG UBTU-20-010417",
        },
        check: key_and_config_perms,
    },
    Rule {
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
    },
    Rule {
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
    },
];

#[cfg(test)]
mod tests {
    use super::super::testutil::{fails, passes, run, T};
    use super::super::Skip;
    use fieldattest_protocol::report::Severity;

    const HARDENED: &str = "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\nPermitEmptyPasswords no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding no\nAllowTcpForwarding no\nAllowAgentForwarding no\nAllowStreamLocalForwarding no\nPermitTunnel no\nPermitUserEnvironment no\nGatewayPorts no\nHostbasedAuthentication no\nIgnoreRhosts yes\nLogLevel VERBOSE\nAllowGroups sshusers\nMaxAuthTries 4\nLoginGraceTime 60\nMaxStartups 10:30:60\nCiphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes256-ctr\nMACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com\nKexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256\nClientAliveInterval 300\nMaxSessions 4\n";

    fn hardened() -> T {
        let t = T::new();
        t.file_mode("etc/ssh/sshd_config", HARDENED, 0o600);
        std::fs::create_dir_all(t.dir.path().join("etc/ssh/sshd_config.d")).unwrap();
        t
    }

    const ALL: [&str; 14] = [
        "ssh.permit-root-login",
        "ssh.permit-empty-passwords",
        "ssh.password-authentication",
        "ssh.env-and-forwarding",
        "ssh.host-based-trust",
        "ssh.loglevel",
        "ssh.access-restricted",
        "ssh.auth-rate-limits",
        "ssh.ciphers",
        "ssh.macs",
        "ssh.kex",
        "ssh.key-and-config-perms",
        "session.idle-timeout",
        "session.concurrency-limit",
    ];

    #[test]
    fn hardened_config_passes_everything() {
        let t = hardened();
        let me_root = std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
            .unwrap_or(false);
        for id in ALL {
            if id == "ssh.key-and-config-perms" && !me_root {
                continue;
            }
            passes(&t, id);
        }
    }

    #[test]
    fn no_sshd_is_not_applicable() {
        let t = T::new();
        for id in ALL {
            assert!(matches!(run(&t, id), Err(Skip::NotApplicable(_))), "{id}");
        }
    }

    #[test]
    fn include_overrides_and_defaults() {
        let t = hardened();
        // An earlier include wins over the main file (first value wins).
        t.file(
            "etc/ssh/sshd_config.d/00-vendor.conf",
            "PermitRootLogin yes\nPermitEmptyPasswords yes\n",
        );
        let h = fails(&t, "ssh.permit-root-login");
        assert_eq!(
            h[0].path.as_deref(),
            Some("/etc/ssh/sshd_config.d/00-vendor.conf")
        );
        fails(&t, "ssh.permit-empty-passwords");
        // Absent keyword: the compiled-in default applies.
        let t = T::new();
        t.file("etc/ssh/sshd_config", "UsePAM yes\n");
        let h = fails(&t, "ssh.permit-root-login");
        assert!(h[0].evidence.contains("compiled-in default"), "{h:?}");
        let h = fails(&t, "ssh.macs");
        assert!(h.iter().any(|h| h.subject.as_deref() == Some("hmac-sha1")));
        passes(&t, "ssh.ciphers");
        fails(&t, "ssh.auth-rate-limits");
        fails(&t, "ssh.env-and-forwarding");
    }

    #[test]
    fn match_blocks_are_reported_with_condition() {
        let t = hardened();
        t.file_mode("etc/ssh/sshd_config", &format!("{HARDENED}Match Address 10.0.0.0/8\n    PasswordAuthentication yes\n    PermitRootLogin yes\n"), 0o600);
        let h = fails(&t, "ssh.permit-root-login");
        assert!(h[0].evidence.contains("Match Address 10.0.0.0/8"), "{h:?}");
        let h = fails(&t, "ssh.password-authentication");
        assert_eq!(h[0].severity, Some(Severity::Medium));
    }

    #[test]
    fn weak_algorithms_and_modifiers() {
        let t = hardened();
        t.file(
            "etc/ssh/sshd_config.d/10-legacy.conf",
            "Ciphers +aes128-cbc\nKexAlgorithms diffie-hellman-group1-sha1\nMACs hmac-md5\n",
        );
        let h = fails(&t, "ssh.ciphers");
        assert_eq!(h[0].subject.as_deref(), Some("aes128-cbc"));
        fails(&t, "ssh.kex");
        fails(&t, "ssh.macs");
    }

    #[test]
    fn old_openssh_defaults_to_root_login_yes() {
        let t = T::new();
        t.file("etc/ssh/sshd_config", "UsePAM yes\n");
        let root = t.root();
        let mut pkg = fieldattest_protocol::report::Package::new(
            "openssh",
            "6.6p1",
            fieldattest_protocol::report::PackageSource::Binary,
            "/usr/sbin/sshd",
        );
        pkg.purl = None;
        let pkgs = [pkg];
        let ctx = super::super::Ctx::new(&root, false, 2, &pkgs, 20_000);
        let h = super::permit_root_login(&ctx).unwrap();
        assert!(
            h[0].evidence.contains("OpenSSH 6.6") && h[0].evidence.contains("'yes'"),
            "{h:?}"
        );
        let h = super::ciphers(&ctx).unwrap();
        assert!(h.iter().any(|h| h.subject.as_deref() == Some("3des-cbc")));
    }

    #[test]
    fn rate_limits_and_time_format() {
        assert_eq!(super::parse_time("1m30s"), Some(90));
        assert_eq!(super::parse_time("120"), Some(120));
        let t = hardened();
        t.file(
            "etc/ssh/sshd_config.d/01.conf",
            "MaxAuthTries 10\nLoginGraceTime 2m\n",
        );
        assert_eq!(fails(&t, "ssh.auth-rate-limits").len(), 2);
    }

    #[test]
    fn world_writable_config_and_host_key() {
        let t = hardened();
        t.file_mode("etc/ssh/sshd_config", HARDENED, 0o666);
        t.file_mode("etc/ssh/ssh_host_ed25519_key", "not really a key", 0o644);
        let h = fails(&t, "ssh.key-and-config-perms");
        assert!(h
            .iter()
            .any(|h| h.path.as_deref() == Some("/etc/ssh/sshd_config")));
        assert!(h
            .iter()
            .any(|h| h.evidence.contains("private host key mode 0644")));
    }

    /// A tree with HARDENED plus `extra` appended to the main file.
    fn with(extra: &str) -> T {
        let t = hardened();
        t.file_mode("etc/ssh/sshd_config", &format!("{extra}{HARDENED}"), 0o600);
        t
    }

    #[test]
    fn quoted_values_and_trailing_comments() {
        // Quotes: `PermitEmptyPasswords "yes"` is yes; `MaxAuthTries "3"` is 3.
        fails(
            &with("PermitEmptyPasswords \"yes\"\n"),
            "ssh.permit-empty-passwords",
        );
        passes(&with("MaxAuthTries \"3\"\n"), "ssh.auth-rate-limits");
        // A trailing comment is not part of the value.
        passes(
            &with("PermitRootLogin no # not yes\n"),
            "ssh.permit-root-login",
        );
        passes(&with("LogLevel VERBOSE # more\n"), "ssh.loglevel");
        // …but glued to it, sshd refuses the line: an error naming it.
        let t = with("PermitRootLogin no#x\n");
        assert!(matches!(
            run(&t, "ssh.permit-root-login"),
            Err(Skip::Error { line: Some(1), .. })
        ));
    }

    #[test]
    fn include_inside_match_stays_in_the_match() {
        let t = hardened();
        t.file("etc/ssh/extra.conf", "X11Forwarding no\n");
        t.file_mode(
            "etc/ssh/sshd_config",
            &format!(
                "{HARDENED}Match User backup\nInclude /etc/ssh/extra.conf\nPermitRootLogin yes\n"
            ),
            0o600,
        );
        let h = fails(&t, "ssh.permit-root-login");
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h[0].evidence.contains("Match User backup"), "{h:?}");
    }

    #[test]
    fn include_glob_skips_dot_files() {
        let t = hardened();
        t.file("etc/ssh/sshd_config.d/.swap.conf", "PermitRootLogin yes\n");
        passes(&t, "ssh.permit-root-login");
        t.file("etc/ssh/sshd_config.d/00-a.conf", "PermitRootLogin yes\n");
        fails(&t, "ssh.permit-root-login");
    }

    #[test]
    fn match_all_overrides_and_shadowing() {
        // A Match all value overrides the earlier top-level one.
        let t = hardened();
        t.file_mode(
            "etc/ssh/sshd_config",
            &format!("{HARDENED}Match all\nPermitRootLogin yes\n"),
            0o600,
        );
        let h = fails(&t, "ssh.permit-root-login");
        assert!(h[0].evidence.contains("Match all"), "{h:?}");
        // First value wins inside a block and across blocks of the same
        // condition: the later `yes` cannot take effect.
        let t = hardened();
        t.file_mode(
            "etc/ssh/sshd_config",
            &format!("{HARDENED}Match User bob\nPermitRootLogin no\nPermitRootLogin yes\nMatch User bob\nPermitRootLogin yes\nMatch all\nX11Forwarding no\nMatch Address 10.0.0.0/8\nX11Forwarding yes\n"),
            0o600,
        );
        passes(&t, "ssh.permit-root-login");
        passes(&t, "ssh.env-and-forwarding");
        // A different condition can take effect.
        let t = hardened();
        t.file_mode(
            "etc/ssh/sshd_config",
            &format!("{HARDENED}Match User bob\nPermitRootLogin no\nMatch User alice\nPermitRootLogin yes\n"),
            0o600,
        );
        let h = fails(&t, "ssh.permit-root-login");
        assert!(h[0].evidence.contains("Match User alice"), "{h:?}");
    }

    #[test]
    fn kbd_interactive_default_with_pam() {
        // Nothing set: KbdInteractiveAuthentication defaults to yes, so PAM
        // password prompts are allowed with UsePAM yes.
        let t = with("");
        t.file_mode(
            "etc/ssh/sshd_config",
            &HARDENED.replace("KbdInteractiveAuthentication no\n", ""),
            0o600,
        );
        let h = fails(&t, "ssh.password-authentication");
        assert!(h[0].evidence.contains("compiled-in default"), "{h:?}");
        // The alias and the keyword: the first occurrence of either wins.
        passes(
            &with("ChallengeResponseAuthentication no\nKbdInteractiveAuthentication yes\n"),
            "ssh.password-authentication",
        );
        let h = fails(
            &with("ChallengeResponseAuthentication yes\n"),
            "ssh.password-authentication",
        );
        assert_eq!(
            h[0].subject.as_deref(),
            Some("challengeresponseauthentication")
        );
        // Without UsePAM no finding.
        let t = hardened();
        t.file_mode(
            "etc/ssh/sshd_config",
            &HARDENED.replace("KbdInteractiveAuthentication no\nUsePAM yes\n", ""),
            0o600,
        );
        passes(&t, "ssh.password-authentication");
    }

    #[test]
    fn repeated_default_algorithm_reported_once() {
        let t = hardened();
        t.file(
            "etc/ssh/sshd_config.d/10-legacy.conf",
            "MACs ^hmac-sha1,hmac-sha1,umac-64@openssh.com\n",
        );
        let h = fails(&t, "ssh.macs");
        let sha1 = h
            .iter()
            .filter(|h| h.subject.as_deref() == Some("hmac-sha1"))
            .count();
        assert_eq!(sha1, 1, "{h:?}");
        let t = hardened();
        t.file(
            "etc/ssh/sshd_config.d/10-legacy.conf",
            "Ciphers +aes128-ctr,aes128-cbc,aes128-cbc\n",
        );
        let h = fails(&t, "ssh.ciphers");
        assert_eq!(h.len(), 1, "{h:?}");
        // The hostile removal pattern resolves quickly and removes nothing weak.
        let t = hardened();
        t.file(
            "etc/ssh/sshd_config.d/10-legacy.conf",
            &format!("Ciphers -{}z\n", "*".repeat(40)),
        );
        let start = std::time::Instant::now();
        passes(&t, "ssh.ciphers");
        assert!(start.elapsed().as_secs() < 1);
    }

    #[test]
    fn global_only_keyword_in_match_is_an_error() {
        let t = with("");
        t.file_mode(
            "etc/ssh/sshd_config",
            &format!("{HARDENED}Match User x\nCiphers aes128-cbc\n"),
            0o600,
        );
        assert!(matches!(run(&t, "ssh.ciphers"), Err(Skip::Error { .. })));
    }

    #[test]
    fn many_match_blocks_stay_fast() {
        let t = hardened();
        let mut text = HARDENED.to_string();
        for i in 0..20_000 {
            text.push_str(&format!(
                "Match User u{i} Address 10.{}.0.0/16\nPermitRootLogin yes\n",
                i % 200
            ));
        }
        t.file_mode("etc/ssh/sshd_config", &text, 0o600);
        let start = std::time::Instant::now();
        let h = fails(&t, "ssh.permit-root-login");
        assert_eq!(h.len(), 20_000);
        assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
    }
}
