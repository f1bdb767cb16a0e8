//! File permissions of security-relevant files (catalog 2.G rules 47-48).

use super::{Ctx, Hit, Meta, Outcome, Rule, Skip};
use crate::root::EntryKind;
use fieldattest_protocol::report::Severity;

pub const RULES: &[Rule] = &[
    Rule {
        meta: Meta {
            id: "fileperm.shadow",
            title: "Shadow files readable or owned beyond root/shadow",
            fr: "FR1",
            severity: Severity::Critical,
            reqs: &[("CR 1.5", 1), ("CR 2.1", 1)],
            remediation: "chown root:shadow /etc/shadow /etc/gshadow && chmod 0640 (or root:root 0600).",
            reference: "CIS 6.1.3, 6.1.5, 6.1.7, 6.1.9",
        },
        check: shadow_perms,
    },
    Rule {
        meta: Meta {
            id: "fileperm.security-config",
            title: "Security configuration writable by non-root",
            fr: "FR2",
            severity: Severity::High,
            reqs: &[("CR 2.1", 1), ("CR 3.4", 1)],
            remediation: "Make account, PAM, sudo, SSH and login configuration owned by root and not writable by group/other; passwd and group 0644.",
            reference: "CIS 6.1.2, 6.1.4, 5.2.1, 5.3; STIG UBTU-20-010420",
        },
        check: security_config,
    },
];

fn mode_str(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

fn shadow_perms(ctx: &Ctx) -> Outcome {
    let shadow_gid = ctx
        .group()
        .ok()
        .and_then(|g| g.iter().find(|g| g.name == "shadow").map(|g| g.gid));
    let mut hits = Vec::new();
    let mut seen = false;
    for path in [
        "/etc/shadow",
        "/etc/gshadow",
        "/etc/shadow-",
        "/etc/gshadow-",
    ] {
        let m = match ctx.root.metadata(path) {
            Ok(m) => m,
            Err(e) if e.is_not_found() => continue,
            Err(e) => {
                return Err(Skip::Error {
                    path: path.into(),
                    line: None,
                    message: e.to_string(),
                })
            }
        };
        seen = true;
        let mut why = Vec::new();
        if m.mode & 0o027 != 0 {
            why.push(format!("mode {} (want 0640 or stricter)", mode_str(m.mode)));
        }
        if m.uid != 0 {
            why.push(format!("owner uid {}", m.uid));
        }
        if m.gid != 0 && Some(m.gid) != shadow_gid {
            why.push(format!("group gid {}", m.gid));
        }
        if !why.is_empty() {
            hits.push(Hit::new(why.join(", ")).at(path, None));
        }
    }
    if !seen {
        return Err(Skip::na("no shadow file"));
    }
    Ok(hits)
}

/// Files and directories whose write access equals control of authentication.
const CONFIG_FILES: [&str; 10] = [
    "/etc/passwd",
    "/etc/group",
    "/etc/sudoers",
    "/etc/login.defs",
    "/etc/ssh/sshd_config",
    "/etc/securetty",
    "/etc/default/dropbear",
    "/etc/inittab",
    "/etc/security/access.conf",
    "/etc/pam.conf",
];
const CONFIG_DIRS: [&str; 4] = [
    "/etc/pam.d",
    "/etc/sudoers.d",
    "/etc/ssh/sshd_config.d",
    "/etc/security",
];

fn security_config(ctx: &Ctx) -> Outcome {
    let mut hits = Vec::new();
    let mut check = |path: String, m: crate::root::Meta, world_readable_max: bool| {
        let mut why = Vec::new();
        if m.mode & 0o022 != 0 {
            why.push(format!(
                "mode {} is writable by group/other",
                mode_str(m.mode)
            ));
        } else if world_readable_max && m.mode & 0o133 != 0 && m.kind == EntryKind::File {
            why.push(format!("mode {} looser than 0644", mode_str(m.mode)));
        }
        if m.uid != 0 {
            why.push(format!("owned by uid {}", m.uid));
        }
        if !why.is_empty() {
            hits.push(Hit::new(why.join(", ")).at(path, None));
        }
    };
    for f in CONFIG_FILES {
        if let Ok(m) = ctx.root.metadata(f) {
            check(f.to_string(), m, f == "/etc/passwd" || f == "/etc/group");
        }
    }
    for d in CONFIG_DIRS {
        if let Ok(m) = ctx.root.metadata(d) {
            check(d.to_string(), m, false);
        }
        if let Ok(ents) = ctx.root.read_dir(d) {
            for e in ents.iter().filter(|e| e.kind == EntryKind::File) {
                let p = format!("{d}/{}", e.name.to_string_lossy());
                if let Ok(m) = ctx.root.metadata(&p) {
                    check(p, m, false);
                }
            }
        }
    }
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{fails, passes, run, T};

    #[test]
    fn shadow_modes() {
        // The test runs as whoever owns the files; ownership checks are for uid 0.
        let me = std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .unwrap_or(0);
        let t = T::new();
        t.file("etc/group", "root:x:0:\nshadow:x:42:\n").file_mode(
            "etc/shadow",
            "root:*:1::::::\n",
            0o640,
        );
        if me == 0 {
            passes(&t, "fileperm.shadow");
        }
        t.file_mode("etc/shadow", "root:*:1::::::\n", 0o644);
        let h = fails(&t, "fileperm.shadow");
        assert!(h[0].evidence.contains("mode 0644"), "{h:?}");
        let empty = T::new();
        assert!(run(&empty, "fileperm.shadow").is_err());
    }

    #[test]
    fn writable_config() {
        let me = std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .unwrap_or(0);
        let t = T::new();
        t.file_mode("etc/passwd", "root:x:0:0::/:/bin/sh\n", 0o644)
            .file_mode("etc/pam.d/login", "auth required pam_unix.so\n", 0o644);
        std::fs::set_permissions(
            t.dir.path().join("etc/pam.d"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        if me == 0 {
            passes(&t, "fileperm.security-config");
        }
        t.file_mode("etc/pam.d/login", "auth required pam_unix.so\n", 0o666);
        t.file_mode("etc/passwd", "root:x:0:0::/:/bin/sh\n", 0o664);
        let h = fails(&t, "fileperm.security-config");
        let paths: Vec<_> = h
            .iter()
            .filter(|h| h.evidence.contains("writable"))
            .map(|h| h.path.clone().unwrap())
            .collect();
        assert!(
            paths.contains(&"/etc/passwd".to_string())
                && paths.contains(&"/etc/pam.d/login".to_string()),
            "{h:?}"
        );
    }
}
