//! Rule engine. A rule is metadata ([`Meta`]) plus a small function from the
//! scan context to hits. Families live in one module each (a directory with a
//! file per concern for the larger ones: `accounts`, `cred`, `services`,
//! `ssh`) and export `RULES`; [`catalog`] concatenates them. Adding a rule
//! touches its family only.
//!
//! Outcomes: `Ok(vec![])` = pass, `Ok(hits)` = fail, `Err(Skip::NotApplicable)`
//! when the input does not exist on this device, `Err(Skip::Error)` when the
//! input exists but cannot be parsed (naming file and line).

pub mod accounts;
pub mod cred;
pub mod ctx;
pub mod dropbear;
pub mod fileperm;
pub mod keys;
pub mod logging;
pub mod net;
pub mod policy;
pub mod pwhash;
pub mod services;
pub mod ssh;
pub mod sudo;
pub mod sysctl;
pub mod walk;

pub use ctx::Ctx;
use fieldattest_protocol::report::{
    Finding, FindingStatus, RequirementRef, RuleResult, RuleStatus, Severity,
};

/// Rule metadata, as printed by `fieldattest rules`.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    /// `family.what`
    pub id: &'static str,
    pub title: &'static str,
    /// Foundational requirement the rule is filed under (`FR1`..`FR7`).
    pub fr: &'static str,
    pub severity: Severity,
    /// IEC 62443-4-2 requirements with the lowest SL at which each applies.
    pub reqs: &'static [(&'static str, u8)],
    pub remediation: &'static str,
    /// External baseline (CIS, STIG, KSPP, ...).
    pub reference: &'static str,
}

impl Meta {
    /// Lowest SL at which any mapped requirement applies.
    pub fn min_sl(&self) -> u8 {
        self.reqs.iter().map(|r| r.1).min().unwrap_or(1)
    }
}

/// One failing observation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hit {
    pub subject: Option<String>,
    pub path: Option<String>,
    pub line: Option<u64>,
    /// What was seen. Never secret material.
    pub evidence: String,
    /// Overrides the rule's severity for this hit.
    pub severity: Option<Severity>,
}

impl Hit {
    pub fn new(evidence: impl Into<String>) -> Self {
        Hit {
            evidence: evidence.into(),
            ..Default::default()
        }
    }
    pub fn subject(mut self, s: impl Into<String>) -> Self {
        self.subject = Some(s.into());
        self
    }
    pub fn at(mut self, path: impl Into<String>, line: Option<u64>) -> Self {
        self.path = Some(path.into());
        self.line = line;
        self
    }
    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = Some(s);
        self
    }
}

/// Why a rule did not produce pass/fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    NotApplicable(String),
    Error {
        path: String,
        line: Option<u64>,
        message: String,
    },
}

impl Skip {
    pub fn na(why: impl Into<String>) -> Self {
        Skip::NotApplicable(why.into())
    }
}

pub type Outcome = Result<Vec<Hit>, Skip>;

pub struct Rule {
    pub meta: Meta,
    pub check: fn(&Ctx) -> Outcome,
}

/// The rule families, in report order.
const FAMILIES: &[&[Rule]] = &[
    accounts::RULES,
    cred::RULES,
    pwhash::RULES,
    policy::RULES,
    ssh::RULES,
    keys::RULES,
    dropbear::RULES,
    sudo::RULES,
    fileperm::RULES,
    walk::RULES,
    services::RULES,
    net::RULES,
    logging::RULES,
    sysctl::RULES,
];

/// Every rule, in family order.
pub fn catalog() -> Vec<&'static Rule> {
    FAMILIES.iter().flat_map(|f| f.iter()).collect()
}

