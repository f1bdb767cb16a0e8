//! ISSUE19: the SBOM in CycloneDX 1.6, SPDX 2.3 and SPDX 3.0.1 from one
//! scan, on apk, opkg and rpm trees: each format valid in its independent
//! validator (cyclonedx-python-lib strict, spdx-tools, the SPDX 3.0.1 JSON
//! schema + spdx-python-model), the NTIA minimum elements present (our
//! check on CycloneDX, ntia-conformance-checker's `sbomcheck` on both SPDX
//! versions), and the dependency graph as the package manager resolves it
//! (rpm: `rpm -q --whatprovides` itself).

use fieldattest_tests::{python, require_tool, scan_ok, Tree};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const NONE_ELEMENT: &str = "https://spdx.org/rdf/3.0.1/terms/Core/NoneElement";
pub const NOASSERTION_ELEMENT: &str = "https://spdx.org/rdf/3.0.1/terms/Core/NoAssertionElement";

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts")
        .join(name)
}

fn run_ok(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

/// `sbomcheck` (ntia-conformance-checker) beside the venv's python.
fn sbomcheck() -> PathBuf {
    let p = python().with_file_name("sbomcheck");
    assert!(
        p.exists(),
        "{} missing: scripts/test installs ntia-conformance-checker into the venv",
        p.display()
    );
    p
}

/// The three SBOMs of one scan of `root`, each validated and checked for the
/// NTIA minimum elements.
pub struct Sboms {
    pub cdx: Value,
    pub spdx2: Value,
    pub spdx3: Value,
}

pub fn sboms_of(root: &str, dir: &Path) -> Sboms {
    let (c, s2, s3) = (
        dir.join("sbom.cdx.json"),
        dir.join("sbom.spdx.json"),
        dir.join("sbom.spdx3.json"),
    );
    scan_ok(
        root,
        &[
            "--format",
            "json",
            "--write",
            &format!("cyclonedx={}", c.display()),
            "--write",
            &format!("spdx-json={}", s2.display()),
            "--write",
            &format!("spdx3={}", s3.display()),
        ],
    );
    let out = run_ok(
        Command::new(python())
            .arg(script("validate_cyclonedx.py"))
            .arg(&c),
        "CycloneDX validation",
    );
    assert!(out.contains("valid CycloneDX 1.6"), "{out}");
    let out = run_ok(
        Command::new(python())
            .arg(script("validate_spdx.py"))
            .arg(&s2)
            .arg(&s3),
        "SPDX validation",
    );
    assert!(
        out.contains("valid SPDX 2.3") && out.contains("valid SPDX 3.0.1"),
        "{out}"
    );
    for (spec, path) in [("spdx2", &s2), ("spdx3", &s3)] {
        let out = Command::new(sbomcheck())
            .args(["-s", spec, "-c", "ntia", "-r", "json", "-q"])
            .arg(path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "sbomcheck {spec}: {e}\n{stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert_eq!(v["isNtiaConformant"], true, "sbomcheck {spec}: {stdout}");
        assert_eq!(v["parsingError"], serde_json::json!([]), "{stdout}");
        // The checker's graph check does not know SPDX 3's individuals
        // (NoneElement, NoAssertionElement); every other pointer resolves.
        if let Some(edges) =
            v["graphValidation"]["unknownPointers"]["unknownPointerEdges"].as_object()
        {
            for (from, to) in edges {
                for t in to.as_array().unwrap() {
                    assert!(
                        t == NONE_ELEMENT || t == NOASSERTION_ELEMENT,
                        "{spec}: {from} points to unknown {t}"
                    );
                }
            }
        }
    }
    let read = |p: &Path| -> Value { serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap() };
    let s = Sboms {
        cdx: read(&c),
        spdx2: read(&s2),
        spdx3: read(&s3),
    };
    ntia_cyclonedx(&s.cdx);
    same_graph(&s);
    s
}

/// NTIA minimum elements on the CycloneDX SBOM: author and timestamp;
/// every software component's name, version, supplier, purl and CPE; the
/// dependency relationships of every component of a package database.
pub fn ntia_cyclonedx(v: &Value) {
    assert!(v["metadata"]["timestamp"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    assert!(!v["metadata"]["authors"][0]["name"]
        .as_str()
        .unwrap_or("")
        .is_empty());
    assert!(v["metadata"]["tools"]["components"][0]["version"].is_string());
    let os = &v["metadata"]["component"];
    assert!(os["supplier"]["name"].is_string(), "OS supplier: {os}");
    let deps: BTreeSet<&str> = v["dependencies"]
        .as_array()
        .map(|d| d.iter().filter_map(|e| e["ref"].as_str()).collect())
        .unwrap_or_default();
    for c in v["components"].as_array().unwrap() {
        if c["type"] == "device" {
            continue;
        }
        for f in ["name", "version", "purl", "cpe"] {
            assert!(
                c[f].as_str().is_some_and(|s| !s.is_empty()),
                "component without {f}: {c}"
            );
        }
        assert!(c["supplier"]["name"].is_string(), "no supplier: {c}");
        let r = c["bom-ref"].as_str().unwrap();
        assert!(deps.contains(r), "{r}: no dependency entry");
    }
}

/// The SPDX documents carry the CycloneDX graph: the same edges (by
/// package name and version), unresolved clauses as NOASSERTION.
fn same_graph(s: &Sboms) {
    let comps = s.cdx["components"].as_array().unwrap();
    let name_of = |r: &str| -> String {
        let c = comps.iter().find(|c| c["bom-ref"] == r).unwrap();
        format!(
            "{}@{}",
            c["name"].as_str().unwrap(),
            c["version"].as_str().unwrap()
        )
    };
    let mut want: BTreeSet<(String, String)> = BTreeSet::new();
    for d in s.cdx["dependencies"].as_array().into_iter().flatten() {
        for t in d["dependsOn"].as_array().unwrap() {
            want.insert((
                name_of(d["ref"].as_str().unwrap()),
                name_of(t.as_str().unwrap()),
            ));
        }
    }
    let pk2 = s.spdx2["packages"].as_array().unwrap();
    let id2 = |id: &str| -> String {
        let p = pk2.iter().find(|p| p["SPDXID"] == id).unwrap();
        format!(
            "{}@{}",
            p["name"].as_str().unwrap(),
            p["versionInfo"].as_str().unwrap()
        )
    };
    let got2: BTreeSet<(String, String)> = s.spdx2["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["relationshipType"] == "DEPENDS_ON")
        .filter(|r| {
            !matches!(
                r["relatedSpdxElement"].as_str(),
                Some("NONE" | "NOASSERTION")
            )
        })
        .map(|r| {
            (
                id2(r["spdxElementId"].as_str().unwrap()),
                id2(r["relatedSpdxElement"].as_str().unwrap()),
            )
        })
        .collect();
    assert_eq!(got2, want, "SPDX 2.3 DEPENDS_ON differs from CycloneDX");
    let g = s.spdx3["@graph"].as_array().unwrap();
    let id3 = |id: &str| -> String {
        let p = g.iter().find(|p| p["spdxId"] == id).unwrap();
        format!(
            "{}@{}",
            p["name"].as_str().unwrap(),
            p["software_packageVersion"].as_str().unwrap()
        )
    };
    let mut got3: BTreeSet<(String, String)> = BTreeSet::new();
    for r in g.iter().filter(|r| r["relationshipType"] == "dependsOn") {
        for t in r["to"].as_array().unwrap() {
            let t = t.as_str().unwrap();
            if t != NONE_ELEMENT && t != NOASSERTION_ELEMENT {
                got3.insert((id3(r["from"].as_str().unwrap()), id3(t)));
            }
        }
    }
    assert_eq!(got3, want, "SPDX 3 dependsOn differs from CycloneDX");
    let unresolved: usize = comps
        .iter()
        .map(|c| {
            c["properties"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["name"] == "fieldattest:package:unresolved_dependency")
                .count()
        })
        .sum();
    let noassert = s.spdx2["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["relationshipType"] == "DEPENDS_ON" && r["relatedSpdxElement"] == "NOASSERTION"
        })
        .count();
    assert_eq!(noassert, unresolved, "every unresolved clause is listed");
}

/// Edges of the CycloneDX graph by package name.
fn edges(cdx: &Value) -> BTreeSet<(String, String)> {
    let comps = cdx["components"].as_array().unwrap();
    let name = |r: &str| -> String {
        comps.iter().find(|c| c["bom-ref"] == r).unwrap()["name"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let mut out = BTreeSet::new();
    for d in cdx["dependencies"].as_array().into_iter().flatten() {
        for t in d["dependsOn"].as_array().unwrap() {
            out.insert((name(d["ref"].as_str().unwrap()), name(t.as_str().unwrap())));
        }
    }
    out
}

/// The CycloneDX component named `name`.
fn component<'a>(cdx: &'a Value, name: &str) -> &'a Value {
    cdx["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no component {name}"))
}

/// (path, alg, hex) of the files the SBOM lists for component `name`.
fn files_of(cdx: &Value, name: &str) -> Vec<(String, String, String)> {
    let c = component(cdx, name);
    c["components"]
        .as_array()
        .map(|v| {
            v.iter()
                .map(|f| {
                    assert_eq!(f["type"], "file");
                    (
                        f["name"].as_str().unwrap().to_string(),
                        f["hashes"][0]["alg"].as_str().unwrap().to_string(),
                        f["hashes"][0]["content"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The digest a coreutils tool (`md5sum`, `sha1sum`, `sha256sum`) gives a file.
fn digest(tool: &str, file: &Path) -> String {
    let out = Command::new(tool).arg(file).output().unwrap();
    assert!(out.status.success(), "{tool} {}", file.display());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// SPDX 3 files of the package named `name`: (name, algorithm, hash).
fn spdx3_files(spdx3: &Value, name: &str) -> Vec<(String, String, String)> {
    let g = spdx3["@graph"].as_array().unwrap();
    let pkg = g
        .iter()
        .find(|e| e["type"] == "software_Package" && e["name"] == name)
        .unwrap();
    let rel = g
        .iter()
        .find(|r| r["relationshipType"] == "contains" && r["from"] == pkg["spdxId"])
        .unwrap_or_else(|| panic!("{name} contains no files"));
    rel["to"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| {
            let f = g.iter().find(|e| e["spdxId"] == *id).unwrap();
            assert_eq!(f["type"], "software_File");
            (
                f["name"].as_str().unwrap().to_string(),
                f["verifiedUsing"][0]["algorithm"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                f["verifiedUsing"][0]["hashValue"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn unresolved_of(cdx: &Value, name: &str) -> Vec<String> {
    let c = component(cdx, name);
    c["properties"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "fieldattest:package:unresolved_dependency")
        .map(|p| p["value"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn apk_tree_graph_through_so_provides() {
    let t = Tree::new();
    t.file("lib/ld-musl-aarch64.so.1", "not really the loader\n");
    let loader = t.root().join("lib/ld-musl-aarch64.so.1");
    let sha1 = digest("sha1sum", &loader);
    // apk's checksum form, computed by Python: Q1 + base64(SHA-1).
    let out = Command::new(python())
        .args([
            "-c",
            "import base64,hashlib,sys; print('Q1' + base64.b64encode(hashlib.sha1(open(sys.argv[1], 'rb').read()).digest()).decode())",
        ])
        .arg(&loader)
        .output()
        .unwrap();
    let q1 = String::from_utf8_lossy(&out.stdout).trim().to_string();
    t.file(
        "etc/os-release",
        "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\n",
    )
    .file(
        "lib/apk/db/installed",
        format!("C:Q1aaaaaaaaaaaaaaaaaaaaaaaaaaa=\nP:musl\nV:1.2.5-r0\nA:aarch64\nL:MIT\no:musl\nm:Natanael Copa <ncopa@alpinelinux.org>\np:so:libc.musl-aarch64.so.1=1\nF:lib\nR:ld-musl-aarch64.so.1\na:0:0:755\nZ:{q1}\n\n\
         P:busybox\nV:1.36.1-r29\nA:aarch64\nL:GPL-2.0-only\no:busybox\nm:Sören Tempel <soeren+alpine@soeren-tempel.net>\nD:so:libc.musl-aarch64.so.1\np:cmd:sh=1.36.1-r29 cmd:busybox=1.36.1-r29\n\n\
         P:zlib\nV:1.3.1-r1\nA:aarch64\nL:Zlib\no:zlib\nm:Natanael Copa <ncopa@alpinelinux.org>\nD:so:libc.musl-aarch64.so.1\np:so:libz.so.1=1.3.1\n\n\
         P:libcurl\nV:8.9.1-r1\nA:aarch64\nL:curl\no:curl\nm:Natanael Copa <ncopa@alpinelinux.org>\nD:so:libc.musl-aarch64.so.1 so:libz.so.1 so:libnghttp2.so.14\np:so:libcurl.so.4=4.8.0\n\n\
         P:curl\nV:8.9.1-r1\nA:aarch64\nL:curl\no:curl\nm:Natanael Copa <ncopa@alpinelinux.org>\nD:/bin/sh so:libc.musl-aarch64.so.1 so:libcurl.so.4 !curl-doc\np:cmd:curl=8.9.1-r1\n\n"),
    );
    let s = sboms_of(&t.root_str(), &t.outside());
    assert_eq!(
        edges(&s.cdx),
        pairs(&[
            ("busybox", "musl"),
            ("zlib", "musl"),
            ("libcurl", "musl"),
            ("libcurl", "zlib"),
            ("curl", "musl"),
            ("curl", "libcurl"),
        ])
    );
    assert_eq!(unresolved_of(&s.cdx, "libcurl"), ["so:libnghttp2.so.14"]);
    assert_eq!(unresolved_of(&s.cdx, "curl"), ["/bin/sh"]);
    let musl = component(&s.cdx, "musl");
    let supplier = &musl["supplier"];
    assert_eq!(supplier["name"], "Natanael Copa");
    assert_eq!(supplier["contact"][0]["email"], "ncopa@alpinelinux.org");
    assert_eq!(
        s.cdx["metadata"]["component"]["supplier"]["name"],
        "Alpine Linux"
    );
    // apk's Z: is a SHA-1: recorded as one, equal to sha1sum of the file.
    let path = "/lib/ld-musl-aarch64.so.1".to_string();
    assert_eq!(
        files_of(&s.cdx, "musl"),
        [(path.clone(), "SHA-1".to_string(), sha1.clone())]
    );
    assert_eq!(
        spdx3_files(&s.spdx3, "musl"),
        [(path, "sha1".to_string(), sha1)]
    );
}

#[test]
fn opkg_tree_graph_through_provides() {
    let t = Tree::new();
    let para = |name: &str, extra: &str| {
        format!(
            "Package: {name}\nVersion: 1.0-r0\nArchitecture: cortexa53\nStatus: install ok installed\n\
             Maintainer: OE-Core Developers <openembedded-core@lists.openembedded.org>\n{extra}\n"
        )
    };
    let status = [
        para("libc6", "Provides: libc\n"),
        para(
            "busybox",
            "Depends: libc6 (>= 2.39)\nProvides: sh, /bin/sh\n",
        ),
        para("libssl3", "Depends: libc\n"),
        para(
            "openssl-bin",
            "Depends: libssl3 (>= 3.2), busybox | bash, libgone\n",
        ),
        // An OpenWrt-style package without a maintainer: the distributor supplies it.
        para("uhttpd", "Depends: libc, openssl-bin\n").replace(
            "Maintainer: OE-Core Developers <openembedded-core@lists.openembedded.org>\n",
            "",
        ),
    ]
    .join("\n");
    t.file(
        "etc/os-release",
        "NAME=\"Poky (Yocto Project Reference Distro)\"\nID=poky\nVERSION_ID=5.0.4\n",
    )
    .file("var/lib/opkg/status", status);
    let s = sboms_of(&t.root_str(), &t.outside());
    assert_eq!(
        edges(&s.cdx),
        pairs(&[
            ("busybox", "libc6"),
            ("libssl3", "libc6"),
            ("openssl-bin", "libssl3"),
            ("openssl-bin", "busybox"),
            ("uhttpd", "libc6"),
            ("uhttpd", "openssl-bin"),
        ])
    );
    assert_eq!(unresolved_of(&s.cdx, "openssl-bin"), ["libgone"]);
    let uhttpd = component(&s.cdx, "uhttpd");
    assert_eq!(
        uhttpd["supplier"]["name"],
        "Poky (Yocto Project Reference Distro)"
    );
    assert!(
        serde_json::to_string(&uhttpd["properties"])
            .unwrap()
            .contains("operating system distributor"),
        "{uhttpd}"
    );
    // No table identifies uhttpd: OE-core's default identity, said so.
    assert_eq!(uhttpd["cpe"], "cpe:2.3:*:*:uhttpd:1.0:*:*:*:*:*:*:*");
}

/// Builds a noarch rpm from a spec body with Debian's rpmbuild.
fn rpmbuild(top: &Path, name: &str, body: &str) -> PathBuf {
    let rpmbuild = require_tool("rpmbuild", "rpm");
    std::fs::create_dir_all(top.join("SPECS")).unwrap();
    let spec = format!(
        "Name: {name}\nVersion: 1.0\nRelease: r0\nSummary: t\nLicense: MIT\nBuildArch: noarch\n\
         AutoReqProv: no\nVendor: Example Automation GmbH\n{body}"
    );
    let path = top.join(format!("SPECS/{name}.spec"));
    std::fs::write(&path, spec).unwrap();
    run_ok(
        Command::new(rpmbuild)
            .args(["--define", &format!("_topdir {}", top.display()), "-bb"])
            .arg(&path),
        "rpmbuild",
    );
    top.join(format!("RPMS/noarch/{name}-1.0-r0.noarch.rpm"))
}

/// The rpm graph equals what rpm itself resolves: for every requirement
/// of every installed package (`%{REQUIRENAME}`, rpmlib's own left out),
/// `rpm -q --whatprovides` names the provider, file requirements included;
/// what it cannot resolve is unresolved in the SBOM.
#[test]
fn rpm_graph_equals_rpm_whatprovides() {
    let rpm = require_tool("rpm", "rpm");
    let t = Tree::new();
    let top = t.outside().join("rpmbuild");
    let files =
        "%install\nmkdir -p %{buildroot}/bin\necho x > %{buildroot}/bin/sh\n%files\n/bin/sh\n";
    let rpms = [
        rpmbuild(
            &top,
            "base-files",
            &format!("Provides: sh-virtual\n%description\nt\n{files}"),
        ),
        rpmbuild(
            &top,
            "libplc",
            "Provides: libplc.so.1()(64bit)\nRequires: base-files\n%description\nt\n%files\n",
        ),
        rpmbuild(
            &top,
            "plc-runtime",
            "Requires: libplc.so.1()(64bit), libplc >= 1.0, /bin/sh, sh-virtual, libgone\n\
             Requires(pre): /bin/sh\n%description\nt\n%files\n",
        ),
    ];
    let dbpath = t.root().join("var/lib/rpm");
    std::fs::create_dir_all(&dbpath).unwrap();
    let db = dbpath.to_str().unwrap().to_string();
    run_ok(
        Command::new(&rpm)
            .args(["--dbpath", &db, "--define", "_db_backend sqlite"])
            .args(["-i", "--justdb", "--nodeps", "--nosignature"])
            .args(&rpms),
        "rpm -i",
    );
    // rpm's own answer.
    let q = |args: &[&str]| -> (bool, String) {
        let out = Command::new(&rpm)
            .args(["--dbpath", &db, "--define", "_db_backend sqlite", "-q"])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (_, names) = q(&["-a", "--qf", "%{NAME}\n"]);
    let (_, algo) = q(&["base-files", "--qf", "%{FILEDIGESTALGO}\n"]);
    let (_, rpm_digest) = q(&["base-files", "--qf", "[%{FILEDIGESTS}\n]"]);
    let mut want: BTreeSet<(String, String)> = BTreeSet::new();
    let mut want_unresolved: BTreeSet<(String, String)> = BTreeSet::new();
    for n in names.lines() {
        let (_, reqs) = q(&[n, "--qf", "[%{REQUIRENAME}\n]"]);
        for r in reqs.lines().filter(|r| !r.starts_with("rpmlib(")) {
            match q(&["--whatprovides", r, "--qf", "%{NAME}\n"]) {
                (true, p) => {
                    let p = p.lines().next().unwrap().to_string();
                    if p != n {
                        want.insert((n.to_string(), p));
                    }
                }
                (false, _) => {
                    want_unresolved.insert((n.to_string(), r.to_string()));
                }
            }
        }
    }
    assert!(want.len() >= 3, "{want:?}");
    // Where rpm lives (Yocto names the database Packages.db).
    for f in ["rpmdb.sqlite"] {
        if dbpath.join(f).exists() {
            std::fs::rename(dbpath.join(f), dbpath.join("Packages.db")).unwrap();
        }
    }
    t.file("etc/os-release", "NAME=\"Poky\"\nID=poky\nVERSION_ID=5.0\n");
    let s = sboms_of(&t.root_str(), &t.outside());
    assert_eq!(
        edges(&s.cdx),
        want,
        "rpm graph differs from rpm --whatprovides"
    );
    let mut got_unresolved = BTreeSet::new();
    for n in names.lines() {
        for u in unresolved_of(&s.cdx, n) {
            got_unresolved.insert((n.to_string(), u.split(' ').next().unwrap().to_string()));
        }
    }
    assert_eq!(got_unresolved, want_unresolved);
    let c = &s.cdx["components"][0];
    assert_eq!(c["supplier"]["name"], "Example Automation GmbH");
    // File digests: rpm's own (FILEDIGESTS in FILEDIGESTALGO), named as
    // the header says, equal to coreutils' digest of the packaged content.
    let (alg, tool) = match algo.trim() {
        "8" => ("SHA-256", "sha256sum"),
        "(none)" | "1" => ("MD5", "md5sum"),
        other => panic!("unexpected FILEDIGESTALGO {other}"),
    };
    assert_eq!(
        files_of(&s.cdx, "base-files"),
        [(
            "/bin/sh".to_string(),
            alg.to_string(),
            rpm_digest.trim().to_string()
        )]
    );
    let content = t.outside().join("sh-content");
    std::fs::write(&content, "x\n").unwrap();
    assert_eq!(digest(tool, &content), rpm_digest.trim());
}

/// The Debian minbase rootfs: all three formats valid, NTIA minimum
/// elements on each, and the same graph in each (its edges equal
/// dpkg-query's: `debian_rootfs::dependency_graph_equals_dpkg_query`).
#[test]
#[ignore = "needs root: the debootstrap rootfs scripts/test builds"]
fn debian_minbase_sboms_meet_the_minimum_elements() {
    let root = fieldattest_tests::debian_rootfs();
    let out = tempfile::tempdir().unwrap();
    let s = sboms_of(root.to_str().unwrap(), out.path());
    let comps = s.cdx["components"].as_array().unwrap();
    assert!(comps.len() > 80, "{}", comps.len());
    assert!(edges(&s.cdx).len() > 100);
    // Debian names every maintainer: no supplier comes from the fallback.
    for c in comps {
        assert!(
            c["publisher"].is_string(),
            "{} has no maintainer",
            c["name"]
        );
    }
    assert_eq!(
        s.cdx["metadata"]["component"]["supplier"]["name"],
        "Debian GNU/Linux"
    );
    assert_eq!(
        s.spdx2["packages"].as_array().unwrap().len(),
        comps.len() + 1
    );
    // dpkg's md5sums: every line a file of its package, recorded as MD5
    // (never as SHA-256), equal to md5sum of the file on disk for files
    // nothing changed since (coreutils' programs).
    let mut lines = 0;
    for e in std::fs::read_dir(root.join("var/lib/dpkg/info")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md5sums") {
            lines += std::fs::read_to_string(&p).unwrap().lines().count();
        }
    }
    let listed: usize = comps
        .iter()
        .map(|c| c["components"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(listed, lines, "every md5sums line is a file component");
    let core = files_of(&s.cdx, "coreutils");
    assert!(core.len() > 50, "{}", core.len());
    let bins: Vec<_> = core
        .iter()
        .filter(|f| f.0.starts_with("/usr/bin/"))
        .take(10)
        .collect();
    assert_eq!(bins.len(), 10);
    for (path, alg, hex) in bins {
        assert_eq!(alg, "MD5");
        assert_eq!(&digest("md5sum", &root.join(&path[1..])), hex, "{path}");
    }
    let s3 = spdx3_files(&s.spdx3, "coreutils");
    assert_eq!(s3.len(), core.len());
    assert!(s3.iter().all(|f| f.1 == "md5"));
}
