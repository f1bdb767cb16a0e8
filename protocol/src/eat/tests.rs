//! Tests of the claims set: round trips, determinism, and each claim's
//! types and bounds refused or accepted by the strict decoder.

use super::*;

pub fn sample() -> Claims {
    Claims {
        iat: 1_767_225_600,
        cti: vec![7; 16],
        nonce: Some(vec![9; 32]),
        ueid: {
            let mut u = vec![1u8];
            u.extend([3u8; 32]);
            u
        },
        uptime: Some(86_400),
        bootcount: Some(17),
        bootseed: Some(vec![5; 16]),
        intuse: 1,
        sw: Some(SwId {
            name: "Poky".into(),
            version: "5.0.4".into(),
            scheme: 1,
        }),
        measurements: vec![(CF_COSWID, vec![0xa0])],
        measres: vec![(
            "tag:fieldattest.org,2026:catalog/ccsc@0.1.0".into(),
            vec![
                ("ssh.permit-root-login".into(), RESULT_PASS),
                ("time.sync".into(), RESULT_FAIL),
            ],
        )],
        submods: vec![(
            "agent".into(),
            Submod {
                sw: Some(SwId {
                    name: "fieldattest".into(),
                    version: "0.1.0".into(),
                    scheme: 16384,
                }),
                measurements: vec![],
            },
        )],
        seq: 1042,
        cnf: Some({
            let mut k = vec![4u8];
            k.extend([1u8; 64]);
            k
        }),
        epoch: None,
        time_source: Some(1),
        key_tier: 3,
        sbom_digests: vec![("cyclonedx+json".into(), vec![1; 32])],
        sl_ceiling: vec![("FR1".into(), 1), ("FR2".into(), 2)],
        key_fingerprints: vec![KeyFingerprint {
            kind: "ssh-host".into(),
            path: "/etc/ssh/ssh_host_ed25519_key".into(),
            algorithm: "ed25519".into(),
            fingerprint: "SHA256:abc".into(),
        }],
        findings: vec![
            FindingRef {
                rule: "cred.known-default-password".into(),
                subject: "plc".into(),
                path: "/etc/shadow".into(),
                accepted: None,
            },
            FindingRef {
                rule: "ssh.root-login".into(),
                subject: "".into(),
                path: "/etc/ssh/sshd_config".into(),
                accepted: Some("jump host enforces MFA (SEC-42)".into()),
            },
        ],
        hostname: Some("plc-07.line3.example".into()),
        listeners: vec![
            Listener::bounded("tcp", "0.0.0.0", 22, Some("sshd"))
                .with_package(Some("openssh-sshd")),
            Listener::bounded("udp6", "::", 161, None),
        ],
        cve_status: vec![
            CveStatus::bounded(
                "CVE-2023-0464",
                "openssl",
                "Patched",
                "backported-patch",
                "CVE-2023-0464.patch",
            )
            .unwrap(),
            CveStatus::bounded(
                "CVE-2016-2781",
                "coreutils",
                "Ignored",
                "disputed",
                "chroot: not a security issue upstream",
            )
            .unwrap(),
        ],
    }
}

/// The sample's claims map with `key` set to `v` (added or replaced),
/// encoded canonically.
pub(crate) fn sample_with(key: i64, v: Value) -> Vec<u8> {
    let Value::Map(mut m) = sample().to_value() else {
        panic!()
    };
    m.retain(|(k, _)| k.as_integer().map(i64::try_from) != Some(Ok(key)));
    m.push((int(key), v));
    cbor::to_vec(&cbor::canonicalize(Value::Map(m)))
}

pub(crate) fn listener(proto: Value, addr: Value, port: Value, process: Value) -> Value {
    Value::Array(vec![Value::Array(vec![proto, addr, port, process])])
}

