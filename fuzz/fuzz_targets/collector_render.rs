//! Fuzz target: hostile claims from an enrolled device all the way to what
//! operators see. Each input is turned into claims (package purls and
//! versions, software names, rule ids and results, finding subjects and
//! acceptance reasons, key fingerprints, SL ceilings), signed with the
//! enrolled device's key and accepted into an in-memory store holding a few
//! fixed OSV advisories (Debian, Alpine, npm); then vulnerability matching
//! runs and every view is rendered: the fleet page, the evidence report
//! (JSON and HTML), and the CSV and text outputs of the CLI. Besides "no
//! panic", it asserts that no HTML carries a `<script` or a second
//! `<style`, that no CSV cell starts a spreadsheet formula and that no text
//! output carries a control character other than the line ends.
//!
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run collector_render -- -max_total_time=600`
#![no_main]

use coset::cbor::value::Value as Cbor;
use fieldattest_collector::store::Store;
use fieldattest_collector::verify::{accept, Arrival};
use fieldattest_collector::{evidence, fleet, page, vuln};
use fieldattest_protocol::eat::{self, Claims, FindingRef, KeyFingerprint, Submod, SwId};
use fieldattest_protocol::{cbor, token};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

#[path = "common.rs"]
mod common;

/// Advisories the purls can hit (source packages `a`, `b`, `c`).
const ADVISORIES: &str = r#"[
 {"id": "DSA-0001-1", "modified": "2026-01-01T00:00:00Z", "summary": "<script>alert(1)</script> =cmd|' /C calc'!A0",
  "affected": [{"package": {"ecosystem": "Debian:12", "name": "a"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0-1"}]}]}]},
 {"id": "ALPINE-CVE-0002", "modified": "2026-01-01T00:00:00Z", "aliases": ["-2+3+cmd"],
  "affected": [{"package": {"ecosystem": "Alpine:v3.19", "name": "b"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.5-r0"}]}]}]},
 {"id": "GHSA-0003", "modified": "2026-01-01T00:00:00Z", "severity": [{"type": "CVSS_V3", "score": "@SUM(1)"}],
  "affected": [{"package": {"ecosystem": "npm", "name": "c"}, "versions": ["1.0.0"],
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"fixed": "1.2.3"}]}]}]}
]"#;

/// Fragments that reach the parsers' and renderers' edges.
const PIECES: &[&str] = &[
    "<script>",
    "</style><style>",
    "=cmd|' /C calc'!A0",
    "-2+3+",
    "@SUM(",
    "+",
    "\t",
    "\r\n",
    "\x1b]0;t\x07",
    "\x1b[2J",
    "\u{9b}",
    "\u{202e}",
    "%",
    "%1é",
    "%zz",
    "é",
    "@",
    "?",
    "&",
    "#",
    "/",
    ":",
    "~",
    "a",
    "b",
    "c",
    "1.0",
    "2.0-1",
    "1.4-r1",
    "\"",
    ",",
    "'",
];

/// A string: a few fragments, each a dictionary piece or arbitrary text.
fn text(u: &mut Unstructured) -> Result<String> {
    let mut s = String::new();
    for _ in 0..u.int_in_range(0..=4u8)? {
        if u.arbitrary::<bool>()? {
            s.push_str(u.choose(PIECES)?);
        } else {
            s.push_str(u.arbitrary::<&str>()?);
        }
    }
    Ok(s)
}

/// A purl: mostly shaped like the agent's, aimed at the advisories.
fn purl(u: &mut Unstructured) -> Result<String> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => format!(
            "pkg:deb/debian/{}@{}?arch=arm64&distro=debian-12&upstream={}",
            text(u)?,
            text(u)?,
            text(u)?
        ),
        1 => format!(
            "pkg:apk/alpine/{}@{}?arch=aarch64&distro=alpine-3.19.1&upstream={}",
            text(u)?,
            text(u)?,
            text(u)?
        ),
        2 => format!("pkg:npm/{}@{}", text(u)?, text(u)?),
        _ => text(u)?,
    })
}

fn coswid(tag: String) -> Vec<u8> {
    cbor::to_vec(&Cbor::Map(vec![(Cbor::Integer(0.into()), Cbor::Text(tag))]))
}

fn claims(u: &mut Unstructured, ueid: &[u8], seq: u64, now: i64) -> Result<Claims> {
    let n = |u: &mut Unstructured| u.int_in_range(0..=3usize);
    let mut c = Claims {
        iat: now,
        cti: seq.to_be_bytes().to_vec(),
        ueid: ueid.to_vec(),
        intuse: 1,
        seq,
        key_tier: 3,
        sw: Some(SwId {
            name: text(u)?,
            version: text(u)?,
            scheme: 1,
        }),
        ..Default::default()
    };
    for _ in 0..n(u)? + 1 {
        c.measurements.push((eat::CF_COSWID, coswid(purl(u)?)));
    }
    let mut results = Vec::new();
    for _ in 0..n(u)? {
        results.push((text(u)?, u.int_in_range(1..=4u8)?));
    }
    c.measres.push((
        "tag:fieldattest.org,2026:catalog/ccsc@0.1.0".into(),
        results,
    ));
    if u.arbitrary()? {
        let sw = SwId {
            name: "fieldattest".into(),
            version: text(u)?,
            scheme: 16384,
        };
        c.submods.push((
            "agent".into(),
            Submod {
                sw: Some(sw),
                measurements: vec![],
            },
        ));
    }
    for _ in 0..n(u)? {
        c.sl_ceiling.push((text(u)?, u.arbitrary()?));
    }
    for _ in 0..n(u)? {
        c.key_fingerprints.push(KeyFingerprint {
            kind: text(u)?,
            path: text(u)?,
            algorithm: text(u)?,
            fingerprint: text(u)?,
        });
    }
    for _ in 0..n(u)? {
        let accepted = if u.arbitrary()? { Some(text(u)?) } else { None };
        c.findings.push(FindingRef {
            rule: text(u)?,
            subject: text(u)?,
            path: text(u)?,
            accepted,
        });
    }
    // Issue 18: listeners with their package, the image's CVE_STATUS
    // (stored row by row on acceptance).
    for _ in 0..n(u)? {
        let process = if u.arbitrary()? { Some(text(u)?) } else { None };
        let package = if u.arbitrary()? { Some(text(u)?) } else { None };
        let (proto, addr) = (text(u)?, text(u)?);
        c.listeners.push(
            eat::Listener::bounded(&proto, &addr, u.arbitrary()?, process.as_deref())
                .with_package(package.as_deref()),
        );
    }
    for _ in 0..n(u)? {
        let status = ["Patched", "Ignored", "Unpatched"][u.int_in_range(0..=2usize)?];
        let (id, component, detail, description) = (text(u)?, text(u)?, text(u)?, text(u)?);
        if let Some(e) = eat::CveStatus::bounded(&id, &component, status, &detail, &description) {
            if !c
                .cve_status
                .iter()
                .any(|x| (&x.cve, &x.component) == (&e.cve, &e.component))
            {
                c.cve_status.push(e);
            }
        }
    }
    Ok(c)
}

fn check_html(what: &str, h: &str) {
    let l = h.to_ascii_lowercase();
    assert!(!l.contains("<script"), "{what}: <script in the HTML");
    // The console links its sheet; the self-contained evidence report inlines one.
    assert!(l.matches("<style").count() <= 1, "{what}: injected <style");
    assert!(!l.contains("style=\""), "{what}: injected style attribute");
    for a in ["href=\"", "src=\"", "action=\""] {
        for v in l.split(a).skip(1) {
            assert!(
                (v.starts_with('/') && !v.starts_with("//")) || v.starts_with('#'),
                "{what}: link off the collector: {a}{}",
                &v[..v.len().min(40)]
            );
        }
    }
}

/// A cell may start with a formula character only as a JSON number.
fn check_csv(what: &str, csv: &str) {
    let (mut cell, mut quoted, mut cells) = (String::new(), false, Vec::new());
    let mut chars = csv.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            '"' => quoted = !quoted,
            ',' | '\n' if !quoted => cells.push(std::mem::take(&mut cell)),
            _ => cell.push(ch),
        }
    }
    assert!(!quoted && cell.is_empty(), "{what}: unterminated CSV");
    for c in cells {
        if c.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            let numeric =
                c.chars().all(|x| "0123456789-+.eE".contains(x)) && c.parse::<f64>().is_ok();
            assert!(numeric, "{what}: formula cell {c:?}");
        }
        assert!(
            !c.chars().any(char::is_control),
            "{what}: control character in {c:?}"
        );
    }
}

fn check_text(what: &str, t: &str) {
    let bad = t
        .chars()
        .find(|c| (c.is_control() && *c != '\n') || ('\u{202a}'..='\u{202e}').contains(c));
    assert!(bad.is_none(), "{what}: {bad:?} in text output");
}

fn run(s: &common::State, u: &mut Unstructured) -> Result<()> {
    let now = 1_800_000_000;
    let store = &s.store;
    if store.advisory_stats().map(|(n, _)| n).unwrap_or(0) == 0 {
        let mut rep = vuln::ImportReport::default();
        vuln::import_bytes(store, "fixed.json", ADVISORIES.as_bytes(), now, &mut rep);
        assert!(rep.errors.is_empty(), "{:?}", rep.errors);
    }
    let Ok(Some(dev)) = store.device_by_kid(&s.kid) else {
        return Ok(());
    };
    let seq = dev.last_seq.map(|x| x + 1).unwrap_or(1) as u64;
    let c = claims(u, &dev.ueid, seq, now)?;
    let tok = token::sign(&c, &s.kid, |tbs| Ok::<_, ()>(common::sign(s, tbs))).unwrap_or_default();
    match accept(store, &tok, Arrival::Offline, now) {
        // Only claims the profile refuses (e.g. over its size limits) may fail.
        Err(r) => assert_ne!(
            r.code,
            fieldattest_protocol::rejection::Rejection::Internal,
            "{}",
            r.reason
        ),
        // The device's rows are the accepted token's claims, exactly.
        Ok(_) => {
            let (mut cve, listeners) = fieldattest_collector::store::device_claims_of(&c);
            let mut stored = store.device_cve_status(dev.id).unwrap_or_default();
            cve.sort_by(|a, b| (&a.component, &a.vuln).cmp(&(&b.component, &b.vuln)));
            stored.sort_by(|a, b| (&a.component, &a.vuln).cmp(&(&b.component, &b.vuln)));
            assert_eq!(stored, cve);
            let key = |l: &fieldattest_collector::store::DeviceListener| {
                (
                    l.port,
                    l.proto.clone(),
                    l.addr.clone(),
                    l.process.clone(),
                    l.package.clone(),
                )
            };
            let mut a: Vec<_> = listeners.iter().map(key).collect();
            let mut b: Vec<_> = store
                .device_listeners(dev.id)
                .unwrap_or_default()
                .iter()
                .map(key)
                .collect();
            a.sort();
            b.sort();
            assert_eq!(a, b);
        }
    }

    let ms = vuln::matches(store).unwrap_or_default();
    let vulns: Vec<Value> = vuln::listing(&ms)
        .iter()
        .map(|l| {
            json!({"device": l.first.device_id, "vulnerability": l.first.vuln, "package": l.first.package,
                   "binaries": l.binaries.join(" "), "version": l.versions.join(" "),
                   "aliases": l.first.aliases.join(" "), "fixed": l.first.fixed})
        })
        .collect();
    let vulns = Value::Array(vulns);
    let devices = fleet::devices(store, now).unwrap_or_default();
    let findings = fleet::findings(store, None).unwrap_or_default();
    let summary = fleet::fleet(store, now, 86_400).unwrap_or_default();
    let drift = fleet::drift(store, dev.id).ok().flatten();
    let view = json!({"device": devices[0].clone(), "failing_rules": findings, "drift": drift});
    for (what, v) in [
        ("vulns", &vulns),
        ("devices", &devices),
        ("findings", &findings),
    ] {
        check_csv(what, &fleet::to_csv(v));
        check_text(what, &fleet::render_text(v));
    }
    check_text("device", &fleet::render_text(&view));
    check_text("fleet", &fleet::to_text(&summary));

    let viewer = fieldattest_collector::console::Viewer {
        who: "operator fuzz".into(),
        role: "operator",
        may_act: true,
        csrf: "csrf".into(),
    };
    let params = fieldattest_collector::console::Params::default();
    if let Ok(p) = fieldattest_collector::console::overview::overview(
        store, &fieldattest_collector::vuln::FleetCache::default(),
        &params,
        now,
        86_400,
        7 * 86_400,
        &viewer,
    ) {
        check_html("overview", &p.into_string());
    }
    if let Ok(p) =
        fieldattest_collector::console::devices::list(store, &params, now, 86_400, &viewer)
    {
        check_html("device list", &p.into_string());
    }
    if let Ok(p) =
        fieldattest_collector::console::findings::findings(store, &params, now, 86_400, &viewer)
    {
        check_html("findings", &p.into_string());
    }
    if let Ok(p) = fieldattest_collector::console::findings::vulnerabilities(
        store, &fieldattest_collector::vuln::FleetCache::default(),
        &params,
        now,
        7 * 86_400,
        &viewer,
    ) {
        check_html("vulnerabilities", &p.into_string());
    }
    if let Ok(Some(p)) =
        fieldattest_collector::console::device::page(store, dev.id, &params, now, 86_400, &viewer)
    {
        check_html("device page", &p.into_string());
    }
    if let Ok(p) = page::enroll(store, now, &viewer) {
        check_html("enroll page", &p.into_string());
    }
    let feeds =
        fieldattest_collector::vuln::feeds::feed_status(store, now, 7 * 86_400).unwrap_or_default();
    if let Ok(r) = evidence::device(store, dev.id, 2, &ms, &feeds) {
        let _ = serde_json::to_string(&r);
        check_html(
            "evidence report",
            &evidence::html(&[r], "2027-01-15T08:00:00Z"),
        );
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    // Every view is rendered over the whole store: renewed every 500 runs
    // so the time per run stays flat.
    common::with_state_every(500, |s| {
        let _ = run(s, &mut Unstructured::new(data));
    });
});
