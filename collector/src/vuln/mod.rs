//! Vulnerability matching on attested inventories with OSV advisories
//! (https://ossf.github.io/osv-schema/) imported from files (air-gapped
//! sites): `osv` parses advisories, maps a purl to its ecosystem and
//! evaluates OSV ranges with each ecosystem's ordering (`version`); this
//! module imports advisories and matches every device's latest inventory;
//! `vex` renders the operator's VEX statements as CycloneDX.

pub mod version;

use crate::store::{PutAdvisory, Store, VexEntry};
use serde_json::Value;

mod osv;
mod vex;

use osv::purl_parts;
pub use osv::{evaluate, ordering, package_key, parse, Advisory, Affected, Event, Range};
pub use vex::{cdx_state, vex_document, JUSTIFICATIONS};

/// Counts of one `vulndb import`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub new: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// (file or `zip!entry`, reason) of advisories that were skipped.
    pub errors: Vec<(String, String)>,
}

/// Imports a file's bytes: a zip of OSV JSON files (as osv.dev publishes
/// per ecosystem), a JSON array of advisories, or one advisory.
pub fn import_bytes(store: &dyn Store, name: &str, bytes: &[u8], now: i64, rep: &mut ImportReport) {
    if bytes.starts_with(b"PK\x03\x04") {
        let mut z = match zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
            Ok(z) => z,
            Err(e) => return rep.errors.push((name.into(), format!("zip: {e}"))),
        };
        for i in 0..z.len() {
            let mut f = match z.by_index(i) {
                Ok(f) => f,
                Err(e) => {
                    rep.errors
                        .push((format!("{name}!#{i}"), format!("zip: {e}")));
                    continue;
                }
            };
            let entry = format!("{name}!{}", f.name());
            if !f.name().ends_with(".json") {
                continue;
            }
            if f.size() > 16 * 1024 * 1024 {
                rep.errors.push((entry, "larger than 16 MiB".into()));
                continue;
            }
            let mut text = String::new();
            if let Err(e) = std::io::Read::read_to_string(&mut f, &mut text) {
                rep.errors.push((entry, e.to_string()));
                continue;
            }
            import_text(store, &entry, &text, now, rep);
        }
        return;
    }
    match std::str::from_utf8(bytes) {
        Ok(t) => import_text(store, name, t, now, rep),
        Err(_) => rep.errors.push((name.into(), "not UTF-8 JSON".into())),
    }
}

fn import_text(store: &dyn Store, origin: &str, text: &str, now: i64, rep: &mut ImportReport) {
    let docs: Vec<String> = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(a)) => a.iter().map(|v| v.to_string()).collect(),
        Ok(_) => vec![text.to_string()],
        Err(e) => return rep.errors.push((origin.into(), format!("JSON: {e}"))),
    };
    for d in docs {
        let adv = match parse(&d) {
            Ok(a) => a,
            Err(e) => {
                rep.errors.push((origin.into(), e));
                continue;
            }
        };
        let keys: Vec<(String, String)> = adv
            .affected
            .iter()
            .map(|a| (a.ecosystem.clone(), a.name.clone()))
            .collect();
        match store.put_advisory(&adv.id, &adv.modified, &keys, &d, origin, now) {
            Ok(PutAdvisory::New) => rep.new += 1,
            Ok(PutAdvisory::Updated) => rep.updated += 1,
            Ok(PutAdvisory::Unchanged) => rep.unchanged += 1,
            Err(e) => rep.errors.push((origin.into(), format!("storage: {e}"))),
        }
    }
}

/// One affected package on one device.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub device_id: i64,
    pub vuln: String,
    pub aliases: Vec<String>,
    pub summary: Option<String>,
    pub severity: Option<(String, String)>,
    pub purl: String,
    pub ecosystem: String,
    pub package: String,
    pub version: String,
    pub fixed: Option<String>,
    /// The operator's statement: device-specific, else fleet-wide.
    pub vex: Option<VexEntry>,
}

