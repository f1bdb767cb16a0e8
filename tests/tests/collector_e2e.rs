//! The real collector on a loopback port with a test CA, driven by the real
//! agent binary and plain curl: enroll → approve → session → attest → stored
//! and visible in `findings`/`fleet`; a rejection corpus that is refused and
//! audited while the server keeps serving; duplicate host keys and drift.

use fieldattest_tests::collector::*;
use fieldattest_tests::{bin, dpkg_para, fieldattest};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

#[test]
fn enroll_approve_attest_and_query() {
    let c = start();
    let (code, v) = c.curl("GET", "/healthz", None, &[]);
    assert_eq!((code, v["status"].as_str()), (200, Some("ok")));
    let d = Device::new(None, 30);
    // A pending device cannot attest.
    let secret = c.enroll_secret("plant-7");
    let (sid, nonce) = c.session();
    let t = d.token(Some(&nonce), true);
    let (code, v) = c.curl(
        "POST",
        &format!("/attestation/v1/enroll/{sid}"),
        Some(&t),
        &["-H", &format!("Authorization: Bearer {}", secret.trim())],
    );
    assert_eq!(code, 201, "{v}");
    let id = v["device"].as_i64().unwrap();
    let (code, v) = d.attest_online(&c);
    assert_eq!(code, 403, "{v}");
    assert!(v["error"].as_str().unwrap().contains("not approved"));
    Command::new(bin("fieldattest-collector"))
        .args(["approve", &id.to_string(), "--db"])
        .arg(&c.db_arg)
        .status()
        .unwrap();
    let (code, v) = d.attest_online(&c);
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["result"], "accepted");
    let devices = c.cli(&["devices"]);
    assert_eq!(devices[0]["status"], "active");
    assert_eq!(devices[0]["site"], "plant-7");
    let findings = c.cli(&["findings"]);
    assert!(
        findings
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["device"] == id),
        "{findings}"
    );
    let fleet = c.cli(&["fleet"]);
    assert_eq!(fleet["devices"], 1);
    assert!(fleet["sl_ceiling"]["FR1"]["min"].is_number(), "{fleet}");
    // The enrollment secret was single use.
    let (sid, nonce) = c.session();
    let other = Device::new(None, 1);
    let t = other.token(Some(&nonce), true);
    let (code, _) = c.curl(
        "POST",
        &format!("/attestation/v1/enroll/{sid}"),
        Some(&t),
        &["-H", &format!("Authorization: Bearer {}", secret.trim())],
    );
    assert_eq!(code, 401);
}

