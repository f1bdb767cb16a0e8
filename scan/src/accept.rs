//! Compensating countermeasures (IEC 62443-4-2 CCSC 2): an operator-written
//! TOML accept file turns matching findings into `accepted` with a reason.
//! Accepted findings stay in the report; expired acceptances stop applying.
//!
//! ```toml
//! [[accept]]
//! rule = "ssh.password-authentication"   # rule id (required)
//! subject = "passwordauthentication*"    # glob on the finding subject (optional)
//! reason = "Jump host enforces MFA, procedure SP-12"   # required
//! expires = 2027-06-30                   # TOML date or "YYYY-MM-DD" (optional)
//! ```

use crate::parse::sshd::glob_match;
use crate::rules::Evaluation;
use fieldattest_protocol::report::{FindingStatus, RuleStatus};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acceptance {
    pub rule: String,
    pub subject: Option<String>,
    pub reason: String,
    /// Last day it applies, as days since 1970-01-01.
    pub expires: Option<i64>,
    pub expires_text: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    accept: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    rule: String,
    subject: Option<String>,
    reason: String,
    expires: Option<toml::Value>,
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.split('-');
    let y = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.get(..2)?.parse().ok()?;
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then(|| days_from_civil(y, m, d))
}

/// Parses an accept file; `known_rules` are the catalog's ids (an unknown id
/// is an error: a typo must not silently accept nothing).
pub fn parse(text: &str, path: &str, known_rules: &[&str]) -> Result<Vec<Acceptance>, String> {
    let f: File = toml::from_str(text).map_err(|e| format!("{path}: {e}"))?;
    let mut out = Vec::new();
    for (i, e) in f.accept.into_iter().enumerate() {
        let n = i + 1;
        if !known_rules.contains(&e.rule.as_str()) {
            return Err(format!(
                "{path}: [[accept]] #{n}: unknown rule id {:?} (see `fieldattest rules`)",
                e.rule
            ));
        }
        if e.reason.trim().is_empty() {
            return Err(format!(
                "{path}: [[accept]] #{n} ({}): reason must not be empty",
                e.rule
            ));
        }
        let (expires, expires_text) = match e.expires {
            None => (None, None),
            Some(v) => {
                let s = match &v {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Datetime(d) => d.to_string(),
                    other => {
                        return Err(format!(
                            "{path}: [[accept]] #{n} ({}): expires must be a date, found a {}",
                            e.rule,
                            other.type_str()
                        ))
                    }
                };
                let d = parse_date(&s).ok_or_else(|| {
                    format!(
                        "{path}: [[accept]] #{n} ({}): expires {s:?} is not a YYYY-MM-DD date",
                        e.rule
                    )
                })?;
                (Some(d), Some(s))
            }
        };
        out.push(Acceptance {
            rule: e.rule,
            subject: e.subject,
            reason: e.reason,
            expires,
            expires_text,
        });
    }
    Ok(out)
}

