use super::*;
use serde_json::json;

const CDX: &str = r#"{
  "bomFormat": "CycloneDX", "specVersion": "1.6",
  "serialNumber": "urn:uuid:0f0e0d0c-0b0a-4908-8706-050403020100",
  "metadata": {
    "timestamp": "2026-12-07T10:00:00Z",
    "tools": {"components": [{"type": "application", "name": "fieldattest", "version": "0.1.0"}]},
    "authors": [{"name": "fieldattest 0.1.0 (automated scan)"}],
    "component": {"type": "operating-system", "bom-ref": "os:debian", "name": "debian", "version": "12",
                  "supplier": {"name": "Debian GNU/Linux", "url": ["https://www.debian.org/"]},
                  "cpe": "cpe:2.3:o:debian:debian_linux:12:*:*:*:*:*:*:*"}
  },
  "components": [
    {"type": "library", "bom-ref": "pkg:deb/debian/libc6@2.36-9", "name": "libc6", "version": "2.36-9",
     "purl": "pkg:deb/debian/libc6@2.36-9", "cpe": "cpe:2.3:a:gnu:glibc:2.36:*:*:*:*:*:*:*",
     "supplier": {"name": "GNU Libc Maintainers", "contact": [{"email": "debian-glibc@lists.debian.org"}]},
     "publisher": "GNU Libc Maintainers <debian-glibc@lists.debian.org>",
     "licenses": [{"expression": "LGPL-2.1-or-later AND LicenseRef-Vendor"}],
     "hashes": [{"alg": "MD5", "content": "D41D8CD98F00B204E9800998ECF8427E"}],
     "properties": [{"name": "fieldattest:package:source_package", "value": "glibc"}]},
    {"type": "application", "bom-ref": "pkg:deb/debian/bash@5.2", "name": "bash (shell)", "version": "5.2",
     "purl": "pkg:deb/debian/bash@5.2", "licenses": [{"license": {"name": "GPL v3, see copyright"}}],
     "properties": [{"name": "fieldattest:package:unresolved_dependency", "value": "debianutils (>= 5.6-0.1)"}]},
    {"type": "device", "bom-ref": "hw:cpu:1", "name": "Cortex-A53", "manufacturer": {"name": "ARM"}}
  ],
  "dependencies": [
    {"ref": "pkg:deb/debian/libc6@2.36-9", "dependsOn": []},
    {"ref": "pkg:deb/debian/bash@5.2", "dependsOn": ["pkg:deb/debian/libc6@2.36-9", "missing-ref"]},
    {"ref": "nowhere", "dependsOn": ["pkg:deb/debian/bash@5.2"]}
  ]
}"#;

