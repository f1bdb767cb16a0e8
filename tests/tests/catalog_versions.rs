//! Rule metadata comes from the catalog of the agent version named in the
//! token, never from the collector's build. A device whose token names agent
//! version 9.9.9 (`submods["agent"]`) and carries a result for a rule this
//! collector's build lacks (`future.rule`):
//! (a) without a 9.9.9 catalog, the evidence report lists the rule marked
//!     unknown — never dropped — in JSON and in HTML;
//! (b) after `catalog import` of a 9.9.9 catalog holding the rule, the report
//!     shows its title, FR, severity and requirements from that catalog;
//! (c) malformed or hostile catalog files are refused with exit 1 and a
//!     message naming the file, and change nothing.
//!
//! The token is the real agent's, re-signed after the edit with the device's
//! own key (its PKCS#8 file in the state directory) by `openssl`, and posted
//! to the real collector as a spooled token.

use fieldattest_protocol::catalog::{Catalog, Requirement, RuleMeta, SCHEMA};
use fieldattest_protocol::eat::{self, FindingRef};
use fieldattest_protocol::report::Severity;
use fieldattest_protocol::token;
use fieldattest_tests::collector::*;
use serde_json::Value;
use std::process::Output;

const FUTURE: &str = "future.rule";
const VERSION: &str = "9.9.9";
const HOSTILE: &str = "<script>alert(1)</script>";

