//! One bounded walk of the filesystem for the permission rules (catalog 2.G
//! rules 49-51): world-writable files and directories, unowned files, SUID/SGID
//! executables, writable system binaries. Pseudo and volatile filesystems are
//! skipped, symlinks are never followed, and the walk stops after
//! [`MAX_ENTRIES`] entries (the report says so).

use super::{Ctx, Hit, Meta, Outcome, Rule};
use crate::root::EntryKind;
use fieldattest_protocol::report::Severity;

pub const MAX_ENTRIES: usize = 300_000;
const MAX_DEPTH: usize = 40;
const SKIP: [&str; 6] = [
    "/proc",
    "/sys",
    "/dev",
    "/run",
    "/var/lib/fieldattest",
    "/var/cache/apt/archives",
];
const TEMP: [&str; 4] = ["/tmp", "/var/tmp", "/dev/shm", "/run/lock"];

#[derive(Debug, Clone, Default)]
pub struct WalkResult {
    /// (path, mode, uid, gid) of every regular file or directory with an
    /// interesting property.
    pub world_writable: Vec<(String, u32, EntryKind)>,
    pub suid_sgid: Vec<(String, u32, u32)>,
    pub entries: Vec<(String, u32, u32, u32, EntryKind)>,
    pub visited: usize,
    pub truncated: bool,
}

/// Walks the root. Only entries with a special property are kept.
pub fn walk(ctx: &Ctx) -> WalkResult {
    let mut r = WalkResult::default();
    let truncated = ctx.root.walk("/", &SKIP, MAX_ENTRIES, MAX_DEPTH, |p, m| {
        r.visited += 1;
        if m.kind == EntryKind::Symlink || m.kind == EntryKind::Other {
            return;
        }
        if m.mode & 0o002 != 0 {
            r.world_writable.push((p.to_string(), m.mode, m.kind));
        }
        if m.kind == EntryKind::File && m.mode & 0o6000 != 0 {
            r.suid_sgid.push((p.to_string(), m.mode, m.uid));
        }
        r.entries
            .push((p.to_string(), m.mode, m.uid, m.gid, m.kind));
    });
    r.truncated = truncated;
    r
}

fn in_temp(p: &str) -> bool {
    TEMP.iter()
        .any(|t| p == *t || p.starts_with(&format!("{t}/")))
}

fn truncated_note(ctx: &Ctx, id: &str, w: &WalkResult) {
    if w.truncated {
        ctx.note(
            id,
            format!(
                "walk stopped after {} entries; later files not checked",
                MAX_ENTRIES
            ),
        );
    }
}

fn world_writable_unowned(ctx: &Ctx) -> Outcome {
    let w = ctx.walk();
    truncated_note(ctx, "fileperm.world-writable-unowned", w);
    let mut hits = Vec::new();
    for (p, mode, kind) in &w.world_writable {
        if *kind == EntryKind::Dir {
            if mode & 0o1000 == 0 {
                hits.push(
                    Hit::new(format!(
                        "world-writable directory without sticky bit (mode {:04o})",
                        mode & 0o7777
                    ))
                    .at(p, None),
                );
            }
        } else if !in_temp(p) {
            hits.push(
                Hit::new(format!("world-writable file (mode {:04o})", mode & 0o7777)).at(p, None),
            );
        }
    }
    if let (Ok(pw), Ok(gr)) = (ctx.passwd(), ctx.group()) {
        let mut unowned = 0usize;
        for (p, _, uid, gid, _) in &w.entries {
            let u = pw.iter().any(|e| e.uid == *uid);
            let g = gr.iter().any(|e| e.gid == *gid);
            if (!u || !g) && !in_temp(p) {
                unowned += 1;
                if unowned <= 50 {
                    hits.push(
                        Hit::new(format!(
                            "owned by uid {uid} / gid {gid} with no account or group entry"
                        ))
                        .at(p, None)
                        .severity(Severity::Low),
                    );
                }
            }
        }
        if unowned > 50 {
            hits.push(
                Hit::new(format!("{} more unowned files not listed", unowned - 50))
                    .severity(Severity::Low),
            );
        }
    }
    Ok(hits)
}

