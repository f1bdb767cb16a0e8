//! `GET /devices/{id}`: one device — identity (the full kid to compare at
//! approval, claims marked as claimed), the approve / revoke forms, the
//! latest findings by foundational requirement with each rule's catalog
//! metadata, the collector-side acceptances and their form, the inventory
//! (packages, host keys, listeners), the open vulnerabilities, the
//! attestation history with the diff of any two attestations, and the
//! device's audit trail.
//!
//! *Invariants:* everything the device sent is escaped (maud); the token
//! is decoded, not re-verified (the evidence report re-verifies); only the
//! device's own attestations can be compared (`token_detail` is keyed by
//! device); every list is capped so a page stays small for a device with
//! thousands of packages (`MAX_PACKAGES`, `diff::MAX_LIST`).

mod diff;
mod parts;

pub use diff::{config_files, diff, measured_component, result_word, Diff};

use super::{ago, badge, when, Params, Viewer};
use crate::store::{Accept, DeviceRow, Store};
use fieldattest_protocol::catalog::{Catalogs, Lookup, RuleMeta};
use fieldattest_protocol::eat::{self, Claims, FindingRef};
use maud::{html, Markup};
use std::collections::BTreeMap;

/// Package rows shown at most (the rest are counted).
pub const MAX_PACKAGES: usize = 1000;

/// The claims of a stored token, decoded without verifying (it was
/// verified when received; the evidence report verifies again).
pub fn claims(raw: &[u8]) -> Option<Claims> {
    let (s, _) = fieldattest_protocol::token::parse(raw).ok()?;
    eat::decode(s.payload.as_ref()?).ok()
}

/// The device page, `None` for an unknown device.
pub fn page(
    store: &dyn Store,
    id: i64,
    p: &Params,
    now: i64,
    silent_after: i64,
    v: &Viewer,
) -> Result<Option<Markup>, String> {
    let Some(d) = store.device_row(id)? else {
        return Ok(None);
    };
    let latest = store.latest_token(id)?;
    let detail = match &latest {
        Some(t) => store.token_detail(id, t.id)?,
        None => None,
    };
    let claims = latest.as_ref().and_then(|t| claims(&t.raw));
    let catalogs = crate::ceiling::held_catalogs(store).map_err(|r| r.reason)?;
    let accepts = store.accepts_for(id)?;
    let results: Vec<(String, u8)> = match (&claims, &detail) {
        (Some(c), _) => c
            .measres
            .iter()
            .flat_map(|(_, r)| r.iter().cloned())
            .collect(),
        (None, Some(t)) => t.results.clone(),
        _ => Vec::new(),
    };
    let rules = Rules {
        results: &results,
        claims: claims.as_ref(),
        catalogs: &catalogs,
        accepts: &accepts,
        now,
    };
    let history = store.history(id, 50)?;
    let title = match &d.hostname {
        Some(h) => format!("device {id} ({h})"),
        None => format!("device {id}"),
    };
    let body = html! {
        h1 { "Device " (id) @if let Some(h) = &d.hostname { " — " span class="mono" { (h) } } }
        (identity(&d, now, silent_after, v))
        (findings(&rules, id, v))
        (accept_list(&accepts, now, v))
        (parts::inventory(detail.as_ref(), claims.as_ref()))
        (parts::vulns(&store.device_vulns(id)?, &store.coverage(Some(id))?))
        (parts::not_built(&store.device_closed_by(id, crate::vuln::kernel_config::SOURCE)?))
        (parts::history(store, id, &history, p, now, detail.as_ref())?)
        (parts::audit(&store.audit_for_device(id, 50)?, now))
    };
    Ok(Some(super::page(&title, "/devices", v, body)))
}

/// `silent` for an active device that stopped attesting, else its status.
fn shown_status(d: &DeviceRow, now: i64, silent_after: i64) -> &str {
    if d.status == "active" && d.last_seen.is_none_or(|t| t < now - silent_after) {
        "silent"
    } else {
        &d.status
    }
}

