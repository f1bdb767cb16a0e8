//! vulndb import, vulns, vex set|export.

use super::{device_option, fail, misuse, open, print, warn, Command, Opts, TEXT_JSON_CSV};
use crate::emit;
use fieldattest_collector::store::{Store, VexEntry};
use fieldattest_collector::{now, server, vuln};
use serde_json::{json, Value};
use std::process::ExitCode;

pub const VULNDB: Command = Command {
    name: "vulndb",
    synopsis: &["vulndb import FILE... --db PATH"],
    about: "imports OSV advisories

FILEs are OSV JSON documents, JSON arrays of them, or the zip files osv.dev
publishes per ecosystem. Importing is idempotent (an advisory with the same
'modified' is left as is); malformed advisories are reported and skipped, and
then the exit status is 1.",
    values: &["db"],
    flags: &[],
    formats: &[],
    run: vulndb,
};

fn vulndb(o: &Opts) -> Result<(), ExitCode> {
    let store = open(o)?;
    let files = match o.pos.split_first() {
        Some((verb, files)) if verb == "import" && !files.is_empty() => files,
        _ => return Err(misuse("usage: vulndb import FILE... --db PATH")),
    };
    let mut rep = vuln::ImportReport::default();
    let t = now();
    for f in files {
        match std::fs::read(f) {
            Ok(b) => vuln::import_bytes(&store, f, &b, t, &mut rep),
            Err(e) => rep.errors.push((f.clone(), e.to_string())),
        }
    }
    for (f, e) in &rep.errors {
        warn(format!("vulndb: {f}: {e} (skipped)"));
    }
    let (total, _) = store.advisory_stats().map_err(fail)?;
    emit(format!(
        "advisories: {} new, {} updated, {} unchanged, {} skipped; {total} in the database\n",
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

pub const VULNS: Command = Command {
    name: "vulns",
    synopsis: &["vulns --db PATH [--device DEVICE] [--all] [--format text|json|csv]"],
    about: "lists the open vulnerabilities of each device's latest attested inventory

Each vulnerability is listed once per device and source package, with the
binary packages of that source it affects. --all: also those closed by a
not_affected or fixed VEX statement.",
    values: &["db", "device"],
    flags: &["all"],
    formats: TEXT_JSON_CSV,
    run: vulns,
};

fn vulns(o: &Opts) -> Result<(), ExitCode> {
    let store = open(o)?;
    let dev = device_option(&store, o)?;
    let ms = vuln::matches(&store).map_err(fail)?;
    let shown: Vec<_> = ms
        .into_iter()
        .filter(|m| dev.is_none_or(|d| d == m.device_id))
        .filter(|m| o.flag("all") || m.is_open())
        .collect();
    // One row per (device, advisory, source package): the binary
    // packages of a source are listed together.
    let rows: Vec<Value> = vuln::listing(&shown)
        .iter()
        .map(|l| {
            let m = l.first;
            json!({
                "device": m.device_id, "vulnerability": m.vuln,
                "aliases": m.aliases.join(" "), "package": m.package,
                "binaries": l.binaries.join(" "), "version": l.versions.join(" "),
                "fixed": m.fixed, "severity": m.severity.as_ref().map(|(_, s)| s.clone()),
                "vex": m.vex.as_ref().map(|v| v.status.clone()),
            })
        })
        .collect();
    print(&Value::Array(rows), o.format)
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
    let dev = device_option(&store, o)?;
    match o.pos.first().map(String::as_str) {
        Some("set") => vex_set(o, &store, dev),
        Some("export") => {
            let ms: Vec<_> = vuln::matches(&store)
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
