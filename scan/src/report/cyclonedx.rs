//! CycloneDX 1.6 JSON: the SBOM (one component per package, with purl and
//! CPE), the HBOM (one `device` component per hardware component) and the
//! VEX statements of the image build's `CVE_STATUS` (`vulnerabilities`).

use super::uuid_v4;
use fieldattest_protocol::report::{PackageSource, Report, ScanMode};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn prop(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

/// CycloneDX 1.6 JSON: one component per package with its purl; the operating
/// system as `metadata.component`; fieldattest specifics as namespaced properties.
pub fn render_cyclonedx(r: &Report, serial: [u8; 16]) -> String {
    let os = &r.device.os;
    let os_name = os.id.clone().unwrap_or_else(|| "unknown".into());
    let mut os_comp = json!({
        "type": "operating-system",
        "bom-ref": format!("os:{os_name}"),
        "name": os_name,
    });
    if let Some(v) = os.version_id.as_ref().or(os.build_id.as_ref()) {
        os_comp["version"] = json!(v);
    }
    if let Some(d) = &os.pretty_name {
        os_comp["description"] = json!(d);
    }
    // The OS distributor (os-release NAME) supplies the operating system,
    // and every component whose database names no maintainer.
    let distributor = os.name.as_deref().filter(|n| !n.trim().is_empty());
    if let Some(d) = distributor {
        os_comp["supplier"] = json!({"name": d.trim()});
    }
    if let Some(c) = crate::inventory::cpe::derived(
        os.id.as_deref().unwrap_or("linux"),
        os.version_id.as_deref().unwrap_or("-"),
        "o",
    ) {
        os_comp["cpe"] = json!(c);
    }
    let mut os_props = Vec::new();
    if let Some(b) = &os.build_id {
        os_props.push(prop("fieldattest:os:build_id", b));
    }
    if let Some(k) = &r.device.kernel.release {
        os_props.push(prop("fieldattest:kernel:release", k));
    }
    if let Some(m) = &r.device.kernel.machine {
        os_props.push(prop("fieldattest:kernel:machine", m));
    }
    if let Some(h) = &r.device.hostname {
        os_props.push(prop("fieldattest:device:hostname", h));
    }
    if !os_props.is_empty() {
        os_comp["properties"] = Value::Array(os_props);
    }

    let mut refs: BTreeMap<String, u32> = BTreeMap::new();
    let mut components = Vec::new();
    // bom-refs of each component and of each Yocto recipe's components: a
    // recipe's CVE_STATUS affects every package it built.
    let mut pkg_refs: Vec<String> = Vec::with_capacity(r.inventory.packages.len());
    let mut recipe_refs: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for pk in &r.inventory.packages {
        let base = pk
            .purl
            .clone()
            .unwrap_or_else(|| format!("{}:{}@{}", pk.source.as_str(), pk.name, pk.version));
        let n = refs.entry(base.clone()).or_insert(0);
        *n += 1;
        let bom_ref = if *n == 1 { base } else { format!("{base}#{n}") };
        let ty = if pk.source == PackageSource::Binary {
            "application"
        } else {
            "library"
        };
        pkg_refs.push(bom_ref.clone());
        if let Some(recipe) = recipe_of(pk) {
            recipe_refs.entry(recipe).or_default().push(bom_ref.clone());
        }
        let mut c = json!({
            "type": ty,
            "bom-ref": bom_ref,
            "name": pk.name,
            "version": pk.version,
        });
        if let Some(pu) = &pk.purl {
            c["purl"] = json!(pu);
        }
        let mut props = Vec::new();
        match (&pk.maintainer, distributor) {
            (Some(m), _) => {
                c["supplier"] = entity(m);
                c["publisher"] = json!(m);
            }
            (None, Some(d)) => {
                c["supplier"] = json!({"name": d.trim()});
                props.push(prop(
                    "fieldattest:supplier:basis",
                    "operating system distributor",
                ));
            }
            (None, None) => {}
        }
        // `cpe` holds one name; every CPE (the first included) is also
        // asserted as identity evidence, an array since CycloneDX 1.6. A
        // component no table identifies gets OE-core's default identity
        // (its product name, vendor ANY), said so in a property; the
        // collector matches only the identified ones.
        if let Some(first) = pk.cpe.first() {
            c["cpe"] = json!(first);
            c["evidence"] = json!({"identity": pk
                .cpe
                .iter()
                .map(|v| json!({"field": "cpe", "concludedValue": v}))
                .collect::<Vec<_>>()});
        } else if let Some(d) = crate::inventory::cpe::for_sbom(pk) {
            c["cpe"] = json!(d);
            props.push(prop(
                "fieldattest:cpe:basis",
                "package name, vendor unknown",
            ));
        }
        if let Some(e) = &pk.license_expression {
            c["licenses"] = json!([{"expression": e}]);
        } else if let Some(l) = &pk.license {
            c["licenses"] = json!([{"license": {"name": l}}]);
        } else if pk.source != PackageSource::Binary {
            // Said, not left silent (ISSUE19): the database and the
            // copyright file name no license.
            props.push(prop("fieldattest:license", "none recorded"));
        }
        props.push(prop("fieldattest:package:source", pk.source.as_str()));
        props.push(prop("fieldattest:package:path", &pk.path));
        if let Some(a) = &pk.arch {
            props.push(prop("fieldattest:package:arch", a));
        }
        if let Some(s) = &pk.source_package {
            props.push(prop("fieldattest:package:source_package", s));
        }
        if let Some(s) = &pk.source_version {
            props.push(prop("fieldattest:package:source_version", s));
        }
        if let Some(b) = &pk.binary_name {
            props.push(prop("fieldattest:package:binary_name", b));
        }
        if let Some(st) = &pk.state {
            props.push(prop("fieldattest:package:state", st));
        }
        if let Some(d) = &pk.depends {
            props.push(prop("fieldattest:package:depends", d));
        }
        for u in &pk.unresolved {
            props.push(prop("fieldattest:package:unresolved_dependency", u));
        }
        c["properties"] = Value::Array(props);
        #[cfg(feature = "sbom-files")]
        if !pk.files.is_empty() {
            // The package's files, each with the digest its database
            // records, in that algorithm (ISSUE19).
            let owner = pkg_refs.last().map(String::as_str).unwrap_or_default();
            c["components"] = pk
                .files
                .iter()
                .map(|f| {
                    json!({
                        "type": "file",
                        "bom-ref": format!("{owner}#file:{}", f.path),
                        "name": f.path,
                        "hashes": [{"alg": f.alg, "content": f.hex}],
                    })
                })
                .collect();
        }
        components.push(c);
    }
    // HBOM: one `device` component per hardware component.
    let mut kinds: BTreeMap<&str, u32> = BTreeMap::new();
    for h in &r.inventory.hardware {
        let n = kinds.entry(h.kind.as_str()).or_insert(0);
        *n += 1;
        let mut c = json!({
            "type": "device",
            "bom-ref": format!("hw:{}:{n}", h.kind),
            "name": h.name,
        });
        if let Some(v) = &h.vendor {
            c["manufacturer"] = json!({"name": v});
        }
        if let Some(m) = &h.model {
            c["description"] = json!(m);
        }
        let mut props = vec![
            prop("fieldattest:hardware:kind", &h.kind),
            prop("fieldattest:hardware:path", &h.path),
        ];
        for (k, v) in &h.properties {
            props.push(prop(&format!("fieldattest:hardware:{k}"), v));
        }
        c["properties"] = Value::Array(props);
        components.push(c);
    }
    let mut meta_props = vec![
        prop("fieldattest:scan:root", &r.scan.root),
        prop(
            "fieldattest:scan:mode",
            match r.scan.mode {
                ScanMode::Live => "live",
                ScanMode::Image => "image",
            },
        ),
    ];
    for e in &r.inventory.errors {
        let line = e.line.map(|l| format!(":{l}")).unwrap_or_default();
        meta_props.push(prop(
            "fieldattest:inventory:error",
            &format!("[{}] {}{}: {}", e.source, e.path, line, e.message),
        ));
    }
    let vulnerabilities = vex(r, &pkg_refs, &recipe_refs);
    let dependencies = dependencies(r, &pkg_refs);
    let mut doc = json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", uuid_v4(serial)),
        "version": 1,
        "metadata": {
            "timestamp": r.scan.started,
            "authors": [{"name": r.agent.name}],
            "tools": {"components": [{
                "type": "application",
                "name": r.agent.name,
                "version": r.agent.version,
            }]},
            "component": os_comp,
            "properties": meta_props,
        },
        "components": components,
    });
    if !dependencies.is_empty() {
        doc["dependencies"] = Value::Array(dependencies);
    }
    if !vulnerabilities.is_empty() {
        doc["vulnerabilities"] = Value::Array(vulnerabilities);
    }
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// CycloneDX `dependencies` (ISSUE19): one entry per package of a
/// database whose graph is resolved (`depends::RESOLVED`), `dependsOn` the
/// bom-refs of the installed packages it depends on (empty: none). Packages
/// of other sources get no entry: their graph is unknown, not empty.
fn dependencies(r: &Report, pkg_refs: &[String]) -> Vec<Value> {
    let resolved = |pk: &fieldattest_protocol::report::Package| {
        crate::inventory::depends::RESOLVED.contains(&pk.source)
    };
    // "source\0key" → package index (the map type `depends::resolve`
    // uses: no new map code on the device).
    let mut by_key: std::collections::HashMap<String, Vec<usize>> = Default::default();
    for (i, pk) in r
        .inventory
        .packages
        .iter()
        .enumerate()
        .filter(|(_, pk)| resolved(pk))
    {
        let k = format!(
            "{}\0{}",
            pk.source.as_str(),
            crate::inventory::depends::key(pk)
        );
        by_key.entry(k).or_default().push(i);
    }
    r.inventory
        .packages
        .iter()
        .zip(pkg_refs)
        .filter(|(pk, _)| resolved(pk))
        .map(|(pk, rf)| {
            let on: Vec<&str> = pk
                .depends_on
                .iter()
                .filter_map(|k| by_key.get(&format!("{}\0{k}", pk.source.as_str())))
                .filter_map(|v| v.first().map(|&i| pkg_refs[i].as_str()))
                .collect();
            json!({"ref": rf, "dependsOn": on})
        })
        .collect()
}

