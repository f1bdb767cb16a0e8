//! `vulndb import` of every offline data format (the official-shape
//! fixtures of `collector/tests/data/feeds/`, EPSS also gzip-compressed),
//! detected by content: counts, malformed records reported with their
//! position, idempotent re-import; `vulndb status` lists each feed with its
//! data date and flags stale ones (exit status 1), text and JSON.

use fieldattest_tests::bin;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn run(db: &Path, args: &[&str]) -> (i32, String, String) {
    let o = Command::new(bin("fieldattest-collector"))
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../collector/tests/data/feeds")
}

#[test]
fn every_format_imports_by_content_and_status_flags_stale_feeds() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db");
    let (code, out, _) = run(&db, &["vulndb", "status"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no vulnerability data imported"), "{out}");

    // File names say nothing: the content decides.
    let mut files = Vec::new();
    for (i, f) in [
        "nvd-2.0.json",
        "cve5-kernel.json",
        "cve5-exampled.json",
        "kev.json",
        "csaf-vex.json",
        "openvex.json",
        "cyclonedx-vex.json",
    ]
    .iter()
    .enumerate()
    {
        let p = dir.path().join(format!("data-{i}"));
        std::fs::copy(fixtures().join(f), &p).unwrap();
        files.push(p.to_string_lossy().into_owned());
    }
    // EPSS, gzip-compressed, from an old model date: stale.
    let csv = std::fs::read_to_string(fixtures().join("epss.csv"))
        .unwrap()
        .replace("2099-01-05", "2020-01-05");
    let gz = dir.path().join("scores");
    let o = Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut ch| {
            use std::io::Write;
            ch.stdin.take().unwrap().write_all(csv.as_bytes())?;
            ch.wait_with_output()
        })
        .unwrap();
    std::fs::write(&gz, o.stdout).unwrap();
    files.push(gz.to_string_lossy().into_owned());

    let mut args = vec!["vulndb", "import"];
    args.extend(files.iter().map(String::as_str));
    let (code, out, err) = run(&db, &args);
    assert_eq!(code, 1, "malformed records are reported: {out} {err}");
    // nvd 4 + kernel 1 + exampled 1 + kev 2 + csaf 2 + openvex 2 + cdx 2 + epss 3.
    assert!(
        out.contains("records: 17 new, 0 updated, 0 unchanged, 7 skipped"),
        "{out}"
    );
    for at in [
        "data-0#/vulnerabilities/3",
        "data-2#/1",
        "data-3#/vulnerabilities/2",
        "scores:5",
    ] {
        assert!(err.contains(at), "{at}: {err}");
    }
    let (_, again, _) = run(&db, &args);
    assert!(
        again.contains("records: 0 new, 0 updated, 17 unchanged, 7 skipped"),
        "{again}"
    );

    let (code, out, err) = run(&db, &["vulndb", "status", "--format", "json"]);
    assert_eq!(code, 1, "the EPSS scores are stale: {out} {err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let feeds = v["feeds"].as_array().unwrap();
    let kinds: Vec<(&str, u64, bool)> = feeds
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap(),
                f["records"].as_u64().unwrap(),
                f["stale"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("cve5", 1, false),
            ("cve5", 1, false),
            ("epss", 3, true),
            ("kev", 2, false),
            ("nvd", 4, false),
            ("vex", 2, false),
            ("vex", 2, false),
            ("vex", 2, false)
        ]
    );
    assert_eq!(v["stale"], 1);
    let epss = feeds.iter().find(|f| f["kind"] == "epss").unwrap();
    assert_eq!(epss["data_date"], "2020-01-05");
    assert!(epss["age_days"].as_i64().unwrap() > 365);
    // A wider limit: nothing stale.
    let (code, out, _) = run(&db, &["vulndb", "status", "--max-age", "100years"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("kind=epss") && out.contains("stale=false"),
        "{out}"
    );
    let (code, _, err) = run(&db, &["vulndb", "status", "--max-age", "soon"]);
    assert_eq!(code, 2, "{err}");
}
