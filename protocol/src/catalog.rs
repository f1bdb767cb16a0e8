//! The rule catalog as data: each rule's id, title, foundational requirement,
//! severity, IEC 62443-4-2 requirements (CR/RE with the lowest SL at which each
//! applies), remediation and external reference — versioned with the agent
//! version that defines it.
//!
//! The scanning library's rules define the metadata (`fieldattest-scan`, `rules::`);
//! `protocol/catalog/fieldattest-<version>.json` is generated from them
//! (`fieldattest rules --format json`) and a test in the scanning library
//! keeps the file of the current version equal to what the rules define.
//! Every catalog file of a released version stays here, so a collector holds
//! the catalogs of all agents released before it ([`Catalogs::shipped`]); a
//! newer agent's catalog is imported at run time (`fieldattest-collector
//! catalog import`). A rule no held catalog knows is reported as unknown,
//! never dropped ([`Lookup::Unknown`]).

use crate::report::Severity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `schema` value of a catalog document.
pub const SCHEMA: &str = "fieldattest/catalog/v1";

/// Largest catalog document accepted (bytes).
pub const MAX_DOCUMENT: usize = 4 << 20;
const MAX_RULES: usize = 10_000;
const MAX_TEXT: usize = 8192;
const MAX_REQUIREMENTS: usize = 64;

/// Catalog files of released agent versions, shipped in every build.
const SHIPPED: &[&str] = &[include_str!("../catalog/fieldattest-0.1.0.json")];

/// One agent version's rule catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The agent's software name (`fieldattest`).
    pub agent: String,
    /// The agent version that defines this catalog.
    pub version: String,
    pub rules: Vec<RuleMeta>,
}

/// One rule's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleMeta {
    /// `family.what`
    pub id: String,
    pub title: String,
    /// The foundational requirement the rule is filed under (`FR1`..`FR7`).
    pub fr: String,
    pub severity: Severity,
    /// IEC 62443-4-2 requirements with the lowest SL at which each applies.
    pub requirements: Vec<Requirement>,
    /// Lowest SL at which any mapped requirement applies.
    pub min_sl: u8,
    pub remediation: String,
    /// External baseline (CIS, STIG, KSPP, ...).
    pub reference: String,
}

/// A component requirement (`CR 1.1`) or requirement enhancement
/// (`CR 1.1 RE 1`) with the lowest security level at which it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub id: String,
    pub min_sl: u8,
}

impl Catalog {
    /// Parses and checks a catalog document: the schema, bounded sizes, unique
    /// rule ids, `FR1`..`FR7`, security levels 1..4, `min_sl` consistent with
    /// the requirements. The error names what is wrong (and the rule).
    pub fn parse(text: &str) -> Result<Catalog, String> {
        if text.len() > MAX_DOCUMENT {
            return Err(format!(
                "catalog is {} bytes, more than {MAX_DOCUMENT}",
                text.len()
            ));
        }
        let c: Catalog = serde_json::from_str(text).map_err(|e| format!("catalog: {e}"))?;
        c.check()?;
        Ok(c)
    }

    /// The checks of [`Catalog::parse`] on a built value.
    pub fn check(&self) -> Result<(), String> {
        if self.schema != SCHEMA {
            return Err(format!(
                "catalog schema {:?}, expected {SCHEMA:?}",
                self.schema
            ));
        }
        if self.agent.is_empty() || self.agent.len() > 256 {
            return Err("catalog agent name empty or too long".into());
        }
        if self.version.is_empty()
            || self.version.len() > 64
            || !self
                .version
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-+~_".contains(&b))
        {
            return Err(format!(
                "catalog version {:?} is not a version",
                self.version
            ));
        }
        if self.rules.len() > MAX_RULES {
            return Err(format!("catalog has more than {MAX_RULES} rules"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for r in &self.rules {
            let bad = |what: &str| Err(format!("catalog rule {:?}: {what}", r.id));
            if r.id.is_empty() || r.id.len() > 128 || r.id.chars().any(|c| c.is_control()) {
                return bad("id empty, too long or with control characters");
            }
            if !seen.insert(r.id.as_str()) {
                return bad("listed twice");
            }
            if !matches!(r.fr.as_bytes(), [b'F', b'R', b'1'..=b'7']) {
                return bad("fr is not FR1..FR7");
            }
            if [&r.title, &r.remediation, &r.reference]
                .iter()
                .any(|t| t.len() > MAX_TEXT)
            {
                return bad("text longer than 8192 bytes");
            }
            if r.requirements.len() > MAX_REQUIREMENTS {
                return bad("too many requirements");
            }
            if r.requirements
                .iter()
                .any(|q| !(1..=4).contains(&q.min_sl) || q.id.is_empty() || q.id.len() > 64)
            {
                return bad("requirement with an empty id or an SL outside 1..4");
            }
            let lowest = r.requirements.iter().map(|q| q.min_sl).min().unwrap_or(1);
            if r.min_sl != lowest {
                return bad("min_sl differs from its requirements' lowest SL");
            }
        }
        Ok(())
    }

    /// The document as written to `protocol/catalog/` and printed by
    /// `fieldattest rules --format json`: pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    pub fn rule(&self, id: &str) -> Option<&RuleMeta> {
        self.rules.iter().find(|r| r.id == id)
    }
}

/// Where a rule's metadata came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// From the catalog of the agent version that produced the result.
    Exact(&'a RuleMeta),
    /// The token's agent version is not held (or lacks the rule): from the
    /// newest held catalog that has the rule, naming its version.
    OtherVersion {
        version: &'a str,
        meta: &'a RuleMeta,
    },
    /// No held catalog knows the rule.
    Unknown,
}

/// The catalogs a collector holds, by agent version.
#[derive(Debug, Clone, Default)]
pub struct Catalogs {
    by_version: BTreeMap<String, Catalog>,
}

impl Catalogs {
    /// The catalogs shipped with this build (every released agent version).
    pub fn shipped() -> Catalogs {
        let mut c = Catalogs::default();
        for text in SHIPPED {
            // Checked by a test; a broken shipped file would only be absent.
            if let Ok(cat) = Catalog::parse(text) {
                c.insert(cat);
            }
        }
        c
    }

    /// Adds (or replaces) the catalog of its version.
    pub fn insert(&mut self, c: Catalog) {
        self.by_version.insert(c.version.clone(), c);
    }

    pub fn get(&self, version: &str) -> Option<&Catalog> {
        self.by_version.get(version)
    }

    /// Held versions, oldest first by version order.
    pub fn versions(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.by_version.keys().map(String::as_str).collect();
        v.sort_by(|a, b| version_cmp(a, b));
        v
    }

    /// The metadata of `rule` as the agent `version` defined it.
    pub fn lookup<'a>(&'a self, version: Option<&str>, rule: &str) -> Lookup<'a> {
        if let Some(m) = version.and_then(|v| self.get(v)).and_then(|c| c.rule(rule)) {
            return Lookup::Exact(m);
        }
        for v in self.versions().into_iter().rev() {
            if let Some((c, m)) = self.get(v).and_then(|c| Some((c, c.rule(rule)?))) {
                return Lookup::OtherVersion {
                    version: &c.version,
                    meta: m,
                };
            }
        }
        Lookup::Unknown
    }
}