/// The catalog as data (`fieldattest/catalog/v1`), the form the collector
/// reads: `protocol/catalog/fieldattest-<version>.json` is this document,
/// kept equal by the test `catalog_file_matches_the_rules`.
pub fn catalog_document() -> fieldattest_protocol::catalog::Catalog {
    use fieldattest_protocol::catalog::{Catalog, Requirement, RuleMeta, SCHEMA};
    Catalog {
        schema: SCHEMA.into(),
        agent: crate::report::AGENT_NAME.into(),
        version: crate::report::AGENT_VERSION.into(),
        rules: catalog()
            .iter()
            .map(|r| {
                let m = &r.meta;
                RuleMeta {
                    id: m.id.into(),
                    title: m.title.into(),
                    fr: m.fr.into(),
                    severity: m.severity,
                    requirements: m
                        .reqs
                        .iter()
                        .map(|(id, sl)| Requirement {
                            id: (*id).into(),
                            min_sl: *sl,
                        })
                        .collect(),
                    min_sl: m.min_sl(),
                    remediation: m.remediation.into(),
                    reference: m.reference.into(),
                }
            })
            .collect(),
    }
}

/// The FR of a requirement id: the first number after the type prefix
/// (`CR 1.1 RE(1)` → `FR1`, `EDR 2.13` → `FR2`).
pub fn fr_of(req: &str) -> Option<String> {
    let mut w = req.split_whitespace();
    if !matches!(w.next()?, "CR" | "EDR" | "HDR" | "NDR" | "SAR") {
        return None;
    }
    let rest = w.next()?;
    let d = rest.split('.').next()?;
    d.parse::<u8>()
        .ok()
        .filter(|n| (1..=7).contains(n))
        .map(|n| format!("FR{n}"))
}

/// Results of running the catalog.
#[derive(Debug, Default)]
pub struct Evaluation {
    pub rules: Vec<RuleResult>,
    pub findings: Vec<Finding>,
    /// FRs each evaluated rule's requirements fall under, for the SL ceiling.
    pub evaluated_frs: Vec<String>,
}

