//! vulndb import, vulns, vex set|export.

use super::{device_option, fail, misuse, open, print, warn, Command, Opts, TEXT_JSON_CSV};
use crate::emit;
use fieldattest_collector::store::{Store, VexEntry};
use fieldattest_collector::{now, server, vuln};
use serde_json::{json, Value};
use std::process::ExitCode;

pub const VULNDB: Command = Command {
    name: "vulndb",
    synopsis: &[
        "vulndb import FILE... --db PATH",
        "vulndb status [--max-age DURATION] [--format text|json] --db PATH",
        "vulndb kbuild KERNEL-SOURCE-DIR --db PATH",
    ],
    about: "imports vulnerability data, shows how fresh it is

vulndb import reads each FILE by its content (not its name): OSV advisories
(JSON, arrays, osv.dev's zip files), NVD CVE API 2.0 JSON, CVE JSON 5 records
(one, arrays, a cvelistV5 zip), the CISA KEV catalog, FIRST EPSS CSV, and
supplier VEX in CSAF 2.0, OpenVEX or CycloneDX; any of them gzip-compressed.
Importing is idempotent (an unchanged record is left as is); malformed records
are reported with their position and skipped, and then the exit status is 1.
For one CVE and product, a CVE 5 record's versions win over NVD's criteria.
A kernel configuration (a .config, or /proc/config.gz copied from a device)
is imported by its SHA-256, the digest the agent reports for the kernel.

vulndb kbuild reads the Kbuild makefiles of a kernel source tree (the
version the devices run) into the map of which source file is built under
which CONFIG_ symbols, replacing the previous map. With a device's kernel
configuration imported too, a kernel CVE whose source files (the kernel
CNA's programFiles) are all not built is closed as not_affected
(vulnerable_code_not_present); anything the map cannot tell stays open.

vulndb status lists each feed imported (kind, file, records, import time,
data date, age) and flags those older than --max-age (default 7d; e.g. 36h,
14d); the exit status is 1 when one is stale or nothing was imported.",
    values: &["db", "max-age"],
    flags: &[],
    formats: &["text", "json"],
    run: vulndb,
};

fn vulndb(o: &Opts) -> Result<(), ExitCode> {
    let store = open(o)?;
    match o.pos.split_first() {
        Some((verb, files)) if verb == "import" && !files.is_empty() => {
            vulndb_import(&*store, files)
        }
        Some((verb, rest)) if verb == "status" && rest.is_empty() => vulndb_status(o, &*store),
        Some((verb, [dir])) if verb == "kbuild" => vulndb_kbuild(&*store, dir),
        _ => Err(misuse(
            "usage: vulndb import FILE... --db PATH | vulndb status [--max-age D] --db PATH | vulndb kbuild DIR --db PATH",
        )),
    }
}

fn vulndb_kbuild(store: &dyn Store, dir: &str) -> Result<(), ExitCode> {
    use vuln::kbuild;
    let tree = kbuild::read_tree(std::path::Path::new(dir)).map_err(fail)?;
    for (p, e) in &tree.skipped {
        warn(format!("vulndb kbuild: {dir}/{p}: {e} (skipped)"));
    }
    let map = kbuild::build(&tree.makefiles);
    let rows = kbuild::to_rows(&map);
    store.put_kbuild(&rows).map_err(fail)?;
    let origin = match &tree.version {
        Some(v) => format!("linux-{v}"),
        None => dir
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(dir)
            .to_string(),
    };
    store
        .put_feed(&fieldattest_collector::store::Feed {
            kind: "kbuild".into(),
            origin: origin.clone(),
            records: map.files.len() as u64,
            imported_at: now(),
            data_date: None,
        })
        .map_err(fail)?;
    // Every package set holding a kernel is decided again.
    let sets = vuln::refresh_keys(store, &[vuln::kernel_config::kernel_key()]).map_err(fail)?;
    emit(format!(
        "kbuild {origin}: {} makefiles, {} source files mapped, {} not understood (left open); {sets} package sets matched again\n",
        tree.makefiles.len(),
        map.files.len(),
        map.unknown.len()
    ))?;
    if tree.skipped.is_empty() {
        Ok(())
    } else {
        Err(ExitCode::from(1))
    }
}

fn vulndb_import(store: &dyn Store, files: &[String]) -> Result<(), ExitCode> {
    let mut rep = vuln::ImportReport::default();
    let t = now();
    for f in files {
        vuln::import_file(store, f, t, &mut rep);
    }
    for (f, e) in &rep.errors {
        warn(format!("vulndb: {f}: {e} (skipped)"));
    }
    // The package sets holding what the import touched are matched again
    // (and those that had no data for its ecosystems; every set when a
    // supplier's statements changed): the console reads the matches.
    if rep.statements_changed {
        vuln::refresh(store, true).map_err(fail)?;
    } else {
        let touched: Vec<(String, String)> = rep.touched.iter().cloned().collect();
        vuln::refresh_keys(store, &touched).map_err(fail)?;
    }
    let (total, _) = store.advisory_stats().map_err(fail)?;
    emit(format!(
        "records: {} new, {} updated, {} unchanged, {} skipped; {total} advisories in the database\n",
        rep.new,
        rep.updated,
        rep.unchanged,
        rep.errors.len()
    ))?;
    if rep.errors.is_empty() {
        Ok(())
    } else {
        Err(ExitCode::from(1))
    }
}

/// A feed age limit option (`7d`, `36h`, `100years`), else the default.
pub fn max_age_option(o: &Opts, name: &str) -> Result<i64, ExitCode> {
    match o.get(name) {
        None => Ok(vuln::feeds::DEFAULT_MAX_AGE),
        Some(d) => humantime::parse_duration(d)
            .map(|d| d.as_secs().min(i64::MAX as u64) as i64)
            .map_err(|e| misuse(format!("--{name} {d:?}: {e}"))),
    }
}

fn vulndb_status(o: &Opts, store: &dyn Store) -> Result<(), ExitCode> {
    let max_age = max_age_option(o, "max-age")?;
    let t = now();
    let feeds = vuln::feeds::feed_status(store, t, max_age).map_err(fail)?;
    let stamp = |s: i64| {
        humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(s.max(0) as u64),
        )
        .to_string()
    };
    let rows: Vec<Value> = feeds
        .iter()
        .map(|f| {
            json!({
                "kind": f.feed.kind, "origin": f.feed.origin, "records": f.feed.records,
                "imported": stamp(f.feed.imported_at), "data_date": f.feed.data_date,
                "age_days": f.age / 86400, "stale": f.stale,
            })
        })
        .collect();
    let stale = feeds.iter().filter(|f| f.stale).count();
    if o.format == "json" {
        print(
            &json!({"max_age_days": max_age as f64 / 86400.0, "feeds": rows, "stale": stale}),
            "json",
        )?;
    } else {
        print(&Value::Array(rows), "text")?;
        if feeds.is_empty() {
            emit("no vulnerability data imported: vulnerability counts mean nothing yet\n")?;
        } else if stale > 0 {
            emit(format!(
                "{stale} of {} feeds older than {}\n",
                feeds.len(),
                humantime::format_duration(std::time::Duration::from_secs(max_age as u64))
            ))?;
        }
    }
    if feeds.is_empty() || stale > 0 {
        Err(ExitCode::from(1))
    } else {
        Ok(())
    }
}

pub const VULNS: Command = Command {
    name: "vulns",
    synopsis: &["vulns --db PATH [--device DEVICE] [--site SITE] [--kev] [--reachable]\n                        [--fix-available] [--all] [--not-built] [--format text|json|csv]"],
    about: "lists the open vulnerabilities of each device's latest attested inventory, most urgent first

Each vulnerability is listed once per device and component, with the binary
packages of it that match. Order: known exploited (CISA KEV, ransomware use
first), then reachable from the network on the device (a package of the
component listening on a non-loopback address), then EPSS, then the CVSS
base score; each row says why (rank_reason). A statement closes a row: the
operator's VEX, else the supplier's, else the image's CVE_STATUS, else an
accepted finding (vex_source); --all lists closed rows too. --kev,
--reachable, --fix-available keep only rows that are known exploited,
network-reachable, or have a fixed version. --not-built lists only the
kernel CVEs closed because their code is not built with the device's kernel
configuration (vex_detail names the file and the symbols it needs; see
vulndb kbuild). Each device's coverage follows
(components without identity or advisory data: never a bare zero); with
--format json or csv it goes to stderr.",
    values: &["db", "device", "site"],
    flags: &["all", "kev", "reachable", "fix-available", "not-built"],
    formats: TEXT_JSON_CSV,
    run: vulns,
};

fn vulns(o: &Opts) -> Result<(), ExitCode> {
    use vuln::risk::{reach, Risk};
    let store = open(o)?;
    let dev = device_option(&*store, o)?;
    let site = o.get("site");
    let sites: std::collections::HashMap<i64, String> = store
        .devices()
        .map_err(fail)?
        .into_iter()
        .map(|d| (d.id, d.site))
        .collect();
    let wanted = |d: i64| {
        dev.is_none_or(|x| x == d) && site.is_none_or(|s| sites.get(&d).is_some_and(|x| x == s))
    };
    let ms = vuln::matches(&*store).map_err(fail)?;
    let shown: Vec<_> = ms
        .into_iter()
        .filter(|m| wanted(m.device_id))
        .filter(|m| {
            if o.flag("not-built") {
                m.vex_source.as_deref() == Some(vuln::kernel_config::SOURCE)
            } else {
                o.flag("all") || m.is_open()
            }
        })
        .collect();
    let (kev, epss) = (
        store.kev_all().map_err(fail)?,
        store.epss_all().map_err(fail)?,
    );
    let mut listeners = std::collections::HashMap::new();
    // One row per (device, advisory, component): the binary packages of a
    // component are listed together.
    let mut rows: Vec<(Risk, vuln::Listed)> = Vec::new();
    for l in vuln::listing(&shown) {
        let m = l.first;
        let ls = match listeners.get(&m.device_id) {
            Some(x) => x,
            None => {
                let x = store.device_listeners(m.device_id).map_err(fail)?;
                listeners.entry(m.device_id).or_insert(x)
            }
        };
        let risk = Risk::of(
            m.cves(),
            &kev,
            &epss,
            reach(ls, &m.package, &l.binaries),
            &m.cvss,
        );
        rows.push((risk, l));
    }
    rows.retain(|(r, l)| {
        (!o.flag("kev") || r.kev.is_some())
            && (!o.flag("reachable") || r.reach.is_network())
            && (!o.flag("fix-available") || l.first.fixed.is_some())
    });
    rows.sort_by(|(a, x), (b, y)| {
        a.urgency(b)
            .then(x.first.device_id.cmp(&y.first.device_id))
            .then(x.first.vuln.cmp(&y.first.vuln))
            .then(x.first.package.cmp(&y.first.package))
    });
    let json_rows: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, (r, l))| {
            let m = l.first;
            let base = r.base();
            json!({
                "rank": i + 1,
                "device": m.device_id, "vulnerability": m.vuln,
                "aliases": m.aliases.join(" "), "package": m.package,
                "ecosystem": m.ecosystem,
                "binaries": l.binaries.join(" "), "version": l.versions.join(" "),
                "fixed": m.fixed, "severity": m.severity.as_ref().map(|(_, s)| s.clone()),
                "cvss": base.map(|c| c.score), "cvss_version": base.map(|c| c.version.clone()),
                "cvss_vectors": r.cvss.iter().map(|c| format!("{} ({:.1})", c.vector, c.score)).collect::<Vec<_>>().join(" "),
                "epss": r.epss.as_ref().map(|e| e.score),
                "epss_percentile": r.epss.as_ref().map(|e| e.percentile),
                "kev": r.kev.is_some(),
                "kev_ransomware": r.kev.as_ref().is_some_and(|k| k.ransomware),
                "reachability": r.reach.label(),
                "reachability_evidence": r.reach.evidence().join(", "),
                "vex": m.vex.as_ref().map(|v| v.status.clone()),
                "vex_justification": m.vex.as_ref().and_then(|v| v.justification.clone()),
                "vex_detail": m.vex.as_ref().and_then(|v| v.detail.clone()),
                "vex_source": m.vex_source,
                "image_cve_status": m.image_status,
                "rank_reason": r.reason(),
            })
        })
        .collect();
    print(&Value::Array(json_rows), o.format)?;
    // Coverage of every device shown or selected, next to its count.
    let mut devices: Vec<i64> = store
        .latest_packages()
        .map_err(fail)?
        .into_iter()
        .map(|(d, _)| d)
        .filter(|d| wanted(*d))
        .collect();
    devices.sort_unstable();
    let mut lines = Vec::new();
    for d in devices {
        let open = rows.iter().filter(|(_, l)| l.first.device_id == d).count() as u64;
        let cov = store.coverage(Some(d)).map_err(fail)?;
        let mut line = format!("device {d}: {}", cov.count(open));
        if !cov.notes.is_empty() {
            line += &format!(" — {}", cov.notes.join("; "));
        }
        lines.push(line);
    }
    if o.format == "text" {
        let mut out = String::from("\ncoverage:\n");
        for l in &lines {
            out += &format!("  {}\n", fieldattest_collector::fleet::sanitize(l));
        }
        emit(out)
    } else {
        for l in lines {
            warn(format!("coverage: {l}"));
        }
        Ok(())
    }
}

