//! serve, enroll-token, approve, revoke, audit.

use super::{fail, find_device, misuse, open, print, refused, Command, Opts, TEXT_JSON_CSV};
use crate::{emit, PROG};
use fieldattest_collector::server;
use fieldattest_protocol::fsio;
use serde_json::Value;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

/// Devices silent longer than this (seconds) are flagged, unless `--silent-after`.
pub use fieldattest_collector::posture::SILENT_AFTER;

pub const SERVE: Command = Command {
    name: "serve",
    synopsis: &[
        "serve --db PATH --listen ADDR:PORT --cert PEM --key PEM [--client-ca PEM]\n                              [--operator-listen ADDR:PORT [--operator-client-ca PEM]]\n                              [--silent-after SECS] [--feed-max-age DURATION]",
    ],
    about: "serves the device channel and the operator console

--listen serves the device channel only (/attestation/v1/*, /healthz);
--operator-listen serves the operator console (sign-in, fleet page, device
reports, actions) and /api/v1/* — put it on the management network only.
Without --operator-listen there is no console. TLS 1.3 only with the
certificate and key given (PEM) on both. --client-ca requires a device client
certificate signed by that CA (mTLS) on --listen and binds it to the device at
enrollment; --operator-client-ca requires an operator client certificate from
that (separate) CA on --operator-listen, in addition to signing in. Devices
silent longer than --silent-after seconds (default 86400) are flagged, and
vulnerability feeds older than --feed-max-age (default 7d) on the overview and
the vulnerabilities page. Runs
until SIGTERM or SIGINT; prints only to stderr.",
    values: &[
        "db",
        "listen",
        "operator-listen",
        "cert",
        "key",
        "client-ca",
        "operator-client-ca",
        "silent-after",
        "feed-max-age",
    ],
    flags: &[],
    formats: &[],
    run: serve,
};

pub const MIGRATE: Command = Command {
    name: "migrate",
    synopsis: &["migrate --from PATH --to postgres://USER@HOST:PORT/DB[?sslmode=require]"],
    about: "copies an SQLite collector database into an empty PostgreSQL one

Every table is copied in one transaction: the target holds all of it or none.
The target is migrated to the collector's schema first and must be empty. The
raw tokens are copied byte for byte and re-verify afterwards; the audit chain
stays intact (check it with `audit verify --db postgres://...`). Stop the
collector serving the SQLite file first. TLS to the database: add
?sslmode=require (roots from PGSSLROOTCERT, else the system's bundle).",
    values: &["from", "to"],
    flags: &[],
    formats: &[],
    run: migrate,
};

fn migrate(o: &Opts) -> Result<(), ExitCode> {
    let (Some(from), Some(to)) = (o.path("from"), o.get("to")) else {
        return Err(misuse("migrate needs --from PATH and --to postgres://..."));
    };
    if !fieldattest_collector::store::is_postgres(to) {
        return Err(misuse("--to takes a postgres:// or postgresql:// URL"));
    }
    let copied = fieldattest_collector::store::copy::sqlite_to_postgres(&from, to).map_err(fail)?;
    let rows: u64 = copied.iter().map(|c| c.1).sum();
    let mut out = String::new();
    for (t, n) in &copied {
        out.push_str(&format!("{t}: {n} rows\n"));
    }
    out.push_str(&format!("copied {rows} rows of {} tables\n", copied.len()));
    emit(out)
}

fn serve(o: &Opts) -> Result<(), ExitCode> {
    let store = open(o)?;
    let silent_after = o.number("silent-after", SILENT_AFTER, "seconds")?;
    let feed_max_age = super::vulns::max_age_option(o, "feed-max-age")?;
    let (Some(listen), Some(cert), Some(key)) = (o.get("listen"), o.path("cert"), o.path("key"))
    else {
        return Err(misuse("serve needs --listen, --cert and --key"));
    };
    if o.get("operator-client-ca").is_some() && o.get("operator-listen").is_none() {
        return Err(misuse("--operator-client-ca needs --operator-listen"));
    }
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let ca = |name: &str| o.path(name).map(|p| read(&p)).transpose().map_err(fail);
    let (cert, key) = (read(&cert).map_err(fail)?, read(&key).map_err(fail)?);
    let device_tls = server::tls_config(&cert, &key, ca("client-ca")?.as_deref()).map_err(fail)?;
    let operator_tls =
        server::tls_config(&cert, &key, ca("operator-client-ca")?.as_deref()).map_err(fail)?;
    let app = Arc::new(server::App {
        store,
        silent_after,
        feed_max_age,
        fleet: Default::default(),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(fail)?;
    rt.block_on(async {
        let bind = |addr: &str| {
            let addr = addr.to_string();
            async move {
                let l = tokio::net::TcpListener::bind(&addr)
                    .await
                    .map_err(|e| fail(format!("{addr}: {e}")))?;
                let at = l.local_addr().map(|a| a.to_string()).unwrap_or_default();
                Ok::<_, ExitCode>((l, at))
            }
        };
        let (socket, at) = bind(listen).await?;
        let mut listeners = vec![server::Listener {
            socket,
            tls: device_tls,
            side: server::Side::Device,
        }];
        let mut lines = vec![format!("{PROG}: listening on https://{at}")];
        if let Some(op) = o.get("operator-listen") {
            let (socket, at) = bind(op).await?;
            listeners.push(server::Listener {
                socket,
                tls: operator_tls,
                side: server::Side::Operator,
            });
            lines.push(format!("{PROG}: operator console on https://{at}"));
        }
        say!("{}", lines.join("\n"));
        let shutdown = async {
            use tokio::signal::unix::{signal, SignalKind};
            let mut term = signal(SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = async {
                    match term.as_mut() {
                        Some(t) => { t.recv().await; }
                        None => std::future::pending::<()>().await,
                    }
                } => {},
            }
        };
        server::serve(listeners, app, shutdown).await;
        Ok::<(), ExitCode>(())
    })
}

pub const ENROLL_TOKEN: Command = Command {
    name: "enroll-token",
    synopsis: &["enroll-token --db PATH --site NAME [--ttl 1h]"],
    about: "prints a single-use enrollment secret for a site

The secret is valid for --ttl (a duration such as 10m, 1h, 2days; default 1h)
and is printed once; only its SHA-256 is stored. A device enrolling with it
starts pending until approved.",
    values: &["db", "site", "ttl"],
    flags: &[],
    formats: &[],
    run: enroll_token,
};

fn enroll_token(o: &Opts) -> Result<(), ExitCode> {
    let store = open(o)?;
    let Some(site) = o.get("site") else {
        return Err(misuse("enroll-token needs --site NAME"));
    };
    let ttl = humantime::parse_duration(o.get("ttl").unwrap_or("1h"))
        .map_err(|e| misuse(format!("--ttl: {e}")))?;
    let secret = server::actions::enrollment_secret(
        &*store,
        site,
        ttl.as_secs() as i64,
        &super::cli_actor(),
    )
    .map_err(fail)?;
    say!(
        "{PROG}: single-use enrollment secret for site {site}, valid {}",
        humantime::format_duration(ttl)
    );
    emit(format!("{secret}\n"))
}

pub const APPROVE: Command = Command {
    name: "approve",
    synopsis: &["approve DEVICE --db PATH"],
    about: "approves an enrolled (pending) device

Its attestations are accepted from then on. A revoked device cannot be
approved again: it enrolls anew.",
    values: &["db"],
    flags: &[],
    formats: &[],
    run: approve,
};

pub const REVOKE: Command = Command {
    name: "revoke",
    synopsis: &["revoke DEVICE --db PATH"],
    about: "revokes a device

Its tokens, key rotations and export bundles are refused from then on; its
history is kept.",
    values: &["db"],
    flags: &[],
    formats: &[],
    run: revoke,
};

fn approve(o: &Opts) -> Result<(), ExitCode> {
    set_status(o, "approve", "active")
}

fn revoke(o: &Opts) -> Result<(), ExitCode> {
    set_status(o, "revoke", "revoked")
}

/// approve / revoke: the device's new status, audited.
fn set_status(o: &Opts, cmd: &str, status: &str) -> Result<(), ExitCode> {
    let store = open(o)?;
    let Some(sel) = o.pos.first() else {
        return Err(misuse(format!("{cmd} needs DEVICE")));
    };
    let Some(id) = find_device(&*store, sel).map_err(fail)? else {
        return Err(refused(format!("no single device matches {sel:?}")));
    };
    let kid = match server::actions::set_device_status(&*store, id, status, &super::cli_actor()) {
        Ok(kid) => kid,
        Err(server::actions::ActionError::Store(e)) => return Err(fail(e)),
        Err(e) => return Err(refused(e)),
    };
    emit(format!(
        "device {id} {status}; key fingerprint (kid) {kid}\n"
    ))
}

pub const AUDIT: Command = Command {
    name: "audit",
    synopsis: &[
        "audit --db PATH [--limit N] [--format text|json|csv]",
        "audit verify --db PATH",
    ],
    about: "prints the audit trail, newest first; `audit verify` checks its hash chain

Every accepted or refused attestation, enrollment, rotation, import, approval,
revocation and VEX statement, with its reason; --limit N entries (default 100).
Each entry carries the SHA-256 of the previous one and of its own fields:
`audit verify` recomputes the chain and names the first entry that was
altered, inserted or removed (exit 1), or prints the number of entries checked.",
    values: &["db", "limit"],
    flags: &[],
    formats: TEXT_JSON_CSV,
    run: audit,
};

fn audit(o: &Opts) -> Result<(), ExitCode> {
    match o.pos.first().map(String::as_str) {
        None => {}
        Some("verify") => return audit_verify(o),
        Some(other) => return Err(misuse(format!("audit: unknown action {other:?}"))),
    }
    let store = open(o)?;
    let limit: i64 = o.number("limit", 100, "number")?;
    let v: Vec<Value> = store
        .audit_log(limit)
        .map_err(fail)?
        .into_iter()
        .map(|e| serde_json::json!({"at": e.at, "kid": e.kid, "device": e.device_id, "outcome": e.outcome, "reason": e.reason, "repeats": e.repeats}))
        .collect();
    print(&Value::Array(v), o.format)
}

/// `audit verify`: the whole chain; the first broken entry is a refusal (exit 1).
fn audit_verify(o: &Opts) -> Result<(), ExitCode> {
    let store = open(o)?;
    let c = store.verify_audit().map_err(fail)?;
    match c.broken {
        Some((id, why)) => Err(refused(format!(
            "audit chain broken at entry {id}: {why} ({} entries)",
            c.rows
        ))),
        None => emit(format!("audit chain intact: {} entries\n", c.rows)),
    }
}
