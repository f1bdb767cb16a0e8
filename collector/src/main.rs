//! `fieldattest-collector` command line. Exit codes: 0 ok, 1 not found /
//! refused, 2 usage error, 3 runtime error (database, TLS, network, stdout or
//! an output file that cannot be written), 141 stdout is a closed pipe
//! (quietly). Nothing here prints with `println!`/`eprintln!`, which panic on
//! a closed or full stream: stdout through `emit`, stderr through `say!`.
#![forbid(unsafe_code)]

use fieldattest_collector::store::{SqliteStore, Store};
use fieldattest_collector::{fleet, hex, now, random, server};
use fieldattest_protocol::fsio;
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// `eprintln!` that never panics (a closed or full stderr is ignored).
macro_rules! say {
    ($($t:tt)*) => {
        fsio::stderr(&format!("{}\n", format_args!($($t)*)))
    };
}

/// Writes `data` to stdout and flushes it. Err: the exit status — 141
/// quietly for a closed pipe, 3 with "cannot write to stdout: REASON" for
/// anything else (`/dev/full`).
fn emit(data: impl AsRef<[u8]>) -> Result<(), ExitCode> {
    fsio::stdout(data.as_ref())
        .map_err(|e| ExitCode::from(fsio::stdout_failed("fieldattest-collector", &e)))
}

/// `emit` for the option parser, which exits (--help, --version).
fn emit_and_exit(data: &str) -> ! {
    let code = fsio::stdout(data.as_bytes())
        .map_err(|e| fsio::stdout_failed("fieldattest-collector", &e))
        .err()
        .unwrap_or(0);
    std::process::exit(code.into())
}

/// Writes a user-named output file (`report --output`): atomic for a regular
/// or new file (owner and mode kept), in place for a device node or FIFO,
/// through a symlink (see `fsio::write_output`).
fn write_out(p: &std::path::Path, data: &[u8]) -> Result<(), String> {
    fsio::write_output(p, data, 0o644)
        .map(|_| ())
        .map_err(|e| format!("{}: {}", p.display(), fsio::describe(&e)))
}

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
  fieldattest-collector catalog import FILE... --db PATH
  fieldattest-collector catalog list --db PATH
  fieldattest-collector vulndb import FILE... --db PATH
  fieldattest-collector vulns --db PATH [--device DEVICE] [--all] [--format text|json|csv]
  fieldattest-collector vex set VULN --status STATUS [--device DEVICE]
                        [--justification J] [--detail TEXT] --db PATH
  fieldattest-collector vex export [--device DEVICE] --db PATH
  fieldattest-collector report DEVICE|--fleet --db PATH [--format json|html|pdf]
                        [--sl N] [--output FILE]

catalog import adds the rule catalog of an agent newer than this collector
(`fieldattest rules --format json` of that agent), so evidence reports show
its new rules with their metadata; catalog list shows the versions held.
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

vulns lists each vulnerability once per device and source package, with the
binary packages of that source it affects. report --output FILE writes a
regular file atomically (keeping its owner and mode), a device node or FIFO in
place, and follows a symlink to its target.

DEVICE is the numeric id or a prefix of the key id (kid, hex).
The enrollment secret is printed once; only its SHA-256 is stored.

Exit status: 0 ok, 1 not found / refused, 2 usage error, 3 runtime error
(database, TLS, network, stdout or output file not writable), 141 stdout is a
closed pipe (quietly, as if killed by SIGPIPE).
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
            Long("help") | Short('h') => emit_and_exit(USAGE),
            Long("version") | Short('V') => emit_and_exit(&format!(
                "fieldattest-collector {}\n",
                env!("CARGO_PKG_VERSION")
            )),
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
        say!("fieldattest-collector: --db PATH is required");
        return Err(ExitCode::from(2));
    };
    SqliteStore::open(db).map_err(|e| {
        say!("fieldattest-collector: database: {e}");
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
            say!("fieldattest-collector: no single device matches {sel:?}");
            Err(ExitCode::from(1))
        }
        Err(e) => {
            say!("fieldattest-collector: {e}");
            Err(ExitCode::from(3))
        }
    }
}