/// SUID/SGID programs shipped by the common base systems for a reason.
const SUID_ALLOW: [&str; 34] = [
    "/usr/bin/passwd",
    "/bin/passwd",
    "/usr/bin/su",
    "/bin/su",
    "/usr/bin/sudo",
    "/usr/bin/chsh",
    "/usr/bin/chfn",
    "/usr/bin/gpasswd",
    "/usr/bin/newgrp",
    "/usr/bin/mount",
    "/bin/mount",
    "/usr/bin/umount",
    "/bin/umount",
    "/usr/bin/chage",
    "/usr/bin/expiry",
    "/usr/sbin/unix_chkpwd",
    "/sbin/unix_chkpwd",
    "/usr/bin/crontab",
    "/usr/bin/ssh-agent",
    "/usr/bin/wall",
    "/usr/bin/write",
    "/usr/bin/write.ul",
    "/usr/lib/openssh/ssh-keysign",
    "/usr/libexec/openssh/ssh-keysign",
    "/usr/lib/dbus-1.0/dbus-daemon-launch-helper",
    "/usr/sbin/pam_extrausers_chkpwd",
    "/usr/bin/ping",
    "/bin/ping",
    "/usr/bin/pkexec",
    "/usr/lib/polkit-1/polkit-agent-helper-1",
    "/usr/bin/fusermount",
    "/usr/bin/fusermount3",
    "/usr/bin/newuidmap",
    "/usr/bin/newgidmap",
];
const DANGEROUS: [&str; 14] = [
    "sh", "bash", "ash", "dash", "zsh", "busybox", "python", "python3", "perl", "lua", "vi", "vim",
    "nano", "find",
];

fn suid_baseline(ctx: &Ctx) -> Outcome {
    let w = ctx.walk();
    truncated_note(ctx, "fileperm.suid-sgid-baseline", w);
    let mut hits = Vec::new();
    for (p, mode, _) in &w.suid_sgid {
        // usr-merged systems reach the same file as /bin/x and /usr/bin/x.
        let canon = p
            .strip_prefix("/usr")
            .map(|_| p.clone())
            .unwrap_or_else(|| format!("/usr{p}"));
        if SUID_ALLOW.contains(&p.as_str()) || SUID_ALLOW.contains(&canon.as_str()) {
            continue;
        }
        let base = p.rsplit('/').next().unwrap_or("");
        let bad = DANGEROUS
            .iter()
            .any(|d| base == *d || base.starts_with(&format!("{d}.")))
            || mode & 0o022 != 0;
        let which = match (mode & 0o4000 != 0, mode & 0o2000 != 0) {
            (true, true) => "SUID+SGID",
            (true, false) => "SUID",
            _ => "SGID",
        };
        let mut h = Hit::new(format!(
            "{which} executable not in the baseline (mode {:04o})",
            mode & 0o7777
        ))
        .subject(base.to_string())
        .at(p, None);
        if bad {
            h = h.severity(Severity::High);
        }
        hits.push(h);
    }
    Ok(hits)
}

const SYSTEM_DIRS: [&str; 8] = [
    "/bin",
    "/sbin",
    "/usr/bin",
    "/usr/sbin",
    "/lib",
    "/usr/lib",
    "/lib64",
    "/usr/local/bin",
];

fn system_binaries(ctx: &Ctx) -> Outcome {
    let w = ctx.walk();
    truncated_note(ctx, "fileperm.system-binaries-libs", w);
    let uid_min = ctx.uid_min()?;
    let mut hits = Vec::new();
    for (p, mode, uid, _, _) in &w.entries {
        if !SYSTEM_DIRS
            .iter()
            .any(|d| p == d || p.starts_with(&format!("{d}/")))
        {
            continue;
        }
        if mode & 0o022 != 0 && mode & 0o1000 == 0 {
            hits.push(
                Hit::new(format!(
                    "writable by group/other (mode {:04o})",
                    mode & 0o7777
                ))
                .at(p, None),
            );
        } else if *uid >= uid_min && *uid != 65534 {
            hits.push(Hit::new(format!("owned by non-system uid {uid}")).at(p, None));
        }
        if hits.len() >= 100 {
            hits.push(Hit::new("more entries not listed"));
            break;
        }
    }
    Ok(hits)
}

