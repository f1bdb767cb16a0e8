//! Keys on the device (`inventory.keys`): SSH host keys (OpenSSH and
//! Dropbear), `authorized_keys` of every account, user private keys, TLS keys
//! and certificates under `/etc`. Facts only — algorithm, size, encryption
//! state, fingerprint of the public key — never key material. The key rules
//! (`rules::keys`) judge what this walk finds.

use crate::parse::keys::{self, KeyInfo};
use crate::root::EntryKind;
use crate::rules::Ctx;
use fieldattest_protocol::report::Key;

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

#[cfg(test)]
mod tests {
    use super::{collect, inventory};
    use crate::rules::testutil::T;
    use crate::rules::Ctx;

    const VAGRANT: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ== vagrant insecure public key";
    /// `ssh-keygen -lf` of [`VAGRANT`].
    const VAGRANT_FP: &str = "SHA256:1M4RzhMyWuFS/86uPY/ce2prh/dVTHW7iD2RhpquOZA";

    #[test]
    fn no_key_locations_no_keys() {
        let t = T::new();
        t.file("etc/passwd", "root:x:0:0::/root:/bin/sh\n")
            .file("etc/ssl/certs/ca.pem", "-----BEGIN PRIVATE KEY-----\nx\n")
            .file("etc/motd", "hello\n");
        let root = t.root();
        let ctx = Ctx::new(&root, false, 2, &[], 20_000);
        let (found, errors) = collect(&ctx);
        assert!(
            found.is_empty() && errors.is_empty(),
            "{found:?} {errors:?}"
        );
        assert!(inventory(&ctx).is_empty());
    }

    #[test]
    fn authorized_keys_follow_sshd_patterns_with_lines_and_errors() {
        let t = T::new();
        t.file(
            "etc/passwd",
            "root:x:0:0::/root:/bin/sh\nop:x:1000:1000::/home/op:/bin/sh\n",
        )
        .file(
            "etc/ssh/sshd_config",
            "AuthorizedKeysFile /etc/ssh/keys/%u .ssh/authorized_keys\n",
        )
        .file(
            "etc/ssh/keys/op",
            &format!("# maintenance\n{VAGRANT}\nnot a key\n"),
        )
        // Not named by AuthorizedKeysFile: not read.
        .file("home/op/.ssh/authorized_keys2", &format!("{VAGRANT}\n"));
        let root = t.root();
        let ctx = Ctx::new(&root, false, 2, &[], 20_000);
        let (found, errors) = collect(&ctx);
        assert_eq!(found.len(), 1, "{found:?}");
        let k = &found[0];
        assert_eq!(
            (k.path.as_str(), k.kind, k.account.as_deref(), k.line),
            ("/etc/ssh/keys/op", "ssh-authorized", Some("op"), Some(2))
        );
        assert_eq!(
            (k.info.algorithm.as_str(), k.info.bits),
            ("rsa", Some(2048))
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            (errors[0].path.as_str(), errors[0].line),
            ("/etc/ssh/keys/op", Some(3))
        );
        let inv = inventory(&ctx);
        assert_eq!(inv.len(), 1);
        assert_eq!(inv[0].fingerprint, VAGRANT_FP);
        // Facts only: no key material in the inventory.
        assert!(!format!("{inv:?}").contains("AAAAB3Nza"), "{inv:?}");
    }

    #[test]
    fn host_key_falls_back_to_its_public_half_and_tls_keys_are_walked() {
        let t = T::new();
        t.file("etc/ssh/ssh_host_rsa_key", "garbled\n")
            .file("etc/ssh/ssh_host_rsa_key.pub", &format!("{VAGRANT}\n"))
            .file(
                "etc/plc/tls/server.key",
                "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n",
            );
        let root = t.root();
        let ctx = Ctx::new(&root, false, 2, &[], 20_000);
        let (found, errors) = collect(&ctx);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (
                found[0].path.as_str(),
                found[0].kind,
                found[0].info.fingerprint.as_deref()
            ),
            ("/etc/ssh/ssh_host_rsa_key", "ssh-host", Some(VAGRANT_FP))
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].path, "/etc/plc/tls/server.key");
    }
}