/// `fieldattest-collector ARGS --db DB`.
fn collector(c: &Collector, args: &[&str]) -> Output {
    c.run_output(args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A token of `d` as the real agent makes it, then edited: agent version
/// 9.9.9, a failing result for `future.rule` with a hostile finding
/// subject; re-signed with the device key.
fn future_token(d: &Device) -> std::path::PathBuf {
    let raw = std::fs::read(d.token(None, false)).unwrap();
    let (sign1, kid) = token::parse(&raw).unwrap();
    let mut claims = eat::decode(sign1.payload.as_deref().unwrap()).unwrap();
    let agent = claims
        .submods
        .iter_mut()
        .find(|(n, _)| n == "agent")
        .and_then(|(_, s)| s.sw.as_mut())
        .expect("the agent names itself in submods[\"agent\"]");
    assert_ne!(agent.version, VERSION);
    agent.version = VERSION.into();
    assert!(
        claims
            .measres
            .iter()
            .flat_map(|(_, r)| r)
            .all(|(id, _)| id != FUTURE),
        "the agent already has {FUTURE}"
    );
    claims.measres[0].1.push((FUTURE.into(), eat::RESULT_FAIL));
    claims.findings.push(FindingRef {
        rule: FUTURE.into(),
        subject: HOSTILE.into(),
        path: "/etc/future".into(),
        accepted: None,
    });
    let key = d.state.join("attest-key.p8");
    let signed = token::sign(&claims, &kid, |tbs| es256_sign(&key, tbs)).unwrap();
    let out = d.tree.outside().join("future.cwt");
    std::fs::write(&out, signed).unwrap();
    out
}

/// Every rule of the device's evidence report (JSON), with the FR it is filed under.
fn report_rules(c: &Collector, id: i64) -> (Value, Vec<(String, Value)>) {
    let o = collector(c, &["report", &id.to_string(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let dev = v["devices"][0].clone();
    let rules = dev["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|fr| {
            let name = fr["fr"].as_str().unwrap().to_string();
            fr["rules"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |r| (name.clone(), r.clone()))
        })
        .collect();
    (dev, rules)
}

fn future_catalog() -> Catalog {
    Catalog {
        schema: SCHEMA.into(),
        agent: "fieldattest".into(),
        version: VERSION.into(),
        rules: vec![RuleMeta {
            id: FUTURE.into(),
            title: "Future rule & <friends>".into(),
            fr: "FR3".into(),
            severity: Severity::High,
            requirements: vec![
                Requirement {
                    id: "CR 3.4".into(),
                    min_sl: 2,
                },
                Requirement {
                    id: "CR 3.4 RE 1".into(),
                    min_sl: 3,
                },
            ],
            min_sl: 2,
            remediation: "Upgrade the future.".into(),
            reference: "none".into(),
        }],
    }
}

#[test]
fn a_newer_agents_rule_is_unknown_until_its_catalog_is_imported() {
    let c = start();
    let d = Device::new(None, 2);
    let id = d.enroll(&c);
    let t = future_token(&d);
    let (code, v) = c.curl("POST", "/attestation/v1/tokens", Some(&t), &[]);
    assert_eq!(code, 200, "{v}");

    // (a) No 9.9.9 catalog: listed, marked unknown, under FR "unknown".
    let (dev, rules) = report_rules(&c, id);
    assert_eq!(dev["attestation"]["signature"], "verified", "{dev}");
    assert_eq!(dev["attestation"]["agent_version"], VERSION);
    let (fr, r) = rules
        .iter()
        .find(|(_, r)| r["rule"] == FUTURE)
        .unwrap_or_else(|| panic!("{FUTURE} dropped from the report: {dev}"));
    assert_eq!(fr, "unknown");
    assert_eq!(r["catalog"], "unknown");
    assert_eq!(r["result"], "fail");
    assert_eq!(r["severity"], Value::Null);
    assert_eq!(r["requirements"], serde_json::json!([]));
    assert_eq!(r["findings"][0]["subject"], HOSTILE);
    // The agent's own rules come from the shipped catalog of another version.
    let known = rules.iter().filter(|(_, r)| r["rule"] != FUTURE);
    assert!(known.clone().count() > 10, "{dev}");
    for (fr, r) in known {
        assert!(fr.starts_with("FR"), "{r}");
        assert_eq!(r["catalog"], "catalog 0.1.0", "{r}");
    }
    // The HTML report shows it too, with the hostile subject escaped.
    let o = collector(&c, &["report", &id.to_string(), "--format", "html"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let html = String::from_utf8(o.stdout).unwrap();
    assert!(html.contains(&format!("<td>{FUTURE}<br><small>rule unknown to every catalog this collector holds</small></td>")), "{html}");
    assert!(html.contains("<h3>unknown — SL ceiling"), "{html}");
    assert!(!html.contains(HOSTILE), "unescaped: {html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; /etc/future"));
    let (code, page) = c.console(&format!("/report/{id}"));
    assert_eq!(code, 200);
    assert!(page.contains(FUTURE));

    // (c) Malformed and hostile files: exit 1, the file named, nothing stored.
    let dir = tempfile::tempdir().unwrap();
    let mut bad = Vec::new();
    let mut put = |name: &str, body: Vec<u8>| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        bad.push(p);
    };
    put("truncated.json", b"{\"schema\": ".to_vec());
    put("binary.json", vec![0xff, 0xfe, 0x00, 0x80]);
    put("huge.json", vec![b' '; (4 << 20) + 1]);
    let mut c9 = future_catalog();
    c9.rules[0].fr = "FR9".into();
    put("fr9.json", c9.to_json().into_bytes());
    let mut v = future_catalog();
    v.version = format!("9.9.9{HOSTILE}");
    put("hostile-version.json", v.to_json().into_bytes());
    let mut twice = future_catalog();
    twice.rules.push(twice.rules[0].clone());
    put("twice.json", twice.to_json().into_bytes());
    let extra = future_catalog()
        .to_json()
        .replacen("\"schema\"", "\"evil\": true, \"schema\"", 1);
    put("unknown-field.json", extra.into_bytes());
    let mut schema = future_catalog();
    schema.schema = "fieldattest/catalog/v0".into();
    put("schema.json", schema.to_json().into_bytes());
    let missing = dir.path().join("missing.json");
    bad.push(missing);
    for p in &bad {
        let o = collector(&c, &["catalog", "import", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{}: {}", p.display(), stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains(&format!("catalog: {}: ", p.display())),
            "{}: {e}",
            p.display()
        );
        assert!(o.stdout.is_empty(), "{}", p.display());
    }
    let o = collector(&c, &["catalog", "list"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 1);
    assert!(!String::from_utf8_lossy(&o.stdout).contains(VERSION));
    let (_, rules) = report_rules(&c, id);
    let r = &rules.iter().find(|(_, r)| r["rule"] == FUTURE).unwrap().1;
    assert_eq!(r["catalog"], "unknown", "a refused catalog was used");

    // (b) The 9.9.9 catalog imported: metadata from it.
    let good = dir.path().join("fieldattest-9.9.9.json");
    std::fs::write(&good, future_catalog().to_json()).unwrap();
    let o = collector(&c, &["catalog", "import", good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "catalog fieldattest 9.9.9: 1 rules imported\n"
    );
    let o = collector(&c, &["catalog", "list"]);
    let list = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(list.ends_with("9.9.9\t1 rules\n"), "{list}");
    let (_, rules) = report_rules(&c, id);
    let (fr, r) = rules.iter().find(|(_, r)| r["rule"] == FUTURE).unwrap();
    assert_eq!(fr, "FR3");
    assert_eq!(r["catalog"], "agent", "{r}");
    assert_eq!(r["title"], "Future rule & <friends>");
    assert_eq!(r["severity"], serde_json::to_value(Severity::High).unwrap());
    assert_eq!(
        r["requirements"],
        serde_json::json!([{"id": "CR 3.4", "min_sl": 2}, {"id": "CR 3.4 RE 1", "min_sl": 3}])
    );
    assert_eq!(r["applies_at_target"], true);
    assert_eq!(r["result"], "fail");
    // Rules the 9.9.9 catalog lacks still come from the shipped one.
    assert!(rules
        .iter()
        .filter(|(_, r)| r["rule"] != FUTURE)
        .all(|(_, r)| r["catalog"] == "catalog 0.1.0"));
    let o = collector(&c, &["report", &id.to_string(), "--format", "html"]);
    let html = String::from_utf8(o.stdout).unwrap();
    assert!(
        html.contains(&format!(
            "<td>{FUTURE}<br><small>Future rule &amp; &lt;friends&gt;</small></td><td>CR 3.4 (SL 2), CR 3.4 RE 1 (SL 3)</td><td>high</td><td class=\"fail\">fail</td>"
        )),
        "{html}"
    );
    assert!(html.contains("<h3>FR3 — SL ceiling"), "{html}");

    // A hostile re-import of 9.9.9 is refused and keeps the good one.
    let o = collector(&c, &["catalog", "import", bad[3].to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let (_, rules) = report_rules(&c, id);
    assert_eq!(
        rules.iter().find(|(_, r)| r["rule"] == FUTURE).unwrap().0,
        "FR3"
    );
}

// The same tests with the collector on PostgreSQL.
fieldattest_tests::on_postgres_too!(a_newer_agents_rule_is_unknown_until_its_catalog_is_imported,);
