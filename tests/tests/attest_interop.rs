//! Attestation tokens against an independent implementation (python `cwt` +
//! `cbor2` from the test venv), in both directions, plus size, determinism,
//! rejection and no-secret checks on tokens made by the real binary.

use fieldattest_tests::{dpkg_para, fieldattest, json_of, python, Tree};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/cwt_interop.py")
}

fn py(args: &[&str]) -> std::process::Output {
    Command::new(python())
        .arg(script())
        .args(args)
        .output()
        .expect("python interop script")
}

/// A 120-package device with keys and a known password hash.
fn device() -> Tree {
    let t = Tree::new();
    let mut status = String::new();
    for i in 0..120 {
        status.push_str(&dpkg_para(
            &format!("pkg-{i:03}"),
            &format!("1.{i}.0-1+deb12u1"),
            "arm64",
        ));
    }
    t.file("var/lib/dpkg/status", status)
        .file("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\nNAME=\"Debian GNU/Linux\"\n")
        .file("etc/passwd", "root:x:0:0::/root:/bin/sh\nop:x:1000:1000::/home/op:/bin/sh\n")
        .file("etc/group", "root:x:0:\nop:x:1000:\n")
        .file("etc/shadow", "root:!:19000::::::\nop:$6$s4ltS4lt$Q7bX8u1rXh2M3wJzM1fV0n0m9H8cGkqH2Lh0y3b1nD4p3k0QYq1o9Yq2Wf5Yb8R0Yb3Zb5tG6yK9r0pQxJ1aA/:19000:0:99999:7:::\n")
        .file("etc/ssh/sshd_config", "PermitRootLogin no\n")
        .file("etc/hostname", "plc-07.line3\n");
    let key = t.root().join("etc/ssh/ssh_host_ed25519_key");
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(st.success());
    t
}

struct Made {
    _t: Tree,
    dir: PathBuf,
    token: PathBuf,
    pem: PathBuf,
    kid: String,
    ueid: String,
}

fn attest(nonce: &str) -> Made {
    let t = device();
    let dir = t.outside().join("out");
    std::fs::create_dir_all(&dir).unwrap();
    let state = t.outside().join("state");
    let token = dir.join("token.cwt");
    let out = fieldattest(&[
        "attest",
        "--root",
        &t.root_str(),
        "--state-dir",
        state.to_str().unwrap(),
        "--out",
        token.to_str().unwrap(),
        "--nonce",
        nonce,
        "--sbom-out",
        dir.join("sbom.json").to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = fieldattest(&["identity", "--state-dir", state.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&id.stdout).to_string();
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k))
            .unwrap()
            .trim()
            .to_string()
    };
    let pem = dir.join("pub.pem");
    std::fs::write(&pem, &text[text.find("-----BEGIN").unwrap()..]).unwrap();
    Made {
        kid: field("kid:"),
        ueid: field("ueid:"),
        _t: t,
        dir,
        token,
        pem,
    }
}

const NONCE: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