/// A CycloneDX organizational entity of a maintainer field: `Name <mail>`
/// → name and contact e-mail; anything else → the name as written.
fn entity(m: &str) -> Value {
    match m.rsplit_once('<') {
        Some((name, rest)) if rest.trim_end().ends_with('>') && !name.trim().is_empty() => {
            let mail = rest.trim_end().trim_end_matches('>').trim();
            json!({"name": name.trim(), "contact": [{"email": mail}]})
        }
        _ => json!({"name": m.trim()}),
    }
}

/// The recipe (source package) a package was built from: opkg with an `OE:`
/// recipe, rpm by its source rpm's name (Yocto's `package_rpm` images).
fn recipe_of(pk: &fieldattest_protocol::report::Package) -> Option<&str> {
    match (pk.source, &pk.source_package) {
        (PackageSource::Opkg, Some(r)) if pk.source_version.is_some() => Some(r.as_str()),
        (PackageSource::Rpm, Some(srpm)) => crate::inventory::cpe::srpm_name(srpm),
        _ => None,
    }
}

/// CycloneDX impact analysis of one OE-core `CVE_STATUS` (ISSUE18 "CVE_STATUS
/// → VEX"): state, justification. `Patched` is resolved; `Ignored` is
/// not_affected with the justification its detail names (configuration,
/// platform, wrong CPE); `Unpatched` is exploitable (the build knows the
/// component affected and unfixed); everything else (`disputed`,
/// `upstream-wontfix`, unknown details or statuses) stays open: in_triage.
pub fn vex_analysis(status: &str, detail: &str) -> (&'static str, Option<&'static str>) {
    match (status, detail) {
        ("Patched", _) => ("resolved", None),
        ("Ignored", "not-applicable-config") => ("not_affected", Some("requires_configuration")),
        ("Ignored", "not-applicable-platform") => ("not_affected", Some("requires_environment")),
        ("Ignored", "cpe-incorrect") => ("not_affected", Some("code_not_present")),
        ("Unpatched", _) => ("exploitable", None),
        _ => ("in_triage", None),
    }
}

