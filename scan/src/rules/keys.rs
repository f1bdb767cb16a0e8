//! Keys (catalog 2.E rules 11, 17, 39, 41-44): SSH host keys (OpenSSH and
//! Dropbear), `authorized_keys` of every account, user private keys, TLS keys
//! and certificates under `/etc`; the Dropbear server's options.
//!
//! The same walk feeds `inventory.keys` (algorithm, size, encryption state,
//! fingerprint of the public key — never key material).

use super::{Ctx, Hit, Meta, Outcome, Rule, Skip};
use crate::parse::keys::{self, KeyInfo, KNOWN_COMPROMISED};
use crate::root::EntryKind;
use fieldattest_protocol::report::{Key, Severity};

/// A key found on the device.
#[derive(Debug, Clone)]
pub struct FoundKey {
    pub path: String,
    /// `ssh-host`, `dropbear-host`, `ssh-authorized`, `ssh-user`, `tls`, `tls-cert`.
    pub kind: &'static str,
    pub info: KeyInfo,
    /// Account the key belongs to (authorized and user keys).
    pub account: Option<String>,
    pub line: Option<u64>,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// A file that looked like a key but could not be parsed.
#[derive(Debug, Clone)]
pub struct KeyError {
    pub path: String,
    pub line: Option<u64>,
    pub message: String,
}

const MAX_KEY_FILE: u64 = 1024 * 1024;
const MAX_TLS_FILES: usize = 2000;

fn read_small(ctx: &Ctx, path: &str) -> Option<(Vec<u8>, crate::root::Meta)> {
    let m = ctx.root.metadata(path).ok()?;
    if m.kind != EntryKind::File {
        return None;
    }
    ctx.root
        .read_limited(path, MAX_KEY_FILE)
        .ok()
        .map(|b| (b, m))
}

/// Walks the key locations of the device. Pure apart from reads through the
/// root-confined view.
pub fn collect(ctx: &Ctx) -> (Vec<FoundKey>, Vec<KeyError>) {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    let push = |path: &str,
                kind: &'static str,
                account: Option<String>,
                parsed: Result<KeyInfo, String>,
                m: crate::root::Meta,
                line: Option<u64>,
                found: &mut Vec<FoundKey>,
                errors: &mut Vec<KeyError>| match parsed {
        Ok(info) => found.push(FoundKey {
            path: path.to_string(),
            kind,
            info,
            account,
            line,
            mode: m.mode,
            uid: m.uid,
            gid: m.gid,
        }),
        Err(message) => errors.push(KeyError {
            path: path.to_string(),
            line,
            message,
        }),
    };

    // OpenSSH host keys: HostKey lines, else the conventional names.
    let mut host_keys: Vec<String> = ctx
        .sshd()
        .map(|c| c.all("hostkey").iter().map(|s| s.value.clone()).collect())
        .unwrap_or_default();
    for e in ctx.root.read_dir("/etc/ssh").unwrap_or_default() {
        let n = e.name.to_string_lossy().into_owned();
        let p = format!("/etc/ssh/{n}");
        if n.starts_with("ssh_host_") && n.ends_with("_key") && !host_keys.contains(&p) {
            host_keys.push(p);
        }
    }
    for p in host_keys {
        if let Some((b, m)) = read_small(ctx, &p) {
            let parsed = keys::parse_private(&b).or_else(|e| {
                // Fall back to the public half for facts.
                read_small(ctx, &format!("{p}.pub"))
                    .map(|(pb, _)| keys::parse_public(&String::from_utf8_lossy(&pb)))
                    .unwrap_or(Err(e))
            });
            push(
                &p,
                "ssh-host",
                None,
                parsed,
                m,
                None,
                &mut found,
                &mut errors,
            );
        }
    }
    // Dropbear host keys.
    for e in ctx.root.read_dir("/etc/dropbear").unwrap_or_default() {
        let n = e.name.to_string_lossy().into_owned();
        if n.starts_with("dropbear_") && n.ends_with("_host_key") {
            let p = format!("/etc/dropbear/{n}");
            if let Some((b, m)) = read_small(ctx, &p) {
                push(
                    &p,
                    "dropbear-host",
                    None,
                    keys::parse_dropbear(&b),
                    m,
                    None,
                    &mut found,
                    &mut errors,
                );
            }
        }
    }
    // authorized_keys and user private keys of every account with a home.
    let mut ak_patterns: Vec<String> = ctx
        .sshd()
        .ok()
        .and_then(|c| {
            c.get("authorizedkeysfile")
                .map(|s| s.value.split_whitespace().map(str::to_string).collect())
        })
        .unwrap_or_else(|| {
            vec![
                ".ssh/authorized_keys".into(),
                ".ssh/authorized_keys2".into(),
            ]
        });
    ak_patterns.dedup();
    let accounts: Vec<(String, String)> = ctx
        .passwd()
        .map(|p| {
            p.iter()
                .filter(|p| !p.nis && !p.home.is_empty())
                .map(|p| (p.name.clone(), p.home.clone()))
                .collect()
        })
        .unwrap_or_default();
    let mut seen_ak: Vec<String> = Vec::new();
    let mut ak_files: Vec<(String, Option<String>)> =
        vec![("/etc/dropbear/authorized_keys".into(), Some("root".into()))];
    for (name, home) in &accounts {
        for pat in &ak_patterns {
            let p = pat
                .replace("%h", home)
                .replace("%u", name)
                .replace("%%", "%");
            let p = if p.starts_with('/') {
                p
            } else {
                format!("{}/{p}", home.trim_end_matches('/'))
            };
            ak_files.push((p, Some(name.clone())));
        }
    }
    for (p, account) in ak_files {
        if seen_ak.contains(&p) {
            continue;
        }
        seen_ak.push(p.clone());
        let Some((b, m)) = read_small(ctx, &p) else {
            continue;
        };
        let (entries, errs) = keys::parse_authorized_keys(&String::from_utf8_lossy(&b));
        for a in entries {
            push(
                &p,
                "ssh-authorized",
                account.clone(),
                Ok(a.key),
                m,
                Some(a.line),
                &mut found,
                &mut errors,
            );
        }
        for (line, message) in errs {
            errors.push(KeyError {
                path: p.clone(),
                line: Some(line),
                message,
            });
        }
    }
    for (name, home) in &accounts {
        let dir = format!("{}/.ssh", home.trim_end_matches('/'));
        for e in ctx.root.read_dir(&dir).unwrap_or_default() {
            let n = e.name.to_string_lossy().into_owned();
            if n.ends_with(".pub")
                || n.starts_with("authorized_keys")
                || n == "known_hosts"
                || n == "config"
            {
                continue;
            }
            let p = format!("{dir}/{n}");
            if let Some((b, m)) = read_small(ctx, &p) {
                if String::from_utf8_lossy(&b).contains("PRIVATE KEY-----") {
                    push(
                        &p,
                        "ssh-user",
                        Some(name.clone()),
                        keys::parse_private(&b),
                        m,
                        None,
                        &mut found,
                        &mut errors,
                    );
                }
            }
        }
    }
    // TLS keys and certificates under /etc (bounded walk; CA bundles skipped).
    let mut stack = vec![("/etc".to_string(), 0u8)];
    let mut files = 0usize;
    while let Some((dir, depth)) = stack.pop() {
        for e in ctx.root.read_dir(&dir).unwrap_or_default() {
            let n = e.name.to_string_lossy().into_owned();
            let p = format!("{}/{n}", dir.trim_end_matches('/'));
            if e.kind == EntryKind::Dir {
                if depth < 4
                    && !matches!(
                        p.as_str(),
                        "/etc/ssl/certs"
                            | "/etc/ca-certificates"
                            | "/etc/pki/ca-trust"
                            | "/etc/ssh"
                            | "/etc/dropbear"
                    )
                {
                    stack.push((p, depth + 1));
                }
                continue;
            }
            if e.kind != EntryKind::File
                || !(n.ends_with(".key")
                    || n.ends_with(".pem")
                    || n.ends_with(".crt")
                    || n.ends_with(".cer"))
            {
                continue;
            }
            files += 1;
            if files > MAX_TLS_FILES {
                break;
            }
            let Some((b, m)) = read_small(ctx, &p) else {
                continue;
            };
            let t = String::from_utf8_lossy(&b);
            if t.contains("PRIVATE KEY-----") {
                push(
                    &p,
                    "tls",
                    None,
                    keys::parse_private(&b),
                    m,
                    None,
                    &mut found,
                    &mut errors,
                );
            } else if let Some(c) = keys::parse_certificate(&t) {
                push(
                    &p,
                    "tls-cert",
                    None,
                    Ok(c),
                    m,
                    None,
                    &mut found,
                    &mut errors,
                );
            }
        }
    }
    (found, errors)
}

/// `inventory.keys` entries for the report.
pub fn inventory(ctx: &Ctx) -> Vec<Key> {
    ctx.keys()
        .0
        .iter()
        .map(|k| Key {
            path: k.path.clone(),
            kind: k.kind.to_string(),
            algorithm: k.info.algorithm.clone(),
            bits: k.info.bits,
            encrypted: k.info.encrypted,
            fingerprint: k
                .info
                .fingerprint
                .clone()
                .unwrap_or_else(|| "unavailable".into()),
        })
        .collect()
}

fn first_error(ctx: &Ctx, kinds: &[&str]) -> Option<Skip> {
    ctx.keys()
        .1
        .iter()
        .find(|e| {
            kinds.iter().any(|k| {
                (k == &"ssh-authorized" && e.path.contains("authorized_keys"))
                    || (k != &"ssh-authorized" && !e.path.contains("authorized_keys"))
            })
        })
        .map(|e| Skip::Error {
            path: e.path.clone(),
            line: e.line,
            message: e.message.clone(),
        })
}

fn hostkey_strength(ctx: &Ctx) -> Outcome {
    let (found, _) = ctx.keys();
    let host: Vec<&FoundKey> = found
        .iter()
        .filter(|k| k.kind == "ssh-host" || k.kind == "dropbear-host")
        .collect();
    if host.is_empty() {
        if let Some(e) = first_error(ctx, &["ssh-host"]) {
            return Err(e);
        }
        return Err(Skip::na("no SSH host keys"));
    }
    let mut hits = Vec::new();
    for k in host {
        let b = k.info.bits.unwrap_or(0);
        let (sev, why) = match k.info.algorithm.as_str() {
            "dsa" => (
                Some(Severity::High),
                "DSA host key (1024-bit, SHA-1)".to_string(),
            ),
            "rsa" if b < 2048 => (Some(Severity::High), format!("RSA host key of {b} bits")),
            "rsa" if b < 3072 => (
                Some(Severity::Medium),
                format!("RSA host key of {b} bits (want >= 3072)"),
            ),
            a if a.starts_with("ecdsa") => (
                Some(Severity::Info),
                "ECDSA host key (NIST curve)".to_string(),
            ),
            _ => (None, String::new()),
        };
        if let Some(s) = sev {
            hits.push(
                Hit::new(why)
                    .subject(k.info.fingerprint.clone().unwrap_or_default())
                    .at(&k.path, None)
                    .severity(s),
            );
        }
    }
    Ok(hits)
}

fn private_unencrypted(ctx: &Ctx) -> Outcome {
    let (found, _) = ctx.keys();
    let mut hits = Vec::new();
    for k in found.iter().filter(|k| !k.info.encrypted) {
        match k.kind {
            "ssh-user" => hits.push(Hit::new(format!("unencrypted {} {} user private key", k.info.format, k.info.algorithm)).subject(k.account.clone().unwrap_or_default()).at(&k.path, None)),
            "tls" | "ssh-host" | "dropbear-host" if ctx.target_sl >= 3 => hits.push(
                Hit::new(format!("{} private key stored unencrypted in the filesystem (SL3+: hold it in a TPM or secure element)", k.kind)).at(&k.path, None).severity(Severity::Medium),
            ),
            _ => {}
        }
    }
    Ok(hits)
}

fn weak_user_keys(ctx: &Ctx) -> Outcome {
    let (found, _) = ctx.keys();
    let mut hits = Vec::new();
    for k in found
        .iter()
        .filter(|k| k.kind == "ssh-user" || k.kind == "ssh-authorized")
    {
        let b = k.info.bits.unwrap_or(0);
        let (sev, why) = match k.info.algorithm.as_str() {
            "dsa" => (Some(Severity::Medium), "DSA key".to_string()),
            "rsa" if b < 2048 => (Some(Severity::Medium), format!("RSA key of {b} bits")),
            "rsa" if b < 3072 => (
                Some(Severity::Low),
                format!("RSA key of {b} bits (want >= 3072)"),
            ),
            a if a.starts_with("ecdsa") => {
                (Some(Severity::Info), "ECDSA key (NIST curve)".to_string())
            }
            _ => match k.info.kdf_rounds {
                Some(r) if r < 16 => (
                    Some(Severity::Low),
                    format!("passphrase KDF with {r} bcrypt rounds (want >= 16)"),
                ),
                _ => (None, String::new()),
            },
        };
        if let Some(s) = sev {
            hits.push(
                Hit::new(format!("{} {why}", k.kind))
                    .subject(k.account.clone().unwrap_or_default())
                    .at(&k.path, k.line)
                    .severity(s),
            );
        }
    }
    Ok(hits)
}

fn authorized_keys_perms(ctx: &Ctx) -> Outcome {
    let (found, _) = ctx.keys();
    let pw = ctx.passwd()?;
    let mut hits = Vec::new();
    let mut seen = Vec::new();
    for k in found.iter().filter(|k| k.kind == "ssh-authorized") {
        if seen.contains(&k.path) {
            continue;
        }
        seen.push(k.path.clone());
        let owner = k
            .account
            .as_deref()
            .and_then(|a| pw.iter().find(|p| p.name == a))
            .map(|p| p.uid);
        if k.mode & 0o022 != 0 || (owner.is_some() && Some(k.uid) != owner && k.uid != 0) {
            hits.push(
                Hit::new(format!(
                    "authorized_keys mode {:04o} uid {} (want owner-only write)",
                    k.mode & 0o7777,
                    k.uid
                ))
                .subject(k.account.clone().unwrap_or_default())
                .at(&k.path, None),
            );
        }
        if let Some((dir, _)) = k.path.rsplit_once('/') {
            if dir.ends_with("/.ssh") {
                if let Ok(m) = ctx.root.metadata(dir) {
                    if m.mode & 0o077 != 0 {
                        hits.push(
                            Hit::new(format!("~/.ssh mode {:04o} (want 0700)", m.mode & 0o7777))
                                .subject(k.account.clone().unwrap_or_default())
                                .at(dir, None),
                        );
                    }
                }
            }
        }
    }
    Ok(hits)
}

fn private_key_perms(ctx: &Ctx) -> Outcome {
    let (found, _) = ctx.keys();
    let ssh_keys_gid = ctx.group().ok().and_then(|g| {
        g.iter()
            .find(|g| g.name == "ssh_keys" || g.name == "ssl-cert")
            .map(|g| g.gid)
    });
    let mut hits = Vec::new();
    for k in found
        .iter()
        .filter(|k| matches!(k.kind, "ssh-host" | "dropbear-host" | "ssh-user" | "tls"))
    {
        let group_ok = k.mode & 0o040 == 0 || Some(k.gid) == ssh_keys_gid;
        if k.mode & 0o004 != 0 || !group_ok || k.mode & 0o022 != 0 {
            hits.push(
                Hit::new(format!(
                    "{} private key mode {:04o} is readable or writable by others",
                    k.kind,
                    k.mode & 0o7777
                ))
                .at(&k.path, None),
            );
        }
    }
    Ok(hits)
}

fn known_compromised(ctx: &Ctx) -> Outcome {
    let (found, _) = ctx.keys();
    let mut hits = Vec::new();
    for k in found {
        if let Some(fp) = &k.info.fingerprint {
            if let Some((_, src)) = KNOWN_COMPROMISED.iter().find(|(f, _)| f == fp) {
                hits.push(
                    Hit::new(format!("{} is a publicly known key: {src}", k.kind))
                        .subject(fp.clone())
                        .at(&k.path, k.line),
                );
            }
        }
    }
    Ok(hits)
}

/// Dropbear command-line options from `/etc/default/dropbear`, OpenWrt UCI
/// `/etc/config/dropbear`, init scripts and systemd units.
fn dropbear_hardening(ctx: &Ctx) -> Outcome {
    let present = ctx.package_version("dropbear").is_some()
        || ctx.package_version("dropbear-bin").is_some()
        || ctx.root.is_file("/usr/sbin/dropbear")
        || ctx.root.is_file("/usr/sbin/dropbearmulti");
    if !present {
        return Err(Skip::na("Dropbear not installed"));
    }
    let mut args = String::new();
    let mut source = "/etc/default/dropbear".to_string();
    for f in ["/etc/default/dropbear", "/etc/sysconfig/dropbear"] {
        if let Some(t) = ctx.text(f)? {
            for (_, l) in crate::parse::content_lines(&t) {
                if let Some((k, v)) = l.split_once('=') {
                    if k.trim().starts_with("DROPBEAR") && k.trim().ends_with("ARGS") {
                        args.push(' ');
                        args.push_str(v.trim().trim_matches('"').trim_matches('\''));
                        source = f.to_string();
                    }
                }
            }
        }
    }
    for f in [
        "/lib/systemd/system/dropbear.service",
        "/etc/systemd/system/dropbear.service",
        "/lib/systemd/system/dropbear@.service",
    ] {
        if let Some(t) = ctx.text(f)? {
            for (_, l) in crate::parse::content_lines(&t) {
                if let Some(v) = l.trim().strip_prefix("ExecStart=") {
                    args.push(' ');
                    args.push_str(v);
                }
            }
        }
    }
    // BusyBox inittab or other start lines that run dropbear directly.
    for st in ctx.started()? {
        let prog = st.command.split_whitespace().next().unwrap_or("");
        if prog.ends_with("dropbear") || prog.ends_with("dropbearmulti") {
            args.push(' ');
            args.push_str(&st.command);
            source = st.path.clone();
        }
    }
    if let Some(t) = ctx.text("/etc/config/dropbear")? {
        source = "/etc/config/dropbear".into();
        let off = |k: &str| {
            crate::parse::content_lines(&t).any(|(_, l)| {
                l.contains(k)
                    && (l.contains("'off'")
                        || l.contains("'0'")
                        || l.trim_end().ends_with(" off")
                        || l.trim_end().ends_with(" 0"))
            })
        };
        if off("RootLogin") {
            args.push_str(" -w");
        }
        if off("PasswordAuth") {
            args.push_str(" -s");
        }
        if off("RootPasswordAuth") {
            args.push_str(" -g");
        }
    }
    let has = |f: &str| {
        args.split_whitespace().any(|a| {
            a == f
                || (a.starts_with('-')
                    && !a.starts_with("--")
                    && a.len() > 2
                    && a[1..].contains(&f[1..]))
        })
    };
    let mut hits = Vec::new();
    if !has("-w") && !has("-g") {
        hits.push(
            Hit::new("root may log in with a password (neither -w nor -g)")
                .subject("-w")
                .at(&source, None),
        );
    } else if !has("-w") {
        hits.push(
            Hit::new("root may log in with a key (-w not set)")
                .subject("-w")
                .at(&source, None)
                .severity(Severity::Medium),
        );
    }
    if !has("-s") {
        hits.push(
            Hit::new("password logins allowed (-s not set)")
                .subject("-s")
                .at(&source, None)
                .severity(Severity::Medium),
        );
    }
    // -p [address:]port: without an address Dropbear listens on every interface.
    let mut it = args.split_whitespace();
    let mut bound = false;
    while let Some(a) = it.next() {
        let v = if a == "-p" {
            it.next().unwrap_or("")
        } else {
            a.strip_prefix("-p").unwrap_or("")
        };
        if v.contains(':') || v.contains('.') {
            bound = true;
        }
    }
    if !bound && ctx.target_sl >= 2 {
        hits.push(
            Hit::new("listens on every interface (no -p address:port)")
                .subject("-p")
                .at(&source, None)
                .severity(Severity::Low),
        );
    }
    Ok(hits)
}

pub const RULES: &[Rule] = &[
    Rule {
        meta: Meta {
            id: "ssh.hostkey-strength",
            title: "Weak SSH host key",
            fr: "FR1",
            severity: Severity::High,
            reqs: &[("CR 1.9", 2), ("CR 1.2", 2)],
            remediation: "Remove DSA and short RSA host keys; generate ed25519 (and RSA >= 3072) keys per device at first boot.",
            reference: "ssh-audit; NIST SP 800-57 Part 1",
        },
        check: hostkey_strength,
    },
    Rule {
        meta: Meta {
            id: "sshkey.private-unencrypted",
            title: "Private key stored without passphrase",
            fr: "FR1",
            severity: Severity::High,
            reqs: &[("CR 1.5", 1), ("CR 4.1", 1), ("CR 1.9 RE(1)", 3)],
            remediation: "Protect user private keys with a passphrase (ssh-keygen -p); at SL3+ keep service keys in a TPM or secure element.",
            reference: "SSG ssh_private_keys_have_passcode",
        },
        check: private_unencrypted,
    },
    Rule {
        meta: Meta {
            id: "sshkey.weak-user-keys",
            title: "Weak user or authorized SSH key",
            fr: "FR1",
            severity: Severity::Medium,
            reqs: &[("CR 1.9", 2)],
            remediation: "Replace DSA and RSA < 3072 keys with ed25519; use ssh-keygen -a 16 or more for passphrase KDF rounds.",
            reference: "ssh-audit; NIST SP 800-57 Part 1",
        },
        check: weak_user_keys,
    },
    Rule {
        meta: Meta {
            id: "sshkey.authorized-keys-perms",
            title: "authorized_keys or ~/.ssh with loose permissions",
            fr: "FR2",
            severity: Severity::High,
            reqs: &[("CR 2.1", 1), ("CR 1.5", 1)],
            remediation: "chmod 0700 ~/.ssh; chmod 0600 ~/.ssh/authorized_keys; owned by the account.",
            reference: "sshd(8) StrictModes; STIG UBTU-20-010408",
        },
        check: authorized_keys_perms,
    },
    Rule {
        meta: Meta {
            id: "cred.private-key-file-perms",
            title: "Private key readable by others",
            fr: "FR1",
            severity: Severity::High,
            reqs: &[("CR 1.5", 1), ("CR 4.1", 1)],
            remediation: "chmod 0600 (or 0640 with a dedicated key group) and chown to the consuming service.",
            reference: "CIS 5.2.2; STIG UBTU-20-010417",
        },
        check: private_key_perms,
    },
    Rule {
        meta: Meta {
            id: "keys.known-compromised",
            title: "Publicly known (compromised) key in use",
            fr: "FR1",
            severity: Severity::Critical,
            reqs: &[("CR 1.5", 1), ("CR 1.2 RE(1)", 3)],
            remediation: "Remove the key from authorized_keys or replace the host key; anyone holds its private half.",
            reference: "hashicorp/vagrant insecure key; rapid7/ssh-badkeys",
        },
        check: known_compromised,
    },
    Rule {
        meta: Meta {
            id: "ssh.dropbear-hardening",
            title: "Dropbear allows root or password logins",
            fr: "FR1",
            severity: Severity::High,
            reqs: &[("CR 1.1 RE(1)", 2), ("CR 1.7", 1)],
            remediation: "Start dropbear with -w (no root logins) and -s (no password logins), e.g. DROPBEAR_EXTRA_ARGS=\"-w -s\" or UCI RootLogin/PasswordAuth off.",
            reference: "dropbear(8)",
        },
        check: dropbear_hardening,
    },
];

#[cfg(test)]
mod tests {
    use super::super::testutil::{fails, passes, run, T};
    use super::super::Skip;
    use fieldattest_protocol::report::Severity;
    use std::process::Command;