#[test]
fn rejection_corpus_is_refused_audited_and_server_survives() {
    let c = start();
    let d = Device::new(None, 5);
    d.enroll(&c);
    let mut expect: Vec<(&str, u16, &str)> = Vec::new();
    // Replayed nonce: the same session twice.
    let (sid, nonce) = c.session();
    let t = d.token(Some(&nonce), false);
    assert_eq!(
        c.curl(
            "POST",
            &format!("/attestation/v1/sessions/{sid}"),
            Some(&t),
            &[]
        )
        .0,
        200
    );
    let t2 = d.token(Some(&nonce), false);
    let r = c.curl(
        "POST",
        &format!("/attestation/v1/sessions/{sid}"),
        Some(&t2),
        &[],
    );
    expect.push((
        "replayed nonce",
        r.0,
        r.1["error"].as_str().unwrap_or("").to_string().leak(),
    ));
    // Wrong nonce.
    let (sid, _) = c.session();
    let t3 = d.token(
        Some("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"),
        false,
    );
    let r = c.curl(
        "POST",
        &format!("/attestation/v1/sessions/{sid}"),
        Some(&t3),
        &[],
    );
    expect.push((
        "wrong nonce",
        r.0,
        r.1["error"].as_str().unwrap_or("").to_string().leak(),
    ));
    // Unknown session.
    let r = c.curl("POST", "/attestation/v1/sessions/deadbeef", Some(&t3), &[]);
    expect.push((
        "unknown session",
        r.0,
        r.1["error"].as_str().unwrap_or("").to_string().leak(),
    ));
    // Unknown kid: a device that never enrolled.
    let stranger = Device::new(None, 1);
    let (sid, nonce) = c.session();
    let ts = stranger.token(Some(&nonce), false);
    let r = c.curl(
        "POST",
        &format!("/attestation/v1/sessions/{sid}"),
        Some(&ts),
        &[],
    );
    expect.push((
        "unknown kid",
        r.0,
        r.1["error"].as_str().unwrap_or("").to_string().leak(),
    ));
    // Tampered payload and signature.
    let good = std::fs::read(d.token(None, false)).unwrap();
    let tp = d.tree.outside().join("tampered-payload.cwt");
    let mut b = good.clone();
    let mid = b.len() / 2;
    b[mid] ^= 1;
    std::fs::write(&tp, &b).unwrap();
    let r = c.curl("POST", "/attestation/v1/tokens", Some(&tp), &[]);
    expect.push((
        "tampered payload",
        r.0,
        r.1["error"].as_str().unwrap_or("").to_string().leak(),
    ));
    let tsg = d.tree.outside().join("tampered-sig.cwt");
    let mut b = good.clone();
    let last = b.len() - 1;
    b[last] ^= 1;
    std::fs::write(&tsg, &b).unwrap();
    let r = c.curl("POST", "/attestation/v1/tokens", Some(&tsg), &[]);
    expect.push((
        "tampered signature",
        r.0,
        r.1["error"].as_str().unwrap_or("").to_string().leak(),
    ));
    // Offline token accepted once; the same file again is a duplicate cti.
    let off = d.tree.outside().join("offline.cwt");
    std::fs::write(&off, &good).unwrap();
    assert_eq!(
        c.curl("POST", "/attestation/v1/tokens", Some(&off), &[]).0,
        200
    );
    let r = c.curl("POST", "/attestation/v1/tokens", Some(&off), &[]);
    expect.push((
        "duplicate cti",
        r.0,
        r.1["error"].as_str().unwrap_or("").to_string().leak(),
    ));
    // Sequence replay: an older token arriving after a newer one.
    let older = d.token(None, false);
    let newer = d.token(None, false);
    assert_eq!(
        c.curl("POST", "/attestation/v1/tokens", Some(&newer), &[])
            .0,
        200
    );
    let r = c.curl("POST", "/attestation/v1/tokens", Some(&older), &[]);
    assert_eq!(r.0, 409, "{}", r.1);
    assert!(
        r.1["error"]
            .as_str()
            .unwrap_or("")
            .contains("sequence replay"),
        "{}",
        r.1
    );
    // Garbage and oversize bodies.
    let g = d.tree.outside().join("garbage.bin");
    std::fs::write(&g, b"this is not CBOR at all").unwrap();
    let r = c.curl("POST", "/attestation/v1/tokens", Some(&g), &[]);
    expect.push((
        "garbage",
        r.0,
        r.1["error"].as_str().unwrap_or("").to_string().leak(),
    ));
    let big = d.tree.outside().join("big.bin");
    std::fs::write(&big, vec![0u8; 300 * 1024]).unwrap();
    let r = c.curl("POST", "/attestation/v1/tokens", Some(&big), &[]);
    expect.push(("oversize", r.0, ""));
    // Revoked device.
    Command::new(bin("fieldattest-collector"))
        .args(["revoke", "1", "--db"])
        .arg(&c.db_arg)
        .status()
        .unwrap();
    let r = d.attest_online(&c);
    expect.push((
        "revoked",
        r.0,
        r.1["error"].as_str().unwrap_or("").to_string().leak(),
    ));

    let want: [(&str, u16, &str); 11] = [
        ("replayed nonce", 409, "nonce replayed"),
        ("wrong nonce", 400, "wrong nonce"),
        ("unknown session", 404, "unknown session"),
        ("unknown kid", 403, "unknown kid"),
        ("tampered payload", 400, ""),
        ("tampered signature", 400, "signature"),
        ("duplicate cti", 409, "duplicate cti"),
        ("garbage", 400, ""),
        ("oversize", 413, ""),
        ("revoked", 403, "revoked"),
        ("", 0, ""),
    ];
    for (i, (what, code, reason)) in expect.iter().enumerate() {
        let (w, wc, wr) = want[i];
        assert_eq!(*what, w);
        // An oversize upload may see the connection closed before the 413 arrives.
        if *what == "oversize" {
            assert!(*code == 413 || *code == 0, "{what}: {code}");
            continue;
        }
        assert_eq!(*code, wc, "{what}: {reason}");
        assert!(reason.contains(wr), "{what}: {reason:?} lacks {wr:?}");
    }
    // Every refusal is in the audit trail, and the server still answers.
    let audit = c.cli(&["audit", "--limit", "100"]);
    let rejected = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "rejected")
        .count();
    assert!(rejected >= 10, "{audit}");
    assert!(
        audit.as_array().unwrap().iter().any(|e| e["reason"]
            .as_str()
            .unwrap_or("")
            .contains("body larger than")),
        "oversize not audited: {audit}"
    );
    assert_eq!(c.curl("GET", "/healthz", None, &[]).0, 200);
}

