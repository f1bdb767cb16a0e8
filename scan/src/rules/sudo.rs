//! sudo and su (catalog 2.G rules 45-46).

use super::{Ctx, Hit, Meta, Outcome, Rule, Skip};
use crate::parse::sudoers::{self, Entry};
use fieldattest_protocol::report::Severity;

/// All sudoers lines with their file, includes resolved (depth-bounded).
fn sudoers_lines(ctx: &Ctx) -> Result<Vec<(String, sudoers::Line)>, Skip> {
    let mut out = Vec::new();
    let mut queue = vec![("/etc/sudoers".to_string(), 0u8)];
    let mut seen = Vec::new();
    let mut any = false;
    while let Some((path, depth)) = queue.pop() {
        if seen.contains(&path) || depth > 8 {
            continue;
        }
        seen.push(path.clone());
        let Some(t) = ctx.text(&path)? else { continue };
        any = true;
        let (lines, errs) = sudoers::parse(&t);
        if let Some(e) = errs.first() {
            return Err(Skip::Error {
                path,
                line: Some(e.line),
                message: e.message.clone(),
            });
        }
        for l in lines {
            if let Entry::Include { path: inc, dir } = &l.entry {
                if *dir {
                    if let Ok(ents) = ctx.root.read_dir(inc) {
                        // sudo skips names with '.' or ending in '~'.
                        for e in ents.iter().rev() {
                            let n = e.name.to_string_lossy();
                            if !n.contains('.') && !n.ends_with('~') {
                                queue.push((
                                    format!("{}/{n}", inc.trim_end_matches('/')),
                                    depth + 1,
                                ));
                            }
                        }
                    }
                } else {
                    queue.push((inc.clone(), depth + 1));
                }
            }
            out.push((path.clone(), l));
        }
    }
    if !any {
        return Err(Skip::na("no /etc/sudoers"));
    }
    Ok(out)
}

