use super::*;

#[test]
fn component_of_purls_and_other_tags() {
    let c = |t: &str| component(t);
    assert_eq!(
        c("pkg:deb/debian/libssl3@3.0.11-1?arch=arm64&upstream=openssl&distro=debian-12"),
        ("libssl3".into(), "3.0.11-1".into(), "openssl".into())
    );
    assert_eq!(
        c("pkg:deb/debian/libc6@2.36-9?upstream=glibc%402.36-9"),
        ("libc6".into(), "2.36-9".into(), "glibc".into())
    );
    assert_eq!(
        c("pkg:apk/alpine/busybox@1.36.1-r15?arch=aarch64"),
        ("busybox".into(), "1.36.1-r15".into(), "busybox".into())
    );
    assert_eq!(
        c("opkg:dropbear@2022.82-5"),
        ("dropbear".into(), "2022.82-5".into(), "dropbear".into())
    );
    for t in [
        "",
        "@",
        "pkg:",
        "pkg:/@",
        "pkg:a/b@%",
        ":::@@@",
        "pkg:x/%e9@1?upstream=",
    ] {
        let _ = c(t);
    }
}

#[test]
fn pct_decode_hostile_never_panics() {
    assert_eq!(pct_decode("a%2Bb"), "a+b");
    assert_eq!(pct_decode("%aé"), "%aé");
    assert_eq!(pct_decode("%é1"), "%é1");
    assert_eq!(pct_decode("x%"), "x%");
    assert_eq!(pct_decode("x%4"), "x%4");
    assert_eq!(pct_decode("%zz%41"), "%zzA");
}

fn aff(eco: &str, events: &[(&str, &str)]) -> Affected {
    Affected {
        ecosystem: eco.into(),
        name: "x".into(),
        versions: vec![],
        program_files: vec![],
        ranges: vec![Range {
            kind: "ECOSYSTEM".into(),
            events: events
                .iter()
                .map(|(k, v)| match *k {
                    "introduced" => Event::Introduced(v.to_string()),
                    "fixed" => Event::Fixed(v.to_string()),
                    "last_affected" => Event::LastAffected(v.to_string()),
                    _ => Event::Limit(v.to_string()),
                })
                .collect(),
        }],
    }
}

#[test]
fn range_shapes() {
    let a = aff(
        "Debian:12",
        &[("introduced", "0"), ("fixed", "1:1.2.13.dfsg-1+deb12u1")],
    );
    assert_eq!(
        evaluate(&a, "1:1.2.13.dfsg-1"),
        Some(Some("1:1.2.13.dfsg-1+deb12u1".into()))
    );
    assert_eq!(evaluate(&a, "1:1.2.13.dfsg-1+deb12u1"), None);
    assert_eq!(
        evaluate(&a, "1.3"),
        Some(Some("1:1.2.13.dfsg-1+deb12u1".into())),
        "epoch 0 < 1"
    );
    let la = aff(
        "Alpine:v3.19",
        &[("introduced", "3.1.0-r0"), ("last_affected", "3.1.4-r3")],
    );
    assert_eq!(evaluate(&la, "3.1.4-r3"), Some(None));
    assert_eq!(evaluate(&la, "3.1.4-r4"), None);
    assert_eq!(evaluate(&la, "3.0.9-r0"), None);
    // Two ranges: 1.x fixed in 1.4, 2.x fixed in 2.1.
    let mut two = aff("Debian:12", &[("introduced", "1.0"), ("fixed", "1.4")]);
    two.ranges.push(
        aff("Debian:12", &[("introduced", "2.0"), ("fixed", "2.1")])
            .ranges
            .remove(0),
    );
    assert!(evaluate(&two, "1.3").is_some());
    assert!(evaluate(&two, "1.5").is_none());
    assert_eq!(evaluate(&two, "2.0~rc1"), None, "~ sorts before 2.0");
    assert_eq!(evaluate(&two, "2.0.5"), Some(Some("2.1".into())));
}

