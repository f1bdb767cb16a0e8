//! Password policy, login lockout, banners and the login environment
//! (catalog 2.C rules 21-25, 2.G rule 52).

use super::{Ctx, Hit, Meta, Outcome, Rule, Skip};
use crate::parse::content_lines;
use crate::parse::pam::PamLine;
use fieldattest_protocol::report::Severity;

/// Every PAM line of every service, with its file.
fn all_pam(ctx: &Ctx) -> Result<Vec<(String, PamLine)>, Skip> {
    let files = ctx.pam()?;
    if files.is_empty() {
        return Err(Skip::na("no PAM configuration (/etc/pam.d)"));
    }
    Ok(files
        .iter()
        .flat_map(|f| f.lines.iter().map(move |l| (f.path.clone(), l.clone())))
        .collect())
}

const QUALITY: [&str; 3] = ["pam_pwquality", "pam_cracklib", "pam_passwdqc"];

fn quality_module(ctx: &Ctx) -> Outcome {
    let pam = all_pam(ctx)?;
    let present = pam
        .iter()
        .any(|(_, l)| l.kind == "password" && QUALITY.contains(&l.module_name()));
    Ok(if present {
        vec![]
    } else {
        vec![
            Hit::new("no pam_pwquality, pam_cracklib or pam_passwdqc on any password stack")
                .at("/etc/pam.d", None),
        ]
    })
}

/// (key, value, file, line) of a pwquality setting.
type QualitySetting = (String, String, String, Option<u64>);

/// pwquality settings: `/etc/security/pwquality.conf`, `.conf.d/*.conf`, then
/// module arguments (which win).
fn pwquality_settings(ctx: &Ctx, pam: &[(String, PamLine)]) -> Result<Vec<QualitySetting>, Skip> {
    let mut out = Vec::new();
    let mut files = vec!["/etc/security/pwquality.conf".to_string()];
    if let Ok(ents) = ctx.root.read_dir("/etc/security/pwquality.conf.d") {
        files.extend(
            ents.iter()
                .map(|e| {
                    format!(
                        "/etc/security/pwquality.conf.d/{}",
                        e.name.to_string_lossy()
                    )
                })
                .filter(|p| p.ends_with(".conf")),
        );
    }
    for f in files {
        if let Some(t) = ctx.text(&f)? {
            for (line, l) in content_lines(&t) {
                let (k, v) = l
                    .split_once('=')
                    .map(|(k, v)| (k.trim(), v.trim()))
                    .unwrap_or((l.trim(), ""));
                out.push((k.to_string(), v.to_string(), f.clone(), Some(line)));
            }
        }
    }
    for (path, l) in pam
        .iter()
        .filter(|(_, l)| l.kind == "password" && QUALITY.contains(&l.module_name()))
    {
        for a in &l.args {
            let (k, v) = a.split_once('=').unwrap_or((a.as_str(), ""));
            out.push((k.to_string(), v.to_string(), path.clone(), Some(l.line)));
        }
    }
    Ok(out)
}

fn quality_params(ctx: &Ctx) -> Outcome {
    let pam = all_pam(ctx)?;
    let modules: Vec<&PamLine> = pam
        .iter()
        .filter(|(_, l)| l.kind == "password" && QUALITY.contains(&l.module_name()))
        .map(|(_, l)| l)
        .collect();
    if modules.is_empty() {
        return Err(Skip::na(
            "no password quality module (see pwpolicy.quality-module)",
        ));
    }
    let s = pwquality_settings(ctx, &pam)?;
    let last = |k: &str| s.iter().rev().find(|(kk, ..)| kk == k);
    let mut hits = Vec::new();
    match last("minlen").and_then(|(_, v, p, l)| v.parse::<u32>().ok().map(|n| (n, p, l))) {
        Some((n, _, _)) if n >= 14 => {}
        Some((n, p, l)) => hits.push(
            Hit::new(format!("minlen={n} (want >= 14)"))
                .subject("minlen")
                .at(p, *l),
        ),
        None => hits.push(
            Hit::new("minlen not set (pwquality default 8; want >= 14)")
                .subject("minlen")
                .at("/etc/security/pwquality.conf", None),
        ),
    }
    if let Some((_, v, p, l)) = last("dictcheck") {
        if v == "0" {
            hits.push(
                Hit::new("dictcheck=0 disables the dictionary check")
                    .subject("dictcheck")
                    .at(p, *l),
            );
        }
    }
    if last("enforce_for_root").is_none()
        && modules.iter().all(|m| m.module_name() == "pam_pwquality")
    {
        hits.push(
            Hit::new("enforce_for_root not set: root may set weak passwords")
                .subject("enforce_for_root")
                .at("/etc/security/pwquality.conf", None),
        );
    }
    if let Some((_, v, p, l)) = last("retry") {
        if v.parse::<u32>().map(|n| n > 3).unwrap_or(true) {
            hits.push(
                Hit::new(format!("retry={v} (want <= 3)"))
                    .subject("retry")
                    .at(p, *l),
            );
        }
    }
    Ok(hits)
}