impl Match {
    /// Open: no VEX statement, or one saying affected / under investigation.
    pub fn is_open(&self) -> bool {
        self.vex
            .as_ref()
            .is_none_or(|v| matches!(v.status.as_str(), "affected" | "under_investigation"))
    }
}

/// Matches every active device's latest attested inventory against the
/// imported advisories.
pub fn matches(store: &dyn Store) -> Result<Vec<Match>, String> {
    use std::collections::HashMap;
    let vex = store.vex_entries()?;
    let mut cache: HashMap<(String, String), Vec<Advisory>> = HashMap::new();
    let mut out = Vec::new();
    for (device, purls) in store.latest_packages()? {
        // Compensating countermeasures the device reported as accepted findings.
        let accepted: Vec<fieldattest_protocol::eat::FindingRef> = store
            .latest_token(device)?
            .and_then(|t| {
                let (sign1, _) = fieldattest_protocol::token::parse(&t.raw).ok()?;
                fieldattest_protocol::eat::decode(sign1.payload.as_deref()?).ok()
            })
            .map(|c| {
                c.findings
                    .into_iter()
                    .filter(|f| f.accepted.is_some())
                    .collect()
            })
            .unwrap_or_default();
        for purl in purls {
            let Some((eco, name, ver)) = package_key(&purl) else {
                continue;
            };
            // The binary package name, which accepted findings may name.
            let binary = purl_parts(&purl).map(|p| p.1).unwrap_or_default();
            let key = (eco.clone(), name.clone());
            if !cache.contains_key(&key) {
                let advs = store
                    .advisories_for(&eco, &name)?
                    .into_iter()
                    .filter_map(|(_, raw)| parse(&raw).ok())
                    .collect();
                cache.insert(key.clone(), advs);
            }
            for adv in &cache[&key] {
                let hit = adv
                    .affected
                    .iter()
                    .filter(|a| a.ecosystem == eco && a.name == name)
                    .find_map(|a| evaluate(a, &ver));
                let Some(fixed) = hit else {
                    continue;
                };
                let v = vex
                    .iter()
                    .find(|v| v.vuln == adv.id && v.device_id == Some(device))
                    .or_else(|| {
                        vex.iter()
                            .find(|v| v.vuln == adv.id && v.device_id.is_none())
                    })
                    .cloned()
                    .or_else(|| {
                        // An accepted finding about this package or vulnerability
                        // carries its countermeasure into the VEX justification.
                        let f = accepted.iter().find(|f| {
                            [name.as_str(), binary.as_str(), adv.id.as_str()]
                                .contains(&f.subject.as_str())
                                || adv.aliases.contains(&f.subject)
                        })?;
                        Some(VexEntry {
                            vuln: adv.id.clone(),
                            device_id: Some(device),
                            status: "not_affected".into(),
                            justification: Some("protected_by_mitigating_control".into()),
                            detail: Some(format!(
                                "accepted finding {} ({}): {}",
                                f.rule,
                                f.subject,
                                f.accepted.as_deref().unwrap_or("")
                            )),
                            at: 0,
                        })
                    });
                out.push(Match {
                    device_id: device,
                    vuln: adv.id.clone(),
                    aliases: adv.aliases.clone(),
                    summary: adv.summary.clone(),
                    severity: adv.severity.clone(),
                    purl: purl.clone(),
                    ecosystem: eco.clone(),
                    package: name.clone(),
                    version: ver.clone(),
                    fixed,
                    vex: v,
                });
            }
        }
    }
    Ok(out)
}

/// One row of the `vulns` listing: an advisory on a device for one source
/// package, with every binary package of that source it matched (glibc's
/// advisory is one row for libc6 and libc-bin, not two).
#[derive(Debug, Clone, PartialEq)]
pub struct Listed<'a> {
    /// The first match of the group (device, advisory, source, fix, VEX).
    pub first: &'a Match,
    /// Binary package names, sorted, without repeats.
    pub binaries: Vec<String>,
    /// Installed versions, sorted, without repeats (normally one).
    pub versions: Vec<String>,
}

