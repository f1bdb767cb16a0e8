//! Logging, audit and time (catalog 2.H rules 54-59).

use super::{Ctx, Hit, Meta, Outcome, Rule, Skip};
use crate::parse::content_lines;
use fieldattest_protocol::report::Severity;

/// Which system loggers are installed or started.
fn loggers(ctx: &Ctx) -> Result<Vec<&'static str>, Skip> {
    let started = ctx.started()?;
    let mut out = Vec::new();
    let has = |names: &[&str]| {
        started.iter().any(|s| {
            names
                .iter()
                .any(|n| s.name.trim_end_matches(".service") == *n || s.command.contains(n))
        })
    };
    if ctx.root.is_file("/etc/rsyslog.conf")
        && (has(&["rsyslog", "rsyslogd"]) || ctx.package_version("rsyslog").is_some())
    {
        out.push("rsyslog");
    }
    if ctx.root.is_file("/etc/syslog-ng/syslog-ng.conf") {
        out.push("syslog-ng");
    }
    if has(&["syslogd", "syslog", "sysklogd", "busybox-syslog"]) {
        out.push("syslogd");
    }
    if ctx.root.exists("/lib/systemd/systemd-journald")
        || ctx.root.exists("/usr/lib/systemd/systemd-journald")
    {
        out.push("journald");
    }
    Ok(out)
}

fn journald_storage(ctx: &Ctx) -> Result<Option<(String, String, u64)>, Skip> {
    let mut files = vec!["/etc/systemd/journald.conf".to_string()];
    for e in ctx
        .root
        .read_dir("/etc/systemd/journald.conf.d")
        .unwrap_or_default()
    {
        files.push(format!(
            "/etc/systemd/journald.conf.d/{}",
            e.name.to_string_lossy()
        ));
    }
    let mut last = None;
    for f in files {
        if let Some(t) = ctx.text(&f)? {
            for (line, l) in content_lines(&t) {
                if let Some(v) = l.trim().strip_prefix("Storage=") {
                    last = Some((v.trim().to_string(), f.clone(), line));
                }
            }
        }
    }
    Ok(last)
}

fn local_persistence(ctx: &Ctx) -> Outcome {
    let l = loggers(ctx)?;
    let mut hits = Vec::new();
    if l.is_empty() {
        return Ok(vec![Hit::new(
            "no system logger installed or started (rsyslog, syslog-ng, syslogd, journald)",
        )]);
    }
    if l == ["journald"] {
        match journald_storage(ctx)? {
            Some((v, p, line)) if v == "volatile" || v == "none" => hits.push(
                Hit::new(format!("journald Storage={v}: logs lost at reboot"))
                    .subject("Storage")
                    .at(p, Some(line)),
            ),
            Some(_) => {}
            None if !ctx.root.is_dir("/var/log/journal") => hits.push(
                Hit::new("journald Storage=auto without /var/log/journal: logs are volatile")
                    .subject("Storage")
                    .at("/etc/systemd/journald.conf", None),
            ),
            None => {}
        }
    }
    if let Some(t) = ctx.text("/etc/rsyslog.conf")? {
        for (line, l) in content_lines(&t) {
            if let Some(m) = l.trim().strip_prefix("$FileCreateMode") {
                if u32::from_str_radix(m.trim(), 8)
                    .map(|m| m & 0o137 != 0)
                    .unwrap_or(true)
                {
                    hits.push(
                        Hit::new(format!("$FileCreateMode{m} looser than 0640"))
                            .subject("$FileCreateMode")
                            .at("/etc/rsyslog.conf", Some(line)),
                    );
                }
            }
        }
    }
    for f in [
        "/var/log/syslog",
        "/var/log/messages",
        "/var/log/auth.log",
        "/var/log/secure",
    ] {
        if let Ok(m) = ctx.root.metadata(f) {
            if m.mode & 0o137 != 0 {
                hits.push(
                    Hit::new(format!(
                        "log file mode {:04o} (want 0640 or stricter)",
                        m.mode & 0o7777
                    ))
                    .at(f, None)
                    .severity(Severity::Low),
                );
            }
        }
    }
    Ok(hits)
}