fn identity(d: &DeviceRow, now: i64, silent_after: i64, v: &Viewer) -> Markup {
    let kid = crate::hex(&d.kid);
    let site_link = format!("/devices{}", Params::default().with("site", Some(&d.site)));
    html! {
        section class="panel" aria-labelledby="h-identity" {
            h2 id="h-identity" { "Identity" }
            table id="device" {
                tr { th { "device id" } td { (d.id) } }
                tr { th { "hostname" } td { @match &d.hostname { Some(h) => { span class="mono" { (h) } " (claimed by the device)" }, None => { span class="muted" { "not reported" } } } } }
                tr { th { "site" } td { a href=(site_link) { (d.site) } " · " a href=(site_link) { "devices on the same site" } } }
                tr { th { "status" } td id="status" { (d.status) } }
                tr { th { "state" } td { (badge(shown_status(d, now, silent_after))) } }
                tr { th { "key id (kid)" } td { code id="kid" { (kid) } } }
                tr { th { "UEID" } td { code { (crate::hex(&d.ueid)) } } }
                tr { th { "key tier" } td { @match &d.key_tier { Some(t) => { (t) " (claimed by the device; the collector cannot verify key tiers yet)" }, None => { span class="muted" { "not reported" } } } } }
                tr { th { "enrolled" } td title=(when(d.enrolled_at)) { (ago(now, Some(d.enrolled_at))) } }
                tr { th { "approved" } td {
                    @match (&d.approved_by, d.approved_at) {
                        (Some(by), Some(at)) => { "by " (by) ", " span title=(when(at)) { (ago(now, Some(at))) } }
                        _ => { span class="muted" { "not recorded" } }
                    }
                } }
                tr { th { "last attestation" } td title=[d.last_seen.map(when)] { (ago(now, d.last_seen)) } }
                tr { th { "lowest SL ceiling" } td { @match d.ceiling_min { Some(c) => { "SL " (c) }, None => { "-" } } } }
                tr { th { "evidence" } td { a href={ "/report/" (d.id) } { "evidence report" } " (IEC 62443-4-2, re-verified)" } }
            }
        }
        @if v.may_act && d.status == "pending" {
            h2 { "Approve" }
            p { "Compare this key id with the one the device printed (" code { "fieldattest enroll" } " or " code { "fieldattest identity" } " on the device). Approve only if they are equal." }
            form method="post" action={ "/devices/" (d.id) "/approve" } id="approve" {
                input type="hidden" name="csrf" value=(v.csrf);
                input type="hidden" name="kid" value=(kid);
                label { input type="checkbox" name="confirm" value="yes" required; " the device printed key id " code { (kid) } }
                " "
                button type="submit" { "approve" }
            }
        }
        @if v.may_act && d.status != "revoked" {
            h2 { "Revoke" }
            form method="post" action={ "/devices/" (d.id) "/revoke" } id="revoke" {
                input type="hidden" name="csrf" value=(v.csrf);
                input type="hidden" name="kid" value=(kid);
                label { input type="checkbox" name="confirm" value="yes" required; " revoke this device (its tokens are refused from then on)" }
                " "
                button type="submit" class="danger" { "revoke" }
            }
        }
    }
}

/// What the findings section reads.
struct Rules<'a> {
    results: &'a [(String, u8)],
    claims: Option<&'a Claims>,
    catalogs: &'a Catalogs,
    accepts: &'a [Accept],
    now: i64,
}

/// One rule of the latest attestation with its metadata.
struct RuleView<'a> {
    rule: &'a str,
    code: u8,
    meta: Option<&'a RuleMeta>,
    findings: Vec<&'a FindingRef>,
    accepts: Vec<&'a Accept>,
}

impl<'a> Rules<'a> {
    /// The rules by FR (`unknown` for rules no held catalog knows).
    fn by_fr(&self) -> BTreeMap<String, Vec<RuleView<'a>>> {
        let version = self.claims.and_then(crate::ceiling::agent_version);
        let mut out: BTreeMap<String, Vec<RuleView>> = BTreeMap::new();
        for (rule, code) in self.results {
            let meta = match self.catalogs.lookup(version.as_deref(), rule) {
                Lookup::Exact(m) | Lookup::OtherVersion { meta: m, .. } => Some(m),
                Lookup::Unknown => None,
            };
            let findings = self
                .claims
                .iter()
                .flat_map(|c| c.findings.iter())
                .filter(|f| &f.rule == rule)
                .collect();
            let accepts = self.accepts.iter().filter(|a| &a.rule == rule).collect();
            let fr = meta.map_or("unknown".to_string(), |m| m.fr.clone());
            out.entry(fr).or_default().push(RuleView {
                rule,
                code: *code,
                meta,
                findings,
                accepts,
            });
        }
        for rules in out.values_mut() {
            rules.sort_by_key(|r| {
                (
                    r.code != eat::RESULT_FAIL,
                    r.meta.map(|m| std::cmp::Reverse(m.severity)),
                    r.rule,
                )
            });
        }
        out
    }
}

