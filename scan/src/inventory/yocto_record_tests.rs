use super::*;

const OPENSSL: &str = r#"{"pn":"openssl","pv":"3.0.2","cve_version":"3.0.2","cve_product":["openssl:openssl"],"packages":["openssl","libssl3","libcrypto3"],"cve_status":[{"id":"CVE-2023-0464","status":"Patched","detail":"backported-patch","description":"fix in 0001.patch"},{"id":"CVE-2022-3358","status":"Ignored","detail":"not-applicable-config","description":""}]}"#;

fn pkg(name: &str, recipe: Option<&str>) -> Package {
    let mut p = Package::new(name, "1-r0", PackageSource::Opkg, "/var/lib/opkg/status");
    p.source_package = recipe.map(str::to_string);
    p.source_version = recipe.map(|_| "1".to_string());
    p
}

#[test]
fn parses_the_contract_example() {
    let (r, e) = parse(OPENSSL);
    assert!(e.is_empty(), "{e:?}");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].pn, "openssl");
    assert_eq!(r[0].version, "3.0.2");
    assert_eq!(r[0].products[0].vendor, "openssl");
    assert_eq!(r[0].packages, ["openssl", "libssl3", "libcrypto3"]);
    assert_eq!(r[0].cve_status[0].id, "CVE-2023-0464");
    assert_eq!(r[0].cve_status[1].detail, "not-applicable-config");
}

#[test]
fn version_is_cve_version_else_pv_cut_at_git() {
    let (r, _) = parse(
        "{\"pn\":\"a\",\"pv\":\"2.39+git0+abc\",\"cve_product\":[\"glibc\"]}\n\
         {\"pn\":\"b\",\"pv\":\"1.0\",\"cve_version\":\"1.1\"}\n\
         {\"pn\":\"c\",\"cve_version\":\"\",\"pv\":\"7\"}\n\
         {\"pn\":\"d\"}\n",
    );
    let v: Vec<&str> = r.iter().map(|r| r.version.as_str()).collect();
    assert_eq!(v, ["2.39", "1.1", "7", ""]);
    assert_eq!(
        r[0].products[0].vendor, "*",
        "no vendor in CVE_PRODUCT: ANY"
    );
}

#[test]
fn bad_lines_are_reported_by_number_and_the_rest_goes_on() {
    let long = format!("{{\"pn\":\"x\",\"pv\":\"{}\"}}", "1".repeat(MAX_LINE));
    let text = format!(
        "{OPENSSL}\nnot json\n\n{{\"pv\":\"1\"}}\n{long}\n{{\"pn\":\"\"}}\n\
         {{\"pn\":\"q\",\"cve_product\":[\":b\"]}}\n{{\"pn\":\"q2\",\"cve_product\":[\"caf\u{e9}\"]}}\n\
         {{\"pn\":\"openssl\",\"pv\":\"9\"}}\n{{\"pn\":\"ok\",\"pv\":\"1\",\"future\":1}}\r\n\
         {{\"pn\":\"s\",\"cve_status\":[{{\"id\":\"\",\"status\":\"Patched\"}}]}}\n\
         {{\"pn\":\"p\",\"packages\":[\"a\\nb\"]}}\n"
    );
    let (r, e) = parse(&text);
    let names: Vec<&str> = r.iter().map(|r| r.pn.as_str()).collect();
    assert_eq!(names, ["openssl", "ok"]);
    let lines: Vec<u64> = e.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [2, 4, 5, 6, 7, 8, 9, 11, 12], "{e:?}");
    assert!(e[2].1.contains("longer than"));
    assert!(e[6].1.contains("listed twice"));
    assert_eq!(r[0].version, "3.0.2", "the first line of a recipe wins");
}

#[test]
fn record_count_is_bounded() {
    let mut text = String::new();
    for i in 0..MAX_RECORDS + 3 {
        text.push_str(&format!("{{\"pn\":\"r{i}\"}}\n"));
    }
    let (r, e) = parse(&text);
    assert_eq!(r.len(), MAX_RECORDS);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].0, MAX_RECORDS as u64 + 1);
}