#[test]
fn hostname_and_listeners_round_trip_and_are_optional() {
    let c = sample();
    let Value::Map(m) = c.to_value() else {
        panic!()
    };
    let get = |key: i64| {
        m.iter()
            .find(|(k, _)| k.as_integer().map(i64::try_from) == Some(Ok(key)))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get(HOSTNAME), Some(text("plc-07.line3.example")));
    assert_eq!(
        get(LISTENERS),
        Some(Value::Array(vec![
            Value::Array(vec![
                text("tcp"),
                text("0.0.0.0"),
                int(22),
                text("sshd"),
                text("openssh-sshd")
            ]),
            Value::Array(vec![text("udp6"), text("::"), int(161), Value::Null]),
        ]))
    );
    assert_eq!(decode(&c.encode()).unwrap(), c);
    // Absent (an older agent's token): omitted when written, empty when read.
    let old = Claims {
        hostname: None,
        listeners: Vec::new(),
        ..sample()
    };
    let b = old.encode();
    let Value::Map(m) = old.to_value() else {
        panic!()
    };
    assert!(!m.iter().any(|(k, _)| {
        let k = k.as_integer().map(i64::try_from);
        k == Some(Ok(HOSTNAME)) || k == Some(Ok(LISTENERS))
    }));
    let back = decode(&b).unwrap();
    assert_eq!((back.hostname.as_deref(), back.listeners.len()), (None, 0));
    assert_eq!(back, old);
    // An empty listener array is valid input too.
    assert!(decode(&sample_with(LISTENERS, Value::Array(vec![])))
        .unwrap()
        .listeners
        .is_empty());
}

#[test]
fn hostname_and_listeners_bounds() {
    let t = |n: usize| text(&"a".repeat(n));
    let ok = |b: Vec<u8>| decode(&b).unwrap();
    let too_long = |b: Vec<u8>, claim: &'static str, len: usize| {
        assert_eq!(decode(&b), Err(ClaimError::Length { claim, len }));
    };
    // Hostname: 253 bytes of UTF-8 at most ("é" is two bytes).
    let h = ok(sample_with(HOSTNAME, t(MAX_HOSTNAME))).hostname.unwrap();
    assert_eq!(h.len(), 253);
    too_long(sample_with(HOSTNAME, t(254)), "hostname", 254);
    too_long(
        sample_with(HOSTNAME, text(&"é".repeat(127))),
        "hostname",
        254,
    );
    // At most 512 listeners.
    let one = |i: u16| Value::Array(vec![text("tcp"), text("::"), int(i.into()), Value::Null]);
    let n = |k: u16| Value::Array((0..k).map(one).collect());
    assert_eq!(ok(sample_with(LISTENERS, n(512))).listeners.len(), 512);
    too_long(sample_with(LISTENERS, n(513)), "listeners", 513);
    // proto 16 bytes, addr and process 64 bytes, port 0..=65535.
    let l = ok(sample_with(
        LISTENERS,
        listener(t(16), t(64), int(65535), t(64)),
    ))
    .listeners;
    assert_eq!(
        l,
        vec![Listener {
            proto: "a".repeat(16),
            addr: "a".repeat(64),
            port: 65535,
            process: Some("a".repeat(64)),
            package: None,
        }]
    );
    let (a, p, nul) = (text("::"), int(1), Value::Null);
    for (v, len) in [
        (listener(t(17), a.clone(), p.clone(), nul.clone()), 17),
        (listener(text("tcp"), t(65), p.clone(), nul.clone()), 65),
        (listener(text("tcp"), a.clone(), p.clone(), t(65)), 65),
    ] {
        too_long(sample_with(LISTENERS, v), "listeners", len);
    }
    for port in [int(65536), int(-1), int(i64::MAX)] {
        assert_eq!(
            decode(&sample_with(
                LISTENERS,
                listener(text("tcp"), a.clone(), port, nul.clone())
            )),
            Err(ClaimError::Type("listeners"))
        );
    }
}