fn findings(r: &Rules, id: i64, v: &Viewer) -> Markup {
    let by_fr = r.by_fr();
    html! {
        section class="panel" aria-labelledby="h-findings" {
            h2 id="h-findings" { "Latest findings" }
            @if by_fr.is_empty() { p class="muted" { "No rule results: the device has not attested yet." } }
            @for (fr, rules) in &by_fr {
                @let shown: Vec<&RuleView> = rules.iter().filter(|x| x.code == eat::RESULT_FAIL || !x.findings.is_empty()).collect();
                @let rest: Vec<&RuleView> = rules.iter().filter(|x| x.code != eat::RESULT_FAIL && x.findings.is_empty()).collect();
                @let failing = rules.iter().filter(|x| x.code == eat::RESULT_FAIL).count();
                h3 { (fr) " — " (failing) " failing of " (rules.len()) }
                @for x in &shown { (rule_detail(x, id, r.now, v)) }
                @if !rest.is_empty() {
                    details {
                        summary { (rest.iter().filter(|x| x.code == eat::RESULT_PASS).count()) " passing, " (rest.iter().filter(|x| x.code != eat::RESULT_PASS).count()) " not run or not applicable" }
                        ul class="small" {
                            @for x in &rest {
                                li { code { (x.rule) } " " (result_word(x.code)) @if let Some(m) = x.meta { " — " (m.title) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn rule_detail(x: &RuleView, id: i64, now: i64, v: &Viewer) -> Markup {
    let word = match x.code {
        eat::RESULT_FAIL => "fail",
        eat::RESULT_PASS if x.findings.iter().any(|f| f.accepted.is_some()) => "accepted",
        c => result_word(c),
    };
    html! {
        div class="rule panel" {
            p {
                (badge(word)) " "
                @if let Some(m) = x.meta { (badge(crate::posture::severity_name(m.severity))) " " }
                code { (x.rule) }
                @match x.meta {
                    Some(m) => { " — " b { (m.title) } br; span class="small muted" { "requirements " @for (i, q) in m.requirements.iter().enumerate() { @if i > 0 { ", " } (q.id) " (SL " (q.min_sl) ")" } } }
                    None => { " — " span class="muted" { "rule unknown to every catalog this collector holds" } }
                }
            }
            @if !x.findings.is_empty() {
                ul class="small" {
                    @for f in x.findings.iter().take(200) {
                        li {
                            span class="mono" { (f.subject) } @if !f.path.is_empty() { " in " span class="mono" { (f.path) } }
                            @if let Some(a) = &f.accepted { " — " (badge("accepted")) " on the device: " (a) }
                        }
                    }
                    @if x.findings.len() > 200 { li class="muted" { (x.findings.len() - 200) " more" } }
                }
            }
            @for a in &x.accepts { p class="small" { (accept_line(a, now)) } }
            @if let Some(m) = x.meta { details { summary { "remediation" } p { (m.remediation) } @if !m.reference.is_empty() { p class="small muted" { "reference: " (m.reference) } } } }
            @if v.may_act && x.code == eat::RESULT_FAIL { (accept_form(x, id, v)) }
        }
    }
}

/// One collector-side acceptance in words.
fn accept_line(a: &Accept, now: i64) -> Markup {
    html! {
        @if a.live(now) { (badge("accepted")) " by the collector" } @else { (badge("expired")) }
        @if a.device_id.is_none() { " (fleet-wide)" }
        @if !a.subject.is_empty() { " for " span class="mono" { (a.subject) } }
        ": " (a.justification) " — " (a.actor) ", until " span title=(when(a.expires)) { (crate::rfc3339(a.expires)) }
    }
}

fn accept_form(x: &RuleView, id: i64, v: &Viewer) -> Markup {
    html! {
        details {
            summary { "accept this finding on the collector (compensating countermeasure)" }
            form method="post" action={ "/devices/" (id) "/accepts" } class="accept" {
                input type="hidden" name="csrf" value=(v.csrf);
                input type="hidden" name="rule" value=(x.rule);
                p { label { "subject (empty: every subject) " input name="subject" maxlength="500" list={ "subjects-" (x.rule) }; } }
                datalist id={ "subjects-" (x.rule) } { @for f in x.findings.iter().take(50) { option value=(f.subject) {} } }
                p { label { "justification (10 to 2000 characters) " br; textarea name="justification" required minlength="10" maxlength="2000" rows="3" cols="70" {} } }
                p { label { "expires (a duration such as 90d, or YYYY-MM-DD; at most 366 days) " input name="expires" value="90d" required; } }
                p { label { input type="checkbox" name="confirm" value="yes" required; " the countermeasure is in place; record it under my name" } }
                button type="submit" { "accept" }
            }
        }
    }
}

/// The device's and the fleet's collector-side acceptances.
fn accept_list(accepts: &[Accept], now: i64, v: &Viewer) -> Markup {
    html! {
        section class="panel" aria-labelledby="h-accepts" {
            h2 id="h-accepts" { "Collector-side acceptances" }
            p class="small muted" { "Compensating countermeasures accepted by an operator (IEC 62443-4-2 CCSC 2). They do not change what the device reported; the evidence report shows them beside its results." }
            @if accepts.is_empty() { p class="muted" { "none" } } @else {
                table id="accepts" {
                    thead { tr { th { "rule" } th { "subject" } th { "scope" } th { "justification" } th { "by" } th { "until" } th { "" } } }
                    tbody {
                        @for a in accepts {
                            tr {
                                td { code { (a.rule) } }
                                td { @if a.subject.is_empty() { "all" } @else { span class="mono" { (a.subject) } } }
                                td { @if a.device_id.is_some() { "this device" } @else { "fleet" } }
                                td { (a.justification) }
                                td { (a.actor) br; span class="small muted" title=(when(a.at)) { (ago(now, Some(a.at))) } }
                                td { (crate::rfc3339(a.expires)) " " @if !a.live(now) { (badge("expired")) } }
                                td {
                                    @if v.may_act {
                                        form method="post" action={ "/accepts/" (a.id) "/revoke" } {
                                            input type="hidden" name="csrf" value=(v.csrf);
                                            label class="small" { input type="checkbox" name="confirm" value="yes" required; " confirm" }
                                            " " button type="submit" class="secondary" { "revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewAccept, SqliteStore};
    use fieldattest_protocol::eat::Listener;

    const HOSTILE: &str = "<script>alert(\"x\")</script>&";
    const ESCAPED: &str = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;";

    fn viewer() -> Viewer {
        Viewer {
            who: "operator a".into(),
            role: "operator",
            may_act: true,
            csrf: "csrf".into(),
        }
    }

    struct Key(
        ring::signature::EcdsaKeyPair,
        fieldattest_protocol::token::PublicKey,
    );

    /// A device enrolled with a fresh P-256 key, active.
    fn enroll(s: &SqliteStore, site: &str) -> (i64, Key) {
        use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING as ALG};
        let rng = ring::rand::SystemRandom::new();
        let p8 = EcdsaKeyPair::generate_pkcs8(&ALG, &rng).unwrap();
        let kp = EcdsaKeyPair::from_pkcs8(&ALG, p8.as_ref(), &rng).unwrap();
        let pk =
            fieldattest_protocol::token::PublicKey::from_sec1(kp.public_key().as_ref()).unwrap();
        let id = s
            .insert_device(&pk.kid(), &[1; 33], &pk.0, site, 1)
            .unwrap();
        s.set_status(id, "active").unwrap();
        (id, Key(kp, pk))
    }

    /// An attestation of `device` signed with its key, accepted as the
    /// collector accepts an offline token; its token id.
    fn attest(
        s: &SqliteStore,
        (device, k): (i64, &Key),
        seq: u64,
        c: &Claims,
        packages: &[&str],
    ) -> i64 {
        use fieldattest_protocol::eat::{KeyFingerprint, CF_COSWID};
        let coswid = |p: &str| {
            let v = ciborium::value::Value::Map(vec![(0.into(), p.into())]);
            (CF_COSWID, fieldattest_protocol::cbor::to_vec(&v))
        };
        let mut c = c.clone();
        c.seq = seq;
        c.iat = 1000 + seq as i64;
        c.cti = vec![seq as u8; 16];
        c.measurements.extend(packages.iter().map(|p| coswid(p)));
        c.key_fingerprints = vec![KeyFingerprint {
            kind: "ssh-host".into(),
            path: HOSTILE.into(),
            algorithm: "ssh-ed25519".into(),
            fingerprint: format!("SHA256:{seq}"),
        }];
        let rng = ring::rand::SystemRandom::new();
        let raw = fieldattest_protocol::token::sign(&c, &k.1.kid(), |tbs| {
            k.0.sign(&rng, tbs).map(|x| x.as_ref().to_vec())
        })
        .unwrap();
        crate::verify::accept(s, &raw, crate::verify::Arrival::Offline, 2000).unwrap();
        let t = s.latest_token(device).unwrap().unwrap();
        assert_eq!(t.seq, seq as i64);
        t.id
    }

    fn claims_with(rule: &str, result: u8, hostname: &str) -> Claims {
        Claims {
            iat: 1,
            cti: vec![result; 16],
            ueid: vec![1; 33],
            intuse: 1,
            seq: 1,
            key_tier: 3,
            hostname: Some(hostname.into()),
            measres: vec![("fieldattest".into(), vec![(rule.into(), result)])],
            findings: vec![FindingRef {
                rule: rule.into(),
                subject: HOSTILE.into(),
                path: HOSTILE.into(),
                accepted: None,
            }],
            listeners: vec![Listener::bounded(HOSTILE, HOSTILE, 22, Some(HOSTILE))],
            ..Default::default()
        }
    }

    fn a_rule(s: &SqliteStore) -> String {
        let cats = crate::ceiling::held_catalogs(s).unwrap();
        cats.get(cats.versions()[0]).unwrap().rules[0].id.clone()
    }

    #[test]
    fn hostile_claims_are_escaped_and_the_sections_are_there() {
        let s = SqliteStore::memory().unwrap();
        let (id, k) = enroll(&s, HOSTILE);
        let rule = a_rule(&s);
        let purl = format!("pkg:deb/debian/{HOSTILE}@1.0");
        attest(
            &s,
            (id, &k),
            1,
            &claims_with(&rule, 1, "old"),
            &["pkg:deb/debian/curl@7"],
        );
        attest(&s, (id, &k), 2, &claims_with(&rule, 2, HOSTILE), &[&purl]);
        s.add_accept(&NewAccept {
            device_id: Some(id),
            rule: rule.clone(),
            subject: HOSTILE.into(),
            justification: HOSTILE.into(),
            expires: i64::MAX / 2,
            actor: HOSTILE.into(),
            at: 1,
        })
        .unwrap();
        s.audit(5, None, Some(id), "vex", HOSTILE).unwrap();
        let h = page(&s, id, &Params::default(), 2000, 3600, &viewer())
            .unwrap()
            .unwrap()
            .into_string();
        assert!(!h.contains("<script"), "{h}");
        assert!(h.contains("id=\"listeners\""), "the claims decode: {h}");
        for a in ["href=\"", "action=\""] {
            for v in h.split(a).skip(1) {
                assert!(
                    v.starts_with('#') || v.starts_with('/') && !v.starts_with("//"),
                    "link off the collector: {v:.60}"
                );
            }
        }
        // Hostname (title, heading, identity, diff), site, finding subject and
        // path, listener (3), key path, purl, acceptance (3), audit reason.
        assert!(
            h.matches(ESCAPED).count() >= 15,
            "{}",
            h.matches(ESCAPED).count()
        );
        for want in [
            "<td id=\"status\">active</td>",
            "id=\"kid\"",
            "id=\"revoke\"",
            "action=\"/devices/1/accepts\"",
            "action=\"/accepts/1/revoke\"",
            "id=\"diff\"",
            "pass → fail",
            "Packages added (1)",
            "Packages removed (1)",
            "id=\"audit\"",
            "claimed by the device",
        ] {
            assert!(h.contains(want), "{want}: {h}");
        }
        assert!(!h.contains("id=\"approve\""), "active: no approve form");
        // A viewer gets no forms; an unknown device no page.
        let mut ro = viewer();
        ro.may_act = false;
        let h = page(&s, id, &Params::default(), 2000, 3600, &ro)
            .unwrap()
            .unwrap()
            .into_string();
        assert!(!h.contains("method=\"post\" action=\"/devices"), "{h}");
        assert!(page(&s, id + 1, &Params::default(), 0, 3600, &ro)
            .unwrap()
            .is_none());
        // The evidence report names the live acceptance beside the result.
        let r = crate::evidence::device(&s, id, 2, &[], &[]).unwrap();
        assert_eq!(r["attestation"]["signature"], "verified", "{r}");
        let rules: Vec<&serde_json::Value> = r["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|fr| fr["rules"].as_array().unwrap())
            .collect();
        let x = rules.iter().find(|x| x["rule"] == rule.as_str()).unwrap();
        assert_eq!(x["result"], "fail", "the device's result stays");
        assert_eq!(x["accepted_by_operator"]["justification"], HOSTILE);
        assert_eq!(x["accepted_by_operator"]["scope"], "device");
    }

    #[test]
    fn only_the_devices_own_attestations_are_compared() {
        let s = SqliteStore::memory().unwrap();
        let (d1, k1) = enroll(&s, "x");
        let (d2, k2) = enroll(&s, "x");
        let rule = a_rule(&s);
        let t1 = attest(&s, (d1, &k1), 1, &claims_with(&rule, 1, "a"), &[]);
        let t2 = attest(&s, (d1, &k1), 2, &claims_with(&rule, 1, "a"), &[]);
        let other = attest(&s, (d2, &k2), 1, &claims_with(&rule, 2, "b"), &[]);
        let q = |a: i64, b: i64| Params::parse(Some(&format!("a={a}&b={b}")));
        let h = page(&s, d1, &q(t1, t2), 2000, 3600, &viewer())
            .unwrap()
            .unwrap()
            .into_string();
        assert!(
            h.contains("id=\"diff\"") && h.contains("Host keys changed (1)"),
            "{h}"
        );
        assert!(
            !h.contains("Rule results changed") && !h.contains("Packages"),
            "{h}"
        );
        let h = page(&s, d1, &q(t1, other), 2000, 3600, &viewer())
            .unwrap()
            .unwrap()
            .into_string();
        assert!(h.contains("is not one of this device"), "{h}");
        assert!(!h.contains("id=\"diff\""), "{h}");
    }

    #[test]
    fn a_device_with_thousands_of_packages_stays_small() {
        let s = SqliteStore::memory().unwrap();
        let (id, k) = enroll(&s, "x");
        let rule = a_rule(&s);
        let tags: Vec<String> = (0..5000)
            .map(|i| {
                format!(
                    "pkg:deb/debian/libsomething-{i}@1.2.3-4+deb12u1?arch=amd64&upstream=src-{i}"
                )
            })
            .collect();
        let old: Vec<&str> = tags[2500..].iter().map(String::as_str).collect();
        let new: Vec<&str> = tags[..2500].iter().map(String::as_str).collect();
        attest(&s, (id, &k), 1, &claims_with(&rule, 1, "a"), &old);
        attest(&s, (id, &k), 2, &claims_with(&rule, 2, "a"), &new);
        let t0 = std::time::Instant::now();
        let h = page(&s, id, &Params::default(), 2000, 3600, &viewer())
            .unwrap()
            .unwrap()
            .into_string();
        let took = t0.elapsed();
        assert!(h.len() < 500_000, "{} bytes", h.len());
        assert!(h.contains("The first 1000 of 2500 packages"), "{h}");
        assert!(h.contains("Packages added (2500)") && h.contains("Packages removed (2500)"));
        eprintln!("{} bytes in {took:?}", h.len());
    }
}
