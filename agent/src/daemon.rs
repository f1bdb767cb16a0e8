//! `fieldattest run`: the device daemon. One current-thread tokio runtime;
//! a cycle (session → scan → sign → spool → deliver) at start and every
//! interval ± jitter; delivery retried with exponential backoff and jitter
//! while the collector is unreachable; nothing polls in between (the runtime
//! sleeps on timers and signals). SIGHUP reloads the configuration (a bad new
//! file keeps the old one); SIGTERM/SIGINT stop at once — a scan in progress
//! is abandoned (nothing of it was spooled yet; the spool itself is always
//! durable), so the exit is quick and clean. Under systemd: `READY=1`,
//! `WATCHDOG=1`, `STOPPING=1` over `$NOTIFY_SOCKET`.
//!
//! Delivery order is the spool's sequence order; a token leaves the spool only
//! after the collector's receipt (200, or 409 with code `duplicate-cti`: accepted
//! before a crash cut the removal short). A token the collector refuses for
//! good (other 4xx) goes to the dead-letter area with the reason; network
//! errors, 5xx and 429 are retried later.

use crate::attest::{self, keystore::Identity};
use crate::config::Config;
use crate::net::Client;
use crate::spool::{Item, Spool};
use fieldattest_protocol::rejection::Rejection;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};
use tokio::time::Instant;
use tracing::{error, info, info_span, warn, Instrument};

/// The latest SBOM, kept in the state directory until the collector has it,
/// and the digest of the inventory it was rendered from: while the inventory
/// is unchanged the same SBOM (same digest) is attested and never re-sent.
const SBOM_FILE: &str = "sbom.cdx.json";
const SBOM_INV_FILE: &str = "sbom.inventory";

/// Random duration in `0..=max`.
fn jitter(max: Duration) -> Duration {
    let mut b = [0u8; 8];
    let _ = getrandom::getrandom(&mut b);
    let ms = max.as_millis() as u64;
    if ms == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(u64::from_le_bytes(b) % (ms + 1))
}

/// The next scan: interval, then ± jitter (never in the past).
fn next_interval(cfg: &Config) -> Duration {
    let j = jitter(cfg.jitter * 2);
    (cfg.interval + j).saturating_sub(cfg.jitter)
}

/// Backoff after `failures` consecutive failed deliveries: min·2^n capped at
/// max, plus up to 50 % jitter.
pub fn backoff(cfg: &Config, failures: u32) -> Duration {
    let base = cfg
        .retry_min
        .saturating_mul(1u32 << failures.min(20))
        .min(cfg.retry_max);
    base + jitter(base / 2)
}

/// sd_notify(3) without libsystemd: one datagram to `$NOTIFY_SOCKET`.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(sock) = std::os::unix::net::UnixDatagram::unbound() else {
        return;
    };
    let p = path.to_string_lossy();
    if let Some(abstract_name) = p.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        if let Ok(addr) = std::os::unix::net::SocketAddr::from_abstract_name(abstract_name) {
            let _ = sock.send_to_addr(state.as_bytes(), &addr);
        }
    } else {
        let _ = sock.send_to(state.as_bytes(), Path::new(&path));
    }
}