    fn keygen(t: &T, rel: &str, ty: &str, bits: Option<&str>, pass: &str) {
        let p = t.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let mut c = Command::new("ssh-keygen");
        c.args(["-q", "-t", ty, "-N", pass, "-C", "test", "-f"])
            .arg(&p);
        if let Some(b) = bits {
            c.args(["-b", b]);
        }
        assert!(c.status().unwrap().success());
    }

    /// Fails the test when `tool` is not installed (no silent skip:
    /// scripts/test installs the Debian package as root).
    fn require(tool: &str, package: &str) {
        assert!(
            Command::new(tool).arg("-h").output().is_ok(),
            "this test needs `{tool}` (Debian package {package}): scripts/test installs it \
             when run as root (or: apt-get install {package})"
        );
    }

    #[test]
    fn openssh_host_and_user_keys() {
        require("ssh-keygen", "openssh-client");
        let t = T::new();
        t.file(
            "etc/passwd",
            "root:x:0:0::/root:/bin/sh\nop:x:1000:1000::/home/op:/bin/sh\n",
        );
        keygen(&t, "etc/ssh/ssh_host_ed25519_key", "ed25519", None, "");
        passes(&t, "ssh.hostkey-strength");
        keygen(&t, "etc/ssh/ssh_host_rsa_key", "rsa", Some("1024"), "");
        let h = fails(&t, "ssh.hostkey-strength");
        assert!(h[0].evidence.contains("1024 bits"), "{h:?}");
        keygen(&t, "home/op/.ssh/id_ed25519", "ed25519", None, "");
        let h = fails(&t, "sshkey.private-unencrypted");
        assert_eq!(h[0].subject.as_deref(), Some("op"));
        // The fingerprint in the inventory equals ssh-keygen's.
        let root = t.root();
        let ctx = super::super::Ctx::new(&root, false, 2, &[], 20_000);
        let inv = super::inventory(&ctx);
        let out = Command::new("ssh-keygen")
            .args(["-l", "-E", "sha256", "-f"])
            .arg(t.dir.path().join("etc/ssh/ssh_host_ed25519_key.pub"))
            .output()
            .unwrap();
        let want = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string();
        assert!(
            inv.iter()
                .any(|k| k.fingerprint == want && k.kind == "ssh-host"),
            "{inv:?} {want}"
        );
        std::fs::remove_file(t.dir.path().join("home/op/.ssh/id_ed25519")).unwrap();
        keygen(
            &t,
            "home/op/.ssh/id_ed25519",
            "ed25519",
            None,
            "correct horse battery",
        );
        passes(&t, "sshkey.private-unencrypted");
    }