/// Renders `v` as `format` (json; csv for arrays of flat objects; text:
/// one `key=value` line per row, device-reported strings sanitised of control
/// characters) and writes it to stdout.
fn print(v: &Value, format: &str) -> Result<(), ExitCode> {
    let out = match format {
        "json" => format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default()),
        "csv" => fleet::to_csv(v),
        _ => match v {
            Value::Array(rows) => {
                let mut out = String::new();
                for r in rows {
                    out.push_str(&r.as_object().map(text_row).unwrap_or_default());
                    out.push('\n');
                }
                out
            }
            other => {
                let mut out = String::new();
                text_tree(other, 0, &mut out);
                out
            }
        },
    };
    emit(out)
}

/// `key=value` pairs of a flat row, device-reported strings sanitised.
fn text_row(o: &serde_json::Map<String, Value>) -> String {
    o.iter()
        .map(|(k, x)| format!("{k}={}", fleet::sanitize(&scalar_text(x))))
        .collect::<Vec<_>>()
        .join("  ")
}

fn scalar_text(x: &Value) -> String {
    x.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| x.to_string())
}

/// Text for a non-row value (e.g. `device`): one `key: value` line per
/// scalar, nested objects indented, arrays of objects as rows; depth-bounded
/// by the value the collector itself built.
fn text_tree(v: &Value, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                match x {
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        text_tree(x, depth + 1, out);
                    }
                    _ => out.push_str(&format!("{pad}{k}: {}\n", fleet::sanitize(&scalar_text(x)))),
                }
            }
        }
        Value::Array(a) if a.is_empty() => out.push_str(&format!("{pad}(none)\n")),
        Value::Array(a) => {
            for x in a {
                match x {
                    Value::Object(o) if o.values().all(|y| !y.is_object() && !y.is_array()) => {
                        out.push_str(&format!("{pad}{}\n", text_row(o)));
                    }
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{pad}-\n"));
                        text_tree(x, depth + 1, out);
                    }
                    _ => out.push_str(&format!("{pad}{}\n", fleet::sanitize(&scalar_text(x)))),
                }
            }
        }
        Value::Null => out.push_str(&format!("{pad}(none)\n")),
        x => out.push_str(&format!("{pad}{}\n", fleet::sanitize(&scalar_text(x)))),
    }
}