fn reuse_and_aging(ctx: &Ctx) -> Outcome {
    let defs = ctx.login_defs()?;
    let sev = if ctx.target_sl >= 3 {
        Severity::Medium
    } else {
        Severity::Low
    };
    let mut hits = Vec::new();
    let mut num = |key: &str, ok: fn(i64) -> bool, want: &str| match defs.get_num(key) {
        Some((_, n)) if ok(n) => {}
        Some((l, n)) => hits.push(
            Hit::new(format!("{key} {n} (want {want})"))
                .subject(key)
                .at("/etc/login.defs", Some(l))
                .severity(sev),
        ),
        None => hits.push(
            Hit::new(format!("{key} not set (want {want})"))
                .subject(key)
                .at("/etc/login.defs", None)
                .severity(sev),
        ),
    };
    num("PASS_MAX_DAYS", |n| (1..=365).contains(&n), "1..365");
    num("PASS_MIN_DAYS", |n| n >= 1, ">= 1");
    num("PASS_WARN_AGE", |n| n >= 7, ">= 7");
    if let Ok(pam) = all_pam(ctx) {
        let remember = pam
            .iter()
            .filter(|(_, l)| {
                l.kind == "password" && matches!(l.module_name(), "pam_pwhistory" | "pam_unix")
            })
            .filter_map(|(_, l)| {
                l.arg("remember")
                    .and_then(|v| v.parse::<u32>().ok())
                    .or_else(|| (l.module_name() == "pam_pwhistory").then_some(10))
            })
            .max();
        if remember.map(|r| r < 5).unwrap_or(true) {
            hits.push(
                Hit::new(format!(
                    "password reuse remembered for {} passwords (want >= 5)",
                    remember.unwrap_or(0)
                ))
                .subject("remember")
                .at("/etc/pam.d", None)
                .severity(sev),
            );
        }
    }
    Ok(hits)
}

fn login_lockout(ctx: &Ctx) -> Outcome {
    let pam = all_pam(ctx)?;
    let mut hits = Vec::new();
    let lock: Vec<&(String, PamLine)> = pam
        .iter()
        .filter(|(_, l)| {
            l.kind == "auth"
                && matches!(l.module_name(), "pam_faillock" | "pam_tally2" | "pam_tally")
        })
        .collect();
    if lock.is_empty() {
        return Ok(vec![Hit::new(
            "no pam_faillock/pam_tally2 on any auth stack: unlimited password guessing",
        )
        .at("/etc/pam.d", None)]);
    }
    let mut deny: Option<(i64, String, Option<u64>)> = None;
    if let Some(t) = ctx.text("/etc/security/faillock.conf")? {
        for (line, l) in content_lines(&t) {
            if let Some((k, v)) = l.split_once('=') {
                if k.trim() == "deny" {
                    deny = v
                        .trim()
                        .parse()
                        .ok()
                        .map(|n| (n, "/etc/security/faillock.conf".to_string(), Some(line)));
                }
            }
        }
    }
    for (p, l) in &lock {
        if let Some(v) = l.arg("deny").and_then(|v| v.parse().ok()) {
            deny = Some((v, p.clone(), Some(l.line)));
        }
    }
    let (n, p, l) = deny.unwrap_or((3, "/etc/security/faillock.conf".into(), None));
    if !(1..=5).contains(&n) {
        hits.push(
            Hit::new(format!("deny={n} (want 1..5)"))
                .subject("deny")
                .at(p, l),
        );
    }
    Ok(hits)
}