/// Most components one VEX statement names: a kernel recipe records
/// thousands of statuses and builds hundreds of module packages, and naming
/// each in each statement would make the SBOM hundreds of megabytes.
pub const MAX_AFFECTS: usize = 16;

/// One `vulnerabilities` entry per (CVE, recipe or package) with a recorded
/// status, `affects` naming the recipe's components: the package carrying the
/// record first, then the others in inventory order, at most [`MAX_AFFECTS`]
/// (the `fieldattest:cve_status:recipe` property names the recipe, which
/// covers them all; every component of a recipe has the same purl).
fn vex(r: &Report, pkg_refs: &[String], recipe_refs: &BTreeMap<&str, Vec<String>>) -> Vec<Value> {
    let mut out = Vec::new();
    for (pk, own_ref) in r.inventory.packages.iter().zip(pkg_refs) {
        if pk.cve_status.is_empty() {
            continue;
        }
        let recipe = recipe_of(pk);
        let mut affects = vec![json!({"ref": own_ref})];
        for b in recipe
            .and_then(|re| recipe_refs.get(re))
            .into_iter()
            .flatten()
        {
            if affects.len() >= MAX_AFFECTS {
                break;
            }
            if b != own_ref {
                affects.push(json!({"ref": b}));
            }
        }
        for st in &pk.cve_status {
            let (state, justification) = vex_analysis(&st.status, &st.detail);
            let mut detail = st.detail.clone();
            if !st.description.is_empty() {
                if !detail.is_empty() {
                    detail.push_str(": ");
                }
                detail.push_str(&st.description);
            }
            let mut analysis = json!({"state": state});
            if let Some(j) = justification {
                analysis["justification"] = json!(j);
            }
            if !detail.is_empty() {
                analysis["detail"] = json!(detail);
            }
            let mut props = vec![prop("fieldattest:cve_status:status", &st.status)];
            if !st.detail.is_empty() {
                props.push(prop("fieldattest:cve_status:detail", &st.detail));
            }
            if let Some(re) = recipe {
                props.push(prop("fieldattest:cve_status:recipe", re));
            }
            out.push(json!({
                "id": st.id,
                "source": {"name": "CVE_STATUS (image build record)"},
                "analysis": analysis,
                "affects": affects,
                "properties": props,
            }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cve_status_maps_to_cyclonedx_analysis() {
        for (status, detail, want) in [
            ("Patched", "fixed-version", ("resolved", None)),
            ("Patched", "backported-patch", ("resolved", None)),
            ("Patched", "cpe-stable-backport", ("resolved", None)),
            (
                "Ignored",
                "not-applicable-config",
                ("not_affected", Some("requires_configuration")),
            ),
            (
                "Ignored",
                "not-applicable-platform",
                ("not_affected", Some("requires_environment")),
            ),
            (
                "Ignored",
                "cpe-incorrect",
                ("not_affected", Some("code_not_present")),
            ),
            ("Ignored", "disputed", ("in_triage", None)),
            ("Ignored", "upstream-wontfix", ("in_triage", None)),
            ("Ignored", "something-new", ("in_triage", None)),
            (
                "Unpatched",
                "vulnerable-investigating",
                ("exploitable", None),
            ),
            ("Whatever", "not-applicable-config", ("in_triage", None)),
        ] {
            assert_eq!(vex_analysis(status, detail), want, "{status} {detail}");
        }
    }

    /// A scanned report of a tree with an opkg database and the image record.
    fn scanned(record: &str, names: &[&str]) -> Report {
        let d = tempfile::tempdir().unwrap();
        let mut status = String::new();
        for n in names {
            status.push_str(&format!(
                "Package: {n}\nVersion: 3.0.2-r0\nStatus: install ok installed\nArchitecture: x\n\n"
            ));
            let info = d.path().join(format!("var/lib/opkg/info/{n}.control"));
            std::fs::create_dir_all(info.parent().unwrap()).unwrap();
            std::fs::write(info, format!("Package: {n}\nOE: openssl\n")).unwrap();
        }
        std::fs::write(d.path().join("var/lib/opkg/status"), status).unwrap();
        let rec = d.path().join("usr/share/fieldattest/cve-record.jsonl");
        std::fs::create_dir_all(rec.parent().unwrap()).unwrap();
        std::fs::write(rec, record).unwrap();
        let root = crate::root::RootFs::new(d.path()).unwrap();
        crate::scan(&root, &crate::ScanOptions::new("/img", 1))
    }

    fn affects(doc: &Value) -> Vec<Vec<String>> {
        doc["vulnerabilities"]
            .as_array()
            .map(|v| {
                v.iter()
                    .map(|x| {
                        x["affects"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|a| a["ref"].as_str().unwrap().to_string())
                            .collect()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn vex_affects_the_recipe_components_bounded() {
        let rec = r#"{"pn":"openssl","pv":"3.0.2","cve_product":["openssl:openssl"],"packages":["libssl3"],"cve_status":[{"id":"CVE-2023-0464","status":"Patched","detail":"fixed-version"}]}"#;
        // Three packages of the recipe: every one is affected, carrier first.
        let r = scanned(rec, &["libcrypto3", "libssl3", "openssl-bin"]);
        let doc: Value = serde_json::from_str(&render_cyclonedx(&r, [0; 16])).unwrap();
        let a = affects(&doc);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].len(), 3);
        assert!(a[0][0].contains("openssl@3.0.2"), "{:?}", a[0]);
        let refs: Vec<&str> = doc["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["bom-ref"].as_str())
            .collect();
        assert!(a[0].iter().all(|x| refs.contains(&x.as_str())));
        // Many packages: at most MAX_AFFECTS named.
        let many: Vec<String> = (0..40).map(|i| format!("kernel-module-m{i:02}")).collect();
        let mut names: Vec<&str> = many.iter().map(String::as_str).collect();
        names.push("libssl3");
        let r = scanned(rec, &names);
        let doc: Value = serde_json::from_str(&render_cyclonedx(&r, [0; 16])).unwrap();
        assert_eq!(affects(&doc)[0].len(), MAX_AFFECTS);
        // The same packages as rpm (Yocto package_rpm): grouped by source rpm.
        let mut r = scanned(rec, &["libcrypto3", "libssl3"]);
        for p in &mut r.inventory.packages {
            p.source = PackageSource::Rpm;
            p.source_version = None;
            p.source_package = Some("openssl-3.0.2-r0.src.rpm".into());
            p.purl = Some(format!("pkg:rpm/poky/{}@3.0.2-r0", p.name));
        }
        let doc: Value = serde_json::from_str(&render_cyclonedx(&r, [0; 16])).unwrap();
        assert_eq!(
            affects(&doc),
            [[
                "pkg:rpm/poky/libssl3@3.0.2-r0",
                "pkg:rpm/poky/libcrypto3@3.0.2-r0"
            ]]
        );
        // No record: no vulnerabilities array at all.
        let r = scanned("", &["libssl3"]);
        let doc: Value = serde_json::from_str(&render_cyclonedx(&r, [0; 16])).unwrap();
        assert!(doc.get("vulnerabilities").is_none());
    }
}