fn run(a: Args) -> Result<(), ExitCode> {
    let fail = |e: String| {
        say!("fieldattest-collector: {e}");
        ExitCode::from(3)
    };
    match a.cmd.as_str() {
        "serve" => {
            let store = open(&a)?;
            let (Some(listen), Some(cert), Some(key)) = (&a.listen, &a.cert, &a.key) else {
                say!("fieldattest-collector: serve needs --listen, --cert and --key");
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
                say!("fieldattest-collector: listening on https://{}", listener.local_addr().map(|a| a.to_string()).unwrap_or_default());
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
                say!("fieldattest-collector: enroll-token needs --site NAME");
                return Err(ExitCode::from(2));
            };
            let ttl = humantime::parse_duration(a.ttl.as_deref().unwrap_or("1h")).map_err(|e| {
                say!("fieldattest-collector: --ttl: {e}");
                ExitCode::from(2)
            })?;
            let secret = hex(&random(32));
            let hash = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
            store
                .create_enroll_token(hash.as_ref(), site, now() + ttl.as_secs() as i64)
                .map_err(fail)?;
            say!(
                "fieldattest-collector: single-use enrollment secret for site {site}, valid {}",
                humantime::format_duration(ttl)
            );
            emit(format!("{secret}\n"))
        }
        "approve" | "revoke" => {
            let store = open(&a)?;
            let Some(sel) = &a.pos else {
                say!("fieldattest-collector: {} needs DEVICE", a.cmd);
                return Err(ExitCode::from(2));
            };
            let Some(id) = find_device(&store, sel).map_err(fail)? else {
                say!("fieldattest-collector: no single device matches {sel:?}");
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
                say!("fieldattest-collector: device {id} is revoked; enroll it again");
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
            emit(format!(
                "device {id} {status}; key fingerprint (kid) {}\n",
                hex(&d.kid)
            ))
        }
        "devices" => {
            let store = open(&a)?;
            print(&fleet::devices(&store, now()).map_err(fail)?, &a.format)
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
                say!("fieldattest-collector: device not found");
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
            )
        }
        "findings" => {
            let store = open(&a)?;
            print(
                &fleet::findings(&store, a.rule.as_deref()).map_err(fail)?,
                &a.format,
            )
        }
        "fleet" => {
            let store = open(&a)?;
            let v = fleet::fleet(&store, now(), a.silent_after).map_err(fail)?;
            match a.format.as_str() {
                "text" => emit(fleet::to_text(&v)),
                // The summary is nested: CSV would lose it; JSON stands in.
                _ => print(&v, "json"),
            }
        }
        "import" => {
            let store = open(&a)?;
            let Some(dir) = a.pos.as_deref().map(PathBuf::from) else {
                say!("fieldattest-collector: import needs the BUNDLE directory");
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
                say!("fieldattest-collector: import: {e}");
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
                        print(&v, "json")?;
                    } else {
                        let mut t = format!(
                            "device {}: {} token(s) listed, {} new, {} already stored, {} rejected\n",
                            o.device_id,
                            o.listed,
                            o.new,
                            o.already,
                            o.rejected.len()
                        );
                        for (s, r) in &o.rejected {
                            t.push_str(&format!("  seq {s}: rejected: {}\n", fleet::sanitize(r)));
                        }
                        for (f, l) in &o.gaps {
                            t.push_str(&format!("  missing evidence: seq {f}..{l}\n"));
                        }
                        emit(t)?;
                    }
                    if o.rejected.is_empty() {
                        Ok(())
                    } else {
                        Err(ExitCode::from(1))
                    }
                }
                Err(rj) if rj.status >= 500 => Err(fail(rj.reason)),
                Err(rj) => {
                    say!("fieldattest-collector: import refused: {}", rj.reason);
                    Err(ExitCode::from(1))
                }
            }
        }
        "catalog" => {
            let store = open(&a)?;
            match a.pos.as_deref() {
                Some("import") if !a.rest.is_empty() => {
                    let mut failed = false;
                    for f in &a.rest {
                        let text = match std::fs::read(f) {
                            Ok(b) if b.len() > fieldattest_protocol::catalog::MAX_DOCUMENT => {
                                Err("larger than 4 MiB".to_string())
                            }
                            Ok(b) => String::from_utf8(b).map_err(|_| "not UTF-8".to_string()),
                            Err(e) => Err(e.to_string()),
                        };
                        match text.and_then(|t| {
                            fieldattest_protocol::catalog::Catalog::parse(&t).map(|c| (c, t))
                        }) {
                            Ok((c, t)) => {
                                store.put_catalog(&c.version, &t, now()).map_err(fail)?;
                                emit(format!(
                                    "catalog {} {}: {} rules imported\n",
                                    c.agent,
                                    c.version,
                                    c.rules.len()
                                ))?;
                            }
                            Err(e) => {
                                say!("fieldattest-collector: catalog: {f}: {e}");
                                failed = true;
                            }
                        }
                    }
                    if failed {
                        return Err(ExitCode::from(1));
                    }
                    Ok(())
                }
                Some("list") => {
                    let cs = fieldattest_collector::evidence::catalogs(&store).map_err(fail)?;
                    let mut out = String::new();
                    for v in cs.versions() {
                        let n = cs.get(v).map(|c| c.rules.len()).unwrap_or(0);
                        out.push_str(&format!("{v}\t{n} rules\n"));
                    }
                    emit(out)
                }
                _ => {
                    say!("fieldattest-collector: usage: catalog import FILE... --db PATH | catalog list --db PATH");
                    Err(ExitCode::from(2))
                }
            }
        }
        "vulndb" => {
            let store = open(&a)?;
            if a.pos.as_deref() != Some("import") || a.rest.is_empty() {
                say!("fieldattest-collector: usage: vulndb import FILE... --db PATH");
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
                say!("fieldattest-collector: vulndb: {f}: {e} (skipped)");
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
        "vulns" => {
            let store = open(&a)?;
            let dev = device_option(&store, a.device.as_deref())?;
            let ms = fieldattest_collector::vuln::matches(&store).map_err(fail)?;
            let shown: Vec<_> = ms
                .into_iter()
                .filter(|m| dev.is_none_or(|d| d == m.device_id))
                .filter(|m| a.all || m.is_open())
                .collect();
            // One row per (device, advisory, source package): the binary
            // packages of a source are listed together.
            let rows: Vec<Value> = fieldattest_collector::vuln::listing(&shown)
                .iter()
                .map(|l| {
                    let m = l.first;
                    serde_json::json!({
                        "device": m.device_id, "vulnerability": m.vuln,
                        "aliases": m.aliases.join(" "), "package": m.package,
                        "binaries": l.binaries.join(" "), "version": l.versions.join(" "),
                        "fixed": m.fixed, "severity": m.severity.as_ref().map(|(_, s)| s.clone()),
                        "vex": m.vex.as_ref().map(|v| v.status.clone()),
                    })
                })
                .collect();
            print(&Value::Array(rows), &a.format)
        }
        "vex" => {
            let store = open(&a)?;
            let dev = device_option(&store, a.device.as_deref())?;
            match a.pos.as_deref() {
                Some("set") => {
                    let (Some(vuln), Some(status)) = (a.rest.first(), a.status.as_deref()) else {
                        say!("fieldattest-collector: usage: vex set VULN --status STATUS [--device D] [--justification J] [--detail T]");
                        return Err(ExitCode::from(2));
                    };
                    if fieldattest_collector::vuln::cdx_state(status).is_none() {
                        say!("fieldattest-collector: --status: {status:?} (not_affected, affected, fixed, under_investigation)");
                        return Err(ExitCode::from(2));
                    }
                    if let Some(j) = &a.justification {
                        if !fieldattest_collector::vuln::JUSTIFICATIONS.contains(&j.as_str()) {
                            say!("fieldattest-collector: --justification: {j:?} is not a CycloneDX justification");
                            return Err(ExitCode::from(2));
                        }
                    } else if status == "not_affected" {
                        say!("fieldattest-collector: not_affected needs --justification");
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
                    emit(format!(
                        "{vuln}: {status} for {}\n",
                        dev.map(|d| format!("device {d}"))
                            .unwrap_or_else(|| "the fleet".into())
                    ))
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
                    emit(format!(
                        "{}\n",
                        serde_json::to_string_pretty(&doc).unwrap_or_default()
                    ))
                }
                _ => {
                    say!("fieldattest-collector: usage: vex set|export ...");
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
                        say!("fieldattest-collector: report needs DEVICE or --fleet");
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
                    say!("fieldattest-collector: --format pdf needs --output FILE");
                    return Err(ExitCode::from(2));
                };
                // A private, unpredictable work directory (not an existing one
                // someone else prepared); Chromium prints into it and the PDF
                // is then written to --output like any other output.
                let dir = std::env::temp_dir().join(format!(
                    "fieldattest-report-{}-{}",
                    std::process::id(),
                    hex(&random(8))
                ));
                {
                    use std::os::unix::fs::DirBuilderExt;
                    std::fs::DirBuilder::new()
                        .mode(0o700)
                        .create(&dir)
                        .map_err(|e| fail(format!("{}: {e}", dir.display())))?;
                }
                let html = dir.join("report.html");
                let out_abs = dir.join("report.pdf");
                if let Err(e) = std::fs::write(&html, &body) {
                    let _ = std::fs::remove_dir_all(&dir);
                    return Err(fail(format!("{}: {e}", html.display())));
                }
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
                let pdf = std::fs::read(&out_abs);
                let _ = std::fs::remove_dir_all(&dir);
                match st {
                    Some(o) if o.status.success() && pdf.is_ok() => {
                        write_out(out, &pdf.unwrap_or_default()).map_err(fail)?;
                        say!("fieldattest-collector: wrote {}", out.display());
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
                    Some(p) => write_out(p, &body).map_err(fail),
                    None => emit(&body),
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
            print(&Value::Array(v), &a.format)
        }
        "" => {
            fsio::stderr(USAGE);
            Err(ExitCode::from(2))
        }
        other => {
            say!("fieldattest-collector: unknown command {other:?}\nTry 'fieldattest-collector --help'.");
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
            say!("fieldattest-collector: {e}\nTry 'fieldattest-collector --help'.");
            ExitCode::from(2)
        }
    }
}