/// Runs `rules` against `ctx`. Requirements starting above the target SL make
/// a rule's findings `info`.
pub fn evaluate(ctx: &Ctx, rules: &[&Rule]) -> Evaluation {
    let mut ev = Evaluation::default();
    for rule in rules {
        let m = &rule.meta;
        let outcome = (rule.check)(ctx);
        let (status, message) = match &outcome {
            Ok(h) if h.is_empty() => (RuleStatus::Pass, None),
            Ok(h) => (RuleStatus::Fail, Some(format!("{} finding(s)", h.len()))),
            Err(Skip::NotApplicable(why)) => (RuleStatus::NotApplicable, Some(why.clone())),
            Err(Skip::Error {
                path,
                line,
                message,
            }) => (
                RuleStatus::Error,
                Some(format!(
                    "{path}{}: {message}",
                    line.map(|l| format!(":{l}")).unwrap_or_default()
                )),
            ),
        };
        if matches!(status, RuleStatus::Pass | RuleStatus::Fail) {
            for (req, _) in m.reqs {
                if let Some(fr) = fr_of(req) {
                    if !ev.evaluated_frs.contains(&fr) {
                        ev.evaluated_frs.push(fr);
                    }
                }
            }
        }
        let message = match (ctx.note_for(m.id), message) {
            (Some(n), Some(m)) => Some(format!("{m}; {n}")),
            (Some(n), None) => Some(n),
            (None, m) => m,
        };
        ev.rules.push(RuleResult {
            id: m.id.into(),
            status,
            message,
        });
        let above_target = m.min_sl() > ctx.target_sl;
        for h in outcome.unwrap_or_default() {
            ev.findings.push(Finding {
                rule: m.id.into(),
                title: m.title.into(),
                severity: if above_target {
                    Severity::Info
                } else {
                    h.severity.unwrap_or(m.severity)
                },
                status: FindingStatus::Fail,
                subject: h.subject,
                path: h.path,
                line: h.line,
                evidence: h.evidence,
                remediation: m.remediation.into(),
                fr: m.fr.into(),
                iec62443: m
                    .reqs
                    .iter()
                    .map(|(r, sl)| RequirementRef {
                        req: (*r).into(),
                        sl: *sl,
                    })
                    .collect(),
                accepted_reason: None,
            });
        }
    }
    ev
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Fixture trees for rule tests.
    use super::*;
    use crate::root::RootFs;
    use std::path::Path;

    pub struct T {
        pub dir: tempfile::TempDir,
    }

    impl T {
        pub fn new() -> Self {
            T {
                dir: tempfile::tempdir().unwrap(),
            }
        }
        pub fn file(&self, rel: &str, content: &str) -> &Self {
            self.file_mode(rel, content, 0o644)
        }
        pub fn file_mode(&self, rel: &str, content: &str, mode: u32) -> &Self {
            use std::os::unix::fs::PermissionsExt;
            let p = self.dir.path().join(rel.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, content).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            self
        }
        pub fn root(&self) -> RootFs {
            RootFs::new(Path::new(self.dir.path())).unwrap()
        }
    }

    /// Runs one rule by id on the tree with target SL 2.
    pub fn run(t: &T, id: &str) -> Outcome {
        let root = t.root();
        let ctx = Ctx::new(&root, false, 2, &[], 20_000);
        let rule = catalog()
            .into_iter()
            .find(|r| r.meta.id == id)
            .expect("rule id");
        (rule.check)(&ctx)
    }

    /// Asserts the rule fails and returns its hits.
    pub fn fails(t: &T, id: &str) -> Vec<Hit> {
        match run(t, id) {
            Ok(h) if !h.is_empty() => h,
            other => panic!("{id}: expected fail, got {other:?}"),
        }
    }

    pub fn passes(t: &T, id: &str) {
        match run(t, id) {
            Ok(h) if h.is_empty() => {}
            other => panic!("{id}: expected pass, got {other:?}"),
        }
    }

    /// Fails the test when `tool` is not installed (no silent skip:
    /// scripts/test installs the Debian package as root).
    pub fn require(tool: &str, package: &str) {
        assert!(
            std::process::Command::new(tool).arg("-h").output().is_ok(),
            "this test needs `{tool}` (Debian package {package}): scripts/test installs it \
             when run as root (or: apt-get install {package})"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_ids_are_unique_and_well_formed() {
        let c = catalog();
        let mut ids: Vec<&str> = c.iter().map(|r| r.meta.id).collect();
        for r in &c {
            let m = &r.meta;
            assert!(
                m.id.contains('.') && m.id == m.id.to_ascii_lowercase(),
                "{}",
                m.id
            );
            assert!(
                !m.reqs.is_empty() && !m.remediation.is_empty() && !m.reference.is_empty(),
                "{}",
                m.id
            );
            assert!(m.fr.starts_with("FR"), "{}", m.id);
            for (req, sl) in m.reqs {
                assert!(
                    fr_of(req).is_some() && (1..=4).contains(sl),
                    "{} {req}",
                    m.id
                );
            }
        }
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate rule ids");
    }

    #[test]
    fn fr_parsing() {
        assert_eq!(fr_of("CR 1.1 RE(1)").as_deref(), Some("FR1"));
        assert_eq!(fr_of("EDR 2.13").as_deref(), Some("FR2"));
        assert_eq!(fr_of("NDR 5.2 RE(1)").as_deref(), Some("FR5"));
        assert_eq!(fr_of("CCSC 3"), None);
    }
}

#[cfg(test)]
mod catalog_file {
    /// `protocol/catalog/fieldattest-<version>.json` equals what the rules
    /// define. `FIELDATTEST_BLESS=1` rewrites it (then review the diff: a
    /// released version's file must never change).
    #[test]
    fn catalog_file_matches_the_rules() {
        let doc = super::catalog_document();
        doc.check().unwrap();
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../protocol/catalog")
            .join(format!("{}-{}.json", doc.agent, doc.version));
        let want = doc.to_json();
        if std::env::var_os("FIELDATTEST_BLESS").is_some() {
            std::fs::write(&path, &want).unwrap();
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} differs from the rules' metadata: run FIELDATTEST_BLESS=1 cargo test -p fieldattest-scan catalog_file",
            path.display()
        );
    }
}