fn remote_forwarding(ctx: &Ctx) -> Outcome {
    let sev = if ctx.target_sl >= 2 {
        Severity::Medium
    } else {
        Severity::Low
    };
    let mut files = vec![
        "/etc/rsyslog.conf".to_string(),
        "/etc/syslog-ng/syslog-ng.conf".to_string(),
        "/etc/syslog.conf".to_string(),
        "/etc/audit/plugins.d/au-remote.conf".to_string(),
    ];
    for d in ["/etc/rsyslog.d", "/etc/syslog-ng/conf.d"] {
        for e in ctx.root.read_dir(d).unwrap_or_default() {
            files.push(format!("{d}/{}", e.name.to_string_lossy()));
        }
    }
    for f in &files {
        if let Some(t) = ctx.text(f)? {
            for (_, l) in content_lines(&t) {
                let l = l.trim();
                let rsyslog_fwd = l
                    .split_whitespace()
                    .nth(1)
                    .map(|a| a.starts_with('@'))
                    .unwrap_or(false)
                    || l.contains("omfwd")
                    || l.contains("omrelp");
                let ng = l.contains("network(") || l.contains("syslog(") && l.contains("transport");
                let au = f.ends_with("au-remote.conf") && l.replace(' ', "") == "active=yes";
                if rsyslog_fwd || ng || au {
                    return Ok(vec![]);
                }
            }
        }
    }
    if ctx.started()?.iter().any(|s| {
        (s.command.contains("syslogd") && s.command.contains(" -R"))
            || s.name.starts_with("systemd-journal-upload")
    }) {
        return Ok(vec![]);
    }
    Ok(vec![Hit::new("no remote log destination (rsyslog @/@@/omfwd, syslog-ng network(), syslogd -R, journal-upload, audisp-remote)").severity(sev)])
}

fn time_sync(ctx: &Ctx) -> Outcome {
    let started = ctx.started()?;
    let sev = if ctx.target_sl >= 2 {
        Severity::Medium
    } else {
        Severity::Low
    };
    let names = [
        "chrony",
        "chronyd",
        "ntp",
        "ntpd",
        "ntpsec",
        "openntpd",
        "systemd-timesyncd",
        "busybox-ntpd",
        "sntp",
    ];
    let running = started.iter().find(|s| {
        names
            .iter()
            .any(|n| s.name.trim_end_matches(".service") == *n || s.command.contains("ntpd"))
    });
    let mut hits = Vec::new();
    match running {
        None => hits.push(Hit::new("no time synchronisation service enabled (chrony, ntpd, systemd-timesyncd, BusyBox ntpd)").severity(sev)),
        Some(_) if ctx.target_sl >= 4 => {
            let authed = ctx.text("/etc/chrony/chrony.conf")?.or(ctx.text("/etc/chrony.conf")?).map(|t| content_lines(&t).any(|(_, l)| l.contains(" nts") || l.contains(" key "))).unwrap_or(false);
            if !authed {
                hits.push(Hit::new("time sources are not authenticated (chrony nts/key)"));
            }
        }
        Some(_) => {}
    }
    Ok(hits)
}

fn audit_enabled(ctx: &Ctx) -> Outcome {
    let installed = ctx.package_version("auditd").is_some()
        || ctx.root.is_file("/sbin/auditd")
        || ctx.root.is_file("/usr/sbin/auditd");
    let started = ctx.started()?.iter().any(|s| s.name.starts_with("auditd"));
    let rules = ctx
        .root
        .read_dir("/etc/audit/rules.d")
        .map(|v| !v.is_empty())
        .unwrap_or(false)
        || ctx.root.is_file("/etc/audit/audit.rules");
    let mut hits = Vec::new();
    if !installed {
        hits.push(Hit::new(
            "no audit daemon: authentication, privilege and configuration events are not audited",
        ));
    } else {
        if !started {
            hits.push(Hit::new("auditd installed but not enabled"));
        }
        if !rules {
            hits.push(
                Hit::new("no audit rules (/etc/audit/rules.d)").at("/etc/audit/rules.d", None),
            );
        }
    }
    Ok(hits)
}

