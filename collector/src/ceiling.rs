//! SL ceilings per FR computed by the collector from a token's rule results
//! and the rule catalog, beside the device's own claim ("verify, don't
//! trust"): the computed value decides "meets the target", a disagreement
//! is recorded with the attestation and shown.

use crate::store::Store;
use crate::verify::{from_store, Refusal};
use fieldattest_protocol::catalog::{Catalog, Catalogs, RuleMeta};
use fieldattest_protocol::eat::{self, Claims};
use std::collections::{BTreeMap, HashMap};

/// The agent version named in the token (`submods["agent"]`).
pub fn agent_version(c: &Claims) -> Option<String> {
    c.submods
        .iter()
        .find(|(name, _)| name == "agent")
        .and_then(|(_, s)| s.sw.as_ref())
        .map(|sw| sw.version.clone())
}

/// The catalogs shipped with this build (parsed once) plus those imported
/// into the store (re-checked: the database is not trusted).
pub fn held_catalogs(store: &dyn Store) -> Result<std::borrow::Cow<'static, Catalogs>, Refusal> {
    static SHIPPED: std::sync::OnceLock<Catalogs> = std::sync::OnceLock::new();
    let shipped = SHIPPED.get_or_init(Catalogs::shipped);
    let imported = store.catalogs().map_err(from_store)?;
    if imported.is_empty() {
        return Ok(std::borrow::Cow::Borrowed(shipped));
    }
    let mut c = shipped.clone();
    for text in imported {
        if let Ok(cat) = Catalog::parse(&text) {
            c.insert(cat);
        }
    }
    Ok(std::borrow::Cow::Owned(c))
}

/// The FR a requirement id belongs to (`CR 1.1`, `EDR 2.4 RE 1` → `FR1`, `FR2`).
fn fr_of(req: &str) -> Option<String> {
    let mut w = req.split_whitespace();
    if !matches!(w.next()?, "CR" | "EDR" | "HDR" | "NDR" | "SAR") {
        return None;
    }
    let n: u8 = w.next()?.split('.').next()?.parse().ok()?;
    (1..=7).contains(&n).then(|| format!("FR{n}"))
}

/// SL ceilings of one attestation: the device's claim, the collector's own
/// computation, the value to use and the disagreement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ceilings {
    pub claimed: BTreeMap<String, u8>,
    /// Computed from the rule results and the catalog, for the FRs with at
    /// least one known rule that passed or failed.
    pub computed: BTreeMap<String, u8>,
    /// The computed ceiling where there is one, else the claim (an FR whose
    /// rules no held catalog knows cannot be checked).
    pub effective: BTreeMap<String, u8>,
    /// The FRs where the claim differs from the computation, as text.
    pub dispute: Option<String>,
}

/// Computes the SL ceiling per FR with the agent's semantics (`summarize` in
/// `scan/src/report.rs`): each FR with a rule that passed or failed starts
/// at 4; a failing rule lowers the ceiling of the FR of each of its
/// requirements to that requirement's lowest SL minus one. Rule metadata
/// comes from the catalog of the agent version that signed the token (or
/// the newest catalog knowing the rule); unknown rules do not count.
pub fn ceilings(claims: &Claims, cats: &Catalogs) -> Ceilings {
    let version = agent_version(claims);
    // The same answer as `Catalogs::lookup`, indexed once per token rather
    // than a scan of every catalog per result (this runs on every attestation).
    let exact = version.as_deref().and_then(|v| cats.get(v)).map(|c| {
        c.rules
            .iter()
            .map(|r| (r.id.as_str(), r))
            .collect::<HashMap<_, _>>()
    });
    // The newest held catalog knowing each rule, indexed only when a rule
    // is missing from the token's own version (rarely: a newer agent).
    let mut newest: Option<HashMap<&str, &RuleMeta>> = None;
    let mut computed: BTreeMap<String, u8> = BTreeMap::new();
    for (rule, code) in claims.measres.iter().flat_map(|(_, r)| r.iter()) {
        if *code != eat::RESULT_PASS && *code != eat::RESULT_FAIL {
            continue;
        }
        let found = exact.as_ref().and_then(|m| m.get(rule.as_str()).copied());
        let Some(meta) = found.or_else(|| {
            newest
                .get_or_insert_with(|| {
                    let mut n = HashMap::new();
                    for v in cats.versions() {
                        for r in cats.get(v).map(|c| &c.rules[..]).unwrap_or_default() {
                            n.insert(r.id.as_str(), r);
                        }
                    }
                    n
                })
                .get(rule.as_str())
                .copied()
        }) else {
            continue;
        };
        for req in &meta.requirements {
            let Some(fr) = fr_of(&req.id) else { continue };
            let e = computed.entry(fr).or_insert(4);
            if *code == eat::RESULT_FAIL {
                *e = (*e).min(req.min_sl.saturating_sub(1));
            }
        }
    }
    let claimed: BTreeMap<String, u8> = claims.sl_ceiling.iter().cloned().collect();
    let mut effective = claimed.clone();
    effective.extend(computed.iter().map(|(k, v)| (k.clone(), *v)));
    let diffs: Vec<String> = computed
        .iter()
        .filter(|(fr, c)| claimed.get(*fr) != Some(c))
        .map(|(fr, c)| match claimed.get(fr) {
            Some(d) => format!("{fr}: device claims {d}, computed {c}"),
            None => format!("{fr}: device claims none, computed {c}"),
        })
        .collect();
    Ceilings {
        claimed,
        computed,
        effective,
        dispute: (!diffs.is_empty()).then(|| diffs.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sl_ceiling_is_computed_from_results_and_catalog_and_a_false_claim_flagged() {
        let cats = Catalogs::shipped();
        let cat = cats.get(cats.versions()[0]).unwrap().clone();
        // Three failing rules filed under FR1 requirements.
        let fr1: Vec<&RuleMeta> = cat
            .rules
            .iter()
            .filter(|r| {
                r.requirements
                    .iter()
                    .any(|q| fr_of(&q.id).as_deref() == Some("FR1"))
            })
            .take(3)
            .collect();
        assert_eq!(fr1.len(), 3);
        let expect = fr1
            .iter()
            .flat_map(|r| r.requirements.iter())
            .filter(|q| fr_of(&q.id).as_deref() == Some("FR1"))
            .map(|q| q.min_sl - 1)
            .min()
            .unwrap();
        let c = Claims {
            measres: vec![(
                "x".into(),
                fr1.iter()
                    .map(|r| (r.id.clone(), eat::RESULT_FAIL))
                    .collect(),
            )],
            sl_ceiling: vec![("FR1".into(), 4)],
            ..Default::default()
        };
        let ce = ceilings(&c, &cats);
        assert_eq!(ce.claimed.get("FR1"), Some(&4));
        assert_eq!(ce.computed.get("FR1"), Some(&expect));
        assert_eq!(ce.effective.get("FR1"), Some(&expect));
        assert!(expect < 2, "three failing FR1 rules cannot meet SL 2");
        assert!(ce.dispute.unwrap().contains("FR1: device claims 4"));
        // An honest claim of passing rules agrees.
        let honest = Claims {
            measres: vec![(
                "x".into(),
                fr1.iter()
                    .map(|r| (r.id.clone(), eat::RESULT_PASS))
                    .collect(),
            )],
            ..c
        };
        let ce = ceilings(
            &Claims {
                sl_ceiling: ceilings(&honest, &cats).computed.into_iter().collect(),
                ..honest.clone()
            },
            &cats,
        );
        assert_eq!(ce.dispute, None);
        assert_eq!(ce.computed.get("FR1"), Some(&4));
    }
}