/// The systemd watchdog period (half of `WATCHDOG_USEC`), if asked for.
fn watchdog_period() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Some(pid) = std::env::var("WATCHDOG_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
    {
        if pid != std::process::id() {
            return None;
        }
    }
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

/// Scan, sign and spool one token (blocking; runs on the blocking pool).
fn produce(cfg: &Config, nonce: Option<Vec<u8>>) -> Result<(u64, String), String> {
    let root = fieldattest_scan::root::RootFs::new(&cfg.root)
        .map_err(|e| format!("root {e}"))?
        .with_max_file(cfg.max_file_size);
    let accept = match &cfg.accept {
        None => Vec::new(),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let ids: Vec<&str> = fieldattest_scan::rules::catalog()
                .iter()
                .map(|r| r.meta.id)
                .collect();
            fieldattest_scan::accept::parse(&text, &p.display().to_string(), &ids)?
        }
    };
    let opts = fieldattest_scan::ScanOptions {
        root_display: cfg.root.display().to_string(),
        target_sl: cfg.sl,
        accept,
        cred_budget: (cfg.cred_budget_ms > 0).then(|| Duration::from_millis(cfg.cred_budget_ms)),
        cred_skip: cfg.cred_skip(),
        state_dir: Some(cfg.state_dir.clone()),
        reveal_hardware_ids: cfg.hardware_ids,
    };
    let (rep, warnings) = fieldattest_scan::scan_with_warnings(&root, &opts);
    for w in warnings {
        warn!("{w}");
    }
    let id = Identity::load_or_create(&cfg.state_dir)?;
    let iat = fieldattest_protocol::hex::unix_seconds(std::time::SystemTime::now());
    let inv = attest::digest(
        serde_json::to_string(&(&rep.inventory.packages, &rep.device.os))
            .unwrap_or_default()
            .as_bytes(),
    );
    let (sp_path, inv_path) = (
        cfg.state_dir.join(SBOM_FILE),
        cfg.state_dir.join(SBOM_INV_FILE),
    );
    let previous = (std::fs::read(&inv_path).ok().as_deref() == Some(inv.as_slice()))
        .then(|| std::fs::read_to_string(&sp_path).ok())
        .flatten();
    let reused = previous.is_some();
    let made = attest::make(&rep, &root, &id, nonce, iat, previous)?;
    let sp = Spool::open(&cfg.state_dir.join("spool"), cfg.spool)?;
    for d in attest::spool(&made, &id, &sp)? {
        warn!(
            seq = d.seq,
            class = if d.keep { "changed" } else { "routine" },
            "spool full: dropped the oldest token of its class"
        );
    }
    if !reused {
        // SBOM first, then the inventory digest that vouches for it.
        for (p, b) in [
            (&sp_path, made.sbom.as_bytes()),
            (&inv_path, inv.as_slice()),
        ] {
            fieldattest_scan::state::write_atomic(p, b, 0o600)
                .map_err(|e| format!("{}: {e}", p.display()))?;
        }
    }
    info!(
        seq = made.claims.seq,
        bytes = made.token.len(),
        packages = rep.inventory.packages.len(),
        failing = rep
            .rules
            .iter()
            .filter(|r| r.status == fieldattest_protocol::report::RuleStatus::Fail)
            .count(),
        "token spooled"
    );
    Ok((made.claims.seq, crate::hex(&made.claims.cti)))
}

/// Why delivery stopped early.
#[derive(Debug)]
pub struct Transient(pub String);

/// Where spooled tokens without a live session go.
const OFFLINE_PATH: &str = "/attestation/v1/tokens";

const EAT: &str = "application/eat+cwt; eat_profile=\"tag:fieldattest.org,2026:eat/v1\"";

/// Delivers the spool in sequence order. The token `fresh` (its seq and
/// session id) goes to its session; all others (and the fresh one when its
/// session is gone) as offline tokens. Returns how many were delivered.
pub async fn deliver(
    client: &Client,
    sp: &Spool,
    fresh: Option<(u64, String)>,
) -> Result<usize, Transient> {
    let mut n = 0;
    for item in sp.pending().map_err(Transient)? {
        let tok = match sp.read(&item) {
            Ok(t) => t,
            Err(e) => return Err(Transient(e)),
        };
        let mut path = OFFLINE_PATH.to_string();
        if let Some((seq, sid)) = &fresh {
            if *seq == item.seq {
                path = format!("/attestation/v1/sessions/{sid}");
            }
        }
        let mut r = client
            .request("POST", &path, &[("content-type", EAT)], tok.clone())
            .await
            .map_err(Transient)?;
        // The session expired or was used up meanwhile: the token is still
        // good evidence, delivered as an offline one.
        if path != OFFLINE_PATH && matches!(r.status, 404 | 410) {
            r = client
                .request("POST", OFFLINE_PATH, &[("content-type", EAT)], tok)
                .await
                .map_err(Transient)?;
        }
        let code = r.json()["code"].as_str().and_then(Rejection::from_code);
        if settle(sp, &item, r.status, code, &r.reason()).map_err(Transient)? {
            n += 1;
        }
    }
    Ok(n)
}

/// Acts on the collector's answer for one spooled token; true when the
/// collector has it (delivered now or before a restart).
fn settle(
    sp: &Spool,
    item: &Item,
    status: u16,
    code: Option<Rejection>,
    reason: &str,
) -> Result<bool, String> {
    match status {
        200 => {
            sp.remove(item)?;
            info!(seq = item.seq, cti = %item.cti_hex, "delivered");
            Ok(true)
        }
        409 if code == Some(Rejection::DuplicateCti) => {
            sp.remove(item)?;
            info!(
                seq = item.seq,
                "already at the collector (delivered before a restart)"
            );
            Ok(true)
        }
        // 408: the collector's request deadline (a slow link), 429: one of
        // its limits — both transient, the token is kept for the next round.
        408 | 429 | 500..=599 => Err(format!("collector answered {status}: {reason}")),
        _ => {
            sp.dead_letter(item, &format!("{status} {reason}"))?;
            error!(
                seq = item.seq,
                status, reason, "collector refused the token; moved to the dead-letter area"
            );
            Ok(false)
        }
    }
}