#[test]
fn our_token_verifies_with_python_cwt_and_claims_match() {
    let m = attest(NONCE);
    let size = std::fs::metadata(&m.token).unwrap().len();
    eprintln!("token for a 120-package device: {size} bytes");
    assert!(size <= 24 * 1024, "token of {size} bytes exceeds 24 KB");
    let out = py(&[
        "verify",
        m.token.to_str().unwrap(),
        m.pem.to_str().unwrap(),
        &m.kid,
    ]);
    assert!(
        out.status.success(),
        "cwt refused our token: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs["profile"], "tag:fieldattest.org,2026:eat/v1");
    assert_eq!(theirs["ueid"], m.ueid.as_str());
    assert_eq!(theirs["nonce"], NONCE);
    assert_eq!(theirs["seq"], 1);
    assert_eq!(theirs["iat_is_int"], true);
    assert_eq!(theirs["int_keys_only"], true);
    assert_eq!(
        theirs["canonical"], true,
        "payload is not in canonical CBOR order"
    );
    // Our own verifier agrees with python on the claims.
    let ours = json_of(&fieldattest(&[
        "verify",
        "--key",
        m.pem.to_str().unwrap(),
        m.token.to_str().unwrap(),
    ]));
    assert_eq!(ours["valid"], true);
    assert_eq!(ours["ueid"], theirs["ueid"]);
    assert_eq!(ours["measurements"], theirs["measurements"]);
    assert_eq!(ours["rules"], theirs["rules"]);
    assert!(theirs["measurements"].as_u64().unwrap() >= 120);
    // The operator console's claims: the image's hostname; no listening
    // sockets in an image, so the claim is omitted.
    assert_eq!(theirs["hostname"], "plc-07.line3");
    assert_eq!(theirs["listeners"], serde_json::json!([]));
    // A Debian device has no Yocto CVE record: no cve-status claim.
    assert_eq!(theirs["cve_status"], serde_json::json!([]));
    assert_eq!(
        (&ours["listeners"], &ours["cve_status"]),
        (&0.into(), &0.into())
    );
    // The SBOM digest in the token is the SHA-256 of the SBOM written with it.
    let sbom = std::fs::read(m.dir.join("sbom.json")).unwrap();
    let out = Command::new("sha256sum")
        .arg(m.dir.join("sbom.json"))
        .output()
        .unwrap();
    let want = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(ours["sbom_sha256"], want.as_str());
    assert!(!sbom.is_empty());
}

#[test]
fn defective_tokens_are_refused_by_both_verifiers() {
    let m = attest(NONCE);
    let good = std::fs::read(&m.token).unwrap();
    let other = attest(NONCE);
    let mut cases: Vec<(&str, Vec<u8>, PathBuf, String)> = Vec::new();
    cases.push(("untagged", good[3..].to_vec(), m.pem.clone(), m.kid.clone()));
    let mut payload_flip = good.clone();
    let mid = good.len() / 2;
    payload_flip[mid] ^= 0x01;
    cases.push(("payload bit", payload_flip, m.pem.clone(), m.kid.clone()));
    let mut sig_flip = good.clone();
    let last = sig_flip.len() - 1;
    sig_flip[last] ^= 0x01;
    cases.push(("signature bit", sig_flip, m.pem.clone(), m.kid.clone()));
    cases.push((
        "other device's key",
        good.clone(),
        other.pem.clone(),
        other.kid.clone(),
    ));
    for (what, bytes, pem, kid) in cases {
        let p = m.dir.join("bad.cwt");
        std::fs::write(&p, &bytes).unwrap();
        let ours = fieldattest(&[
            "verify",
            "--key",
            pem.to_str().unwrap(),
            p.to_str().unwrap(),
        ]);
        assert_eq!(
            ours.status.code(),
            Some(1),
            "{what}: our verifier accepted it"
        );
        let theirs = py(&[
            "expect-fail",
            p.to_str().unwrap(),
            pem.to_str().unwrap(),
            &kid,
        ]);
        assert!(
            theirs.status.success(),
            "{what}: python cwt accepted it: {}",
            String::from_utf8_lossy(&theirs.stdout)
        );
    }
}

#[test]
fn der_signature_and_unprotected_alg_are_refused_with_their_own_errors() {
    let m = attest(NONCE);
    for (kind, our_error) in [
        ("der", "DER is not allowed"),
        ("alg-unprotected", "alg in the unprotected header"),
    ] {
        let p = m.dir.join(format!("{kind}.cwt"));
        let out = py(&[
            "mutate",
            kind,
            m.token.to_str().unwrap(),
            p.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours = fieldattest(&[
            "verify",
            "--key",
            m.pem.to_str().unwrap(),
            p.to_str().unwrap(),
        ]);
        assert_eq!(ours.status.code(), Some(1), "{kind}");
        let err = String::from_utf8_lossy(&ours.stderr);
        assert!(err.contains(our_error), "{kind}: {err}");
        let theirs = py(&[
            "expect-fail",
            p.to_str().unwrap(),
            m.pem.to_str().unwrap(),
            &m.kid,
        ]);
        assert!(theirs.status.success(), "{kind}: python cwt accepted it");
    }
}

#[test]
fn python_cwt_token_verifies_with_our_verifier() {
    let t = Tree::new();
    let dir = t.outside().join("py");
    let out = py(&["make", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expect: Value =
        serde_json::from_slice(&std::fs::read(dir.join("claims.json")).unwrap()).unwrap();
    let v = json_of(&fieldattest(&[
        "verify",
        "--key",
        dir.join("pub.pem").to_str().unwrap(),
        dir.join("token.cwt").to_str().unwrap(),
    ]));
    // Valid: its hostname, listeners (one with a null process and no
    // package, one with both) and cve-status entries, as cbor2 writes
    // them, pass our strict decoder.
    assert_eq!(v["valid"], true);
    assert_eq!((&v["listeners"], &v["cve_status"]), (&2.into(), &3.into()));
    assert_eq!(v["ueid"], expect["ueid"]);
    assert_eq!(v["seq"], 7);
    assert_eq!(v["kid"], expect["kid"]);
}

#[test]
fn no_secret_in_tokens_or_output() {
    let m = attest(NONCE);
    let tok = std::fs::read(&m.token).unwrap();
    let state = m.dir.parent().unwrap().join("state");
    let p8 = std::fs::read(state.join("attest-key.p8")).unwrap();
    let at = p8
        .windows(5)
        .position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20])
        .expect("scalar in PKCS#8")
        + 5;
    let scalar = &p8[at..at + 32];
    assert!(
        !tok.windows(32).any(|w| w == scalar),
        "private key in the token"
    );
    let text = String::from_utf8_lossy(&tok);
    assert!(!text.contains("$6$s4ltS4lt"), "password hash in the token");
    let host = std::fs::read_to_string(m._t.root().join("etc/ssh/ssh_host_ed25519_key")).unwrap();
    for l in host.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!text.contains(l), "host private key material in the token");
    }
    let id = fieldattest(&["identity", "--state-dir", state.to_str().unwrap()]);
    let s = String::from_utf8_lossy(&id.stdout);
    assert!(!s.contains("PRIVATE"));
}

#[test]
fn sequence_increases_across_runs_and_bad_nonce_is_usage_error() {
    let m = attest(NONCE);
    let state = m.dir.parent().unwrap().join("state");
    let tok2 = m.dir.join("t2.cwt");
    let out = fieldattest(&[
        "attest",
        "--root",
        m._t.root().to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "--out",
        tok2.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v = json_of(&fieldattest(&[
        "verify",
        "--key",
        m.pem.to_str().unwrap(),
        tok2.to_str().unwrap(),
    ]));
    assert_eq!(v["seq"], 2);
    assert_eq!(v["nonce"], Value::Null);
    let out = fieldattest(&[
        "attest",
        "--root",
        m._t.root().to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "--nonce",
        "abcd",
    ]);
    assert_eq!(out.status.code(), Some(2));
    // A corrupt key is refused, not replaced.
    std::fs::write(state.join("attest-key.p8"), b"corrupt").unwrap();
    let out = fieldattest(&[
        "attest",
        "--root",
        m._t.root().to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "--out",
        tok2.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("corrupt or truncated"));
    assert_eq!(
        std::fs::read(state.join("attest-key.p8")).unwrap(),
        b"corrupt"
    );
}
