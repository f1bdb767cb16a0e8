//! End-to-end tests of `fieldattest scan` on fixture trees the tests write.

use fieldattest_tests::{
    dpkg_para, fieldattest, json_of, require_path, require_tool, scan_ok, Tree,
};
use serde_json::Value;
use std::process::Command;

fn scan_json(t: &Tree) -> (Value, String) {
    let out = scan_ok(&t.root_str(), &["--format", "json"]);
    (
        json_of(&out),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn packages(v: &Value) -> Vec<(String, String, String, String)> {
    v["inventory"]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
                p["source"].as_str().unwrap().to_string(),
                p["purl"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn help_version_and_usage_errors() {
    let out = fieldattest(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("fieldattest scan"));
    let out = fieldattest(&["scan", "--help"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("--root DIR"));
    let out = fieldattest(&["--version"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("fieldattest {}", env!("CARGO_PKG_VERSION"))
    );
    for bad in [
        vec!["frobnicate"],
        vec!["scan", "--format", "xml"],
        vec!["scan", "--sl", "5"],
        vec!["scan", "--fail-on", "urgent"],
        vec!["scan", "--bogus"],
        vec![],
    ] {
        let out = fieldattest(&bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(!out.stderr.is_empty(), "{bad:?} must explain itself");
    }
}

#[test]
fn missing_root_is_exit_3_naming_the_path() {
    let t = Tree::new();
    let missing = t.outside().join("no-such-rootfs");
    let out = fieldattest(&["scan", "--root", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-rootfs"), "{err}");
    let file_root = t.outside().join("plainfile");
    std::fs::write(&file_root, "x").unwrap();
    let out = fieldattest(&["scan", "--root", file_root.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a directory"));
}

#[test]
fn debian_tree_with_bad_paragraph_names_file_and_line_and_keeps_going() {
    let t = Tree::new();
    let status = format!(
        "{}Package: broken\nStatus: install ok installed\nthis line is not a field\nVersion: 1\n\n{}",
        dpkg_para("base-files", "12.4+deb12u5", "arm64"),
        dpkg_para("libssl3", "3.0.13-1~deb12u1", "arm64")
    );
    t.file("var/lib/dpkg/status", status)
        .file(
            "etc/os-release",
            "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
        )
        .file("lib/apk/db/installed", "P:extra\nV:1.0-r0\nA:aarch64\n")
        .file("etc/hostname", "plc-17\n")
        .dir("lib/modules/6.1.0-18-arm64");
    let (v, stderr) = scan_json(&t);
    assert!(stderr.contains("/var/lib/dpkg/status:11"), "{stderr}");
    let errs = v["inventory"]["errors"].as_array().unwrap();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0]["line"], 11);
    assert_eq!(errs[0]["path"], "/var/lib/dpkg/status");
    let p = packages(&v);
    let names: Vec<_> = p.iter().map(|x| x.0.as_str()).collect();
    // No package lists the kernel whose modules are installed: it is a
    // component of its own (ISSUE18 Contract 1).
    assert_eq!(names, ["base-files", "extra", "libssl3", "linux"]);
    assert_eq!((p[3].1.as_str(), p[3].2.as_str()), ("6.1.0", "binary"));
    assert_eq!(
        p[2].3,
        "pkg:deb/debian/libssl3@3.0.13-1~deb12u1?arch=arm64&distro=debian-12"
    );
    assert_eq!(
        p[1].3,
        "pkg:apk/debian/extra@1.0-r0?arch=aarch64&distro=debian-12"
    );
    assert_eq!(v["schema"], "fieldattest/report/v1");
    assert_eq!(v["scan"]["mode"], "image");
    assert_eq!(v["device"]["hostname"], "plc-17");
    assert_eq!(v["device"]["kernel"]["release"], "6.1.0-18-arm64");
    // No account database in this tree: account rules are not applicable,
    // never silently passed.
    let rules = v["rules"].as_array().unwrap();
    let status = |id: &str| {
        rules
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["status"].clone())
    };
    assert_eq!(
        status("account.uid0-unique"),
        Some(Value::from("not-applicable"))
    );
    assert_eq!(status("sysctl.aslr"), Some(Value::from("pass")));
    assert_eq!(v["summary"]["meets_target"], false);
    assert_eq!(v["summary"]["packages"], 4);
}

#[test]
fn yocto_opkg_tree_gets_yocto_purls_never_deb() {
    let t = Tree::new();
    t.file(
        "etc/os-release",
        "ID=poky\nNAME=\"Poky (Yocto Project Reference Distro)\"\nVERSION_ID=5.0.4\nBUILD_ID=\"20241010120000\"\n",
    )
    .file(
        "var/lib/opkg/status",
        "Package: busybox\nVersion: 1.36.1-r0\nDepends: libc6 (>= 2.39)\nStatus: install user installed\nArchitecture: cortexa53\nInstalled-Time: 1728561600\n\nPackage: libc6\nVersion: 2.39+git0+6a3a5f2b8f-r0\nStatus: install ok installed\nArchitecture: cortexa53\n\nPackage: removed\nVersion: 1\nStatus: deinstall ok not-installed\nArchitecture: all\n",
    )
    .file("var/lib/opkg/info/libc6.control", "Package: libc6\nVersion: 2.39+git0+6a3a5f2b8f-r0\nLicense: GPL-2.0-only & LGPL-2.1-or-later\nOE: glibc\n")
    .file("var/lib/opkg/info/busybox.control", "Package: busybox\nVersion: 1.36.1-r0\nLicense: GPL-2.0-only & bzip2-1.0.4\nOE: busybox\n")
    // The same database reached again through a compatibility link is read once.
    .link("usr/lib/opkg", "/var/lib/opkg");
    let (v, _) = scan_json(&t);
    let p = packages(&v);
    assert_eq!(p.len(), 2, "{p:?}");
    // The CPEs OE-core's CVE_PRODUCT gives the recipes ride in the purl.
    assert_eq!(
        p[0].3,
        "pkg:yocto/busybox@1.36.1?arch=cortexa53&cpe=cpe:2.3:%2A:%2A:busybox:1.36.1:%2A:%2A:%2A:%2A:%2A:%2A:%2A"
    );
    assert_eq!(
        p[1].3,
        "pkg:yocto/glibc@2.39%2Bgit0%2B6a3a5f2b8f?arch=cortexa53&cpe=cpe:2.3:%2A:%2A:glibc:2.39:%2A:%2A:%2A:%2A:%2A:%2A:%2A"
    );
    assert_eq!(p[1].2, "opkg");
    assert_eq!(v["device"]["os"]["build_id"], "20241010120000");
    assert!(!serde_json::to_string(&v).unwrap().contains("pkg:deb"));
}

#[test]
fn openwrt_opkg_conf_override_and_generic_purls() {
    let t = Tree::new();
    t.file("etc/os-release", "NAME=\"OpenWrt\"\nVERSION=\"23.05.3\"\nID=\"openwrt\"\nVERSION_ID=\"23.05.3\"\n")
        .file("etc/opkg.conf", "dest root /\ndest ram /tmp\nlists_dir ext /var/opkg-lists\noption overlay_root /overlay\noption status_file /overlay/opkg/status\n")
        .file(
            "overlay/opkg/status",
            "Package: dropbear\nVersion: 2022.82-6\nStatus: install user installed\nArchitecture: aarch64_cortex-a53\n\nPackage: mosquitto-nossl\nVersion: 2.0.18-1\nStatus: install user installed\nArchitecture: aarch64_cortex-a53\n",
        );
    let (v, _) = scan_json(&t);
    let p = packages(&v);
    assert_eq!(p.len(), 2);
    assert_eq!(
        p[0].3,
        "pkg:generic/dropbear@2022.82-6?arch=aarch64_cortex-a53&cpe=cpe:2.3:a:dropbear_ssh_project:dropbear_ssh:2022.82:%2A:%2A:%2A:%2A:%2A:%2A:%2A&distro=openwrt-23.05.3"
    );
    assert_eq!(v["inventory"]["databases"][0], "/overlay/opkg/status");
}

#[test]
fn buildroot_tree_without_package_db_is_identified_from_binaries() {
    let t = Tree::new();
    let elf = |s: &str| {
        let mut b = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\xb7\0".to_vec();
        b.extend_from_slice(&[0u8; 300]);
        b.extend_from_slice(s.as_bytes());
        b.extend_from_slice(&[0u8, 1, 2, 3]);
        b
    };
    t.file(
        "bin/busybox",
        elf("BusyBox v1.36.1 (2024-05-01 10:00:00 UTC) multi-call binary."),
    )
    .link("bin/sh", "busybox")
    .file("lib/ld-musl-aarch64.so.1", elf("musl libc\0\0\x011.2.4"))
    .file("usr/lib/libcrypto.so.3", elf("OpenSSL 3.2.1 30 Jan 2024"))
    .link("usr/lib/libssl.so.3", "libcrypto.so.3")
    .file("usr/sbin/dropbear", elf("SSH-2.0-dropbear_2024.84"))
    .dir("lib/modules/6.6.30")
    .file("etc/os-release", "ID=buildroot\nVERSION_ID=2024.02.2\n");
    let (v, _) = scan_json(&t);
    let p = packages(&v);
    let got: Vec<(&str, &str, &str)> = p
        .iter()
        .map(|x| (x.0.as_str(), x.1.as_str(), x.2.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("busybox", "1.36.1", "binary"),
            ("dropbear", "2024.84", "binary"),
            ("linux", "6.6.30", "binary"),
            ("musl", "1.2.4", "binary"),
            ("openssl", "3.2.1", "binary"),
        ]
    );
    assert_eq!(
        p[0].3,
        "pkg:generic/busybox@1.36.1?cpe=cpe:2.3:a:busybox:busybox:1.36.1:%2A:%2A:%2A:%2A:%2A:%2A:%2A"
    );
    assert_eq!(v["device"]["kernel"]["machine"], "aarch64");
}

#[test]
fn real_host_binaries_are_identified() {
    // The real files of this machine (Debian packages busybox, dropbear-bin,
    // musl, libc6, libssl3, openssh-client; scripts/test installs them), each
    // version checked against the program's own answer.
    let triplet = format!("{}-linux-gnu", std::env::consts::ARCH);
    let musl_ld = format!("/lib/ld-musl-{}.so.1", std::env::consts::ARCH);
    let candidates = [
        (
            "/bin/busybox",
            "bin/busybox".to_string(),
            "busybox",
            "busybox",
        ),
        (
            "/usr/sbin/dropbear",
            "usr/sbin/dropbear".into(),
            "dropbear",
            "dropbear-bin",
        ),
        (
            "/usr/bin/ssh",
            "usr/bin/ssh".into(),
            "openssh",
            "openssh-client",
        ),
        (&musl_ld, musl_ld[1..].to_string(), "musl", "musl"),
        (
            &format!("/usr/lib/{triplet}/libc.so.6"),
            format!("usr/lib/{triplet}/libc.so.6"),
            "glibc",
            "libc6",
        ),
        (
            &format!("/usr/lib/{triplet}/libcrypto.so.3"),
            format!("usr/lib/{triplet}/libcrypto.so.3"),
            "openssl",
            "libssl3",
        ),
    ];
    let t = Tree::new();
    for (host, rel, _, package) in &candidates {
        t.file(rel, std::fs::read(require_path(host, package)).unwrap());
    }
    let (v, _) = scan_json(&t);
    let p = packages(&v);
    let version = |name: &str| {
        p.iter()
            .find(|x| x.0 == name)
            .unwrap_or_else(|| panic!("{name} not identified in {p:?}"))
            .1
            .clone()
    };
    for (_, _, name, _) in &candidates {
        version(name);
    }
    // The tools' own answers.
    let run = |cmd: &str, package: &str, args: &[&str]| {
        let o = Command::new(require_tool(cmd, package))
            .args(args)
            .output()
            .unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    let libc = run("getconf", "libc-bin", &["GNU_LIBC_VERSION"]);
    assert_eq!(libc.trim(), format!("glibc {}", version("glibc")));
    let ssh = run("ssh", "openssh-client", &["-V"]);
    assert!(
        ssh.starts_with(&format!("OpenSSH_{}", version("openssh"))),
        "{ssh} vs {}",
        version("openssh")
    );
    let bb = run("/bin/busybox", "busybox", &[]);
    assert!(
        bb.starts_with(&format!("BusyBox v{} ", version("busybox"))),
        "{bb}"
    );
    let db = run("/usr/sbin/dropbear", "dropbear-bin", &["-V"]);
    assert!(
        db.contains(&format!("Dropbear v{}", version("dropbear"))),
        "{db} vs {}",
        version("dropbear")
    );
    let musl = run(&musl_ld, "musl", &[]);
    assert!(
        musl.contains(&format!("Version {}\n", version("musl"))),
        "{musl} vs {}",
        version("musl")
    );
    let openssl = run("openssl", "openssl", &["version"]);
    assert!(
        openssl.starts_with(&format!("OpenSSL {} ", version("openssl"))),
        "{openssl} vs {}",
        version("openssl")
    );
}

#[test]
fn hostile_tree_cannot_make_the_scanner_read_outside_the_root() {
    let t = Tree::new();
    let outside = t.outside();
    std::fs::create_dir_all(outside.join("evil/dpkg")).unwrap();
    std::fs::write(
        outside.join("evil/dpkg/status"),
        dpkg_para("hostleak", "6.6.6", "amd64"),
    )
    .unwrap();
    std::fs::write(outside.join("os-release"), "ID=HOSTLEAK\n").unwrap();
    t.link("var/lib/dpkg", outside.join("evil/dpkg")) // absolute host path: resolved inside root
        .link("etc/os-release", "../../../../../../os-release") // climbs: clamped at root
        .link("usr/lib/os-release", "/etc/os-release")
        .link("lib/apk/db/installed", "installed") // loop
        .link("var/lib/opkg/status", "../../../etc/shadow")
        .link("etc/shadow", "/etc/shadow"); // the host's shadow, if it were followed
    let fifo = t.root().join("usr/lib/opkg");
    std::fs::create_dir_all(&fifo).unwrap();
    assert!(Command::new("mkfifo")
        .arg(fifo.join("status"))
        .status()
        .unwrap()
        .success());
    let out = scan_ok(&t.root_str(), &["--format", "json"]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !all.contains("hostleak") && !all.contains("HOSTLEAK"),
        "{all}"
    );
    assert!(!all.contains("root:"), "host shadow content leaked");
    let v = json_of(&out);
    assert_eq!(v["inventory"]["packages"], Value::Array(vec![]));
    let errs = serde_json::to_string(&v["inventory"]["errors"]).unwrap();
    assert!(
        errs.contains("/lib/apk/db/installed") && errs.contains("symbolic links"),
        "{errs}"
    );
    assert!(
        errs.contains("/usr/lib/opkg/status") && errs.contains("not a regular file"),
        "{errs}"
    );
}

#[test]
fn oversized_database_is_refused_with_a_clear_error() {
    let t = Tree::new();
    let mut status = String::new();
    for i in 0..200 {
        status.push_str(&dpkg_para(&format!("pkg{i}"), "1.0", "all"));
    }
    t.file("var/lib/dpkg/status", &status)
        .file("lib/apk/db/installed", "P:small\nV:1\nA:x86_64\n");
    let out = fieldattest(&[
        "scan",
        "--root",
        &t.root_str(),
        "--format",
        "json",
        "--max-file-size",
        "4096",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/var/lib/dpkg/status") && err.contains("4096-byte limit"),
        "{err}"
    );
    let v = json_of(&out);
    assert_eq!(packages(&v).len(), 1, "apk still reported");
}

#[test]
fn output_file_is_written_whole_and_text_is_for_people() {
    let t = Tree::new();
    t.file(
        "var/lib/dpkg/status",
        dpkg_para("bash", "5.2.15-2+b7", "armhf"),
    )
    .file("etc/os-release", "ID=debian\nVERSION_ID=12\n");
    let out_path = t.outside().join("report.json");
    let out = fieldattest(&[
        "scan",
        "--root",
        &t.root_str(),
        "--format",
        "json",
        "--output",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let v: Value = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    assert_eq!(v["inventory"]["packages"][0]["name"], "bash");
    let leftovers: Vec<_> = std::fs::read_dir(t.outside())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
    let out = fieldattest(&["scan", "--root", &t.root_str()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("bash")
            && text.contains("5.2.15-2+b7")
            && text.contains("not a certification"),
        "{text}"
    );
    assert!(!text.contains("\x1b["), "no colour when not a TTY");
}

#[test]
fn rpm_sqlite_database_from_real_rpm_tools() {
    // Builds a real rpm database with Debian's rpm/rpmbuild (sqlite backend),
    // as a Yocto package_rpm image has (scripts/test installs Debian's rpm).
    let rpmbuild = require_tool("rpmbuild", "rpm");
    let rpm = require_tool("rpm", "rpm");
    let t = Tree::new();
    let top = t.outside().join("rpmbuild");
    std::fs::create_dir_all(top.join("SPECS")).unwrap();
    let spec = "Name: plc-runtime\nVersion: 2.4.1\nRelease: r3\nEpoch: 2\nSummary: test\nLicense: MIT\nBuildArch: noarch\n%description\ntest\n%files\n";
    std::fs::write(top.join("SPECS/plc.spec"), spec).unwrap();
    let st = Command::new(rpmbuild)
        .args(["--define", &format!("_topdir {}", top.display()), "-bb"])
        .arg(top.join("SPECS/plc.spec"))
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let rpm_file = top.join("RPMS/noarch/plc-runtime-2.4.1-r3.noarch.rpm");
    let dbpath = t.root().join("var/lib/rpm");
    std::fs::create_dir_all(&dbpath).unwrap();
    let st = Command::new(rpm)
        .args([
            "--dbpath",
            dbpath.to_str().unwrap(),
            "--define",
            "_db_backend sqlite",
            "-i",
            "--justdb",
            "--nodeps",
            "--nosignature",
        ])
        .arg(&rpm_file)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let names: Vec<String> = std::fs::read_dir(&dbpath)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    if names.iter().any(|n| n == "rpmdb.sqlite") {
        // Yocto names it Packages.db; exercise that name.
        std::fs::rename(dbpath.join("rpmdb.sqlite"), dbpath.join("Packages.db")).unwrap();
    }
    t.file("etc/os-release", "ID=poky\nVERSION_ID=5.0\n");
    let (v, stderr) = scan_json(&t);
    let p = packages(&v);
    if stderr.contains("no SQLite support") {
        panic!("tests must run with --all-features (rpm-sqlite): {stderr}");
    }
    assert_eq!(p.len(), 1, "{p:?} {stderr}");
    assert_eq!(p[0].0, "plc-runtime");
    assert_eq!(p[0].1, "2:2.4.1-r3");
    assert_eq!(p[0].3, "pkg:rpm/poky/plc-runtime@2.4.1-r3?arch=noarch&distro=poky-5.0&epoch=2&upstream=plc-runtime-2.4.1-r3.src.rpm");
}