fn rels2(doc: &Value) -> Vec<(String, String, String)> {
    doc["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["spdxElementId"].as_str().unwrap().to_string(),
                r["relationshipType"].as_str().unwrap().to_string(),
                r["relatedSpdxElement"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn spdx23_carries_identity_supplier_license_and_graph() {
    let doc: Value = serde_json::from_str(&convert(CDX, SpdxVersion::V2_3).unwrap()).unwrap();
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["creationInfo"]["created"], "2026-12-07T10:00:00Z");
    assert_eq!(
        doc["creationInfo"]["creators"],
        json!([
            "Tool: fieldattest-0.1.0",
            "Organization: fieldattest 0.1.0 automated scan"
        ])
    );
    assert!(doc["documentNamespace"]
        .as_str()
        .unwrap()
        .ends_with("debian-0f0e0d0c-0b0a-4908-8706-050403020100"));
    let p = doc["packages"].as_array().unwrap();
    assert_eq!(p.len(), 4);
    assert_eq!(p[0]["primaryPackagePurpose"], "OPERATING-SYSTEM");
    assert_eq!(p[0]["supplier"], "Organization: Debian GNU/Linux");
    let libc = &p[1];
    assert_eq!(
        libc["supplier"],
        "Organization: GNU Libc Maintainers (debian-glibc@lists.debian.org)"
    );
    assert_eq!(libc["originator"], libc["supplier"]);
    assert_eq!(
        libc["licenseDeclared"],
        "LGPL-2.1-or-later AND LicenseRef-Vendor"
    );
    assert_eq!(libc["licenseConcluded"], "NOASSERTION");
    assert_eq!(
        libc["checksums"],
        json!([{"algorithm": "MD5", "checksumValue": "d41d8cd98f00b204e9800998ecf8427e"}])
    );
    assert_eq!(libc["externalRefs"][0]["referenceType"], "purl");
    assert_eq!(libc["externalRefs"][1]["referenceType"], "cpe23Type");
    assert_eq!(libc["sourceInfo"], "built from source package glibc");
    assert_eq!(
        doc["hasExtractedLicensingInfos"][0]["licenseId"],
        "LicenseRef-Vendor"
    );
    // A license name that is no expression: NOASSERTION, the name kept.
    assert_eq!(p[2]["licenseDeclared"], "NOASSERTION");
    assert_eq!(
        p[2]["licenseComments"],
        "license as recorded: GPL v3, see copyright"
    );
    // Identifiers are generated: only [A-Za-z0-9.-] after SPDXRef-.
    assert_eq!(p[2]["SPDXID"], "SPDXRef-Package-2-bash--shell-");
    let r = rels2(&doc);
    let (os, libc, bash, cpu) = (
        "SPDXRef-Package-0-debian",
        "SPDXRef-Package-1-libc6",
        "SPDXRef-Package-2-bash--shell-",
        "SPDXRef-Package-3-Cortex-A53",
    );
    let has = |a: &str, t: &str, b: &str| r.contains(&(a.into(), t.into(), b.into()));
    assert!(has("SPDXRef-DOCUMENT", "DESCRIBES", os));
    assert!(has("SPDXRef-DOCUMENT", "DESCRIBES", cpu));
    assert!(has(os, "CONTAINS", libc) && has(os, "CONTAINS", bash));
    assert!(!has(os, "CONTAINS", cpu));
    assert!(has(libc, "DEPENDS_ON", "NONE"));
    assert!(has(bash, "DEPENDS_ON", libc));
    assert!(has(bash, "DEPENDS_ON", "NOASSERTION"));
    // The dangling ref and the entry of an unknown component are dropped.
    assert_eq!(r.iter().filter(|x| x.1 == "DEPENDS_ON").count(), 3);
}

#[test]
fn spdx3_carries_the_same_content() {
    let doc: Value = serde_json::from_str(&convert(CDX, SpdxVersion::V3_0).unwrap()).unwrap();
    assert_eq!(doc["@context"], CONTEXT_FOR_TESTS);
    let g = doc["@graph"].as_array().unwrap();
    let of = |t: &'static str| g.iter().filter(move |e| e["type"] == t);
    assert_eq!(of("CreationInfo").count(), 1);
    let pk: Vec<&Value> = of("software_Package").collect();
    assert_eq!(pk.len(), 4);
    assert_eq!(pk[0]["software_primaryPurpose"], "operatingSystem");
    assert_eq!(pk[1]["software_packageUrl"], "pkg:deb/debian/libc6@2.36-9");
    assert_eq!(
        pk[1]["externalIdentifier"][0]["externalIdentifierType"],
        "cpe23"
    );
    assert_eq!(pk[1]["verifiedUsing"][0]["algorithm"], "md5");
    let supplier = pk[1]["suppliedBy"].as_str().unwrap();
    let org = g.iter().find(|e| e["spdxId"] == supplier).unwrap();
    assert_eq!(org["name"], "GNU Libc Maintainers");
    assert_eq!(
        org["externalIdentifier"][0]["identifier"],
        "debian-glibc@lists.debian.org"
    );
    // Supplier and publisher are the same entity: one Organization.
    assert_eq!(pk[1]["originatedBy"], json!([supplier]));
    let rel = |from: &Value, ty: &str| {
        of("Relationship")
            .find(|r| r["from"] == *from && r["relationshipType"] == ty)
            .cloned()
    };
    let libc_dep = rel(&pk[1]["spdxId"], "dependsOn").unwrap();
    assert_eq!(libc_dep["to"], json!([NONE_FOR_TESTS]));
    let bash_dep = rel(&pk[2]["spdxId"], "dependsOn").unwrap();
    assert_eq!(bash_dep["completeness"], "incomplete");
    assert_eq!(bash_dep["to"][0], pk[1]["spdxId"]);
    let lic = rel(&pk[1]["spdxId"], "hasDeclaredLicense").unwrap();
    let le = g.iter().find(|e| e["spdxId"] == lic["to"][0]).unwrap();
    assert_eq!(
        le["simplelicensing_licenseExpression"],
        "LGPL-2.1-or-later AND LicenseRef-Vendor"
    );
    let contains = rel(&pk[0]["spdxId"], "contains").unwrap();
    assert_eq!(contains["to"].as_array().unwrap().len(), 2);
    // Every element the graph holds is listed by the document.
    let docu = of("SpdxDocument").next().unwrap();
    let listed = docu["element"].as_array().unwrap();
    for e in g {
        if let Some(id) = e["spdxId"].as_str() {
            if e["type"] != "SpdxDocument" {
                assert!(listed.iter().any(|x| x == id), "{id} not listed");
            }
        }
    }
}

const CONTEXT_FOR_TESTS: &str = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld";
const NONE_FOR_TESTS: &str = "https://spdx.org/rdf/3.0.1/terms/Core/NoneElement";

#[test]
fn hostile_sboms_are_refused_with_a_reason() {
    for (text, want) in [
        ("", "CycloneDX JSON"),
        ("[]", "CycloneDX"),
        (r#"{"bomFormat":"SPDX"}"#, "not a CycloneDX BOM"),
        (
            r#"{"bomFormat":"CycloneDX","components":[{"type":"library"}]}"#,
            "missing field `name`",
        ),
        (
            r#"{"bomFormat":"CycloneDX","metadata":{"timestamp":"yesterday"}}"#,
            "not an RFC 3339 UTC time",
        ),
        (
            r#"{"bomFormat":"CycloneDX","metadata":{"timestamp":"2026-12-07T10:00:00+02:00"}}"#,
            "not an RFC 3339 UTC time",
        ),
        (r#"{"bomFormat":"CycloneDX"}"#, "timestamp missing"),
    ] {
        for v in [SpdxVersion::V2_3, SpdxVersion::V3_0] {
            let e = convert(text, v).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }
    // Deep nesting: serde_json's recursion limit, an error.
    let deep = format!(
        r#"{{"bomFormat":"CycloneDX","metadata":{{"tools":{}1{}}}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(convert(&deep, SpdxVersion::V2_3).is_err());
}

#[test]
fn license_expressions_are_checked_before_they_are_written() {
    for ok in [
        "MIT",
        "GPL-2.0-or-later WITH Linux-syscall-note",
        "(MIT OR Apache-2.0) AND LicenseRef-x",
        "GPL-2.0+",
    ] {
        assert!(is_license_expression(ok), "{ok}");
    }
    for bad in [
        "",
        "MIT AND",
        "(MIT",
        "GPL v2",
        "MIT OR OR BSD",
        "a\"b",
        "MIT)",
    ] {
        assert!(!is_license_expression(bad), "{bad}");
    }
    assert_eq!(
        license_refs("(LicenseRef-a OR MIT) AND LicenseRef-a AND LicenseRef-b"),
        ["LicenseRef-a", "LicenseRef-b"]
    );
}

/// Generated mutations of a valid SBOM: truncations and byte flips never
/// panic; what parses renders to JSON that parses.
#[test]
fn generated_mutations_never_panic() {
    let base = CDX.as_bytes();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for i in 0..2000 {
        let mut b = base.to_vec();
        if i % 2 == 0 {
            b.truncate((next() as usize) % base.len());
        } else {
            for _ in 0..4 {
                let at = (next() as usize) % b.len();
                b[at] = (next() % 128) as u8;
            }
        }
        let Ok(text) = std::str::from_utf8(&b) else {
            continue;
        };
        for v in [SpdxVersion::V2_3, SpdxVersion::V3_0] {
            if let Ok(out) = convert(text, v) {
                serde_json::from_str::<Value>(&out).unwrap();
            }
        }
    }
}

/// Lists a hostile SBOM makes long (a dependency entry naming one component
/// over and over, tens of thousands of CPEs, of distinct LicenseRefs)
/// convert without quadratic work: duplicates are found through sets.
#[test]
fn long_hostile_lists_convert_linearly() {
    let n = 60_000;
    let comps: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"type":"library","bom-ref":"c{i}","name":"c{i}","version":"1","licenses":[{{"expression":"LicenseRef-x{i}"}}]}}"#
            )
        })
        .collect();
    let evidence: Vec<String> = (0..n)
        .map(|i| {
            format!(r#"{{"field":"cpe","concludedValue":"cpe:2.3:a:v:p{i}:1:*:*:*:*:*:*:*"}}"#)
        })
        .collect();
    let deps: Vec<String> = (0..n).map(|i| format!(r#""c{}""#, i % 7)).collect();
    let doc = format!(
        r#"{{"bomFormat":"CycloneDX","metadata":{{"timestamp":"2026-12-07T10:00:00Z","component":{{"type":"operating-system","bom-ref":"os","name":"os","evidence":{{"identity":[{}]}}}}}},"components":[{}],"dependencies":[{{"ref":"c0","dependsOn":[{}]}}]}}"#,
        evidence.join(","),
        comps.join(","),
        deps.join(",")
    );
    let v2: Value = serde_json::from_str(&convert(&doc, SpdxVersion::V2_3).unwrap()).unwrap();
    let deps_of_c0 = v2["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["relationshipType"] == "DEPENDS_ON")
        .count();
    assert_eq!(deps_of_c0, 7, "duplicates named once");
    assert_eq!(
        v2["hasExtractedLicensingInfos"].as_array().unwrap().len(),
        n
    );
    assert_eq!(
        v2["packages"][0]["externalRefs"].as_array().unwrap().len(),
        n
    );
    let v3: Value = serde_json::from_str(&convert(&doc, SpdxVersion::V3_0).unwrap()).unwrap();
    let dep = v3["@graph"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["relationshipType"] == "dependsOn")
        .unwrap();
    assert_eq!(dep["to"].as_array().unwrap().len(), 7);
}