/// Orders dotted versions numerically component by component (`0.10.0 >
/// 0.9.1`); non-numeric parts compare as text.
pub fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |s: &str| -> Vec<(u64, String)> {
        s.split(['.', '-', '+'])
            .map(|p| match p.parse::<u64>() {
                Ok(n) => (n, String::new()),
                Err(_) => (u64::MAX, p.to_string()),
            })
            .collect()
    };
    key(a).cmp(&key(b)).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str) -> RuleMeta {
        RuleMeta {
            id: id.into(),
            title: "t".into(),
            fr: "FR1".into(),
            severity: Severity::High,
            requirements: vec![Requirement {
                id: "CR 1.1".into(),
                min_sl: 1,
            }],
            min_sl: 1,
            remediation: "r".into(),
            reference: String::new(),
        }
    }

    fn catalog(version: &str, ids: &[&str]) -> Catalog {
        Catalog {
            schema: SCHEMA.into(),
            agent: "fieldattest".into(),
            version: version.into(),
            rules: ids.iter().map(|i| rule(i)).collect(),
        }
    }

    #[test]
    fn shipped_catalogs_parse() {
        assert_eq!(SHIPPED.len(), Catalogs::shipped().versions().len());
        for text in SHIPPED {
            let c = Catalog::parse(text).unwrap();
            assert!(!c.rules.is_empty());
            assert_eq!(c.to_json(), *text, "shipped file is not in canonical form");
        }
    }

    #[test]
    fn lookup_prefers_the_tokens_version_and_never_drops() {
        let mut cs = Catalogs::default();
        cs.insert(catalog("0.1.0", &["a.old", "a.both"]));
        cs.insert(catalog("0.10.0", &["a.both", "a.new"]));
        assert_eq!(cs.versions(), vec!["0.1.0", "0.10.0"]);
        assert!(matches!(
            cs.lookup(Some("0.1.0"), "a.both"),
            Lookup::Exact(_)
        ));
        assert!(matches!(
            cs.lookup(Some("0.1.0"), "a.new"),
            Lookup::OtherVersion {
                version: "0.10.0",
                ..
            }
        ));
        assert!(matches!(
            cs.lookup(Some("9.9.9"), "a.old"),
            Lookup::OtherVersion {
                version: "0.1.0",
                ..
            }
        ));
        assert_eq!(cs.lookup(None, "x.gone"), Lookup::Unknown);
    }

    #[test]
    fn hostile_documents_are_refused_with_a_reason() {
        let ok = catalog("1.0", &["a.b"]);
        assert!(Catalog::parse(&ok.to_json()).is_ok());
        let mut twice = ok.clone();
        twice.rules.push(rule("a.b"));
        assert!(Catalog::parse(&twice.to_json())
            .unwrap_err()
            .contains("twice"));
        let mut fr = ok.clone();
        fr.rules[0].fr = "FR9".into();
        assert!(Catalog::parse(&fr.to_json()).is_err());
        let mut sl = ok.clone();
        sl.rules[0].requirements[0].min_sl = 5;
        assert!(Catalog::parse(&sl.to_json()).is_err());
        let mut v = ok.clone();
        v.version = "1.0<script>".into();
        assert!(Catalog::parse(&v.to_json()).is_err());
        assert!(Catalog::parse("{").is_err());
        assert!(Catalog::parse(&" ".repeat(MAX_DOCUMENT + 1)).is_err());
        let unknown = ok
            .to_json()
            .replacen("\"schema\"", "\"x\": 1, \"schema\"", 1);
        assert!(Catalog::parse(&unknown).is_err());
    }
}