#[test]
fn apply_sets_cpe_by_package_name_and_recipe_and_status_once() {
    let (records, _) = parse(&format!(
        "{OPENSSL}\n{{\"pn\":\"glibc-locale\",\"pv\":\"2.39\",\"cve_product\":[],\"packages\":[\"glibc-localedata-en-us\"]}}\n"
    ));
    let mut pkgs = vec![
        pkg("libcrypto3", Some("openssl")),
        pkg("libssl3", Some("openssl")),
        pkg("openssl-bin", Some("openssl")),
        pkg("glibc-localedata-en-us", Some("glibc-locale")),
        pkg("busybox", Some("busybox")),
        Package::new(
            "libssl3",
            "3.0.2-1",
            PackageSource::Dpkg,
            "/var/lib/dpkg/status",
        ),
    ];
    pkgs[3].cpe = vec!["cpe:2.3:a:stale:stale:1:*:*:*:*:*:*:*".into()];
    pkgs[4].cpe = vec!["cpe:2.3:*:*:busybox:1:*:*:*:*:*:*:*".into()];
    let n = apply(&mut pkgs, &records);
    assert_eq!(n, 5, "the dpkg libssl3 matches by name too");
    let want = ["cpe:2.3:*:openssl:openssl:3.0.2:*:*:*:*:*:*:*"];
    assert_eq!(pkgs[0].cpe, want);
    assert_eq!(pkgs[1].cpe, want);
    assert_eq!(pkgs[2].cpe, want, "matched through its recipe");
    assert!(
        pkgs[3].cpe.is_empty(),
        "CVE_PRODUCT = \"\" in the record: no CPE"
    );
    assert_eq!(pkgs[4].cpe.len(), 1, "no record: the table's CPE stays");
    // Statuses on one package of the recipe: no `openssl` package installed,
    // so the first listed one installed (libssl3 comes before libcrypto3).
    let carriers: Vec<&str> = pkgs
        .iter()
        .filter(|p| !p.cve_status.is_empty())
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(carriers, ["libssl3"]);
    assert_eq!(pkgs[1].cve_status.len(), 2);
    assert!(pkgs[5].cve_status.is_empty());
    // With a package named like the recipe, that one carries them.
    let mut pkgs = vec![
        pkg("libssl3", Some("openssl")),
        pkg("openssl", Some("openssl")),
    ];
    apply(&mut pkgs, &records);
    assert!(pkgs[0].cve_status.is_empty());
    assert_eq!(pkgs[1].cve_status.len(), 2);
}

#[test]
fn apply_without_records_changes_nothing() {
    let mut pkgs = vec![pkg("libssl3", Some("openssl"))];
    let before = pkgs.clone();
    assert_eq!(apply(&mut pkgs, &[]), 0);
    assert_eq!(pkgs, before);
}

#[test]
fn read_from_the_image_names_path_and_line() {
    let d = tempfile::tempdir().unwrap();
    let root = RootFs::new(d.path()).unwrap();
    assert_eq!(read(&root), (Vec::new(), Vec::new()), "no record: nothing");
    let p = d.path().join(PATH.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, format!("{OPENSSL}\n{{oops\n")).unwrap();
    let (r, e) = read(&root);
    assert_eq!(r.len(), 1);
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("/usr/share/fieldattest/cve-record.jsonl:2: "),
        "{e:?}"
    );
    let (_, e) = read_detailed(&root);
    assert_eq!((e[0].source.as_str(), e[0].line), ("cve-record", Some(2)));
    // A directory where the file should be: an error without line.
    std::fs::remove_file(&p).unwrap();
    std::fs::create_dir(&p).unwrap();
    let (r, e) = read_detailed(&root);
    assert!(r.is_empty());
    assert_eq!((e.len(), e[0].line), (1, None));
}
