//! devices, fleet, device, findings, import.

use super::{fail, find_device, misuse, open, print, refused, Command, Opts, TEXT_JSON_CSV};
use crate::emit;
use fieldattest_collector::{fleet, now};
use fieldattest_protocol::rejection::Rejection;
use serde_json::{json, Value};
use std::path::Path;
use std::process::ExitCode;

pub const DEVICES: Command = Command {
    name: "devices",
    synopsis: &["devices --db PATH [--format text|json|csv]"],
    about: "lists the enrolled devices

One row per device: id, site, status, key id, UEID, last sequence number and
the age of its last attestation.",
    values: &["db"],
    flags: &[],
    formats: TEXT_JSON_CSV,
    run: devices,
};

fn devices(o: &Opts) -> Result<(), ExitCode> {
    let store = open(o)?;
    print(&fleet::devices(&*store, now()).map_err(fail)?, o.format)
}

pub const FLEET: Command = Command {
    name: "fleet",
    synopsis: &["fleet --db PATH [--silent-after SECS] [--format text|json]"],
    about: "summarises the fleet

Devices per status, failing rules, the SL ceiling of each foundational
requirement across the fleet, key fingerprints shared by several devices,
drifting devices and devices silent longer than --silent-after seconds
(default 86400).",
    values: &["db", "silent-after"],
    flags: &[],
    // The summary is nested: CSV would lose it; JSON stands in.
    formats: &["text", "json", "csv"],
    run: fleet_summary,
};

fn fleet_summary(o: &Opts) -> Result<(), ExitCode> {
    let store = open(o)?;
    let silent = o.number("silent-after", super::admin::SILENT_AFTER, "seconds")?;
    let v = fleet::fleet(&*store, now(), silent).map_err(fail)?;
    match o.format {
        "text" => emit(fleet::to_text(&v)),
        _ => print(&v, "json"),
    }
}

pub const DEVICE: Command = Command {
    name: "device",
    synopsis: &["device DEVICE --db PATH [--format text|json]"],
    about: "shows one device

Its record, the failing rules of its latest attestation and the drift between
its last two attestations (packages and rule results).",
    values: &["db"],
    flags: &[],
    formats: &["text", "json", "csv"],
    run: device,
};

fn device(o: &Opts) -> Result<(), ExitCode> {
    let store = open(o)?;
    let Some(id) = o
        .pos
        .first()
        .map(|s| find_device(&*store, s))
        .transpose()
        .map_err(fail)?
        .flatten()
    else {
        return Err(refused("device not found"));
    };
    let all = fleet::devices(&*store, now()).map_err(fail)?;
    let d = all
        .as_array()
        .and_then(|v| v.iter().find(|d| d["id"] == id))
        .cloned()
        .unwrap_or(Value::Null);
    let f = fleet::findings(&*store, None).map_err(fail)?;
    let mine: Vec<Value> = f
        .as_array()
        .into_iter()
        .flatten()
        .filter(|x| x["device"] == id)
        .cloned()
        .collect();
    let drift = fleet::drift(&*store, id).map_err(fail)?;
    print(
        &json!({"device": d, "failing_rules": mine, "drift": drift}),
        if o.format == "csv" { "json" } else { o.format },
    )
}

pub const FINDINGS: Command = Command {
    name: "findings",
    synopsis: &["findings --db PATH [--rule ID] [--format text|json|csv]"],
    about: "lists the failing rules of each device's latest attestation

--rule ID: only that rule.",
    values: &["db", "rule"],
    flags: &[],
    formats: TEXT_JSON_CSV,
    run: findings,
};

fn findings(o: &Opts) -> Result<(), ExitCode> {
    let store = open(o)?;
    print(
        &fleet::findings(&*store, o.get("rule")).map_err(fail)?,
        o.format,
    )
}

pub const IMPORT: Command = Command {
    name: "import",
    synopsis: &["import BUNDLE-DIR --db PATH [--format text|json]"],
    about: "imports the export bundle of an air-gapped device

The bundle is what 'fieldattest export' writes: tokens.cborseq, manifest.cbor,
manifest.cose. The manifest's signature and completeness are verified, then
its new tokens are stored; importing the same bundle again changes nothing.
Exit 1 when the bundle or one of its tokens is refused (the reasons are in the
audit trail).",
    values: &["db"],
    flags: &[],
    formats: &["text", "json"],
    run: import,
};

/// Largest bundle file read.
const MAX_BUNDLE: u64 = 1 << 30;

fn read_bundle_file(dir: &Path, name: &str) -> Result<Vec<u8>, String> {
    let p = dir.join(name);
    let f = std::fs::File::open(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if len > MAX_BUNDLE {
        return Err(format!("{}: {len} bytes exceeds {MAX_BUNDLE}", p.display()));
    }
    let mut b = Vec::with_capacity(len as usize);
    std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_BUNDLE + 1), &mut b)
        .map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(b)
}

fn import(o: &Opts) -> Result<(), ExitCode> {
    use fieldattest_protocol::bundle::{MANIFEST_FILE, MANIFEST_SIG_FILE, TOKENS_FILE};
    let store = open(o)?;
    let Some(dir) = o.pos.first().map(Path::new) else {
        return Err(misuse("import needs the BUNDLE directory"));
    };
    let read = |name| read_bundle_file(dir, name);
    let (t, m, c) = read(TOKENS_FILE)
        .and_then(|t| Ok((t, read(MANIFEST_FILE)?, read(MANIFEST_SIG_FILE)?)))
        .map_err(|e| refused(format!("import: {e}")))?;
    let out = match fieldattest_collector::import::import(&*store, &t, &m, &c, now()) {
        Ok(out) => out,
        Err(rj) if rj.code == Rejection::Internal => return Err(fail(rj.reason)),
        Err(rj) => return Err(refused(format!("import refused: {}", rj.reason))),
    };
    if o.format == "json" {
        let v = json!({
            "device": out.device_id, "listed": out.listed, "new": out.new,
            "already_stored": out.already,
            "rejected": out.rejected.iter().map(|(s, r)| json!({"seq": s, "reason": r})).collect::<Vec<_>>(),
            "missing_seq": out.gaps.iter().map(|(f, l)| format!("{f}..{l}")).collect::<Vec<_>>(),
        });
        print(&v, "json")?;
    } else {
        let mut t = format!(
            "device {}: {} token(s) listed, {} new, {} already stored, {} rejected\n",
            out.device_id,
            out.listed,
            out.new,
            out.already,
            out.rejected.len()
        );
        for (s, r) in &out.rejected {
            t.push_str(&format!("  seq {s}: rejected: {}\n", fleet::sanitize(r)));
        }
        for (f, l) in &out.gaps {
            t.push_str(&format!("  missing evidence: seq {f}..{l}\n"));
        }
        emit(t)?;
    }
    if out.rejected.is_empty() {
        Ok(())
    } else {
        Err(ExitCode::from(1))
    }
}
