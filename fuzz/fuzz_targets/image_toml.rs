//! Fuzz target: the agent's own TOML files, which may come with an image —
//! the accept file (`accept::parse`, checked against the real rule catalog,
//! then `accept::apply` to findings of the accepted rules, so the subject
//! globs meet subjects from the input) and `agent.toml` (`config::parse`).
//! Every input goes to both, each call within the linear budget of
//! `budget.rs`.
//!
//! `fuzz/run-all.sh` runs it; by hand:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run image_toml fuzz/corpus/image_toml fuzz/seeds/image_toml`
#![no_main]

use fieldattest_agent::config;
use fieldattest_protocol::report::{Finding, FindingStatus, RuleResult, RuleStatus, Severity};
use fieldattest_scan::{accept, rules};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[path = "budget.rs"]
mod budget;

fn ids() -> &'static [&'static str] {
    static IDS: OnceLock<Vec<&'static str>> = OnceLock::new();
    IDS.get_or_init(|| rules::catalog().iter().map(|r| r.meta.id).collect())
}

fuzz_target!(|data: &[u8]| {
    let ids = ids();
    let t = budget::text(data);
    let n = data.len();
    let acc = budget::check("accept::parse", n, || {
        accept::parse(&t, "/etc/fieldattest/accept.toml", ids)
    });
    if let Ok(acc) = acc {
        let finding = |rule: &str, subject: &str| Finding {
            rule: rule.into(),
            title: "t".into(),
            severity: Severity::High,
            status: FindingStatus::Fail,
            subject: Some(subject.into()),
            path: None,
            line: None,
            evidence: "e".into(),
            remediation: "r".into(),
            fr: "FR1".into(),
            iec62443: vec![],
            accepted_reason: None,
        };
        let mut ev = rules::Evaluation {
            rules: acc
                .iter()
                .map(|a| RuleResult {
                    id: a.rule.clone(),
                    status: RuleStatus::Fail,
                    message: None,
                })
                .collect(),
            findings: acc
                .iter()
                .flat_map(|a| {
                    [
                        finding(&a.rule, "hmac-sha1-etm@openssh.com/etc/ssh/sshd_config:42"),
                        finding(&a.rule, &a.reason),
                    ]
                })
                .collect(),
            evaluated_frs: vec![],
        };
        let today = accept::days_from_civil(2026, 12, 2);
        let _ = budget::check("accept::apply", n, || {
            accept::apply(&mut ev, &acc, today).len()
        });
    }
    let _ = budget::check("config::parse", n, || {
        config::parse(&t, "/etc/fieldattest/agent.toml")
    });
});