    #[test]
    fn pem_rsa_key_facts_and_perms() {
        require("ssh-keygen", "openssh-client");
        let t = T::new();
        t.file("etc/passwd", "root:x:0:0::/root:/bin/sh\n");
        let p = t.dir.path().join("etc/plc/tls/server.key");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        assert!(Command::new("ssh-keygen")
            .args(["-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-f"])
            .arg(&p)
            .status()
            .unwrap()
            .success());
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        let root = t.root();
        let ctx = super::super::Ctx::new(&root, false, 2, &[], 20_000);
        let inv = super::inventory(&ctx);
        let k = inv
            .iter()
            .find(|k| k.path == "/etc/plc/tls/server.key")
            .expect("tls key inventoried");
        assert_eq!(
            (k.algorithm.as_str(), k.bits, k.encrypted),
            ("rsa", Some(2048), false)
        );
        let out = Command::new("ssh-keygen")
            .args(["-l", "-E", "sha256", "-f"])
            .arg(&p)
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&k.fingerprint),
            "{k:?}"
        );
        assert!(fails(&t, "cred.private-key-file-perms")[0]
            .evidence
            .contains("0644"));
    }

    #[test]
    fn vagrant_key_in_authorized_keys_is_critical_and_perms_checked() {
        let t = T::new();
        t.file(
            "etc/passwd",
            "root:x:0:0::/root:/bin/sh\nvagrant:x:1000:1000::/home/vagrant:/bin/sh\n",
        );
        let vagrant = "ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ== vagrant insecure public key\n";
        passes(&t, "keys.known-compromised");
        t.file_mode("home/vagrant/.ssh/authorized_keys", vagrant, 0o666);
        std::fs::set_permissions(
            t.dir.path().join("home/vagrant/.ssh"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let h = fails(&t, "keys.known-compromised");
        assert_eq!(h[0].line, Some(1));
        assert_eq!(fails(&t, "sshkey.authorized-keys-perms").len(), 2);
        assert_eq!(
            fails(&t, "sshkey.weak-user-keys")[0].severity,
            Some(Severity::Low)
        );
    }

    #[test]
    fn dropbear_keys_from_the_real_tool_and_options() {
        let t = T::new();
        assert!(matches!(
            run(&t, "ssh.dropbear-hardening"),
            Err(Skip::NotApplicable(_))
        ));
        t.file("usr/sbin/dropbear", "");
        t.file(
            "etc/default/dropbear",
            "NO_START=0\nDROPBEAR_EXTRA_ARGS=\"\"\n",
        );
        assert_eq!(fails(&t, "ssh.dropbear-hardening").len(), 3);
        t.file("etc/default/dropbear", "DROPBEAR_EXTRA_ARGS=\"-w -s\"\n");
        assert_eq!(
            fails(&t, "ssh.dropbear-hardening")[0].subject.as_deref(),
            Some("-p")
        );
        t.file(
            "etc/default/dropbear",
            "DROPBEAR_EXTRA_ARGS=\"-w -s -p 192.168.10.2:22\"\n",
        );
        passes(&t, "ssh.dropbear-hardening");
        // BusyBox inittab start line.
        let b = T::new();
        b.file("usr/sbin/dropbear", "").file(
            "etc/inittab",
            "::sysinit:/etc/init.d/rcS\n::respawn:/usr/sbin/dropbear -F -R -w -s -p 10.0.0.5:22\n",
        );
        passes(&b, "ssh.dropbear-hardening");
        b.file(
            "etc/inittab",
            "::sysinit:/etc/init.d/rcS\n::respawn:/usr/sbin/dropbear -F -R\n",
        );
        assert_eq!(
            fails(&b, "ssh.dropbear-hardening")[0].path.as_deref(),
            Some("/etc/inittab")
        );
        require("dropbearkey", "dropbear-bin");
        for (ty, bits) in [
            ("rsa", Some("1024")),
            ("ed25519", None),
            ("ecdsa", Some("256")),
        ] {
            let p = t
                .dir
                .path()
                .join(format!("etc/dropbear/dropbear_{ty}_host_key"));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            let mut c = Command::new("dropbearkey");
            c.args(["-t", ty, "-f"]).arg(&p);
            if let Some(b) = bits {
                c.args(["-s", b]);
            }
            let out = c.output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            // dropbearkey prints the public key line; its fingerprint must equal ours.
            let pubkey = String::from_utf8_lossy(&out.stdout)
                .lines()
                .find(|l| l.starts_with("ssh-") || l.starts_with("ecdsa-"))
                .unwrap()
                .to_string();
            let want = crate::parse::keys::parse_public(&pubkey).unwrap();
            let got = crate::parse::keys::parse_dropbear(&std::fs::read(&p).unwrap()).unwrap();
            assert_eq!(got.fingerprint, want.fingerprint, "{ty}");
            assert_eq!(got.bits, want.bits, "{ty}");
        }
        let h = fails(&t, "ssh.hostkey-strength");
        assert!(
            h.iter()
                .any(|h| h.evidence.contains("RSA host key of 1024 bits")),
            "{h:?}"
        );
    }
}