#[test]
fn shared_host_keys_and_drift_are_detected() {
    let c = start();
    let a = Device::new(None, 10);
    let key = a.tree.root().join("etc/ssh/ssh_host_ed25519_key");
    let b = Device::new(Some(&key), 10);
    let x = Device::new(None, 10);
    for d in [&a, &b, &x] {
        d.enroll(&c);
        assert_eq!(d.attest_online(&c).0, 200);
    }
    // Device a changes: one package more and a rule result changes.
    a.tree.file("var/lib/dpkg/status", {
        let mut s = String::new();
        for i in 0..11 {
            s.push_str(&dpkg_para(&format!("pkg{i}"), "1.0", "arm64"));
        }
        s
    });
    a.tree.file("etc/ssh/sshd_config", "PermitRootLogin yes\n");
    assert_eq!(a.attest_online(&c).0, 200);
    let fleet = c.cli(&["fleet"]);
    let shared = fleet["shared_keys"].as_array().unwrap();
    assert_eq!(shared.len(), 1, "{fleet}");
    assert_eq!(shared[0]["devices"].as_array().unwrap().len(), 2);
    let drift = fleet["drift"].as_array().unwrap();
    assert_eq!(drift.len(), 1, "{fleet}");
    assert_eq!(drift[0]["packages_added"].as_array().unwrap().len(), 1);
    assert!(drift[0]["rules_changed"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["rule"] == "ssh.permit-root-login"));
    // The console lists the devices, the drifting one with its badge, and
    // the overview names a failing rule.
    let (code, html) = c.console("/devices");
    assert_eq!(code, 200, "{html}");
    assert_eq!(html.matches("class=\"device\"").count(), 3, "{html}");
    let (code, html) = c.console("/devices?drifting=1");
    assert_eq!(code, 200, "{html}");
    assert_eq!(html.matches("class=\"device\"").count(), 1, "{html}");
    let (code, html) = c.console("/");
    assert_eq!(code, 200, "{html}");
    assert!(html.contains("ssh.permit-root-login"));
}

#[test]
fn mutual_tls_requires_a_client_certificate_and_binds_it_to_the_device() {
    // Two device client certificates signed by the same test CA.
    let c = start_mtls(&[("cli", "device-1"), ("cli2", "device-2")]);
    let cert = |n: &str| c.cert_args(n);
    let args = |v: &[String]| -> Vec<String> { v.to_vec() };
    fn as_refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    // No client certificate: no service.
    let (code, _) = c.curl("GET", "/healthz", None, &[]);
    assert_ne!(code, 200, "served without a client certificate");
    let one = args(&cert("cli"));
    assert_eq!(c.curl("GET", "/healthz", None, &as_refs(&one)).0, 200);
    // Enroll over mTLS with device-1's certificate; it is bound to the device.
    let d = Device::new(None, 2);
    let secret = c.enroll_secret("s");
    let session = |cert: &Vec<String>| -> (String, String) {
        let (code, v) = c.curl("POST", "/attestation/v1/sessions", None, &as_refs(cert));
        assert_eq!(code, 201, "{v}");
        (
            v["id"].as_str().unwrap().to_string(),
            v["nonce"].as_str().unwrap().to_string(),
        )
    };
    let (sid, nonce) = session(&one);
    let t = d.token(Some(&nonce), true);
    let auth = format!("Authorization: Bearer {}", secret.trim());
    let mut e = as_refs(&one);
    e.extend(["-H", &auth]);
    let (code, v) = c.curl(
        "POST",
        &format!("/attestation/v1/enroll/{sid}"),
        Some(&t),
        &e,
    );
    assert_eq!(code, 201, "{v}");
    Command::new(bin("fieldattest-collector"))
        .args(["approve", "1", "--db"])
        .arg(&c.db_arg)
        .status()
        .unwrap();
    // The right certificate attests; another valid certificate of the same CA is refused.
    let (sid, nonce) = session(&one);
    let t = d.token(Some(&nonce), false);
    assert_eq!(
        c.curl(
            "POST",
            &format!("/attestation/v1/sessions/{sid}"),
            Some(&t),
            &as_refs(&one)
        )
        .0,
        200
    );
    let two = args(&cert("cli2"));
    let (sid, nonce) = session(&two);
    let t = d.token(Some(&nonce), false);
    let (code, v) = c.curl(
        "POST",
        &format!("/attestation/v1/sessions/{sid}"),
        Some(&t),
        &as_refs(&two),
    );
    assert_eq!(code, 403, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("client certificate"),
        "{v}"
    );
}

