//! Key rules (catalog 2.E rules 11, 17, 39, 42-44): weak SSH host keys, private
//! keys without a passphrase or readable by others, weak user and authorized
//! keys, loose `authorized_keys` permissions, publicly known keys. They judge
//! what the key walk ([`crate::inventory::keys`]) found.

use super::{Ctx, Hit, Meta, Outcome, Rule, Skip};
use crate::inventory::keys::FoundKey;
use crate::parse::keys::KNOWN_COMPROMISED;
use fieldattest_protocol::report::Severity;

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
];

#[cfg(test)]
mod tests {
    use super::super::testutil::{fails, passes, require, T};
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
        let inv = crate::inventory::keys::inventory(&ctx);
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
        let inv = crate::inventory::keys::inventory(&ctx);
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
}
