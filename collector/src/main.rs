//! `fieldattest-collector` command line. Exit codes: 0 ok, 1 not found /
//! refused, 2 usage error, 3 runtime error (database, TLS, network).
#![forbid(unsafe_code)]

use fieldattest_collector::store::{SqliteStore, Store};
use fieldattest_collector::{fleet, hex, now, random, server};
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "\
fieldattest-collector — receives, verifies and stores fieldattest attestations

Usage:
  fieldattest-collector serve --db PATH --listen ADDR:PORT --cert PEM --key PEM
                              [--client-ca PEM] [--silent-after SECS]
  fieldattest-collector enroll-token --db PATH --site NAME [--ttl 1h]
  fieldattest-collector approve DEVICE --db PATH
  fieldattest-collector revoke DEVICE --db PATH
  fieldattest-collector devices|fleet|audit --db PATH [--format text|json|csv]
  fieldattest-collector device DEVICE --db PATH [--format text|json]
  fieldattest-collector findings --db PATH [--rule ID] [--format text|json|csv]
  fieldattest-collector import BUNDLE-DIR --db PATH [--format text|json]
  fieldattest-collector vulndb import FILE... --db PATH
  fieldattest-collector vulns --db PATH [--device DEVICE] [--all] [--format text|json|csv]
  fieldattest-collector vex set VULN --status STATUS [--device DEVICE]
                        [--justification J] [--detail TEXT] --db PATH
  fieldattest-collector vex export [--device DEVICE] --db PATH
  fieldattest-collector report DEVICE|--fleet --db PATH [--format json|html|pdf]
                        [--sl N] [--output FILE]

vulndb import loads OSV advisories (JSON files, JSON arrays, or the zip files
osv.dev publishes per ecosystem) idempotently; malformed ones are reported and
skipped. vulns lists the open vulnerabilities of each device's latest attested
inventory (--all: also those with a not_affected/fixed VEX statement). STATUS:
not_affected (needs --justification: code_not_present, code_not_reachable,
requires_configuration, requires_dependency, requires_environment,
protected_by_compiler, protected_at_runtime, protected_at_perimeter,
protected_by_mitigating_control), affected, fixed, under_investigation.
vex export writes CycloneDX 1.6 VEX for a device or the fleet.

import verifies an export bundle of an air-gapped device ('fieldattest export':
tokens.cborseq, manifest.cbor, manifest.cose) and stores its new tokens;
importing the same bundle again changes nothing. Exit 1 when the bundle or
one of its tokens is refused (the reasons are in the audit trail).

DEVICE is the numeric id or a prefix of the key id (kid, hex).
The enrollment secret is printed once; only its SHA-256 is stored.
";

#[derive(Default)]
struct Args {
    cmd: String,
    pos: Option<String>,
    db: Option<PathBuf>,
    listen: Option<String>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    client_ca: Option<PathBuf>,
    site: Option<String>,
    ttl: Option<String>,
    format: String,
    rule: Option<String>,
    silent_after: i64,
    limit: i64,
    rest: Vec<String>,
    status: Option<String>,
    justification: Option<String>,
    detail: Option<String>,
    device: Option<String>,
    all: bool,
    fleet: bool,
    output: Option<PathBuf>,
    sl: u8,
}

