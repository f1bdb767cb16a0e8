use super::*;

use crate::store::{DeviceCveStatus, DeviceListener, SqliteStore};
use fieldattest_protocol::eat::FindingRef;

/// A new active device of `site` attesting `purls` and `findings`.
fn attest(store: &SqliteStore, site: &str, purls: &[&str], findings: Vec<FindingRef>) -> i64 {
    use ciborium::value::Value as C;
    use fieldattest_protocol::eat::{Claims, CF_COSWID};
    use fieldattest_protocol::token::{self, PublicKey};
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let rng = ring::rand::SystemRandom::new();
    let p8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, p8.as_ref(), &rng).unwrap();
    let pk = PublicKey::from_sec1(kp.public_key().as_ref()).unwrap();
    let mut ueid = vec![1u8];
    ueid.extend(pk.kid().iter().cycle().take(32));
    let id = store
        .insert_device(&pk.kid(), &ueid, &pk.0, site, 0)
        .unwrap();
    store.set_status(id, "active").unwrap();
    let measurements = purls
        .iter()
        .map(|purl| {
            (
                CF_COSWID,
                fieldattest_protocol::cbor::to_vec(&C::Map(vec![(
                    C::Integer(0.into()),
                    C::Text(purl.to_string()),
                )])),
            )
        })
        .collect();
    let claims = Claims {
        iat: 1,
        cti: vec![7; 16],
        ueid,
        intuse: 1,
        seq: 1,
        key_tier: 3,
        measurements,
        findings,
        ..Default::default()
    };
    let tok = token::sign(&claims, &pk.kid(), |tbs| {
        kp.sign(&rng, tbs)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| "sign")
    })
    .unwrap();
    crate::verify::accept(store, &tok, crate::verify::Arrival::Offline, 10).unwrap();
    id
}