#[test]
fn sbom_is_uploaded_by_digest_only_when_attested() {
    let c = start();
    let d = Device::new(None, 4);
    d.enroll(&c);
    let (sid, nonce) = c.session();
    let tok = d.tree.outside().join("with-sbom.cwt");
    let sbom = d.tree.outside().join("sbom.cdx.json");
    let o = fieldattest(&[
        "attest",
        "--root",
        &d.tree.root_str(),
        "--state-dir",
        d.state.to_str().unwrap(),
        "--nonce",
        &nonce,
        "--out",
        tok.to_str().unwrap(),
        "--sbom-out",
        sbom.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = Command::new("sha256sum").arg(&sbom).output().unwrap();
    let digest = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let path = format!("/attestation/v1/sbom/{digest}");
    // Before the token arrives, nobody references the SBOM.
    let put = |file: &Path| {
        c.curl(
            "PUT",
            &path,
            None,
            &["--data-binary", &format!("@{}", file.display())],
        )
    };
    assert_eq!(put(&sbom).0, 404);
    let r = c.curl(
        "POST",
        &format!("/attestation/v1/sessions/{sid}"),
        Some(&tok),
        &[],
    );
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(c.curl("GET", &path, None, &[]).0, 404, "not stored yet");
    let wrong = d.tree.outside().join("wrong.json");
    std::fs::write(&wrong, b"{}").unwrap();
    assert_eq!(put(&wrong).0, 400, "body must match the digest");
    assert_eq!(put(&sbom).0, 201);
    assert_eq!(put(&sbom).0, 200, "idempotent");
    assert_eq!(c.curl("GET", &path, None, &[]).0, 200);

    // ISSUE19: the operator API serves the device's SBOM as uploaded
    // (CycloneDX) or converted (SPDX 2.3, SPDX 3.0.1); viewers and
    // strangers get nothing; each export is audited.
    let id = c.cli(&["devices"]).as_array().unwrap()[0]["id"]
        .as_i64()
        .unwrap();
    let api = |fmt: &str| format!("/api/v1/devices/{id}/sbom?format={fmt}");
    assert_eq!(c.op("GET", &api("spdx-json"), &[]).0, 401);
    let viewer = c.login("viewer", "viewer");
    let (code, _, _) = c.op("GET", &api("spdx-json"), &["-b", viewer.to_str().unwrap()]);
    assert_eq!(code, 403, "the SBOM is behind the operator role");
    let op = c.login("op", "operator");
    let get = |fmt: &str| c.op("GET", &api(fmt), &["-b", op.to_str().unwrap()]);
    let (code, body, headers) = get("cyclonedx");
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body.as_bytes(),
        std::fs::read(&sbom).unwrap(),
        "as uploaded"
    );
    assert!(
        headers.contains("application/vnd.cyclonedx+json"),
        "{headers}"
    );
    assert!(headers.contains("attachment"), "{headers}");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/validate_spdx.py");
    for (fmt, want) in [
        ("spdx-json", "valid SPDX 2.3"),
        ("spdx3", "valid SPDX 3.0.1"),
    ] {
        let (code, body, _) = get(fmt);
        assert_eq!(code, 200, "{fmt}: {body}");
        let f = d.tree.outside().join(format!("served.{fmt}.json"));
        std::fs::write(&f, &body).unwrap();
        let out = Command::new(fieldattest_tests::python())
            .arg(&script)
            .arg(&f)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains(want), "{fmt}: {text}");
    }
    let (code, body, _) = get("spdx-yaml");
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("bad-request"), "{body}");
    let (code, body, _) = c.op(
        "GET",
        "/api/v1/devices/999/sbom",
        &["-b", op.to_str().unwrap()],
    );
    assert_eq!(code, 404, "{body}");
    let audit = c.cli(&["audit", "--limit", "1000"]).to_string();
    for fmt in ["cyclonedx", "spdx-json", "spdx3"] {
        assert!(
            audit.contains(&format!("as {fmt} by operator op")),
            "export as {fmt} not audited: {audit}"
        );
    }
}