/// Groups matches by (device, advisory, ecosystem, source package), in the
/// order of their first match.
pub fn listing(ms: &[Match]) -> Vec<Listed<'_>> {
    use std::collections::HashMap;
    let mut at: HashMap<(i64, &str, &str, &str), usize> = HashMap::new();
    let mut out: Vec<Listed> = Vec::new();
    for m in ms {
        let key = (
            m.device_id,
            m.vuln.as_str(),
            m.ecosystem.as_str(),
            m.package.as_str(),
        );
        let i = *at.entry(key).or_insert_with(|| {
            out.push(Listed {
                first: m,
                binaries: Vec::new(),
                versions: Vec::new(),
            });
            out.len() - 1
        });
        let l = &mut out[i];
        let binary = purl_parts(&m.purl)
            .map(|p| p.1)
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| m.package.clone());
        if !l.binaries.contains(&binary) {
            l.binaries.push(binary);
        }
        if !l.versions.contains(&m.version) {
            l.versions.push(m.version.clone());
        }
    }
    for l in &mut out {
        l.binaries.sort();
        l.versions.sort();
    }
    out
}

/// CycloneDX `analysis.justification` values (1.6).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_findings_carry_into_the_vex_justification() {
        use crate::store::SqliteStore;
        use ciborium::value::Value as C;
        use fieldattest_protocol::eat::{Claims, FindingRef, CF_COSWID};
        use fieldattest_protocol::token::{self, PublicKey};
        use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        let store = SqliteStore::memory().unwrap();
        let rng = ring::rand::SystemRandom::new();
        let p8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let kp =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, p8.as_ref(), &rng).unwrap();
        let pk = PublicKey::from_sec1(kp.public_key().as_ref()).unwrap();
        let ueid = vec![1u8; 33];
        let id = store
            .insert_device(&pk.kid(), &ueid, &pk.0, "plant", 0)
            .unwrap();
        store.set_status(id, "active").unwrap();
        let purl =
            "pkg:deb/debian/telnetd@0.17+2.4-2?arch=arm64&distro=debian-12&upstream=inetutils";
        let coswid = fieldattest_protocol::cbor::to_vec(&C::Map(vec![(
            C::Integer(0.into()),
            C::Text(purl.into()),
        )]));
        let claims = Claims {
            iat: 1,
            cti: vec![7; 16],
            ueid,
            intuse: 1,
            seq: 1,
            key_tier: 3,
            measurements: vec![(CF_COSWID, coswid)],
            findings: vec![FindingRef {
                rule: "services.telnet".into(),
                subject: "telnetd".into(),
                path: "/etc/inetd.conf".into(),
                accepted: Some("only on the isolated maintenance VLAN (SEC-9)".into()),
            }],
            ..Default::default()
        };
        let tok = token::sign(&claims, &pk.kid(), |tbs| {
            kp.sign(&rng, tbs)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "sign")
        })
        .unwrap();
        crate::verify::accept(&store, &tok, crate::verify::Arrival::Offline, 10).unwrap();
        let adv = r#"{"id":"DEBIAN-CVE-2020-10188","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2020-10188"],
            "affected":[{"package":{"ecosystem":"Debian:12","name":"inetutils"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2:2.4-3"}]}]}]}"#;
        let mut rep = ImportReport::default();
        import_bytes(&store, "adv.json", adv.as_bytes(), 20, &mut rep);
        assert_eq!(rep.new, 1, "{rep:?}");
        let ms = matches(&store).unwrap();
        assert_eq!(ms.len(), 1);
        let v = ms[0].vex.as_ref().unwrap();
        assert_eq!(v.status, "not_affected");
        assert_eq!(
            v.justification.as_deref(),
            Some("protected_by_mitigating_control")
        );
        assert!(v.detail.as_deref().unwrap().contains("maintenance VLAN"));
        assert!(!ms[0].is_open());
        // An operator statement takes precedence over the device's acceptance.
        store
            .set_vex(&VexEntry {
                vuln: "DEBIAN-CVE-2020-10188".into(),
                device_id: Some(id),
                status: "affected".into(),
                justification: None,
                detail: None,
                at: 30,
            })
            .unwrap();
        assert!(matches(&store).unwrap()[0].is_open());
    }
}
