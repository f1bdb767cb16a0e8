//! Modes and owners of the server's configuration and host keys.

use super::{effective, MAIN};
use crate::root::EntryKind;
use crate::rules::{Ctx, Hit, Meta, Outcome, Rule};
use fieldattest_protocol::report::Severity;

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

pub const KEY_AND_CONFIG_PERMS: Rule = Rule {
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
};
