//! Tests of the claims made from a report: the console claims within the
//! profile's bounds, the image's CVE_STATUS, and the token sizes.

use super::*;
use fieldattest_protocol::report::Listening;

fn scanned(files: &[(&str, &str)]) -> (tempfile::TempDir, RootFs, Report) {
    let d = tempfile::tempdir().unwrap();
    for (path, body) in files {
        let p = d.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    let root = RootFs::new(d.path()).unwrap();
    let rep = fieldattest_scan::scan(&root, &fieldattest_scan::ScanOptions::new("/img", 2));
    (d, root, rep)
}

#[test]
fn hostname_and_listeners_are_claimed_within_the_profile_bounds() {
    let (_d, root, mut rep) = scanned(&[("etc/hostname", "plc-07\n")]);
    let state = tempfile::tempdir().unwrap();
    let id = Identity::load_or_create(state.path()).unwrap();
    let dev = DeviceState::default();
    // An image: the hostname from /etc/hostname, no listening sockets.
    let c = claims(&rep, &root, &id, &dev, None, None, 1).unwrap();
    assert_eq!(c.hostname.as_deref(), Some("plc-07"));
    assert!(c.listeners.is_empty());
    assert_eq!(eat::decode(&c.encode()).unwrap(), c);
    // Over-long texts are cut at a character boundary, extra sockets dropped.
    rep.device.hostname = Some("é".repeat(200));
    rep.inventory.listening = (0..600u16)
        .map(|i| Listening {
            proto: if i == 0 { "x".repeat(40) } else { "tcp".into() },
            addr: if i == 0 {
                "€".repeat(30)
            } else {
                "0.0.0.0".into()
            },
            port: 1000 + i,
            process: (i % 2 == 0).then(|| "p".repeat(100 + usize::from(i))),
            package: None,
        })
        .collect();
    let c = claims(&rep, &root, &id, &dev, None, None, 2).unwrap();
    assert_eq!(c.hostname, Some("é".repeat(126)));
    assert_eq!(c.listeners.len(), eat::MAX_LISTENERS);
    let first = &c.listeners[0];
    assert_eq!(first.proto, "x".repeat(eat::MAX_LISTENER_PROTO));
    assert_eq!(first.addr, "€".repeat(21));
    assert_eq!(first.process, Some("p".repeat(eat::MAX_LISTENER_TEXT)));
    let last = &c.listeners[511];
    assert_eq!(
        (last.proto.as_str(), last.addr.as_str()),
        ("tcp", "0.0.0.0")
    );
    assert_eq!((last.port, last.process.as_deref()), (1511, None));
    assert_eq!(eat::decode(&c.encode()).unwrap(), c);
}

/// A Yocto image's report: `n` CVE_STATUS entries on the kernel recipe
/// (as linux-yocto's generated `cve-exclusion_*.inc` writes them), two
/// on openssl's packages, and a listener with its package.
fn yocto_report(n: usize) -> (tempfile::TempDir, RootFs, Report) {
    use fieldattest_protocol::report::{CveStatus, Package, PackageSource};
    let (d, root, mut rep) = scanned(&[("etc/hostname", "gw-01\n")]);
    let st = |id: String, status: &str, detail: &str, description: &str| CveStatus {
        id,
        status: status.into(),
        detail: detail.into(),
        description: description.into(),
    };
    let mut kernel = Package::new(
        "kernel-image-6.6.52-yocto-standard",
        "6.6.52+git0+a1b2c3-r0",
        PackageSource::Opkg,
        "/var/lib/opkg/status",
    );
    kernel.source_package = Some("linux-yocto".into());
    kernel.cve_status = (0..n)
        .map(|i| {
            st(
                format!("CVE-20{:02}-{:05}", 16 + i % 9, 10000 + i),
                "Patched",
                "fixed-version",
                &format!("Fixed from version 6.{}rc{}", i % 7, 1 + i % 5),
            )
        })
        .collect();
    let ossl = vec![
        st(
            "CVE-2023-0464".into(),
            "Patched",
            "backported-patch",
            "CVE-2023-0464.patch",
        ),
        st(
            "CVE-2023-5678".into(),
            "Ignored",
            "not-applicable-config",
            "no DH",
        ),
    ];
    for name in ["libssl3", "openssl"] {
        let mut p = Package::new(
            name,
            "3.2.3-r0",
            PackageSource::Opkg,
            "/var/lib/opkg/status",
        );
        p.source_package = Some("openssl".into());
        p.cve_status = ossl.clone();
        rep.inventory.packages.push(p);
    }
    // 300 packages, as a controller image has.
    for i in 0..297 {
        let mut p = Package::new(
            format!("package-{i:03}"),
            "1.2.3-r0",
            PackageSource::Opkg,
            "/var/lib/opkg/status",
        );
        p.purl = Some(format!("pkg:yocto/package-{i:03}@1.2.3-r0?arch=cortexa53"));
        rep.inventory.packages.push(p);
    }
    rep.inventory.packages.push(kernel);
    rep.inventory.listening = vec![Listening {
        proto: "tcp".into(),
        addr: "0.0.0.0".into(),
        port: 443,
        process: Some("lighttpd (pid 311)".into()),
        package: Some("lighttpd".into()),
    }];
    (d, root, rep)
}

#[test]
fn the_images_cve_status_and_the_listeners_packages_are_claimed() {
    let (_d, root, rep) = yocto_report(3);
    let state = tempfile::tempdir().unwrap();
    let id = Identity::load_or_create(state.path()).unwrap();
    let c = claims(&rep, &root, &id, &DeviceState::default(), None, None, 1).unwrap();
    let got: Vec<(&str, &str, u8, &str, &str)> = c
        .cve_status
        .iter()
        .map(|e| {
            (
                e.cve.as_str(),
                e.component.as_str(),
                e.status,
                e.detail.as_str(),
                e.description.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "CVE-2016-10000",
                "linux-yocto",
                1,
                "fixed-version",
                "Fixed from version 6.0rc1"
            ),
            (
                "CVE-2017-10001",
                "linux-yocto",
                1,
                "fixed-version",
                "Fixed from version 6.1rc2"
            ),
            (
                "CVE-2018-10002",
                "linux-yocto",
                1,
                "fixed-version",
                "Fixed from version 6.2rc3"
            ),
            (
                "CVE-2023-0464",
                "openssl",
                1,
                "backported-patch",
                "CVE-2023-0464.patch"
            ),
            (
                "CVE-2023-5678",
                "openssl",
                2,
                "not-applicable-config",
                "no DH"
            ),
        ]
    );
    assert_eq!(c.listeners.len(), 1);
    assert_eq!(c.listeners[0].package.as_deref(), Some("lighttpd"));
    assert_eq!(eat::decode(&c.encode()).unwrap(), c);
    // No record, no claim.
    let (_d, root, plain) = scanned(&[("etc/hostname", "gw-01\n")]);
    let c = claims(&plain, &root, &id, &DeviceState::default(), None, None, 2).unwrap();
    assert!(c.cve_status.is_empty());
}

/// The token size of a 300-package Yocto image with 2,000 CVE_STATUS
/// entries (figure quoted in ARCHITECTURE.md), and that a recipe with
/// more than the token has room for is fitted, not refused.
#[test]
fn cve_status_token_sizes() {
    let state = tempfile::tempdir().unwrap();
    let id = Identity::load_or_create(state.path()).unwrap();
    let dev = DeviceState::default();
    let size = |n: usize| {
        let (_d, root, rep) = yocto_report(n);
        let c = claims(
            &rep,
            &root,
            &id,
            &dev,
            Some(vec![1; 32]),
            Some(vec![2; 32]),
            9,
        )
        .unwrap();
        let t = sign(&c, &id).unwrap();
        (c, t.len())
    };
    let (c0, base) = size(0);
    let (c, with) = size(2000);
    assert_eq!(c.cve_status.len(), 2002);
    assert!(c.cve_status.iter().all(|e| !e.description.is_empty()));
    eprintln!(
        "token: 300 packages, no CVE_STATUS {base} bytes; with 2,000 entries {with} bytes ({} per entry)",
        (with - base) / 2000
    );
    assert_eq!(c0.cve_status.len(), 2);
    assert!(with < fieldattest_protocol::token::MAX_TOKEN, "{with}");
    // The claim's bound: 16,384 entries do not fit with descriptions;
    // they are emptied and the token stays within MAX_TOKEN.
    let (c, big) = size(eat::MAX_CVE_STATUS + 100);
    assert!(big <= fieldattest_protocol::token::MAX_TOKEN, "{big}");
    assert!(c.cve_status.len() <= eat::MAX_CVE_STATUS);
    // openssl's Ignored entry is kept whatever is left out.
    assert!(c
        .cve_status
        .iter()
        .any(|e| e.cve == "CVE-2023-5678" && e.status == eat::CVE_IGNORED));
    let (sign1, _) = token::parse(&sign(&c, &id).unwrap()).unwrap();
    assert_eq!(eat::decode(sign1.payload.as_deref().unwrap()).unwrap(), c);
    eprintln!(
        "token: {} entries kept of {}, {big} bytes",
        c.cve_status.len(),
        eat::MAX_CVE_STATUS + 102
    );
}
