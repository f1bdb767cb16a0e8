//! Attacks on the device channel of the real `serve` over TLS on loopback
//! (issue 16, "Found on main" items 2–5), each shown refused, bounded or
//! neutralised, with a normal device still delivering afterwards. The
//! figures (database growth, sessions rows, audit rows, the normal device's
//! time under the slow-body attack, RSS under stalled SBOM uploads) are
//! printed (`--no-capture` shows them).
//!
//! Attackers bind other loopback addresses (127.0.0.2 …) so that the
//! per-source limits apply to them and not to the normal device, which
//! comes from 127.0.0.1 as before. Request loops are bounded in count and
//! time.

use fieldattest_protocol::catalog::Catalogs;
use fieldattest_protocol::eat;
use fieldattest_protocol::token;
use fieldattest_tests::collector::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ---- helpers ---------------------------------------------------------------

fn collector_cli(c: &Collector, args: &[&str]) -> Output {
    c.run_output(args)
}

fn json_cli(c: &Collector, args: &[&str]) -> Value {
    let o = collector_cli(c, &[args, &["--format", "json"]].concat());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn sql(c: &Collector, q: &str) -> String {
    c.sql(q)
}

fn count(c: &Collector, table: &str) -> i64 {
    sql(c, &format!("SELECT count(*) FROM {table}"))
        .parse()
        .unwrap()
}

/// The database's logical size (SQLite: pages × page size, WAL content
/// included; PostgreSQL: the database's size on disk).
fn db_bytes(c: &Collector) -> i64 {
    if c.cluster.is_some() {
        return sql(c, "SELECT pg_database_size(current_database())")
            .parse()
            .unwrap();
    }
    let pages: i64 = sql(c, "PRAGMA page_count").parse().unwrap();
    let size: i64 = sql(c, "PRAGMA page_size").parse().unwrap();
    pages * size
}

/// Requests by one curl process from source address `from`, over a few
/// keep-alive connections (`url_glob` holds curl's `[a-b]` range); returns
/// the HTTP status of each.
fn curl_many(
    c: &Collector,
    from: &str,
    method: &str,
    url_glob: &str,
    body: Option<&Path>,
    headers: &[&str],
) -> Vec<u16> {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "--max-time", "60", "--interface", from, "--cacert"])
        .arg(c.dir.path().join("ca.pem"))
        .args(["-X", method, "-w", "\nCODE:%{http_code}\n"])
        .args(["-Z", "--parallel-max", "8"]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    if let Some(b) = body {
        cmd.arg("--data-binary").arg(format!("@{}", b.display()));
    }
    let out = cmd.arg(c.url(url_glob)).output().expect("curl");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("CODE:"))
        .map(|s| s.parse().unwrap_or(0))
        .collect()
}

/// A CBOR head (major type, argument).
fn head(major: u8, n: u64) -> Vec<u8> {
    let m = major << 5;
    match n {
        0..=23 => vec![m | n as u8],
        24..=0xff => vec![m | 24, n as u8],
        0x100..=0xffff => [vec![m | 25], (n as u16).to_be_bytes().to_vec()].concat(),
        _ => [vec![m | 26], (n as u32).to_be_bytes().to_vec()].concat(),
    }
}

fn bstr(b: &[u8]) -> Vec<u8> {
    [head(2, b.len() as u64), b.to_vec()].concat()
}

/// A self-made `61(18([{1: -7, 4: kid}, {}, {265: profile}, sig]))` whose
/// `eat_profile` is `len` bytes of text; the signature is never checked
/// (the claims fail first), so none is made.
fn oversized_profile_token(len: usize) -> Vec<u8> {
    let protected = [vec![0xa2, 0x01, 0x26, 0x04], bstr(&[7u8; 32])].concat();
    let payload = [
        vec![0xa1],
        head(0, eat::EAT_PROFILE as u64),
        head(3, len as u64),
        vec![b'A'; len],
    ]
    .concat();
    [
        vec![0xd8, 61, 0xd2, 0x84],
        bstr(&protected),
        vec![0xa0],
        bstr(&payload),
        bstr(&[0u8; 64]),
    ]
    .concat()
}

