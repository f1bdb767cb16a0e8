//! Tests of the issue 18 claims: `cve-status` (−65547) and the listener's
//! package (an optional fifth element of `listeners`).

use super::tests::{listener, sample, sample_with};
use super::*;

fn listener5(package: Value) -> Value {
    Value::Array(vec![Value::Array(vec![
        text("tcp"),
        text("::"),
        int(502),
        text("modbusd"),
        package,
    ])])
}

#[test]
fn listener_package_is_an_optional_fifth_element() {
    let t = |n: usize| text(&"p".repeat(n));
    // Four elements (an older agent's token): no package.
    let old = decode(&sample_with(
        LISTENERS,
        listener(text("tcp"), text("::"), int(502), text("modbusd")),
    ))
    .unwrap();
    assert_eq!(old.listeners[0].package, None);
    // A listener without package is written with four elements, as before.
    let Value::Map(m) = sample().to_value() else {
        panic!()
    };
    let (_, Value::Array(ls)) = m.iter().find(|(k, _)| k == &int(LISTENERS)).unwrap() else {
        panic!()
    };
    let lens: Vec<usize> = ls
        .iter()
        .map(|l| l.as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(lens, [5, 4]);
    // Five: the package, at most 128 bytes, text only.
    let l = decode(&sample_with(LISTENERS, listener5(t(MAX_LISTENER_PACKAGE))))
        .unwrap()
        .listeners;
    assert_eq!(l[0].package.as_deref(), Some("p".repeat(128).as_str()));
    assert_eq!(l[0].process.as_deref(), Some("modbusd"));
    assert_eq!(
        decode(&sample_with(LISTENERS, listener5(t(129)))),
        Err(ClaimError::Length {
            claim: "listeners",
            len: 129
        })
    );
    for bad in [Value::Null, int(1), bytes(b"libmodbus")] {
        assert_eq!(
            decode(&sample_with(LISTENERS, listener5(bad))),
            Err(ClaimError::Type("listeners"))
        );
    }
    // Six elements: refused.
    let six = Value::Array(vec![Value::Array(vec![
        text("tcp"),
        text("::"),
        int(502),
        Value::Null,
        text("a"),
        text("b"),
    ])]);
    assert_eq!(
        decode(&sample_with(LISTENERS, six)),
        Err(ClaimError::Type("listeners"))
    );
    // Cut at a character boundary.
    let l = Listener::bounded("tcp", "::", 1, None).with_package(Some(&"é".repeat(70)));
    assert_eq!(l.package, Some("é".repeat(64)));
}

fn cve(id: &str, component: &str, status: u8, detail: &str, description: &str) -> Value {
    Value::Array(vec![
        text(id),
        text(component),
        int(status.into()),
        text(detail),
        text(description),
    ])
}

#[test]
fn cve_status_round_trips_and_is_optional() {
    let c = sample();
    let Value::Map(m) = c.to_value() else {
        panic!()
    };
    let (_, v) = m.iter().find(|(k, _)| k == &int(CVE_STATUS)).unwrap();
    assert_eq!(
        v,
        &Value::Array(vec![
            cve(
                "CVE-2023-0464",
                "openssl",
                1,
                "backported-patch",
                "CVE-2023-0464.patch"
            ),
            cve(
                "CVE-2016-2781",
                "coreutils",
                2,
                "disputed",
                "chroot: not a security issue upstream"
            ),
        ])
    );
    assert_eq!(decode(&c.encode()).unwrap(), c);
    // An older agent's token has no such claim: empty when read, and
    // an empty list is not written.
    let old = Claims {
        cve_status: Vec::new(),
        ..sample()
    };
    let Value::Map(m) = old.to_value() else {
        panic!()
    };
    assert!(!m.iter().any(|(k, _)| k == &int(CVE_STATUS)));
    assert_eq!(decode(&old.encode()).unwrap(), old);
    assert!(decode(&sample_with(CVE_STATUS, Value::Array(vec![])))
        .unwrap()
        .cve_status
        .is_empty());
    // Status names and codes.
    for (name, code) in [("Patched", 1), ("Ignored", 2), ("Unpatched", 3)] {
        assert_eq!(cve_status_code(name), Some(code));
        assert_eq!(cve_status_name(code), Some(name));
    }
    assert_eq!(cve_status_code("patched"), None);
    assert_eq!(cve_status_name(0), None);
    assert_eq!(cve_status_name(4), None);
    assert_eq!(CveStatus::bounded("CVE-1", "x", "Fixed", "", ""), None);
}

#[test]
fn cve_status_bounds() {
    let t = |n: usize| text(&"a".repeat(n));
    let too_long = |v: Value, len: usize| {
        assert_eq!(
            decode(&sample_with(CVE_STATUS, Value::Array(vec![v]))),
            Err(ClaimError::Length {
                claim: "cve-status",
                len
            })
        );
    };
    // Each text at its bound decodes, one byte more does not.
    let at = decode(&sample_with(
        CVE_STATUS,
        Value::Array(vec![cve(
            &"c".repeat(32),
            &"p".repeat(128),
            3,
            &"d".repeat(64),
            &"x".repeat(256),
        )]),
    ))
    .unwrap()
    .cve_status;
    assert_eq!(
        (
            at[0].cve.len(),
            at[0].component.len(),
            at[0].detail.len(),
            at[0].description.len(),
            at[0].status
        ),
        (32, 128, 64, 256, CVE_UNPATCHED)
    );
    let ok = text("ok");
    let one = int(1);
    let row = |a: Value, b: Value, d: Value, e: Value| Value::Array(vec![a, b, one.clone(), d, e]);
    too_long(row(t(33), ok.clone(), ok.clone(), ok.clone()), 33);
    too_long(row(ok.clone(), t(129), ok.clone(), ok.clone()), 129);
    too_long(row(ok.clone(), ok.clone(), t(65), ok.clone()), 65);
    too_long(row(ok.clone(), ok.clone(), ok.clone(), t(257)), 257);
    // At most 16384 entries.
    let n = |k: usize| {
        Value::Array(
            (0..k)
                .map(|i| cve(&format!("CVE-2024-{i}"), "linux-yocto", 1, "", ""))
                .collect(),
        )
    };
    assert_eq!(
        decode(&sample_with(CVE_STATUS, n(MAX_CVE_STATUS)))
            .unwrap()
            .cve_status
            .len(),
        16384
    );
    assert_eq!(
        decode(&sample_with(CVE_STATUS, n(MAX_CVE_STATUS + 1))),
        Err(ClaimError::Length {
            claim: "cve-status",
            len: 16385
        })
    );
    // Texts cut at a character boundary when built from a record.
    let c = CveStatus::bounded(
        &"é".repeat(20),
        &"€".repeat(50),
        "Ignored",
        &"é".repeat(40),
        &"€".repeat(100),
    )
    .unwrap();
    assert_eq!(
        (
            c.cve.len(),
            c.component.len(),
            c.detail.len(),
            c.description.len()
        ),
        (32, 126, 64, 255)
    );
    let claims = Claims {
        cve_status: vec![c],
        ..sample()
    };
    assert_eq!(decode(&claims.encode()).unwrap(), claims);
}

#[test]
fn cve_status_of_the_wrong_shape_is_refused() {
    let bad = [
        int(1),
        text("CVE-2023-0464"),
        Value::Map(vec![]),
        Value::Array(vec![text("CVE-2023-0464")]),
        // Four and six elements.
        Value::Array(vec![Value::Array(vec![
            text("CVE-1"),
            text("x"),
            int(1),
            text("d"),
        ])]),
        Value::Array(vec![Value::Array(vec![
            text("CVE-1"),
            text("x"),
            int(1),
            text("d"),
            text("e"),
            text("f"),
        ])]),
        // Each field's type.
        Value::Array(vec![Value::Array(vec![
            bytes(b"CVE-1"),
            text("x"),
            int(1),
            text(""),
            text(""),
        ])]),
        Value::Array(vec![Value::Array(vec![
            text("CVE-1"),
            Value::Null,
            int(1),
            text(""),
            text(""),
        ])]),
        Value::Array(vec![cve("CVE-1", "x", 1, "", "")
            .as_array()
            .map(|a| {
                let mut a = a.clone();
                a[2] = text("Patched");
                Value::Array(a)
            })
            .unwrap()]),
        Value::Array(vec![Value::Array(vec![
            text("CVE-1"),
            text("x"),
            int(-1),
            text(""),
            text(""),
        ])]),
        Value::Array(vec![Value::Array(vec![
            text("CVE-1"),
            text("x"),
            int(1),
            Value::Null,
            text(""),
        ])]),
        Value::Array(vec![Value::Array(vec![
            text("CVE-1"),
            text("x"),
            int(1),
            text(""),
            int(0),
        ])]),
    ];
    for v in bad {
        assert_eq!(
            decode(&sample_with(CVE_STATUS, v.clone())),
            Err(ClaimError::Type("cve-status")),
            "{v:?}"
        );
    }
    // Status codes outside 1..=3 (and beyond a byte).
    for s in [0i64, 4, 256] {
        let v = Value::Array(vec![Value::Array(vec![
            text("CVE-1"),
            text("x"),
            int(s),
            text(""),
            text(""),
        ])]);
        let want = if s == 256 {
            ClaimError::Type("cve-status")
        } else {
            ClaimError::Type("cve-status status")
        };
        assert_eq!(decode(&sample_with(CVE_STATUS, v)), Err(want), "{s}");
    }
    // One entry per (cve, component); the same CVE for two recipes is fine.
    let twice = Value::Array(vec![
        cve("CVE-2024-1", "openssl", 1, "fixed-version", ""),
        cve("CVE-2024-1", "openssl", 2, "disputed", ""),
    ]);
    assert_eq!(
        decode(&sample_with(CVE_STATUS, twice)),
        Err(ClaimError::Dependency(
            "cve-status: one entry per (cve, component)"
        ))
    );
    let two = Value::Array(vec![
        cve("CVE-2024-1", "openssl", 1, "fixed-version", ""),
        cve("CVE-2024-1", "openssl-native", 2, "disputed", ""),
    ]);
    assert_eq!(
        decode(&sample_with(CVE_STATUS, two))
            .unwrap()
            .cve_status
            .len(),
        2
    );
}

/// The fuzz seed of the new claims (`fuzz/seeds/`) is a valid claims set.
#[test]
fn the_cve_status_fuzz_seed_decodes() {
    let c = decode(include_bytes!(
        "../../../fuzz/seeds/claims-cve-status-listeners.cbor"
    ))
    .unwrap();
    assert_eq!(c.cve_status.len(), 3);
    assert_eq!(c.listeners[0].package.as_deref(), Some("lighttpd"));
    assert_eq!(c.listeners[1].package, None);
}