/// `fieldattest-collector import DIR --format json`: (exit code, output).
fn import(c: &Collector, bundle: &Path) -> (i32, Value, String) {
    let out = Command::new(bin("fieldattest-collector"))
        .arg("import")
        .arg(bundle)
        .arg("--db")
        .arg(&c.db_arg)
        .args(["--format", "json"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn audit_len(c: &Collector) -> usize {
    c.cli(&["audit", "--limit", "100000"])
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn air_gapped_bundle_is_verified_complete_and_imported_once() {
    let c = start();
    let d = Device::new(None, 5);
    let id = d.enroll(&c);
    for _ in 0..3 {
        d.spool();
    }
    let b1 = d.export(false);
    let (code, v, err) = import(&c, &b1);
    assert_eq!(code, 0, "{v} {err}");
    assert_eq!(
        (
            v["device"].as_i64(),
            v["new"].as_i64(),
            v["already_stored"].as_i64()
        ),
        (Some(id), Some(3), Some(0)),
        "{v}"
    );
    // Importing the same bundle again changes nothing, not even the audit trail.
    let before = audit_len(&c);
    let (code, v, _) = import(&c, &b1);
    assert_eq!(
        (code, v["new"].as_i64(), v["already_stored"].as_i64()),
        (0, Some(0), Some(3)),
        "{v}"
    );
    assert_eq!(audit_len(&c), before);

    // A token removed from the bundle: the signed manifest names it.
    d.spool();
    d.spool();
    let b2 = d.export(false);
    let spooled = d.spooled();
    assert_eq!(spooled.len(), 5);
    let cut: Vec<u8> = spooled
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3)
        .flat_map(|(_, p)| std::fs::read(p).unwrap())
        .collect();
    std::fs::write(b2.join("tokens.cborseq"), cut).unwrap();
    let (code, _, err) = import(&c, &b2);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("incomplete bundle") && err.contains("missing"),
        "{err}"
    );
    // A tampered manifest fails its signature.
    let b3 = d.export(false);
    let mut m = std::fs::read(b3.join("manifest.cbor")).unwrap();
    let n = m.len();
    m[n - 45] ^= 1;
    std::fs::write(b3.join("manifest.cbor"), m).unwrap();
    let (code, _, err) = import(&c, &b3);
    assert_eq!(code, 1);
    assert!(err.contains("manifest"), "{err}");
    let audit = c.cli(&["audit", "--limit", "5"]);
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["outcome"] == "import-rejected")
            .count()
            >= 2,
        "{audit}"
    );

    // A token lost before export shows up as a gap (missing evidence), and
    // --purge empties the spool once the bundle is written.
    std::fs::remove_file(&spooled[3]).unwrap();
    d.spool();
    let b4 = d.export(true);
    assert!(d.spooled().is_empty());
    let (code, v, err) = import(&c, &b4);
    assert_eq!(code, 0, "{v} {err}");
    assert_eq!(
        (v["new"].as_i64(), v["already_stored"].as_i64()),
        (Some(2), Some(3)),
        "{v}"
    );
    assert_eq!(v["missing_seq"][0].as_str(), Some("5..5"), "{v}");

    // Revocation takes effect for imported bundles too.
    sh(Command::new(bin("fieldattest-collector"))
        .args(["revoke", &id.to_string(), "--db"])
        .arg(&c.db_arg));
    d.spool();
    let b5 = d.export(false);
    let (code, _, err) = import(&c, &b5);
    assert_eq!(code, 1);
    assert!(err.contains("device revoked"), "{err}");
}