fn parse() -> Result<Args, String> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_env();
    let mut a = Args {
        format: "text".into(),
        silent_after: 24 * 3600,
        limit: 100,
        sl: 2,
        ..Default::default()
    };
    let s = |v: Result<std::ffi::OsString, lexopt::Error>| -> Result<String, String> {
        v.map_err(|e| e.to_string())?
            .into_string()
            .map_err(|_| "value is not UTF-8".to_string())
    };
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        match arg {
            Value(v) if a.cmd.is_empty() => a.cmd = v.into_string().map_err(|_| "bad command")?,
            Value(v) if a.pos.is_none() => {
                a.pos = Some(v.into_string().map_err(|_| "bad argument")?)
            }
            Value(v) => a.rest.push(v.into_string().map_err(|_| "bad argument")?),
            Long("status") => a.status = Some(s(p.value())?),
            Long("justification") => a.justification = Some(s(p.value())?),
            Long("detail") => a.detail = Some(s(p.value())?),
            Long("device") => a.device = Some(s(p.value())?),
            Long("all") => a.all = true,
            Long("fleet") => a.fleet = true,
            Long("output") => a.output = Some(PathBuf::from(s(p.value())?)),
            Long("sl") => {
                a.sl = s(p.value())?
                    .parse()
                    .ok()
                    .filter(|n| (1..=4).contains(n))
                    .ok_or("--sl: 1..4")?
            }
            Long("db") => a.db = Some(PathBuf::from(s(p.value())?)),
            Long("listen") => a.listen = Some(s(p.value())?),
            Long("cert") => a.cert = Some(PathBuf::from(s(p.value())?)),
            Long("key") => a.key = Some(PathBuf::from(s(p.value())?)),
            Long("client-ca") => a.client_ca = Some(PathBuf::from(s(p.value())?)),
            Long("site") => a.site = Some(s(p.value())?),
            Long("ttl") => a.ttl = Some(s(p.value())?),
            Long("format") => a.format = s(p.value())?,
            Long("rule") => a.rule = Some(s(p.value())?),
            Long("silent-after") => {
                a.silent_after = s(p.value())?
                    .parse()
                    .map_err(|_| "--silent-after: seconds")?
            }
            Long("limit") => a.limit = s(p.value())?.parse().map_err(|_| "--limit: number")?,
            Long("help") | Short('h') => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            Long("version") | Short('V') => {
                println!("fieldattest-collector {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            other => return Err(other.unexpected().to_string()),
        }
    }
    if !matches!(a.format.as_str(), "text" | "json" | "csv" | "html" | "pdf") {
        return Err(format!(
            "--format: {:?} (text, json, csv; report: html, pdf)",
            a.format
        ));
    }
    Ok(a)
}

fn open(a: &Args) -> Result<SqliteStore, ExitCode> {
    let Some(db) = &a.db else {
        eprintln!("fieldattest-collector: --db PATH is required");
        return Err(ExitCode::from(2));
    };
    SqliteStore::open(db).map_err(|e| {
        eprintln!("fieldattest-collector: database: {e}");
        ExitCode::from(3)
    })
}

fn find_device(store: &dyn Store, sel: &str) -> Result<Option<i64>, String> {
    if let Ok(id) = sel.parse::<i64>() {
        return Ok(store.device(id)?.map(|d| d.id));
    }
    let sel = sel.to_ascii_lowercase();
    let m: Vec<i64> = store
        .devices()?
        .into_iter()
        .filter(|d| hex(&d.kid).starts_with(&sel))
        .map(|d| d.id)
        .collect();
    Ok(if m.len() == 1 { Some(m[0]) } else { None })
}

/// `--device DEVICE` resolved to an id (exit 1 when nothing or several match).
fn device_option(store: &dyn Store, sel: Option<&str>) -> Result<Option<i64>, ExitCode> {
    let Some(sel) = sel else {
        return Ok(None);
    };
    match find_device(store, sel) {
        Ok(Some(id)) => Ok(Some(id)),
        Ok(None) => {
            eprintln!("fieldattest-collector: no single device matches {sel:?}");
            Err(ExitCode::from(1))
        }
        Err(e) => {
            eprintln!("fieldattest-collector: {e}");
            Err(ExitCode::from(3))
        }
    }
}