/// Uploads the latest SBOM when the collector does not have it yet.
async fn upload_sbom(client: &Client, state_dir: &Path) -> Result<(), String> {
    let p = state_dir.join(SBOM_FILE);
    let Ok(body) = std::fs::read(&p) else {
        return Ok(());
    };
    let digest = crate::hex(&attest::digest(&body));
    let path = format!("/attestation/v1/sbom/{digest}");
    let have = client.request("GET", &path, &[], Vec::new()).await?;
    if have.status == 200 {
        return Ok(());
    }
    let r = client
        .request(
            "PUT",
            &path,
            &[("content-type", "application/vnd.cyclonedx+json")],
            body,
        )
        .await?;
    match r.status {
        200 | 201 => {
            info!(sha256 = %digest, "SBOM uploaded");
            Ok(())
        }
        s => Err(format!("SBOM upload: HTTP {s}: {}", r.reason())),
    }
}

/// One cycle: a session nonce when the collector answers, then the scan.
/// Returns the fresh token's (seq, session id) for delivery.
async fn cycle(cfg: &Config, client: Option<&Client>) -> Result<Option<(u64, String)>, String> {
    let session = match client {
        None => None,
        Some(c) => match c.session().await {
            Ok(s) => Some(s),
            Err(e) => {
                warn!("collector unreachable, the token is spooled without a nonce: {e}");
                None
            }
        },
    };
    let nonce = session.as_ref().map(|(_, n)| n.clone());
    let c2 = cfg.clone();
    let span = tracing::Span::current();
    let (seq, cti) = tokio::task::spawn_blocking(move || span.in_scope(|| produce(&c2, nonce)))
        .await
        .map_err(|e| format!("scan task: {e}"))??;
    tracing::Span::current().record("seq", seq);
    tracing::Span::current().record("cti", cti.as_str());
    Ok(session.map(|(sid, _)| (seq, sid)))
}

/// One full cycle without the schedule (`fieldattest run --once`, cron-style
/// deployments, and the footprint benchmark): session, scan, sign, spool,
/// deliver the whole spool, upload the SBOM. Returns the tokens delivered;
/// an unreachable collector leaves them spooled (not an error).
pub async fn once(cfg: &Config) -> Result<usize, String> {
    let client = cfg.collector.as_ref().map(Client::new).transpose()?;
    let span = info_span!(
        "cycle",
        n = 1u64,
        seq = tracing::field::Empty,
        cti = tracing::field::Empty
    );
    let fresh = cycle(cfg, client.as_ref()).instrument(span.clone()).await?;
    let Some(c) = &client else {
        return Ok(0);
    };
    let sp = Spool::open(&cfg.state_dir.join("spool"), cfg.spool)?;
    match deliver(c, &sp, fresh).instrument(span.clone()).await {
        Ok(n) => {
            if let Err(e) = upload_sbom(c, &cfg.state_dir).instrument(span).await {
                warn!("{e}");
            }
            Ok(n)
        }
        Err(Transient(e)) => {
            warn!("delivery postponed to the next run: {e}");
            Ok(0)
        }
    }
}

/// Runs the daemon until SIGTERM/SIGINT. `reload` re-reads the configuration.
pub async fn run(
    mut cfg: Config,
    reload: impl Fn() -> Result<Config, String>,
) -> Result<(), String> {
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut hup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let mut client = cfg.collector.as_ref().map(Client::new).transpose()?;
    // The identity and the spool must be usable before we report ready.
    Identity::load_or_create(&cfg.state_dir)?;
    Spool::open(&cfg.state_dir.join("spool"), cfg.spool)?;
    if let Some(p) = watchdog_period() {
        tokio::spawn(async move {
            let mut t = tokio::time::interval(p);
            loop {
                t.tick().await;
                notify("WATCHDOG=1");
            }
        });
    }
    notify("READY=1");
    info!(
        collector = cfg.collector.as_ref().map(|c| c.url.as_str()).unwrap_or("none (spool only)"),
        interval = ?cfg.interval,
        "fieldattest daemon started"
    );
    let mut next_scan = Instant::now();
    let mut retry_at: Option<Instant> = None;
    let mut failures: u32 = 0;
    let mut cycle_no: u64 = 0;
    let mut span = tracing::Span::none();
    loop {
        let wake = retry_at.map_or(next_scan, |r| r.min(next_scan));
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                match reload().and_then(|c| {
                    let cl = c.collector.as_ref().map(Client::new).transpose()?;
                    Ok((c, cl))
                }) {
                    Ok((c, cl)) => {
                        info!("configuration reloaded");
                        cfg = c;
                        client = cl;
                        next_scan = next_scan.min(Instant::now() + cfg.interval);
                    }
                    Err(e) => error!("configuration reload failed, keeping the running one: {}", e.replace('\n', " ")),
                }
                continue;
            }
        }
        let mut fresh = None;
        if Instant::now() >= next_scan {
            cycle_no += 1;
            span = info_span!(
                "cycle",
                n = cycle_no,
                seq = tracing::field::Empty,
                cti = tracing::field::Empty
            );
            let work = cycle(&cfg, client.as_ref()).instrument(span.clone());
            tokio::select! {
                r = work => match r {
                    Ok(f) => fresh = f,
                    Err(e) => error!("cycle failed: {e}"),
                },
                _ = term.recv() => { info!("stopping: scan in progress abandoned"); break }
                _ = int.recv() => { info!("stopping: scan in progress abandoned"); break }
            }
            next_scan = Instant::now() + next_interval(&cfg);
            retry_at = Some(Instant::now());
        }
        if retry_at.is_some_and(|r| Instant::now() >= r) {
            if let Some(c) = &client {
                let sp = Spool::open(&cfg.state_dir.join("spool"), cfg.spool)?;
                let res = tokio::select! {
                    r = deliver(c, &sp, fresh).instrument(span.clone()) => r,
                    _ = term.recv() => break,
                    _ = int.recv() => break,
                };
                match res {
                    Ok(_) => {
                        failures = 0;
                        retry_at = None;
                        if let Err(e) = upload_sbom(c, &cfg.state_dir)
                            .instrument(span.clone())
                            .await
                        {
                            warn!("{e}");
                        }
                    }
                    Err(Transient(e)) => {
                        let wait = backoff(&cfg, failures);
                        failures = failures.saturating_add(1);
                        warn!(retry_in = ?wait, "delivery postponed: {e}");
                        retry_at = Some(Instant::now() + wait);
                    }
                }
            } else {
                retry_at = None;
            }
        }
    }
    notify("STOPPING=1");
    info!("fieldattest daemon stopped");
    Ok(())
}