#[test]
fn accepted_findings_carry_into_the_vex_justification() {
    let store = SqliteStore::memory().unwrap();
    let purl = "pkg:deb/debian/telnetd@0.17+2.4-2?arch=arm64&distro=debian-12&upstream=inetutils";
    let id = attest(
        &store,
        "plant",
        &[purl],
        vec![FindingRef {
            rule: "services.telnet".into(),
            subject: "telnetd".into(),
            path: "/etc/inetd.conf".into(),
            accepted: Some("only on the isolated maintenance VLAN (SEC-9)".into()),
        }],
    );
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

/// `purl::encode` of scan: a qualifier value as the agent writes it.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_~:".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn cpe_adv(id: &str, product: &str, events: &str) -> String {
    format!(
        r#"{{"id":"{id}","modified":"2024-01-01T00:00:00Z",
          "severity":[{{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}},
                      {{"type":"CVSS_V4","score":"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}}],
          "affected":[{{"package":{{"ecosystem":"CPE","name":"{product}"}},"ranges":[{events}]}}]}}"#
    )
}

/// Imports advisories as `vulndb import` does: what they touch is
/// matched again; (report, sets matched).
fn import(store: &SqliteStore, docs: &[String]) -> (ImportReport, usize) {
    let mut rep = ImportReport::default();
    let text = format!("[{}]", docs.join(","));
    import_bytes(store, "t.json", text.as_bytes(), 20, &mut rep);
    assert!(rep.errors.is_empty(), "{rep:?}");
    let touched: Vec<(String, String)> = rep.touched.iter().cloned().collect();
    let n = refresh_keys(store, &touched).unwrap();
    (rep, n)
}

fn cve(id: &str, comp: &str, status: &str, detail: &str) -> DeviceCveStatus {
    DeviceCveStatus {
        vuln: id.into(),
        component: comp.into(),
        status: status.into(),
        detail: detail.into(),
        description: "from the recipe".into(),
    }
}

/// (vuln, component) open on a device, by `matches` (the `vulns`
/// command) — checked equal to the store's (`OPEN`, the console) and to
/// the fleet view's count.
fn open_on(store: &SqliteStore, device: i64) -> Vec<(String, String)> {
    let mut by_matches: Vec<(String, String)> = matches(store)
        .unwrap()
        .into_iter()
        .filter(|m| m.device_id == device && m.is_open())
        .map(|m| (m.vuln, m.package))
        .collect();
    by_matches.sort();
    by_matches.dedup();
    let mut by_sql: Vec<(String, String)> = store
        .device_vulns(device)
        .unwrap()
        .into_iter()
        .map(|v| (v.vuln, v.component))
        .collect();
    by_sql.sort();
    assert_eq!(by_matches, by_sql, "vulns and the console disagree");
    let row = store.device_row(device).unwrap().unwrap();
    assert_eq!(row.vulns_open as usize, by_sql.len(), "the device's count");
    by_matches
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn yocto_components_match_cpe_advisories_with_cve_status_as_vex() {
    let store = SqliteStore::memory().unwrap();
    let ssl = format!(
        "pkg:yocto/openssl@3.0.2?arch=cortexa53&cpe={}",
        enc("cpe:2.3:a:openssl:openssl:3.0.2:*:*:*:*:*:*:*")
    );
    let kernel = format!(
        "pkg:generic/linux@6.1.95?cpe={}",
        enc("cpe:2.3:o:linux:linux_kernel:6.1.95:*:*:*:*:*:*:*")
    );
    let plc = "pkg:yocto/plc-runtime@2.1?arch=cortexa53";
    let d = attest(&store, "plant", &[&ssl, &kernel, plc], vec![]);
    import(
        &store,
        &[
            // Fires: 3.0.2 in [3.0.0, 3.0.9).
            cpe_adv(
                "CVE-2023-0464",
                "openssl:openssl",
                r#"{"type":"ECOSYSTEM","events":[{"introduced":"3.0.0"},{"fixed":"3.0.9"}]}"#,
            ),
            // Does not fire: fixed before.
            cpe_adv(
                "CVE-2021-3711",
                "openssl:openssl",
                r#"{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.1.1l"}]}"#,
            ),
            // Kernel, fixed in the device's stable branch (6.1.90) and in mainline 6.9: not reported.
            cpe_adv(
                "CVE-2024-1111",
                "linux:linux_kernel",
                r#"{"type":"ECOSYSTEM","events":[{"introduced":"6.1"},{"fixed":"6.1.90"}]},{"type":"ECOSYSTEM","events":[{"introduced":"6.2"},{"fixed":"6.9"}]}"#,
            ),
            // Kernel, fixed in 6.1.100: reported.
            cpe_adv(
                "CVE-2024-2222",
                "linux:linux_kernel",
                r#"{"type":"ECOSYSTEM","events":[{"introduced":"6.1"},{"fixed":"6.1.100"}]}"#,
            ),
            // Kernel, 6.1.95-rc1 < 6.1.95 last affected: not reported.
            cpe_adv(
                "CVE-2024-3333",
                "linux:linux_kernel",
                r#"{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"last_affected":"6.1.95-rc1"}]}"#,
            ),
        ],
    );
    assert_eq!(
        open_on(&store, d),
        pairs(&[("CVE-2023-0464", "openssl"), ("CVE-2024-2222", "linux")])
    );
    let ms = matches(&store).unwrap();
    let m = ms.iter().find(|m| m.vuln == "CVE-2023-0464").unwrap();
    assert_eq!(
        (m.ecosystem.as_str(), m.fixed.as_deref()),
        ("CPE", Some("3.0.9"))
    );
    assert_eq!(m.cvss.len(), 2, "every vector kept");
    // Coverage: plc-runtime has no CPE; the rest is covered.
    let cov = store.coverage(Some(d)).unwrap();
    assert_eq!((cov.total, cov.unidentified, cov.uncovered), (3, 1, 0));
    // The kernel reports no build configuration: its CVEs are not checked
    // against one, and the coverage says so.
    assert_eq!(
        cov.notes,
        [
            "no CPE for recipe plc-runtime",
            "kernel: no build configuration reported (kernel CVEs are not checked against it)"
        ]
    );
    assert_eq!(cov.count(2), "2 open (1 of 3 components not covered)");
    // The image's CVE_STATUS: Patched closes (resolved), Unpatched stays
    // open with its detail, Ignored as not applicable closes.
    store.put_claims_for_test(
        d,
        &[
            cve("CVE-2023-0464", "openssl", "Patched", "backported-patch"),
            cve(
                "CVE-2024-2222",
                "linux-yocto",
                "Unpatched",
                "upstream-wontfix",
            ),
            cve("CVE-2024-2222", "linux", "Ignored", "disputed"),
        ],
        &[],
    );
    refresh(&store, true).unwrap();
    assert_eq!(open_on(&store, d), pairs(&[("CVE-2024-2222", "linux")]));
    let ms = matches(&store).unwrap();
    let closed = ms.iter().find(|m| m.vuln == "CVE-2023-0464").unwrap();
    assert_eq!(closed.vex.as_ref().unwrap().status, "fixed");
    assert_eq!(closed.vex_source.as_deref(), Some("image CVE_STATUS"));
    assert_eq!(cdx_state("fixed"), Some("resolved"));
    let open = ms.iter().find(|m| m.vuln == "CVE-2024-2222").unwrap();
    assert_eq!(open.image_status.as_deref(), Some("Ignored (disputed)"));
    store.put_claims_for_test(
        d,
        &[
            cve("CVE-2023-0464", "openssl", "Patched", "backported-patch"),
            cve("CVE-2024-2222", "linux", "Ignored", "not-applicable-config"),
        ],
        &[],
    );
    refresh(&store, true).unwrap();
    assert!(open_on(&store, d).is_empty());
    let ms = matches(&store).unwrap();
    let cfg = ms.iter().find(|m| m.vuln == "CVE-2024-2222").unwrap();
    let v = cfg.vex.as_ref().unwrap();
    assert_eq!(
        (v.status.as_str(), v.justification.as_deref()),
        ("not_affected", Some("requires_configuration"))
    );
    assert!(fleet_open(&store).unwrap().is_empty());
    // The operator's statement wins over the image's.
    store
        .set_vex(&VexEntry {
            vuln: "CVE-2023-0464".into(),
            device_id: None,
            status: "affected".into(),
            justification: None,
            detail: None,
            at: 30,
        })
        .unwrap();
    assert_eq!(open_on(&store, d), pairs(&[("CVE-2023-0464", "openssl")]));
    let f = fleet_open(&store).unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].vuln.as_str(), f[0].devices), ("CVE-2023-0464", 1));
    let o = matches(&store)
        .unwrap()
        .into_iter()
        .find(|m| m.vuln == "CVE-2023-0464")
        .unwrap();
    assert_eq!(o.vex_source.as_deref(), Some("operator"));
}