fn print(v: &Value, format: &str) {
    match format {
        "json" => println!("{}", serde_json::to_string_pretty(v).unwrap_or_default()),
        "csv" => print!("{}", fleet::to_csv(v)),
        _ => match v {
            Value::Array(rows) => {
                for r in rows {
                    let line: Vec<String> = r
                        .as_object()
                        .map(|o| {
                            o.iter()
                                .map(|(k, x)| {
                                    format!(
                                        "{k}={}",
                                        x.as_str()
                                            .map(str::to_string)
                                            .unwrap_or_else(|| x.to_string())
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    println!("{}", line.join("  "));
                }
            }
            other => println!(
                "{}",
                serde_json::to_string_pretty(other).unwrap_or_default()
            ),
        },
    }
}

fn run(a: Args) -> Result<(), ExitCode> {
    let fail = |e: String| {
        eprintln!("fieldattest-collector: {e}");
        ExitCode::from(3)
    };
    match a.cmd.as_str() {
        "serve" => {
            let store = open(&a)?;
            let (Some(listen), Some(cert), Some(key)) = (&a.listen, &a.cert, &a.key) else {
                eprintln!("fieldattest-collector: serve needs --listen, --cert and --key");
                return Err(ExitCode::from(2));
            };
            let read = |p: &PathBuf| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
            let ca = a.client_ca.as_ref().map(read).transpose().map_err(fail)?;
            let tls = server::tls_config(
                &read(cert).map_err(fail)?,
                &read(key).map_err(fail)?,
                ca.as_deref(),
            )
            .map_err(fail)?;
            let app = Arc::new(server::App {
                store: Box::new(store),
                silent_after: a.silent_after,
            });
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| fail(e.to_string()))?;
            rt.block_on(async {
                let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| fail(format!("{listen}: {e}")))?;
                eprintln!("fieldattest-collector: listening on https://{}", listener.local_addr().map(|a| a.to_string()).unwrap_or_default());
                let shutdown = async {
                    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {},
                        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {},
                    }
                };
                server::serve(listener, tls, app, shutdown).await;
                Ok::<(), ExitCode>(())
            })
        }
        "enroll-token" => {
            let store = open(&a)?;
            let Some(site) = &a.site else {
                eprintln!("fieldattest-collector: enroll-token needs --site NAME");
                return Err(ExitCode::from(2));
            };
            let ttl = humantime::parse_duration(a.ttl.as_deref().unwrap_or("1h")).map_err(|e| {
                eprintln!("fieldattest-collector: --ttl: {e}");
                ExitCode::from(2)
            })?;
            let secret = hex(&random(32));
            let hash = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
            store
                .create_enroll_token(hash.as_ref(), site, now() + ttl.as_secs() as i64)
                .map_err(fail)?;
            println!("{secret}");
            eprintln!(
                "fieldattest-collector: single-use enrollment secret for site {site}, valid {}",
                humantime::format_duration(ttl)
            );
            Ok(())
        }
        "approve" | "revoke" => {
            let store = open(&a)?;
            let Some(sel) = &a.pos else {
                eprintln!("fieldattest-collector: {} needs DEVICE", a.cmd);
                return Err(ExitCode::from(2));
            };
            let Some(id) = find_device(&store, sel).map_err(fail)? else {
                eprintln!("fieldattest-collector: no single device matches {sel:?}");
                return Err(ExitCode::from(1));
            };
            let status = if a.cmd == "approve" {
                "active"
            } else {
                "revoked"
            };
            if a.cmd == "approve"
                && store
                    .device(id)
                    .map_err(fail)?
                    .map(|d| d.status == "revoked")
                    .unwrap_or(false)
            {
                eprintln!("fieldattest-collector: device {id} is revoked; enroll it again");
                return Err(ExitCode::from(1));
            }
            store.set_status(id, status).map_err(fail)?;
            store
                .audit(
                    now(),
                    None,
                    Some(id),
                    status,
                    &format!("operator {}", a.cmd),
                )
                .map_err(fail)?;
            let d = store
                .device(id)
                .map_err(fail)?
                .ok_or_else(|| fail("device vanished".into()))?;
            println!(
                "device {id} {status}; key fingerprint (kid) {}",
                hex(&d.kid)
            );
            Ok(())
        }
        "devices" => {
            let store = open(&a)?;
            print(&fleet::devices(&store, now()).map_err(fail)?, &a.format);
            Ok(())
        }
        "device" => {
            let store = open(&a)?;
            let Some(id) = a
                .pos
                .as_deref()
                .map(|s| find_device(&store, s))
                .transpose()
                .map_err(fail)?
                .flatten()
            else {
                eprintln!("fieldattest-collector: device not found");
                return Err(ExitCode::from(1));
            };
            let all = fleet::devices(&store, now()).map_err(fail)?;
            let d = all
                .as_array()
                .and_then(|v| v.iter().find(|d| d["id"] == id))
                .cloned()
                .unwrap_or(Value::Null);
            let f = fleet::findings(&store, None).map_err(fail)?;
            let mine: Vec<Value> = f
                .as_array()
                .into_iter()
                .flatten()
                .filter(|x| x["device"] == id)
                .cloned()
                .collect();
            let drift = fleet::drift(&store, id).map_err(fail)?;
            print(
                &serde_json::json!({"device": d, "failing_rules": mine, "drift": drift}),
                if a.format == "csv" { "json" } else { &a.format },
            );
            Ok(())
        }
        "findings" => {
            let store = open(&a)?;
            print(
                &fleet::findings(&store, a.rule.as_deref()).map_err(fail)?,
                &a.format,
            );
            Ok(())
        }
        "fleet" => {
            let store = open(&a)?;
            print(
                &fleet::fleet(&store, now(), a.silent_after).map_err(fail)?,
                if a.format == "csv" { "json" } else { &a.format },
            );
            Ok(())
        }
        "import" => {
            let store = open(&a)?;
            let Some(dir) = a.pos.as_deref().map(PathBuf::from) else {
                eprintln!("fieldattest-collector: import needs the BUNDLE directory");
                return Err(ExitCode::from(2));
            };
            const MAX_BUNDLE: u64 = 1 << 30;
            let read = |name: &str| {
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
            };
            use fieldattest_protocol::bundle::{MANIFEST_FILE, MANIFEST_SIG_FILE, TOKENS_FILE};
            let files = read(TOKENS_FILE)
                .and_then(|t| Ok((t, read(MANIFEST_FILE)?, read(MANIFEST_SIG_FILE)?)));
            let (t, m, c) = files.map_err(|e| {
                eprintln!("fieldattest-collector: import: {e}");
                ExitCode::from(1)
            })?;
            match fieldattest_collector::import::import(&store, &t, &m, &c, now()) {
                Ok(o) => {
                    let v = serde_json::json!({
                        "device": o.device_id, "listed": o.listed, "new": o.new,
                        "already_stored": o.already,
                        "rejected": o.rejected.iter().map(|(s, r)| serde_json::json!({"seq": s, "reason": r})).collect::<Vec<_>>(),
                        "missing_seq": o.gaps.iter().map(|(f, l)| format!("{f}..{l}")).collect::<Vec<_>>(),
                    });
                    if a.format == "json" {
                        print(&v, "json");
                    } else {
                        println!(
                            "device {}: {} token(s) listed, {} new, {} already stored, {} rejected",
                            o.device_id,
                            o.listed,
                            o.new,
                            o.already,
                            o.rejected.len()
                        );
                        for (s, r) in &o.rejected {
                            println!("  seq {s}: rejected: {r}");
                        }
                        for (f, l) in &o.gaps {
                            println!("  missing evidence: seq {f}..{l}");
                        }
                    }
                    if o.rejected.is_empty() {
                        Ok(())
                    } else {
                        Err(ExitCode::from(1))
                    }
                }
                Err(rj) if rj.status >= 500 => Err(fail(rj.reason)),
                Err(rj) => {
                    eprintln!("fieldattest-collector: import refused: {}", rj.reason);
                    Err(ExitCode::from(1))
                }
            }
        }
        "vulndb" => {
            let store = open(&a)?;
            if a.pos.as_deref() != Some("import") || a.rest.is_empty() {
                eprintln!("fieldattest-collector: usage: vulndb import FILE... --db PATH");
                return Err(ExitCode::from(2));
            }
            let mut rep = fieldattest_collector::vuln::ImportReport::default();
            let t = now();
            for f in &a.rest {
                match std::fs::read(f) {
                    Ok(b) => fieldattest_collector::vuln::import_bytes(&store, f, &b, t, &mut rep),
                    Err(e) => rep.errors.push((f.clone(), e.to_string())),
                }
            }
            for (f, e) in &rep.errors {
                eprintln!("fieldattest-collector: vulndb: {f}: {e} (skipped)");
            }
            let (total, _) = store.advisory_stats().map_err(fail)?;
            println!(
                "advisories: {} new, {} updated, {} unchanged, {} skipped; {total} in the database",
                rep.new,
                rep.updated,
                rep.unchanged,
                rep.errors.len()
            );
            if rep.errors.is_empty() {
                Ok(())
            } else {
                Err(ExitCode::from(1))
            }
        }
        "vulns" => {
            let store = open(&a)?;
            let dev = device_option(&store, a.device.as_deref())?;
            let ms = fieldattest_collector::vuln::matches(&store).map_err(fail)?;
            let rows: Vec<Value> = ms
                .iter()
                .filter(|m| dev.is_none_or(|d| d == m.device_id))
                .filter(|m| a.all || m.is_open())
                .map(|m| {
                    serde_json::json!({
                        "device": m.device_id, "vulnerability": m.vuln,
                        "aliases": m.aliases.join(" "), "package": m.package, "version": m.version,
                        "fixed": m.fixed, "severity": m.severity.as_ref().map(|(_, s)| s.clone()),
                        "vex": m.vex.as_ref().map(|v| v.status.clone()),
                    })
                })
                .collect();
            print(&Value::Array(rows), &a.format);
            Ok(())
        }
        "vex" => {
            let store = open(&a)?;
            let dev = device_option(&store, a.device.as_deref())?;
            match a.pos.as_deref() {
                Some("set") => {
                    let (Some(vuln), Some(status)) = (a.rest.first(), a.status.as_deref()) else {
                        eprintln!("fieldattest-collector: usage: vex set VULN --status STATUS [--device D] [--justification J] [--detail T]");
                        return Err(ExitCode::from(2));
                    };
                    if fieldattest_collector::vuln::cdx_state(status).is_none() {
                        eprintln!("fieldattest-collector: --status: {status:?} (not_affected, affected, fixed, under_investigation)");
                        return Err(ExitCode::from(2));
                    }
                    if let Some(j) = &a.justification {
                        if !fieldattest_collector::vuln::JUSTIFICATIONS.contains(&j.as_str()) {
                            eprintln!("fieldattest-collector: --justification: {j:?} is not a CycloneDX justification");
                            return Err(ExitCode::from(2));
                        }
                    } else if status == "not_affected" {
                        eprintln!("fieldattest-collector: not_affected needs --justification");
                        return Err(ExitCode::from(2));
                    }
                    let e = fieldattest_collector::store::VexEntry {
                        vuln: vuln.clone(),
                        device_id: dev,
                        status: status.into(),
                        justification: a.justification.clone(),
                        detail: a.detail.clone(),
                        at: now(),
                    };
                    store.set_vex(&e).map_err(fail)?;
                    store
                        .audit(
                            now(),
                            None,
                            dev,
                            "vex",
                            &format!(
                                "{vuln}: {status}{}",
                                a.justification
                                    .as_deref()
                                    .map(|j| format!(" ({j})"))
                                    .unwrap_or_default()
                            ),
                        )
                        .map_err(fail)?;
                    println!(
                        "{vuln}: {status} for {}",
                        dev.map(|d| format!("device {d}"))
                            .unwrap_or_else(|| "the fleet".into())
                    );
                    Ok(())
                }
                Some("export") => {
                    let ms: Vec<_> = fieldattest_collector::vuln::matches(&store)
                        .map_err(fail)?
                        .into_iter()
                        .filter(|m| dev.is_none_or(|d| d == m.device_id))
                        .collect();
                    let r = random(16);
                    let uuid = format!(
                        "urn:uuid:{}-{}-4{}-{}-{}",
                        hex(&r[0..4]),
                        hex(&r[4..6]),
                        &hex(&r[6..8])[1..],
                        hex(&[(r[8] & 0x3f) | 0x80, r[9]]),
                        hex(&r[10..16])
                    );
                    let ts =
                        humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
                    let doc = fieldattest_collector::vuln::vex_document(&ms, &uuid, &ts);
                    println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
                    Ok(())
                }
                _ => {
                    eprintln!("fieldattest-collector: usage: vex set|export ...");
                    Err(ExitCode::from(2))
                }
            }
        }
        "report" => {
            let store = open(&a)?;
            let ids: Vec<i64> = if a.fleet {
                store
                    .devices()
                    .map_err(fail)?
                    .into_iter()
                    .filter(|d| d.status == "active")
                    .map(|d| d.id)
                    .collect()
            } else {
                match a
                    .pos
                    .as_deref()
                    .map(|s| find_device(&store, s))
                    .transpose()
                    .map_err(fail)?
                    .flatten()
                {
                    Some(id) => vec![id],
                    None => {
                        eprintln!("fieldattest-collector: report needs DEVICE or --fleet");
                        return Err(ExitCode::from(2));
                    }
                }
            };
            let ms = fieldattest_collector::vuln::matches(&store).map_err(fail)?;
            let reports = ids
                .iter()
                .map(|id| fieldattest_collector::evidence::device(&store, *id, a.sl, &ms))
                .collect::<Result<Vec<_>, _>>()
                .map_err(fail)?;
            let ts = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
            let body = match a.format.as_str() {
                "html" | "pdf" => fieldattest_collector::evidence::html(&reports, &ts).into_bytes(),
                _ => serde_json::to_vec_pretty(
                    &serde_json::json!({"generated": ts, "devices": reports}),
                )
                .unwrap_or_default(),
            };
            if a.format == "pdf" {
                let Some(out) = &a.output else {
                    eprintln!("fieldattest-collector: --format pdf needs --output FILE");
                    return Err(ExitCode::from(2));
                };
                let dir =
                    std::env::temp_dir().join(format!("fieldattest-report-{}", std::process::id()));
                std::fs::create_dir_all(&dir).map_err(|e| fail(e.to_string()))?;
                let html = dir.join("report.html");
                std::fs::write(&html, &body).map_err(|e| fail(e.to_string()))?;
                let out_abs = std::path::absolute(out).map_err(|e| fail(e.to_string()))?;
                let st = ["chromium", "chromium-browser", "google-chrome"]
                    .iter()
                    .find_map(|b| {
                        std::process::Command::new(b)
                            .args([
                                "--headless",
                                "--no-sandbox",
                                "--disable-gpu",
                                "--no-pdf-header-footer",
                            ])
                            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
                            .arg(format!("--print-to-pdf={}", out_abs.display()))
                            .arg(format!("file://{}", html.display()))
                            .output()
                            .ok()
                    });
                let _ = std::fs::remove_dir_all(&dir);
                match st {
                    Some(o) if o.status.success() && out_abs.exists() => {
                        eprintln!("fieldattest-collector: wrote {}", out.display());
                        Ok(())
                    }
                    Some(o) => Err(fail(format!(
                        "chromium --print-to-pdf failed: {}",
                        String::from_utf8_lossy(&o.stderr)
                            .lines()
                            .last()
                            .unwrap_or("")
                    ))),
                    None => Err(fail(
                        "PDF needs headless Chromium (chromium); use --format html and print it"
                            .into(),
                    )),
                }
            } else {
                match &a.output {
                    Some(p) => {
                        std::fs::write(p, &body).map_err(|e| fail(format!("{}: {e}", p.display())))
                    }
                    None => {
                        use std::io::Write;
                        std::io::stdout()
                            .write_all(&body)
                            .map_err(|e| fail(e.to_string()))
                    }
                }
            }
        }
        "audit" => {
            let store = open(&a)?;
            let v: Vec<Value> = store
                .audit_log(a.limit)
                .map_err(fail)?
                .into_iter()
                .map(|e| serde_json::json!({"at": e.at, "kid": e.kid, "device": e.device_id, "outcome": e.outcome, "reason": e.reason}))
                .collect();
            print(&Value::Array(v), &a.format);
            Ok(())
        }
        "" => {
            eprint!("{USAGE}");
            Err(ExitCode::from(2))
        }
        other => {
            eprintln!("fieldattest-collector: unknown command {other:?}\nTry 'fieldattest-collector --help'.");
            Err(ExitCode::from(2))
        }
    }
}

fn main() -> ExitCode {
    match parse() {
        Ok(a) => match run(a) {
            Ok(()) => ExitCode::SUCCESS,
            Err(c) => c,
        },
        Err(e) => {
            eprintln!("fieldattest-collector: {e}\nTry 'fieldattest-collector --help'.");
            ExitCode::from(2)
        }
    }
}