fn nopasswd(ctx: &Ctx) -> Outcome {
    let mut hits = Vec::new();
    for (path, l) in sudoers_lines(ctx)? {
        match &l.entry {
            Entry::Defaults { scope, params }
                if params.split(',').any(|p| p.trim() == "!authenticate") =>
            {
                let who = if scope.is_empty() {
                    "everyone".to_string()
                } else {
                    scope.trim_start_matches([':', '@', '>', '!']).to_string()
                };
                hits.push(
                    Hit::new(format!(
                        "Defaults{scope} !authenticate: sudo without password for {who}"
                    ))
                    .subject(who)
                    .at(&path, Some(l.line))
                    .severity(Severity::High),
                );
            }
            Entry::Spec { who, rest } => {
                for (tags, cmd, _) in sudoers::commands(rest) {
                    if tags.iter().any(|t| t == "NOPASSWD") {
                        let all = cmd == "ALL";
                        let sev = if all {
                            Severity::Critical
                        } else {
                            Severity::High
                        };
                        hits.push(
                            Hit::new(format!("NOPASSWD for {cmd}"))
                                .subject(who.clone())
                                .at(&path, Some(l.line))
                                .severity(sev),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    Ok(hits)
}

const ADMIN_GROUPS: [&str; 4] = ["%sudo", "%wheel", "%admin", "%adm"];

fn escalation_scope(ctx: &Ctx) -> Outcome {
    let mut hits = Vec::new();
    let lines = match sudoers_lines(ctx) {
        Ok(l) => l,
        Err(Skip::NotApplicable(_)) => Vec::new(),
        Err(e) => return Err(e),
    };
    for (path, l) in &lines {
        if let Entry::Spec { who, rest } = &l.entry {
            if who == "root" || ADMIN_GROUPS.contains(&who.as_str()) {
                continue;
            }
            for (_, cmd, runas) in sudoers::commands(rest) {
                let any_user = runas
                    .as_deref()
                    .map(|r| r.split(':').next().unwrap_or("").trim() == "ALL")
                    .unwrap_or(true);
                if cmd == "ALL" && any_user {
                    hits.push(
                        Hit::new("(ALL) ALL granted outside the admin groups")
                            .subject(who.clone())
                            .at(path, Some(l.line)),
                    );
                }
            }
        }
    }
    match ctx.pam_stack("su") {
        Ok(stack) if !stack.is_empty() => {
            let wheel = stack.iter().any(|(_, l)| {
                l.kind == "auth"
                    && l.module_name() == "pam_wheel"
                    && l.has_arg("use_uid")
                    && !l.control.is_empty()
            });
            if !wheel {
                hits.push(
                    Hit::new("su is not restricted to a group (pam_wheel.so use_uid missing)")
                        .subject("su")
                        .at("/etc/pam.d/su", None),
                );
            }
        }
        Ok(_) => {}
        Err(e) => return Err(e),
    }
    if lines.is_empty() && ctx.pam().map(|p| p.is_empty()).unwrap_or(true) {
        return Err(Skip::na("no sudoers and no PAM su configuration"));
    }
    Ok(hits)
}

pub const RULES: &[Rule] = &[
    Rule {
        meta: Meta {
            id: "sudo.nopasswd",
            title: "sudo without authentication",
            fr: "FR2",
            severity: Severity::High,
            reqs: &[("CR 1.1", 1), ("CR 2.1", 1)],
            remediation: "Remove NOPASSWD tags and '!authenticate' defaults; grant only the commands needed.",
            reference: "CIS 5.3.4 (sudo reauth); STIG UBTU-20-010014",
        },
        check: nopasswd,
    },
    Rule {
        meta: Meta {
            id: "priv.escalation-scope",
            title: "Unrestricted privilege escalation",
            fr: "FR2",
            severity: Severity::Medium,
            reqs: &[("CR 2.1 RE(2)", 2), ("CR 2.1", 1)],
            remediation: "Grant (ALL) ALL only to an admin group; add 'auth required pam_wheel.so use_uid' to /etc/pam.d/su.",
            reference: "CIS 5.7; STIG UBTU-20-010014",
        },
        check: escalation_scope,
    },
];

#[cfg(test)]
mod tests {
    use super::super::testutil::{fails, passes, run, T};
    use super::super::Skip;
    use fieldattest_protocol::report::Severity;

    fn base() -> T {
        let t = T::new();
        t.file_mode("etc/sudoers", "Defaults env_reset\nroot ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) ALL\n@includedir /etc/sudoers.d\n", 0o440)
            .file("etc/pam.d/su", "auth sufficient pam_rootok.so\nauth required pam_wheel.so use_uid\n");
        t
    }

    #[test]
    fn clean_sudo_passes() {
        let t = base();
        passes(&t, "sudo.nopasswd");
        passes(&t, "priv.escalation-scope");
    }

    #[test]
    fn nopasswd_all_in_included_file_is_critical() {
        let t = base();
        t.file("etc/sudoers.d/vendor", "maint ALL=(ALL) NOPASSWD: ALL\n");
        t.file("etc/sudoers.d/ignored.bak", "x ALL=(ALL) NOPASSWD: ALL\n");
        let h = fails(&t, "sudo.nopasswd");
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].severity, Some(Severity::Critical));
        assert_eq!(h[0].path.as_deref(), Some("/etc/sudoers.d/vendor"));
        let h = fails(&t, "priv.escalation-scope");
        assert_eq!(h[0].subject.as_deref(), Some("maint"));
    }

    #[test]
    fn su_without_wheel_and_bad_syntax() {
        let t = base();
        t.file(
            "etc/pam.d/su",
            "auth sufficient pam_rootok.so\n# auth required pam_wheel.so\n",
        );
        assert!(fails(&t, "priv.escalation-scope")[0]
            .evidence
            .contains("pam_wheel"));
        t.file_mode("etc/sudoers", "nonsense here\n", 0o440);
        assert!(matches!(
            run(&t, "sudo.nopasswd"),
            Err(Skip::Error { line: Some(1), .. })
        ));
    }
}