#[test]
fn hostname_and_listeners_of_the_wrong_type_are_refused() {
    let (tcp, a, p) = (text("tcp"), text("::"), int(22));
    for v in [
        bytes(b"plc"),
        int(7),
        Value::Null,
        Value::Array(vec![text("plc")]),
    ] {
        assert_eq!(
            decode(&sample_with(HOSTNAME, v)),
            Err(ClaimError::Type("hostname"))
        );
    }
    let bad = [
        // Not an array, entries not arrays, wrong arity.
        Value::Map(vec![]),
        text("tcp ::22"),
        Value::Array(vec![text("tcp")]),
        Value::Array(vec![Value::Array(vec![tcp.clone(), a.clone(), p.clone()])]),
        Value::Array(vec![Value::Array(vec![
            tcp.clone(),
            a.clone(),
            p.clone(),
            Value::Null,
            Value::Null,
        ])]),
        // Each field's type.
        listener(bytes(b"tcp"), a.clone(), p.clone(), Value::Null),
        listener(Value::Null, a.clone(), p.clone(), Value::Null),
        listener(tcp.clone(), bytes(b"::"), p.clone(), Value::Null),
        listener(tcp.clone(), a.clone(), text("22"), Value::Null),
        listener(tcp.clone(), a.clone(), Value::Null, Value::Null),
        listener(tcp.clone(), a.clone(), p.clone(), int(1)),
        listener(tcp.clone(), a.clone(), p.clone(), bytes(b"sshd")),
    ];
    for v in bad {
        assert_eq!(
            decode(&sample_with(LISTENERS, v.clone())),
            Err(ClaimError::Type("listeners")),
            "{v:?}"
        );
    }
    // The error names the claim.
    let e = decode(&sample_with(LISTENERS, int(1))).unwrap_err();
    assert_eq!(e.to_string(), "claim listeners has the wrong type");
}

#[test]
fn clip_cuts_at_a_character_boundary() {
    assert_eq!(clip("plc-07", 253), "plc-07");
    assert_eq!(clip("abc", 0), "");
    // "é" is 2 bytes, "€" 3: never split one.
    assert_eq!(clip("aé", 2), "a");
    assert_eq!(clip("aé", 3), "aé");
    assert_eq!(clip("€€", 5), "€");
    let l = Listener::bounded(
        &"t".repeat(20),
        &"€".repeat(30),
        8080,
        Some(&"é".repeat(40)),
    );
    assert_eq!(l.proto.len(), MAX_LISTENER_PROTO);
    assert_eq!(l.addr, "€".repeat(21));
    assert_eq!(l.process.as_deref(), Some("é".repeat(32).as_str()));
    assert_eq!(l.port, 8080);
    let c = Claims {
        listeners: vec![l],
        hostname: Some(clip(&"é".repeat(200), MAX_HOSTNAME).into()),
        ..sample()
    };
    assert_eq!(c.hostname.as_ref().unwrap().len(), 252);
    assert_eq!(decode(&c.encode()).unwrap(), c);
}

#[test]
fn roundtrip_and_determinism() {
    let c = sample();
    let b = c.encode();
    assert_eq!(decode(&b).unwrap(), c);
    assert_eq!(c.encode(), b);
    // Keys appear in bytewise order of their encodings: 6 first, -65547 last.
    // 25 claims: a two-byte map header, then key 6.
    assert_eq!(b[..3], [0xb8, 25, 0x06]);
    let Value::Map(m) = c.to_value() else {
        panic!()
    };
    assert_eq!(m.last().map(|(k, _)| k), Some(&int(CVE_STATUS)));
}

#[test]
fn rejects_bad_claims() {
    let mut c = sample();
    c.nonce = Some(vec![1; 4]);
    assert!(matches!(
        decode(&c.encode()),
        Err(ClaimError::Length {
            claim: "eat_nonce",
            ..
        })
    ));
    let mut c = sample();
    c.ueid = vec![9; 20];
    assert!(matches!(
        decode(&c.encode()),
        Err(ClaimError::Length { claim: "ueid", .. })
    ));
    // Missing seq.
    let Value::Map(m) = sample().to_value() else {
        panic!()
    };
    let m: Vec<_> = m
        .into_iter()
        .filter(|(k, _)| k.as_integer().map(i64::try_from) != Some(Ok(SEQ)))
        .collect();
    assert_eq!(
        decode(&cbor::to_vec(&Value::Map(m))),
        Err(ClaimError::Missing("seq"))
    );
    // Text keys, duplicates, exp.
    assert_eq!(
        decode(&cbor::to_vec(&Value::Map(vec![(text("iat"), int(1))]))),
        Err(ClaimError::NonIntegerKey)
    );
    assert_eq!(
        decode(&cbor::to_vec(&Value::Map(vec![
            (int(6), int(1)),
            (int(6), int(2))
        ]))),
        Err(ClaimError::DuplicateKey(6))
    );
    assert_eq!(
        decode(&cbor::to_vec(&Value::Map(vec![(int(4), text("x"))]))),
        Err(ClaimError::Type("exp/nbf"))
    );
}