pub const RULES: &[Rule] = &[
    Rule {
        meta: Meta {
            id: "fileperm.world-writable-unowned",
            title: "World-writable or unowned files",
            fr: "FR2",
            severity: Severity::Medium,
            reqs: &[("CR 2.1", 1)],
            remediation: "chmod o-w on world-writable files; add the sticky bit to shared directories; give unowned files an owner.",
            reference: "CIS 6.1.10-6.1.12; STIG UBTU-20-010416",
        },
        check: world_writable_unowned,
    },
    Rule {
        meta: Meta {
            id: "fileperm.suid-sgid-baseline",
            title: "SUID/SGID executable outside the baseline",
            fr: "FR7",
            severity: Severity::Medium,
            reqs: &[("CR 7.7", 1), ("CR 2.1", 1)],
            remediation: "Remove the set-id bit (chmod u-s,g-s) unless the product needs it; never on shells, interpreters, editors or BusyBox.",
            reference: "CIS 6.1.13, 6.1.14",
        },
        check: suid_baseline,
    },
    Rule {
        meta: Meta {
            id: "fileperm.system-binaries-libs",
            title: "System binaries or libraries writable by non-root",
            fr: "FR3",
            severity: Severity::High,
            reqs: &[("CR 3.4", 1), ("CR 2.1", 1)],
            remediation: "chown root and chmod go-w everything under /bin, /sbin, /usr/bin, /usr/sbin, /lib and /usr/lib.",
            reference: "STIG UBTU-20-010421-010426",
        },
        check: system_binaries,
    },
];

#[cfg(test)]
mod tests {
    use super::super::testutil::{fails, passes, T};
    use std::os::unix::fs::PermissionsExt;

    fn chmod(t: &T, rel: &str, mode: u32) {
        std::fs::set_permissions(
            t.dir.path().join(rel),
            std::fs::Permissions::from_mode(mode),
        )
        .unwrap();
    }

    #[test]
    fn world_writable_and_sticky() {
        let t = T::new();
        let me = std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .unwrap_or(0);
        t.file(
            "etc/passwd",
            &format!("root:x:0:0::/root:/bin/sh\nme:x:{me}:{me}::/:/bin/sh\n"),
        )
        .file("etc/group", &format!("root:x:0:\nme:x:{me}:\n"));
        t.file("tmp/scratch", "x").file("opt/app/config.ini", "x");
        chmod(&t, "tmp", 0o1777);
        chmod(&t, "tmp/scratch", 0o666);
        passes(&t, "fileperm.world-writable-unowned");
        chmod(&t, "opt/app/config.ini", 0o666);
        chmod(&t, "opt/app", 0o777);
        assert_eq!(fails(&t, "fileperm.world-writable-unowned").len(), 2);
    }

    #[test]
    fn suid_outside_baseline() {
        let t = T::new();
        t.file("usr/bin/passwd", "x")
            .file("usr/bin/plc-helper", "x")
            .file("bin/busybox", "x");
        chmod(&t, "usr/bin/passwd", 0o4755);
        passes(&t, "fileperm.suid-sgid-baseline");
        chmod(&t, "usr/bin/plc-helper", 0o4755);
        chmod(&t, "bin/busybox", 0o4755);
        let h = fails(&t, "fileperm.suid-sgid-baseline");
        assert_eq!(h.len(), 2);
        let bb = h
            .iter()
            .find(|h| h.subject.as_deref() == Some("busybox"))
            .unwrap();
        assert_eq!(
            bb.severity,
            Some(fieldattest_protocol::report::Severity::High)
        );
    }

    #[test]
    fn writable_system_binary() {
        let t = T::new();
        t.file("etc/login.defs", "UID_MIN 1000\n")
            .file("usr/bin/tool", "x");
        chmod(&t, "usr/bin/tool", 0o755);
        chmod(&t, "usr/bin", 0o755);
        chmod(&t, "usr", 0o755);
        let me = std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .unwrap_or(0);
        if me == 0 {
            passes(&t, "fileperm.system-binaries-libs");
        }
        chmod(&t, "usr/bin/tool", 0o777);
        assert!(fails(&t, "fileperm.system-binaries-libs")
            .iter()
            .any(|h| h.path.as_deref() == Some("/usr/bin/tool")));
    }
}