pub const RULES: &[Rule] = &[
    Rule {
        meta: Meta {
            id: "log.local-persistence-perms",
            title: "No persistent, protected local log",
            fr: "FR2",
            severity: Severity::Medium,
            reqs: &[("CR 2.8", 1), ("CR 2.9", 1), ("CR 3.9", 2), ("CR 6.1", 1)],
            remediation: "Run a system logger with persistent storage (journald Storage=persistent or rsyslog to /var/log) and log files 0640.",
            reference: "CIS 4.2.1.1-4.2.1.4, 4.2.2.3, 4.2.3; STIG UBTU-20-010122",
        },
        check: local_persistence,
    },
    Rule {
        meta: Meta {
            id: "log.remote-forwarding",
            title: "Logs not forwarded off the device",
            fr: "FR6",
            severity: Severity::Low,
            reqs: &[("CR 2.9", 1), ("CR 6.2", 2)],
            remediation: "Forward logs to a collector (rsyslog 'action(type=\"omfwd\" ...)', syslogd -R, systemd-journal-upload).",
            reference: "CIS 4.2.1.5; STIG UBTU-20-010216",
        },
        check: remote_forwarding,
    },
    Rule {
        meta: Meta {
            id: "time.sync",
            title: "No time synchronisation",
            fr: "FR2",
            severity: Severity::Medium,
            reqs: &[("CR 2.11", 1), ("CR 2.11 RE(1)", 2), ("CR 2.11 RE(2)", 4)],
            remediation: "Enable chrony, ntpd or systemd-timesyncd against the site time servers (authenticated with NTS or keys at SL4).",
            reference: "CIS 2.2.1.1-2.2.1.4; STIG UBTU-20-010435",
        },
        check: time_sync,
    },
    Rule {
        meta: Meta {
            id: "audit.enabled",
            title: "No kernel audit",
            fr: "FR2",
            severity: Severity::Medium,
            reqs: &[("CR 2.8", 1)],
            remediation: "Install and enable auditd with rules for authentication, privilege use and configuration changes.",
            reference: "CIS 4.1.1.1-4.1.1.4; STIG UBTU-20-010198",
        },
        check: audit_enabled,
    },
];

#[cfg(test)]
mod tests {
    use super::super::testutil::{fails, passes, T};

    fn enable(t: &T, unit: &str) {
        let d = t
            .dir
            .path()
            .join("etc/systemd/system/multi-user.target.wants");
        std::fs::create_dir_all(&d).unwrap();
        std::os::unix::fs::symlink(format!("/lib/systemd/system/{unit}"), d.join(unit)).unwrap();
    }

    #[test]
    fn logging_present_and_forwarded() {
        let t = T::new();
        assert_eq!(fails(&t, "log.local-persistence-perms").len(), 1);
        fails(&t, "log.remote-forwarding");
        t.file(
            "etc/rsyslog.conf",
            "$FileCreateMode 0640\n*.* @@logs.example:514\n",
        );
        enable(&t, "rsyslog.service");
        passes(&t, "log.local-persistence-perms");
        passes(&t, "log.remote-forwarding");
        t.file("etc/rsyslog.conf", "$FileCreateMode 0644\n");
        fails(&t, "log.local-persistence-perms");
    }

    #[test]
    fn journald_volatile() {
        let t = T::new();
        t.file("lib/systemd/systemd-journald", "")
            .file("etc/systemd/journald.conf", "[Journal]\nStorage=volatile\n");
        assert_eq!(fails(&t, "log.local-persistence-perms")[0].line, Some(2));
        t.file(
            "etc/systemd/journald.conf",
            "[Journal]\nStorage=persistent\n",
        );
        passes(&t, "log.local-persistence-perms");
    }

    #[test]
    fn time_and_audit() {
        let t = T::new();
        fails(&t, "time.sync");
        fails(&t, "audit.enabled");
        enable(&t, "systemd-timesyncd.service");
        passes(&t, "time.sync");
        t.file("sbin/auditd", "")
            .file("etc/audit/rules.d/10-base.rules", "-w /etc/shadow -p wa\n");
        enable(&t, "auditd.service");
        passes(&t, "audit.enabled");
    }
}