/// A token of `d` as the real agent makes it, edited by `edit` and re-signed
/// with the device's own key (a device holding its software key can sign
/// any claims).
fn resigned(d: &Device, nonce: Option<&str>, edit: impl FnOnce(&mut eat::Claims)) -> PathBuf {
    let raw = std::fs::read(d.token(nonce, false)).unwrap();
    let (sign1, kid) = token::parse(&raw).unwrap();
    let mut claims = eat::decode(sign1.payload.as_deref().unwrap()).unwrap();
    edit(&mut claims);
    let key = d.state.join("attest-key.p8");
    let signed = token::sign(&claims, &kid, |tbs| es256_sign(&key, tbs)).unwrap();
    let out = d.tree.outside().join(format!("edited{}.cwt", counter()));
    std::fs::write(&out, signed).unwrap();
    out
}

fn post_spooled(c: &Collector, t: &Path, extra: &[&str]) -> (u16, Value) {
    c.curl("POST", "/attestation/v1/tokens", Some(t), extra)
}

/// The normal device delivers (session + token) and how long it took.
fn normal_delivery(c: &Collector, d: &Device) -> Duration {
    let t = Instant::now();
    let (code, v) = d.attest_online(c);
    assert_eq!(code, 200, "the normal device is refused: {v}");
    t.elapsed()
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

// ---- item 2 and 5a: hostile claims -----------------------------------------

/// A device signing hostile claims: a purl with `%` before a multi-byte
/// character, and an SL ceiling FR1 = 4 while failing three FR1 rules. The
/// collector stores it, the CLI commands that decode stored purls still run,
/// the computed ceiling (not the claim) decides "meets target" and the
/// disagreement is flagged; the normal device still delivers.
#[test]
fn hostile_claims_are_neutralised_and_the_sl_ceiling_is_computed() {
    let c = start();
    let good = Device::new(None, 2);
    let evil = Device::new(None, 2);
    good.enroll(&c);
    let evil_id = evil.enroll(&c);
    let cats = Catalogs::shipped();
    let cat = cats.get(cats.versions()[0]).unwrap();
    let fr1: Vec<String> = cat
        .rules
        .iter()
        .filter(|r| r.fr == "FR1" && r.min_sl <= 2)
        .take(3)
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(fr1.len(), 3);
    let purl = "pkg:deb/debian/a%1é@1.0?arch=arm64&distro=debian-12";
    let coswid = [
        vec![0xa1, 0x00],
        head(3, purl.len() as u64),
        purl.as_bytes().to_vec(),
    ]
    .concat();
    let t = resigned(&evil, None, |cl| {
        cl.measurements.push((eat::CF_COSWID, coswid));
        cl.sl_ceiling = vec![("FR1".into(), 4)];
        for (_, results) in cl.measres.iter_mut() {
            results.retain(|(id, _)| !fr1.contains(id));
        }
        cl.measres[0]
            .1
            .extend(fr1.iter().map(|id| (id.clone(), eat::RESULT_FAIL)));
    });
    let (code, v) = post_spooled(&c, &t, &[]);
    assert_eq!(code, 200, "{v}");
    // Decoders of the stored purl: none aborts.
    for args in [&["vulns"][..], &["vulns", "--all"], &["devices"]] {
        json_cli(&c, args);
    }
    let report = json_cli(&c, &["report", &evil_id.to_string()])["devices"][0].clone();
    let fr = report["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["fr"] == "FR1")
        .expect("FR1 in the report");
    println!(
        "FR1 of the lying device: claimed {}, computed {}, meets target {}",
        fr["sl_ceiling_claimed"], fr["sl_ceiling_computed"], fr["meets_target"]
    );
    assert_eq!(fr["sl_ceiling_claimed"], 4);
    assert!(fr["sl_ceiling_computed"].as_u64().unwrap() < 2, "{fr}");
    assert_eq!(fr["meets_target"], false, "{fr}");
    let dispute = report["attestation"]["sl_ceiling_dispute"]
        .as_str()
        .unwrap();
    assert!(dispute.contains("FR1: device claims 4"), "{dispute}");
    let devices = json_cli(&c, &["devices"]);
    let shown = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == evil_id)
        .unwrap();
    assert!(
        shown["sl_ceiling_dispute"]
            .as_str()
            .is_some_and(|s| s.contains("FR1")),
        "{shown}"
    );
    // The server is still up, the normal device delivers.
    normal_delivery(&c, &good);
}

// ---- item 3: anonymous disk fill -------------------------------------------

/// 200 oversized enrollment posts, 5,000 garbage tokens and 20,000 session
/// requests, each from its own address: the database grows by less than
/// 1 MB, the audit trail by a bounded number of rows, the sessions table
/// stays within its bound; the audit chain verifies, and an edited row is
/// named by `audit verify`.
#[test]
fn anonymous_requests_cannot_fill_the_disk() {
    let c = start();
    let good = Device::new(None, 2);
    good.enroll(&c);
    let big = c.dir.path().join("big.cwt");
    std::fs::write(&big, oversized_profile_token(250_000)).unwrap();
    let garbage = c.dir.path().join("garbage.cwt");
    std::fs::write(&garbage, b"\xd8\x3d\xd2\x84garbage").unwrap();

    let (size0, audit0) = (db_bytes(&c), count(&c, "audit"));
    let t = Instant::now();
    let codes = curl_many(
        &c,
        "127.0.0.2",
        "POST",
        "/attestation/v1/enroll/x[1-200]",
        Some(&big),
        &[
            "Content-Type: application/eat+cwt",
            "Authorization: Bearer x",
        ],
    );
    assert_eq!(codes.len(), 200);
    assert!(codes.iter().all(|c| *c == 400), "{codes:?}");
    let grown = db_bytes(&c) - size0;
    println!(
        "200 oversized enrollment posts in {:.1} s: database grew by {grown} bytes, audit by {} rows",
        t.elapsed().as_secs_f64(),
        count(&c, "audit") - audit0
    );
    assert!(grown < 1_000_000, "database grew by {grown} bytes");
    let longest: i64 = sql(&c, "SELECT max(length(reason)) FROM audit")
        .parse()
        .unwrap();
    assert!(longest < 700, "an audit reason of {longest} bytes");

    let audit1 = count(&c, "audit");
    let t = Instant::now();
    let codes = curl_many(
        &c,
        "127.0.0.3",
        "POST",
        "/attestation/v1/tokens?n=[1-5000]",
        Some(&garbage),
        &["Content-Type: application/eat+cwt"],
    );
    assert_eq!(codes.len(), 5000);
    assert!(codes.iter().all(|c| *c == 400), "{:?}", &codes[..10]);
    let added = count(&c, "audit") - audit1;
    let repeats: i64 = sql(&c, "SELECT coalesce(sum(n), 0) FROM audit_repeats")
        .parse()
        .unwrap();
    println!(
        "5,000 garbage tokens in {:.1} s: {added} audit rows, {repeats} repeats counted",
        t.elapsed().as_secs_f64()
    );
    assert!(added <= 2, "5,000 identical failures wrote {added} rows");
    assert!(repeats >= 4998, "{repeats}");

    let t = Instant::now();
    let codes = curl_many(
        &c,
        "127.0.0.4",
        "POST",
        "/attestation/v1/sessions?n=[1-20000]",
        None,
        &[],
    );
    let sessions = count(&c, "sessions");
    println!(
        "20,000 session requests in {:.1} s: {} created, sessions table {sessions} rows",
        t.elapsed().as_secs_f64(),
        codes.iter().filter(|c| **c == 201).count()
    );
    assert_eq!(codes.len(), 20_000);
    assert!(
        codes.iter().all(|c| *c == 201 || *c == 429),
        "{:?}",
        &codes[..10]
    );
    assert!(sessions <= 256 + 4, "sessions table at {sessions} rows");

    // The normal device still delivers; the audit chain is intact …
    normal_delivery(&c, &good);
    let o = collector_cli(&c, &["audit", "verify"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // … and an edited entry is named.
    let id = sql(
        &c,
        "SELECT min(id) FROM audit WHERE outcome = 'enroll-rejected'",
    );
    sql(
        &c,
        &format!("UPDATE audit SET reason = 'nothing happened' WHERE id = {id}"),
    );
    let o = collector_cli(&c, &["audit", "verify"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("entry {id}")), "{err}");
}

// ---- item 4: stalled bodies -------------------------------------------------

fn tls_client(c: &Collector) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(c.dir.path().join("ca.pem")).unwrap();
    for cert in rustls_pemfile::certs(&mut &pem[..]) {
        roots.add(cert.unwrap()).unwrap();
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

type Tls = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// A TLS connection to the collector from source address `from`.
async fn connect(port: u16, from: &str, tls: Arc<rustls::ClientConfig>) -> std::io::Result<Tls> {
    let sock = tokio::net::TcpSocket::new_v4()?;
    sock.bind(format!("{from}:0").parse().unwrap())?;
    let tcp = sock
        .connect(format!("127.0.0.1:{port}").parse().unwrap())
        .await?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut s = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await?;
    // TLS 1.3: a refused connection shows on the first write.
    use tokio::io::AsyncWriteExt;
    s.flush().await?;
    Ok(s)
}

/// 300 connections from ten addresses send headers announcing 100,000
/// bytes, then a byte every 5 s (half to the spooled-token route, half into
/// a session); one address cannot open more than its connection limit. The
/// normal device delivers during the attack, within its timeout. Then 24
/// uploads of 16 MiB SBOMs stall halfway: RSS stays within the SBOM memory
/// budget and the device still delivers. At 34 s the slow requests have
/// been answered 408 by the 30 s whole-request deadline.
#[test]
fn slow_bodies_and_stalled_uploads_do_not_block_attestation() {
    use tokio::io::AsyncWriteExt;
    let c = start();
    let good = Device::new(None, 2);
    good.enroll(&c);
    normal_delivery(&c, &good);
    let (sid, _) = c.session();
    let tls = tls_client(&c);
    let port = c.port;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stop = Arc::new(tokio::sync::Notify::new());
    let attack_start = Instant::now();
    let mut slow = Vec::new();
    for i in 0..300usize {
        let (tls, stop) = (tls.clone(), stop.clone());
        let from = format!("127.0.0.{}", 10 + i % 10);
        let path = if i % 2 == 0 {
            "/attestation/v1/tokens".to_string()
        } else {
            format!("/attestation/v1/sessions/{sid}")
        };
        // Ends with the HTTP status the collector answers (its deadline), if any.
        slow.push(rt.spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut s = connect(port, &from, tls).await?;
            s.write_all(format!("POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/eat+cwt\r\nContent-Length: 100000\r\n\r\n").as_bytes()).await?;
            s.flush().await?;
            let mut answer = [0u8; 64];
            loop {
                tokio::select! {
                    _ = stop.notified() => return Ok::<_, std::io::Error>(None),
                    n = s.read(&mut answer) => {
                        let n = n?;
                        let status = std::str::from_utf8(&answer[..n]).ok()
                            .and_then(|t| t.strip_prefix("HTTP/1.1 "))
                            .and_then(|t| t.get(..3)?.parse::<u16>().ok());
                        return Ok(status);
                    }
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {
                        s.write_all(b"x").await?;
                        s.flush().await?;
                    }
                }
            }
        }));
    }
    // One address beyond its connection limit.
    let crowd: Vec<_> = (0..100)
        .map(|_| {
            let tls = tls.clone();
            rt.spawn(async move {
                let mut s = connect(port, "127.0.0.9", tls).await.ok()?;
                s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    .await
                    .ok()?;
                let mut b = [0u8; 12];
                use tokio::io::AsyncReadExt;
                tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut b))
                    .await
                    .ok()?
                    .ok()?;
                tokio::time::sleep(Duration::from_secs(8)).await;
                Some(s)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(4));
    let during = normal_delivery(&c, &good);
    std::thread::sleep(Duration::from_secs(6));
    let again = normal_delivery(&c, &good);
    let served = rt.block_on(async {
        let mut n = 0;
        for h in crowd {
            n += h.await.unwrap().is_some() as usize;
        }
        n
    });
    let alive = slow.iter().filter(|h| !h.is_finished()).count();
    println!(
        "slow-body attack (300 connections, {alive} still open after ~14 s): normal device delivered in {:.2} s and {:.2} s; one address got {served} of 100 connections",
        during.as_secs_f64(),
        again.as_secs_f64()
    );
    assert!(during < Duration::from_secs(10), "{during:?}");
    assert!(again < Duration::from_secs(10), "{again:?}");
    assert!(served <= 64, "{served} connections from one address");
    assert!(served > 0);

    // Stalled SBOM uploads of a referenced digest, two per address.
    let report = json_cli(&c, &["report", "1"])["devices"][0].clone();
    let digest = report["attestation"]["sbom_sha256"]
        .as_str()
        .expect("the agent attests an SBOM digest")
        .to_string();
    let pid = c.child.id();
    let before = rss_kb(pid);
    let half = vec![b'{'; 8 << 20];
    let half = Arc::new(half);
    let uploads: Vec<_> = (0..24usize)
        .map(|i| {
            let (tls, half, digest) = (tls.clone(), half.clone(), digest.clone());
            let from = format!("127.0.0.{}", 30 + i / 2);
            rt.spawn(async move {
                let mut s = connect(port, &from, tls).await?;
                s.write_all(format!("PUT /attestation/v1/sbom/{digest} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n", 16 << 20).as_bytes()).await?;
                // Refused uploads end their connection: stop writing then.
                let _ = tokio::time::timeout(Duration::from_secs(10), s.write_all(&half)).await;
                let _ = s.flush().await;
                tokio::time::sleep(Duration::from_secs(6)).await;
                Ok::<_, std::io::Error>(s)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(5));
    let peak = rss_kb(pid);
    let during_sbom = normal_delivery(&c, &good);
    println!(
        "24 stalled 16 MiB SBOM uploads: collector RSS {} MB -> {} MB; normal device delivered in {:.2} s",
        before / 1024,
        peak / 1024,
        during_sbom.as_secs_f64()
    );
    assert!(
        peak.saturating_sub(before) < 160 * 1024,
        "RSS rose by {} MB",
        (peak - before) / 1024
    );
    for u in uploads {
        u.abort();
    }
    // The whole-request deadline (30 s, body included) ends every slow request.
    let waited = attack_start.elapsed();
    std::thread::sleep(Duration::from_secs(34).saturating_sub(waited));
    stop.notify_waiters();
    let ended: Vec<Option<u16>> = rt.block_on(async {
        let mut v = Vec::new();
        for h in slow {
            v.push(h.await.ok().and_then(Result::ok).flatten());
        }
        v
    });
    let timed_out = ended.iter().filter(|s| **s == Some(408)).count();
    println!(
        "after {:.0} s: {timed_out} of 300 slow requests answered 408 timeout",
        attack_start.elapsed().as_secs_f64()
    );
    assert!(timed_out >= 290, "{ended:?}");
    drop(rt);
    normal_delivery(&c, &good);
}

// ---- item 5: the device's word ----------------------------------------------

/// A second device enrolling with another's UEID is refused
/// (`ueid-in-use`); a foreign token posted into a device's session does not
/// burn it; `application/eat+cwtjunk` is not the token media type.
#[test]
fn ueid_theft_foreign_tokens_and_loose_media_types_are_refused() {
    let c = start();
    let good = Device::new(None, 2);
    let evil = Device::new(None, 2);
    good.enroll(&c);
    let evil_id = evil.enroll(&c);
    // UEID of the good device, on a new key.
    let thief = Device::new(None, 2);
    let secret = c.enroll_secret("plant-7");
    let (sid, nonce) = c.session();
    let raw = std::fs::read(thief.token(Some(&nonce), true)).unwrap();
    let good_ueid = {
        let raw = std::fs::read(good.token(None, false)).unwrap();
        let (s, _) = token::parse(&raw).unwrap();
        eat::decode(s.payload.as_deref().unwrap()).unwrap().ueid
    };
    let (s1, kid) = token::parse(&raw).unwrap();
    let mut cl = eat::decode(s1.payload.as_deref().unwrap()).unwrap();
    cl.ueid = good_ueid;
    let key = thief.state.join("attest-key.p8");
    let t = thief.tree.outside().join("thief.cwt");
    std::fs::write(
        &t,
        token::sign(&cl, &kid, |tbs| es256_sign(&key, tbs)).unwrap(),
    )
    .unwrap();
    let (code, v) = c.curl(
        "POST",
        &format!("/attestation/v1/enroll/{sid}"),
        Some(&t),
        &["-H", &format!("Authorization: Bearer {secret}")],
    );
    assert_eq!(
        (code, v["code"].as_str()),
        (409, Some("ueid-in-use")),
        "{v}"
    );

    // The good device's session; the evil device's token (its own nonce)
    // and garbage are refused without burning it.
    let (sid, nonce) = c.session();
    let (_, evil_nonce) = c.session();
    let foreign = evil.token(Some(&evil_nonce), false);
    let path = format!("/attestation/v1/sessions/{sid}");
    let (code, v) = c.curl("POST", &path, Some(&foreign), &[]);
    assert_eq!(v["code"], "wrong-nonce", "{code} {v}");
    let garbage = c.dir.path().join("g.cwt");
    std::fs::write(&garbage, b"\xd8\x3d\xd2garbage").unwrap();
    assert_eq!(
        c.curl("POST", &path, Some(&garbage), &[]).1["code"],
        "malformed"
    );
    let own = good.token(Some(&nonce), false);
    // Media type: exact, parameters allowed, suffixes not.
    let (code, v) = c.curl(
        "POST",
        &path,
        Some(&own),
        &["-H", "Content-Type: application/eat+cwtjunk"],
    );
    assert_eq!(
        (code, v["code"].as_str()),
        (415, Some("wrong-media-type")),
        "{v}"
    );
    let (code, v) = c.curl("POST", &path, Some(&own), &[]);
    assert_eq!(code, 200, "the session was burnt by a foreign token: {v}");
    let _ = evil_id;
    normal_delivery(&c, &good);
}

/// With mTLS, a device bound to its certificate is held to it on the
/// spooled-token route too: its token posted over another device's
/// certificate is refused, over its own accepted.
#[test]
fn an_mtls_bound_device_is_held_to_its_certificate_on_the_token_route() {
    let c = start_mtls(&[("cli", "device-1"), ("cli2", "device-2")]);
    let (one, two) = (c.cert_args("cli"), c.cert_args("cli2"));
    fn as_str(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let d = Device::new(None, 2);
    let secret = c.enroll_secret("s");
    let (code, v) = c.curl("POST", "/attestation/v1/sessions", None, &as_str(&one));
    assert_eq!(code, 201, "{v}");
    let t = d.token(v["nonce"].as_str(), true);
    let auth = format!("Authorization: Bearer {secret}");
    let mut e = as_str(&one);
    e.extend(["-H", &auth]);
    let sid = v["id"].as_str().unwrap().to_string();
    let (code, v) = c.curl(
        "POST",
        &format!("/attestation/v1/enroll/{sid}"),
        Some(&t),
        &e,
    );
    assert_eq!(code, 201, "{v}");
    c.approve(v["device"].as_i64().unwrap());
    let spooled = d.token(None, false);
    let (code, v) = post_spooled(&c, &spooled, &as_str(&two));
    assert_eq!(
        (code, v["code"].as_str()),
        (403, Some("client-certificate-mismatch")),
        "{v}"
    );
    let (code, v) = post_spooled(&c, &spooled, &as_str(&one));
    assert_eq!(code, 200, "{v}");
}

// The same tests with the collector on PostgreSQL.
fieldattest_tests::on_postgres_too!(
    hostile_claims_are_neutralised_and_the_sl_ceiling_is_computed,
    anonymous_requests_cannot_fill_the_disk,
    slow_bodies_and_stalled_uploads_do_not_block_attestation,
    ueid_theft_foreign_tokens_and_loose_media_types_are_refused,
    an_mtls_bound_device_is_held_to_its_certificate_on_the_token_route,
);