#[test]
fn cve_status_mapping() {
    assert_eq!(
        cve_status_vex("Patched", "fixed-version"),
        Some(("fixed", None))
    );
    assert_eq!(
        cve_status_vex("Patched", "cpe-stable-backport"),
        Some(("fixed", None))
    );
    assert_eq!(
        cve_status_vex("Ignored", "not-applicable-platform"),
        Some(("not_affected", Some("requires_environment")))
    );
    assert_eq!(
        cve_status_vex("Ignored", "cpe-incorrect"),
        Some(("not_affected", Some("code_not_present")))
    );
    for (s, d) in [
        ("Ignored", "disputed"),
        ("Ignored", "upstream-wontfix"),
        ("Unpatched", "vulnerable-investigating"),
        ("Ignored", "something-new"),
        ("patched", "fixed-version"),
        ("", ""),
    ] {
        assert_eq!(cve_status_vex(s, d), None, "{s} {d}");
    }
}

#[test]
fn supplier_statements_name_their_product() {
    let adv = parse(&cpe_adv(
        "CVE-2024-9",
        "openssl:openssl",
        r#"{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}"#,
    ))
    .unwrap();
    let sv = |product: &str, status: &str, at: i64| SupplierVex {
        vuln: "CVE-2024-9".into(),
        product: product.into(),
        status: status.into(),
        justification: Some("component_not_present".into()),
        detail: None,
        source: "acme-csaf.json".into(),
        at,
    };
    let yocto = "pkg:yocto/openssl@3.0.2?arch=x";
    let cpe = |all: &[SupplierVex]| {
        supplier_statement(all, &adv, yocto, "CPE", "openssl:openssl", "3.0.2")
    };
    // CPE product, with the version or without.
    let s = cpe(&[sv(
        "cpe:2.3:a:openssl:openssl:3.0.2:*:*:*:*:*:*:*",
        "known_not_affected",
        1,
    )])
    .unwrap();
    assert_eq!(
        (s.status.as_str(), s.source.as_str()),
        ("not_affected", "supplier: acme-csaf.json")
    );
    assert!(cpe(&[sv("cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*", "fixed", 1)]).is_some());
    assert!(cpe(&[sv(
        "cpe:2.3:a:openssl:openssl:3.0.3:*:*:*:*:*:*:*",
        "fixed",
        1
    )])
    .is_none());
    assert!(cpe(&[sv(
        "cpe:2.3:a:other:openssl:3.0.2:*:*:*:*:*:*:*",
        "fixed",
        1
    )])
    .is_none());
    // A purl product, with or without version.
    assert!(cpe(&[sv("pkg:yocto/openssl", "not_affected", 1)]).is_some());
    assert!(cpe(&[sv("pkg:yocto/openssl@3.0.2", "not_affected", 1)]).is_some());
    assert!(cpe(&[sv("pkg:yocto/openssl@3.0.1", "not_affected", 1)]).is_none());
    assert!(cpe(&[sv("pkg:deb/debian/openssl", "not_affected", 1)]).is_none());
    // Another vulnerability, an unknown status: nothing; the latest wins.
    let mut other = sv("pkg:yocto/openssl", "not_affected", 1);
    other.vuln = "CVE-2024-8".into();
    assert!(cpe(&[other]).is_none());
    assert!(cpe(&[sv("pkg:yocto/openssl", "maybe", 1)]).is_none());
    let s = cpe(&[
        sv("pkg:yocto/openssl", "not_affected", 5),
        sv("pkg:yocto/openssl", "affected", 9),
        sv("pkg:yocto/openssl", "fixed", 2),
    ])
    .unwrap();
    assert_eq!(s.status, "affected");
    // A Debian binary package named by its source.
    let deb = "pkg:deb/debian/libssl3@3.0.11-1?distro=debian-12&upstream=openssl";
    assert!(supplier_statement(
        &[sv("pkg:deb/debian/openssl@3.0.11-1", "not_affected", 1)],
        &adv,
        deb,
        "Debian:12",
        "openssl",
        "3.0.11-1"
    )
    .is_some());
}