pub const VEX: Command = Command {
    name: "vex",
    synopsis: &[
        "vex set VULN --status STATUS [--device DEVICE]\n                        [--justification J] [--detail TEXT] --db PATH",
        "vex export [--device DEVICE] --db PATH",
    ],
    about: "records VEX statements and exports them as CycloneDX 1.6 VEX

vex set records the status of a vulnerability on a device (without --device:
on every device of the fleet). STATUS: not_affected (needs --justification:
code_not_present, code_not_reachable, requires_configuration,
requires_dependency, requires_environment, protected_by_compiler,
protected_at_runtime, protected_at_perimeter, protected_by_mitigating_control),
affected, fixed, under_investigation. vex export writes CycloneDX 1.6 VEX for
a device or the fleet.",
    values: &["db", "device", "status", "justification", "detail"],
    flags: &[],
    formats: &[],
    run: vex,
};

fn vex(o: &Opts) -> Result<(), ExitCode> {
    let store = open(o)?;
    let dev = device_option(&*store, o)?;
    match o.pos.first().map(String::as_str) {
        Some("set") => vex_set(o, &*store, dev),
        Some("export") => {
            let ms: Vec<_> = vuln::matches(&*store)
                .map_err(fail)?
                .into_iter()
                .filter(|m| dev.is_none_or(|d| d == m.device_id))
                .collect();
            let doc = vuln::vex_document(
                &ms,
                &fieldattest_collector::urn_uuid(),
                &fieldattest_collector::timestamp(),
            );
            emit(format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ))
        }
        _ => Err(misuse("usage: vex set|export ...")),
    }
}

fn vex_set(o: &Opts, store: &dyn Store, dev: Option<i64>) -> Result<(), ExitCode> {
    let (Some(vuln), Some(status)) = (o.pos.get(1), o.get("status")) else {
        return Err(misuse(
            "usage: vex set VULN --status STATUS [--device D] [--justification J] [--detail T]",
        ));
    };
    let justification = o.get("justification");
    server::actions::check_vex(status, justification).map_err(misuse)?;
    let e = VexEntry {
        vuln: vuln.clone(),
        device_id: dev,
        status: status.into(),
        justification: justification.map(str::to_string),
        detail: o.get("detail").map(str::to_string),
        at: now(),
    };
    server::actions::set_vex(store, &e, &super::cli_actor()).map_err(fail)?;
    emit(format!(
        "{vuln}: {status} for {}\n",
        dev.map(|d| format!("device {d}"))
            .unwrap_or_else(|| "the fleet".into())
    ))
}