fn banner(ctx: &Ctx) -> Outcome {
    let mut hits = Vec::new();
    let mut any_notice = false;
    for f in ["/etc/issue", "/etc/issue.net", "/etc/motd"] {
        if let Some(t) = ctx.text(f)? {
            let lower = t.to_ascii_lowercase();
            if ["\\m", "\\r", "\\s", "\\v"].iter().any(|e| t.contains(e)) {
                hits.push(
                    Hit::new("banner expands OS/kernel details (\\m \\r \\s \\v)").at(f, None),
                );
            }
            if let Some(os) = ctx.root.read("/etc/os-release").ok().and_then(|b| {
                crate::inventory::os::parse_os_release(&String::from_utf8_lossy(&b))
                    .0
                    .name
            }) {
                if !os.is_empty() && t.contains(&os) {
                    hits.push(Hit::new(format!("banner names the OS ({os})")).at(f, None));
                }
            }
            if ["authorized", "authorised", "monitored", "prohibited"]
                .iter()
                .any(|w| lower.contains(w))
            {
                any_notice = true;
            }
        }
    }
    if let Ok(cfg) = ctx.sshd() {
        if let Some(b) = cfg.get("banner") {
            if !b.value.eq_ignore_ascii_case("none") {
                if let Some(t) = ctx.text(&b.value)? {
                    any_notice |= ["authorized", "authorised", "monitored"]
                        .iter()
                        .any(|w| t.to_ascii_lowercase().contains(w));
                }
            }
        }
    }
    if !any_notice {
        hits.push(Hit::new("no system use notification (authorised use only / monitoring) in /etc/issue, /etc/issue.net or the SSH banner").at("/etc/issue", None));
    }
    Ok(hits)
}

fn umask_path_home(ctx: &Ctx) -> Outcome {
    let mut hits = Vec::new();
    let defs = ctx.login_defs()?;
    match defs.get("UMASK") {
        Some((l, v)) => match u32::from_str_radix(v, 8) {
            Ok(m) if m & 0o027 == 0o027 => {}
            _ => hits.push(
                Hit::new(format!("UMASK {v} (want 027 or stricter)"))
                    .subject("UMASK")
                    .at("/etc/login.defs", Some(l)),
            ),
        },
        None => hits.push(
            Hit::new("UMASK not set (defaults to 022)")
                .subject("UMASK")
                .at("/etc/login.defs", None),
        ),
    }
    if let Ok(pw) = ctx.passwd() {
        let uid_min = ctx.uid_min()?;
        for p in pw
            .iter()
            .filter(|p| p.uid >= uid_min && p.uid != 65534 && !p.home.is_empty())
        {
            if let Ok(m) = ctx.root.metadata(&p.home) {
                if m.mode & 0o027 != 0 {
                    hits.push(
                        Hit::new(format!(
                            "home directory mode {:04o} (want 0750 or stricter)",
                            m.mode & 0o7777
                        ))
                        .subject(p.name.clone())
                        .at(&p.home, None),
                    );
                }
            }
        }
    }
    Ok(hits)
}

pub const RULES: &[Rule] = &[
    Rule {
        meta: Meta {
            id: "pwpolicy.quality-module",
            title: "No password quality enforcement",
            fr: "FR1",
            severity: Severity::Medium,
            reqs: &[("CR 1.7", 1)],
            remediation: "Add 'password requisite pam_pwquality.so retry=3' before pam_unix.",
            reference: "CIS 5.3.1; STIG UBTU-20-010050",
        },
        check: quality_module,
    },
    Rule {
        meta: Meta {
            id: "pwpolicy.quality-params",
            title: "Password quality parameters too weak",
            fr: "FR1",
            severity: Severity::Medium,
            reqs: &[("CR 1.7", 1)],
            remediation: "In /etc/security/pwquality.conf: minlen = 14, dictcheck = 1, enforce_for_root, retry = 3.",
            reference: "CIS 5.3.1; STIG UBTU-20-010054; NIST SP 800-63B 5.1.1",
        },
        check: quality_params,
    },
    Rule {
        meta: Meta {
            id: "pwpolicy.reuse-and-aging",
            title: "Password reuse and aging not limited",
            fr: "FR1",
            severity: Severity::Low,
            reqs: &[("CR 1.7 RE(1)", 3), ("CR 1.7 RE(2)", 4)],
            remediation: "PASS_MAX_DAYS 365, PASS_MIN_DAYS 1, PASS_WARN_AGE 7 in login.defs; pam_pwhistory remember=5.",
            reference: "CIS 5.3.3, 5.4.1.1-5.4.1.3; STIG UBTU-20-010007, 010008",
        },
        check: reuse_and_aging,
    },
    Rule {
        meta: Meta {
            id: "pam.login-lockout",
            title: "No lockout after failed logins",
            fr: "FR1",
            severity: Severity::Medium,
            reqs: &[("CR 1.11", 1), ("CR 1.10", 1)],
            remediation: "Add pam_faillock (preauth and authfail) with deny=5 unlock_time=900; on a controller prefer a delay over a permanent lock (CCSC 1).",
            reference: "CIS 5.3.2; STIG UBTU-20-010072",
        },
        check: login_lockout,
    },
    Rule {
        meta: Meta {
            id: "banner.system-use-notice",
            title: "No system use notification, or banner leaks system details",
            fr: "FR1",
            severity: Severity::Low,
            reqs: &[("CR 1.12", 1)],
            remediation: "Put an authorised-use notice in /etc/issue, /etc/issue.net and the SSH Banner, without OS or kernel details.",
            reference: "CIS 1.7.1-1.7.6; STIG UBTU-20-010002",
        },
        check: banner,
    },
    Rule {
        meta: Meta {
            id: "env.umask-path-home",
            title: "Permissive default umask or home directories",
            fr: "FR2",
            severity: Severity::Medium,
            reqs: &[("CR 2.1", 1)],
            remediation: "UMASK 027 in /etc/login.defs; chmod 0750 home directories.",
            reference: "CIS 5.4.4, 6.2.8; STIG UBTU-20-010016",
        },
        check: umask_path_home,
    },
];