#[test]
fn an_import_rematches_the_sets_it_touches_and_coverage_follows() {
    let store = SqliteStore::memory().unwrap();
    let alpine = "pkg:apk/alpine/busybox@1.36.1-r15?arch=aarch64&distro=alpine-3.19.1";
    let deb = "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12&upstream=zlib";
    let a = attest(&store, "north", &[alpine], vec![]);
    let b = attest(&store, "south", &[deb], vec![]);
    let (_, n) = import(
        &store,
        &[r#"{"id":"DEBIAN-CVE-2023-45853","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:12","name":"zlib"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:1.2.13.dfsg-1+deb12u1"}]}]}]}"#.to_string()],
    );
    // Matched at attestation (nothing imported then); the import
    // matches the Debian set again, not the Alpine one.
    assert_eq!(n, 1);
    let ca = store.coverage(Some(a)).unwrap();
    assert_eq!((ca.total, ca.uncovered), (1, 1));
    assert_eq!(
        ca.notes,
        vec!["Alpine:v3.19: no advisories imported (1 component)".to_string()]
    );
    assert_eq!(ca.count(0), "0 open (1 of 1 components not covered)");
    assert_eq!(open_on(&store, b).len(), 1);
    // The fleet: both sets, one component of two not covered.
    let fleet = store.coverage(None).unwrap();
    assert_eq!((fleet.sets, fleet.total, fleet.not_covered()), (2, 2, 1));
    // A Debian advisory for another package re-matches nothing.
    let (rep, n) = import(
        &store,
        &[r#"{"id":"DEBIAN-CVE-2024-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Debian:12","name":"curl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}"#.to_string()],
    );
    let touched: Vec<(String, String)> = rep.touched.into_iter().collect();
    assert_eq!(touched, vec![("Debian:12".to_string(), "curl".to_string())]);
    assert_eq!(n, 0);
    // The first Alpine advisory (for another package) re-matches the
    // Alpine set, which is covered from then on; one for busybox fires.
    let (_, n) = import(
        &store,
        &[r#"{"id":"ALPINE-CVE-2023-42363","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Alpine:v3.19","name":"busybox"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1.36.0-r0"},{"last_affected":"1.36.1-r15"}]}]}]}"#.to_string()],
    );
    assert_eq!(n, 1);
    let ca = store.coverage(Some(a)).unwrap();
    assert_eq!(ca.not_covered(), 0);
    assert_eq!(ca.count(1), "1 open (all 1 components covered)");
    assert_eq!(
        open_on(&store, a),
        pairs(&[("ALPINE-CVE-2023-42363", "busybox")])
    );
    // The site filter of the fleet view.
    let north = fleet_open_where(
        &store,
        &FleetFilter {
            site: Some("north".into()),
        },
    )
    .unwrap();
    assert_eq!(
        north.iter().map(|v| v.vuln.as_str()).collect::<Vec<_>>(),
        vec!["ALPINE-CVE-2023-42363"]
    );
    assert_eq!(fleet_open(&store).unwrap().len(), 2);
}

#[test]
fn the_fleet_view_counts_reachable_devices() {
    let store = SqliteStore::memory().unwrap();
    let ssh = format!(
        "pkg:yocto/openssh@9.6p1?cpe={}",
        enc("cpe:2.3:a:openbsd:openssh:9.6:p1:*:*:*:*:*:*")
    );
    let a = attest(&store, "x", &[&ssh], vec![]);
    let b = attest(&store, "x", &[&ssh], vec![]);
    let c = attest(&store, "x", &[&ssh], vec![]);
    import(
        &store,
        &[cpe_adv(
            "CVE-2024-6387",
            "openbsd:openssh",
            r#"{"type":"ECOSYSTEM","events":[{"introduced":"8.5"},{"fixed":"9.8"}]}"#,
        )],
    );
    let l = |addr: &str| DeviceListener {
        proto: "tcp".into(),
        addr: addr.into(),
        port: 22,
        process: Some("sshd".into()),
        package: Some("openssh-sshd".into()),
    };
    // The kept view follows every change: new listeners, a new advisory.
    let kept = super::FleetCache::default();
    let all = super::FleetFilter::default();
    assert_eq!(kept.view(&store, &all, 1).unwrap().rows[0].reachable, 0);
    store.put_claims_for_test(a, &[], &[l("0.0.0.0")]);
    store.put_claims_for_test(b, &[], &[l("127.0.0.1")]);
    let v = kept.view(&store, &all, 2).unwrap();
    assert_eq!((v.computed_at, v.rows[0].reachable), (2, 1));
    import(
        &store,
        &[cpe_adv(
            "CVE-2099-0001",
            "openbsd:openssh",
            r#"{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}"#,
        )],
    );
    assert_eq!(kept.view(&store, &all, 3).unwrap().rows.len(), 2);
    store.set_status(c, "revoked").unwrap();
    assert_eq!(kept.view(&store, &all, 4).unwrap().rows[0].devices, 2);
    store.set_status(c, "active").unwrap();
    let f = fleet_open(&store).unwrap();
    assert_eq!(f, *kept.view(&store, &all, 5).unwrap().rows);
    let f: Vec<_> = f
        .into_iter()
        .filter(|x| x.vuln == "CVE-2024-6387")
        .collect();
    assert_eq!((f[0].devices, f[0].reachable), (3, 1));
    assert_eq!(
        f[0].risk.reach.evidence(),
        ["tcp/0.0.0.0:22 (sshd)".to_string()]
    );
    assert!(
        f[0].risk
            .reason()
            .starts_with("listening tcp/0.0.0.0:22 (sshd) · CVSS 9.8 (v3.1)"),
        "{}",
        f[0].risk.reason()
    );
}
