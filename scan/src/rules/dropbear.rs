//! The Dropbear SSH server's options (catalog 2.E rule 41): root and password logins, and the
//! address it listens on. Its host keys are inventoried and judged with
//! OpenSSH's (`inventory::keys`, `rules::keys`).

use super::{Ctx, Hit, Meta, Outcome, Rule, Skip};
use fieldattest_protocol::report::Severity;

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
    use super::super::testutil::{fails, passes, require, run, T};
    use super::super::Skip;
    use std::process::Command;

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