/// Applies acceptances valid on `today`. A rule whose every finding is
/// accepted gets status `accepted`. Returns the acceptances that expired.
pub fn apply<'a>(ev: &mut Evaluation, acc: &'a [Acceptance], today: i64) -> Vec<&'a Acceptance> {
    let expired: Vec<&Acceptance> = acc
        .iter()
        .filter(|a| a.expires.map(|d| d < today).unwrap_or(false))
        .collect();
    for f in &mut ev.findings {
        let hit = acc.iter().find(|a| {
            a.rule == f.rule
                && a.expires.map(|d| d >= today).unwrap_or(true)
                && a.subject
                    .as_deref()
                    .map(|g| glob_match(g, f.subject.as_deref().unwrap_or("")))
                    .unwrap_or(true)
        });
        if let Some(a) = hit {
            f.status = FindingStatus::Accepted;
            let until = a
                .expires_text
                .as_deref()
                .map(|e| format!(" (until {e})"))
                .unwrap_or_default();
            f.accepted_reason = Some(format!("{}{until}", a.reason));
        }
    }
    for r in &mut ev.rules {
        if r.status == RuleStatus::Fail {
            let mine: Vec<_> = ev.findings.iter().filter(|f| f.rule == r.id).collect();
            if !mine.is_empty() && mine.iter().all(|f| f.status == FindingStatus::Accepted) {
                r.status = RuleStatus::Accepted;
            }
        }
    }
    expired
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldattest_protocol::report::{Finding, RuleResult, Severity};

    fn ev() -> Evaluation {
        let f = |subject: &str| Finding {
            rule: "ssh.macs".into(),
            title: "t".into(),
            severity: Severity::High,
            status: FindingStatus::Fail,
            subject: Some(subject.into()),
            path: None,
            line: None,
            evidence: "e".into(),
            remediation: "r".into(),
            fr: "FR3".into(),
            iec62443: vec![],
            accepted_reason: None,
        };
        Evaluation {
            rules: vec![RuleResult {
                id: "ssh.macs".into(),
                status: RuleStatus::Fail,
                message: None,
            }],
            findings: vec![f("hmac-sha1"), f("umac-64@openssh.com")],
            evaluated_frs: vec![],
        }
    }

    #[test]
    fn dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(
            parse_date("2026-11-29"),
            Some(days_from_civil(2026, 11, 29))
        );
        assert_eq!(parse_date("2026-13-01"), None);
    }

    #[test]
    fn accepts_by_subject_glob_and_expiry() {
        let acc = parse("[[accept]]\nrule = \"ssh.macs\"\nsubject = \"hmac-*\"\nreason = \"legacy HMI client, isolated VLAN\"\nexpires = 2030-01-01\n", "a.toml", &["ssh.macs"]).unwrap();
        let mut e = ev();
        let expired = apply(&mut e, &acc, days_from_civil(2026, 11, 29));
        assert!(expired.is_empty());
        assert_eq!(e.findings[0].status, FindingStatus::Accepted);
        assert_eq!(
            e.findings[0].accepted_reason.as_deref(),
            Some("legacy HMI client, isolated VLAN (until 2030-01-01)")
        );
        assert_eq!(e.findings[1].status, FindingStatus::Fail);
        assert_eq!(e.rules[0].status, RuleStatus::Fail);
        // Without subject all findings of the rule are accepted -> rule accepted.
        let acc = parse(
            "[[accept]]\nrule = \"ssh.macs\"\nreason = \"x\"\n",
            "a.toml",
            &["ssh.macs"],
        )
        .unwrap();
        let mut e = ev();
        apply(&mut e, &acc, 0);
        assert_eq!(e.rules[0].status, RuleStatus::Accepted);
        // Expired: nothing applies.
        let acc = parse(
            "[[accept]]\nrule = \"ssh.macs\"\nreason = \"x\"\nexpires = \"2020-01-01\"\n",
            "a.toml",
            &["ssh.macs"],
        )
        .unwrap();
        let mut e = ev();
        assert_eq!(apply(&mut e, &acc, days_from_civil(2026, 1, 1)).len(), 1);
        assert_eq!(e.findings[0].status, FindingStatus::Fail);
    }

    #[test]
    fn malformed_files_are_clear_errors() {
        let e = parse(
            "[[accept]]\nrule = \"ssh.macs\"\n",
            "/etc/fieldattest/accept.toml",
            &["ssh.macs"],
        )
        .unwrap_err();
        assert!(
            e.contains("/etc/fieldattest/accept.toml") && e.contains("reason"),
            "{e}"
        );
        let e = parse(
            "[[accept]]\nrule = \"ssh.nope\"\nreason = \"x\"\n",
            "a.toml",
            &["ssh.macs"],
        )
        .unwrap_err();
        assert!(e.contains("unknown rule id"), "{e}");
        let e = parse("[[accept]\n", "a.toml", &[]).unwrap_err();
        assert!(e.contains("line 1"), "{e}");
        let e = parse(
            "[[accept]]\nrule = \"ssh.macs\"\nreason = \"x\"\nexpires = \"soon\"\n",
            "a.toml",
            &["ssh.macs"],
        )
        .unwrap_err();
        assert!(e.contains("not a YYYY-MM-DD"), "{e}");
        assert!(parse(
            "[[accept]]\nrule = \"ssh.macs\"\nreason = \"x\"\ntypo = 1\n",
            "a.toml",
            &["ssh.macs"]
        )
        .is_err());
    }
}