/// Enrollment (profile §11.3): session nonce → enrollment token (proof of
/// possession of the device key) → `POST /attestation/v1/enroll/{session}`
/// with the operator's one-time secret as Bearer token. The result is
/// recorded in the state directory; a device enrolls once.
pub async fn enroll(
    client: &Client,
    state_dir: &Path,
    url: &str,
    secret: &str,
) -> Result<serde_json::Value, String> {
    let rec: PathBuf = state_dir.join("enrollment.json");
    if rec.exists() {
        return Err(format!(
            "already enrolled ({}); remove it to enroll again",
            rec.display()
        ));
    }
    let id = Identity::load_or_create(state_dir)?;
    let (sid, nonce) = client.session().await?;
    let iat = fieldattest_protocol::hex::unix_seconds(std::time::SystemTime::now());
    let claims = attest::enrollment_claims(&id, iat, nonce, id.next_seq()?)?;
    let tok = attest::sign(&claims, &id)?;
    let auth = format!("Bearer {}", secret.trim());
    let r = client
        .request(
            "POST",
            &format!("/attestation/v1/enroll/{sid}"),
            &[("content-type", EAT), ("authorization", &auth)],
            tok,
        )
        .await?;
    if r.status != 201 {
        return Err(format!(
            "collector refused the enrollment: HTTP {}: {}",
            r.status,
            r.reason()
        ));
    }
    let v = r.json();
    let out = serde_json::json!({
        "collector": url,
        "device": v["device"],
        "status": v["status"],
        "site": v["site"],
        "kid": crate::hex(&id.kid()),
        "enrolled_at": iat,
    });
    fieldattest_scan::state::write_atomic(
        &rec,
        serde_json::to_string_pretty(&out)
            .unwrap_or_default()
            .as_bytes(),
        0o600,
    )
    .map_err(|e| format!("{}: {e}", rec.display()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let mut cfg = crate::config::parse("", "t").unwrap();
        cfg.retry_min = Duration::from_secs(30);
        cfg.retry_max = Duration::from_secs(600);
        for (n, base) in [
            (0u32, 30u64),
            (1, 60),
            (2, 120),
            (4, 480),
            (5, 600),
            (40, 600),
        ] {
            for _ in 0..50 {
                let b = backoff(&cfg, n);
                assert!(
                    b >= Duration::from_secs(base) && b <= Duration::from_secs(base * 3 / 2),
                    "{n}: {b:?}"
                );
            }
        }
    }

    #[test]
    fn schedule_stays_within_interval_plus_minus_jitter() {
        let mut cfg = crate::config::parse("", "t").unwrap();
        cfg.interval = Duration::from_secs(3600);
        cfg.jitter = Duration::from_secs(600);
        let v: Vec<Duration> = (0..200).map(|_| next_interval(&cfg)).collect();
        assert!(v
            .iter()
            .all(|d| *d >= Duration::from_secs(3000) && *d <= Duration::from_secs(4200)));
        // Not in lockstep: the draws differ.
        assert!(v.iter().collect::<std::collections::BTreeSet<_>>().len() > 100);
    }
}