#[test]
fn key_rotation_old_key_vouches_for_the_new_one() {
    let c = start();
    let d = Device::new(None, 3);
    let id = d.enroll(&c);
    let (code, v) = d.attest_online(&c);
    assert_eq!(code, 200, "{v}");
    let old_kid = c.cli(&["devices"])[0]["kid"].as_str().unwrap().to_string();
    // A token spooled before the rotation, delivered after it.
    let spooled_before = d.token(None, false);
    let st = d.state.to_str().unwrap();
    let (sid, nonce) = c.session();
    let body = d.tree.outside().join("rotate.cbor");
    let o = fieldattest(&[
        "rotate",
        "--nonce",
        &nonce,
        "--out",
        body.to_str().unwrap(),
        "--state-dir",
        st,
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A proof of possession that does not verify is refused.
    let mut bad = std::fs::read(&body).unwrap();
    let n = bad.len();
    bad[n - 1] ^= 1;
    let badp = d.tree.outside().join("rotate-bad.cbor");
    std::fs::write(&badp, bad).unwrap();
    let ct = ["-H", "Content-Type: application/cbor-seq"];
    let (code, v) = c.curl(
        "POST",
        &format!("/attestation/v1/rotate/{sid}"),
        Some(&badp),
        &ct,
    );
    assert_eq!(code, 400, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("proof of possession"),
        "{v}"
    );
    let (sid, _) = c.session();
    let (code, v) = c.curl(
        "POST",
        &format!("/attestation/v1/rotate/{sid}"),
        Some(&body),
        &ct,
    );
    assert_eq!(code, 400, "wrong nonce for this session: {v}");
    let (sid, nonce) = c.session();
    let o = fieldattest(&[
        "rotate",
        "--nonce",
        &nonce,
        "--out",
        body.to_str().unwrap(),
        "--state-dir",
        st,
    ]);
    assert_eq!(o.status.code(), Some(0));
    let (code, v) = c.curl(
        "POST",
        &format!("/attestation/v1/rotate/{sid}"),
        Some(&body),
        &ct,
    );
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["device"].as_i64(), Some(id));
    let new_kid = v["kid"].as_str().unwrap().to_string();
    assert_ne!(new_kid, old_kid);
    // Replaying the rotation is refused: the old key is no longer current.
    let (code, v) = c.curl(
        "POST",
        &format!("/attestation/v1/rotate/{sid}"),
        Some(&body),
        &ct,
    );
    assert_eq!(code, 403, "{v}");
    // Signed by the old key after the rotation point: refused later.
    let after_point = d.token(None, false);
    let o = fieldattest(&["rotate", "--commit", "--state-dir", st]);
    assert_eq!(o.status.code(), Some(0));
    // The spooled token of the old key still verifies; the later one does not.
    let (code, v) = c.curl("POST", "/attestation/v1/tokens", Some(&spooled_before), &[]);
    assert_eq!(code, 200, "{v}");
    let (code, v) = c.curl("POST", "/attestation/v1/tokens", Some(&after_point), &[]);
    assert_eq!(code, 403, "{v}");
    assert!(v["error"].as_str().unwrap().contains("retired key"), "{v}");
    // The new key attests; the device keeps its id and history.
    let (code, v) = d.attest_online(&c);
    assert_eq!(code, 200, "{v}");
    let devs = c.cli(&["devices"]);
    assert_eq!(devs.as_array().unwrap().len(), 1);
    assert_eq!(devs[0]["kid"].as_str(), Some(new_kid.as_str()));
    let audit = c.cli(&["audit", "--limit", "20"]);
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["outcome"] == "rotated"),
        "{audit}"
    );
}

// The same tests with the collector on PostgreSQL.
fieldattest_tests::on_postgres_too!(
    enroll_approve_attest_and_query,
    rejection_corpus_is_refused_audited_and_server_survives,
    shared_host_keys_and_drift_are_detected,
    mutual_tls_requires_a_client_certificate_and_binds_it_to_the_device,
    sbom_is_uploaded_by_digest_only_when_attested,
    air_gapped_bundle_is_verified_complete_and_imported_once,
    key_rotation_old_key_vouches_for_the_new_one,
);
