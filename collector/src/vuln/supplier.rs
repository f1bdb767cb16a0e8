//! Supplier VEX statements (CSAF, OpenVEX, CycloneDX, stored by
//! `feeds`) applied to a match: the latest statement naming the advisory
//! (or an alias) and the package, as a product purl (with or without
//! version) or CPE.

use super::osv::{self, component, purl_parts, Advisory};
use super::{identity, version};
use crate::store::{Statement, SupplierVex};

/// Our VEX status of a supplier's (OpenVEX, CSAF, CycloneDX names).
fn vex_status(s: &str) -> Option<&'static str> {
    Some(match s.to_ascii_lowercase().as_str() {
        "not_affected" | "known_not_affected" | "false_positive" => "not_affected",
        "affected" | "known_affected" | "exploitable" => "affected",
        "fixed" | "first_fixed" | "resolved" | "resolved_with_pedigree" => "fixed",
        "under_investigation" | "in_triage" => "under_investigation",
        _ => return None,
    })
}

/// Whether a supplier's product (a purl, with or without version, or a
/// CPE) names this package.
fn product_matches(product: &str, purl: &str, eco: &str, key: &str, version: &str) -> bool {
    let product = product.trim();
    if let Some(rest) = product.strip_prefix("pkg:") {
        let Some((ty, name, ver, _)) = purl_parts(purl) else {
            return false;
        };
        let path = rest.split(['?', '#']).next().unwrap_or("");
        let (path, pver) = match path.rsplit_once('@') {
            Some((p, v)) => (p, Some(osv::pct_decode(v))),
            None => (path, None),
        };
        let Some((pty, pns_name)) = path.split_once('/') else {
            return false;
        };
        let pname = osv::pct_decode(pns_name.rsplit('/').next().unwrap_or(""));
        let names_it = pty == ty && (pname == name || pname == component(purl).2);
        return names_it && pver.is_none_or(|v| v == osv::pct_decode(ver));
    }
    match identity::cpe_key(product) {
        Some((vp, v)) => {
            eco == identity::CPE
                && vp == key
                && v.is_none_or(|v| version::cpe_cmp(&v, version).is_eq())
        }
        None => false,
    }
}

/// The supplier's statement on `adv` for this package: the latest one
/// naming the advisory (or an alias) and the product.
pub(super) fn supplier_statement(
    all: &[SupplierVex],
    adv: &Advisory,
    purl: &str,
    eco: &str,
    key: &str,
    version: &str,
) -> Option<Statement> {
    all.iter()
        .filter(|s| s.vuln == adv.id || adv.aliases.contains(&s.vuln))
        .filter(|s| vex_status(&s.status).is_some())
        .filter(|s| product_matches(&s.product, purl, eco, key, version))
        .max_by_key(|s| s.at)
        .map(|s| Statement {
            status: vex_status(&s.status).unwrap_or("affected").to_string(),
            justification: s.justification.clone(),
            detail: s.detail.clone(),
            source: format!("supplier: {}", s.source),
        })
}