fn cve5(default: &str, entries: &[(&str, Option<&str>, Option<&str>, &str)]) -> Affected {
    let mut events = vec![Event::DefaultStatus(default.into())];
    events.extend(entries.iter().map(|(v, lt, le, st)| {
        Event::Status(VersionStatus {
            version: v.to_string(),
            less_than: lt.map(str::to_string),
            less_than_or_equal: le.map(str::to_string),
            status: st.to_string(),
        })
    }));
    Affected {
        ecosystem: "CPE".into(),
        name: "linux:linux_kernel".into(),
        versions: vec![],
        program_files: vec![],
        ranges: vec![Range {
            kind: "CVE5".into(),
            events,
        }],
    }
}

#[test]
fn cve5_ranges_first_entry_wins_and_wildcards_bound_branches() {
    let k = cve5(
        "affected",
        &[
            ("0", Some("4.19"), None, "unaffected"),
            ("6.1.90", None, Some("6.1.*"), "unaffected"),
            ("6.9", None, Some("*"), "unaffected"),
        ],
    );
    assert_eq!(evaluate(&k, "4.18.5"), None);
    assert_eq!(evaluate(&k, "4.19"), Some(Some("6.1.90".into())));
    assert_eq!(evaluate(&k, "6.1.89"), Some(Some("6.1.90".into())));
    assert_eq!(evaluate(&k, "6.1.90"), None);
    assert_eq!(evaluate(&k, "6.1.200"), None);
    assert_eq!(evaluate(&k, "6.10"), None, "6.10 is not in 6.1.*");
    assert_eq!(evaluate(&k, "6.9-rc7"), Some(Some("6.9".into())));
    // lessThan with a wildcard: everything before the 2.x series.
    let lt = cve5("unaffected", &[("1.0", Some("2.*"), None, "affected")]);
    assert_eq!(evaluate(&lt, "1.9.9"), Some(None));
    assert_eq!(evaluate(&lt, "2.0"), None);
    assert_eq!(evaluate(&lt, "0.9"), None);
    // An exact entry; `unknown` is not affected.
    let ex = cve5("unknown", &[("2.4.0", None, None, "affected")]);
    assert_eq!(evaluate(&ex, "2.4"), Some(None));
    assert_eq!(evaluate(&ex, "2.4.1"), None);
    // The first containing entry decides, a later one is not read.
    let first = cve5(
        "unaffected",
        &[
            ("2.2", None, None, "unaffected"),
            ("2.0", Some("2.4"), None, "affected"),
        ],
    );
    assert_eq!(evaluate(&first, "2.2"), None);
    assert_eq!(evaluate(&first, "2.3"), Some(Some("2.4".into())));
}

#[test]
fn exclusive_starts() {
    let mut a = aff("CPE", &[("last_affected", "8.9")]);
    a.ranges[0]
        .events
        .insert(0, Event::IntroducedExclusive("8.5".into()));
    assert_eq!(evaluate(&a, "8.5"), None);
    assert_eq!(evaluate(&a, "8.5.1"), Some(None));
    assert_eq!(evaluate(&a, "8.9"), Some(None));
    assert_eq!(evaluate(&a, "9.0"), None);
    let adv = Advisory {
        id: "CVE-2099-1".into(),
        modified: "m".into(),
        summary: None,
        aliases: vec![],
        severity: Some(("CVSS_V3".into(), "CVSS:3.1/AV:N".into())),
        cvss: vec![
            ("CVSS_V3".into(), "CVSS:3.1/AV:N".into()),
            ("CVSS_V4".into(), "CVSS:4.0/AV:N".into()),
        ],
        affected: vec![
            a,
            cve5("affected", &[("6.1.90", None, Some("6.1.*"), "unaffected")]),
        ],
    };
    assert_eq!(parse(&to_json(&adv).to_string()).unwrap(), adv);
}