#[cfg(test)]
mod tests {
    use super::super::testutil::{fails, passes, run, T};
    use super::super::Skip;

    fn hardened() -> T {
        let t = T::new();
        t.file("etc/pam.d/common-password", "password requisite pam_pwquality.so retry=3\npassword [success=1 default=ignore] pam_unix.so obscure yescrypt remember=5\n")
            .file("etc/pam.d/common-auth", "auth required pam_faillock.so preauth\nauth [success=1 default=ignore] pam_unix.so\nauth [default=die] pam_faillock.so authfail\n")
            .file("etc/security/pwquality.conf", "minlen = 14\ndictcheck = 1\nenforce_for_root\n")
            .file("etc/security/faillock.conf", "deny = 5\nunlock_time = 900\n")
            .file("etc/login.defs", "PASS_MAX_DAYS 365\nPASS_MIN_DAYS 1\nPASS_WARN_AGE 7\nUMASK 027\nUID_MIN 1000\n")
            .file("etc/issue", "Authorised use only. Activity is monitored.\n")
            .file("etc/issue.net", "Authorised use only.\n")
            .file("etc/passwd", "root:x:0:0::/root:/bin/sh\n");
        t
    }

    #[test]
    fn hardened_passes() {
        let t = hardened();
        for id in [
            "pwpolicy.quality-module",
            "pwpolicy.quality-params",
            "pwpolicy.reuse-and-aging",
            "pam.login-lockout",
            "banner.system-use-notice",
            "env.umask-path-home",
        ] {
            passes(&t, id);
        }
    }

    #[test]
    fn debian_like_defaults_fire() {
        let t = T::new();
        t.file(
            "etc/pam.d/common-password",
            "password [success=1 default=ignore] pam_unix.so obscure yescrypt\n",
        )
        .file(
            "etc/pam.d/common-auth",
            "auth [success=1 default=ignore] pam_unix.so nullok\n",
        )
        .file(
            "etc/login.defs",
            "PASS_MAX_DAYS 99999\nPASS_MIN_DAYS 0\nPASS_WARN_AGE 7\nUMASK 022\n",
        )
        .file("etc/issue", "Debian GNU/Linux 12 \\n \\l\n")
        .file("etc/os-release", "NAME=\"Debian GNU/Linux\"\nID=debian\n");
        fails(&t, "pwpolicy.quality-module");
        assert!(matches!(
            run(&t, "pwpolicy.quality-params"),
            Err(Skip::NotApplicable(_))
        ));
        assert_eq!(fails(&t, "pwpolicy.reuse-and-aging").len(), 3);
        fails(&t, "pam.login-lockout");
        let h = fails(&t, "banner.system-use-notice");
        assert!(
            h.iter().any(|h| h.evidence.contains("names the OS")),
            "{h:?}"
        );
        assert!(fails(&t, "env.umask-path-home")[0].evidence.contains("022"));
    }

    #[test]
    fn weak_quality_params_and_lockout() {
        let t = hardened();
        t.file("etc/security/pwquality.conf", "minlen = 8\ndictcheck = 0\n");
        t.file("etc/security/faillock.conf", "deny = 0\n");
        assert_eq!(fails(&t, "pwpolicy.quality-params").len(), 3);
        assert!(fails(&t, "pam.login-lockout")[0]
            .evidence
            .contains("deny=0"));
    }

    #[test]
    fn no_pam_is_not_applicable() {
        let t = T::new();
        assert!(matches!(
            run(&t, "pwpolicy.quality-module"),
            Err(Skip::NotApplicable(_))
        ));
    }
}
