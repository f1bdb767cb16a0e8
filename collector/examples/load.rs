//! Load benchmark: N simulated devices post signed tokens concurrently over
//! TLS 1.3 on loopback to a real `fieldattest-collector serve` process.
//! Prints verified attestations per second, latency percentiles and the
//! collector's peak RSS.
//!
//! `cargo build --profile server -p fieldattest-collector && cargo run --profile server -p fieldattest-collector --example load -- [devices] [tokens-per-device] [connections]`

use fieldattest_collector::store::{SqliteStore, Store};
use fieldattest_protocol::eat::{self, Claims, SwId};
use fieldattest_protocol::token::{self, PublicKey};
use http_body_util::{BodyExt, Full};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use std::io::BufRead;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn claims(ueid: &[u8], seq: u64, cti: u64) -> Claims {
    let measurements = (0..120)
        .map(|i| {
            (
                eat::CF_COSWID,
                fieldattest_protocol::cbor::to_vec(&ciborium::value::Value::Map(vec![(
                    ciborium::value::Value::Integer(0.into()),
                    ciborium::value::Value::Text(format!(
                        "pkg:deb/debian/package-{i}@1.{i}.0-1?arch=arm64&distro=debian-12"
                    )),
                )])),
            )
        })
        .collect();
    let results = (0..67)
        .map(|i| (format!("rule.number-{i}"), if i % 5 == 0 { 2 } else { 1 }))
        .collect();
    Claims {
        iat: 1_800_000_000,
        cti: cti.to_be_bytes().to_vec(),
        ueid: ueid.to_vec(),
        intuse: 1,
        sw: Some(SwId {
            name: "Debian GNU/Linux".into(),
            version: "12".into(),
            scheme: 1,
        }),
        measurements,
        measres: vec![(
            "tag:fieldattest.org,2026:catalog/ccsc@0.1.0".into(),
            results,
        )],
        seq,
        key_tier: 3,
        sl_ceiling: vec![("FR1".into(), 1), ("FR2".into(), 2)],
        ..Default::default()
    }
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (devices, per, conns) = (
        args.first().copied().unwrap_or(100),
        args.get(1).copied().unwrap_or(40),
        args.get(2).copied().unwrap_or(32),
    );
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("load.db");
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    std::fs::write(dir.path().join("srv.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.path().join("srv.key"), cert.key_pair.serialize_pem()).unwrap();

    // Devices enrolled and approved directly in the database; tokens signed up front.
    let rng = SystemRandom::new();
    let store = SqliteStore::open(&db).unwrap();
    let mut bodies: Vec<Vec<Vec<u8>>> = Vec::new();
    let t0 = Instant::now();
    for d in 0..devices {
        let p8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let kp =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, p8.as_ref(), &rng).unwrap();
        let pk = PublicKey(kp.public_key().as_ref().to_vec());
        let mut ueid = vec![1u8];
        ueid.extend((d as u64).to_be_bytes());
        ueid.extend([7u8; 24]);
        let id = store
            .insert_device(&pk.kid(), &ueid, &pk.0, "load", 0)
            .unwrap();
        store.set_status(id, "active").unwrap();
        let toks = (1..=per as u64)
            .map(|s| {
                token::sign(&claims(&ueid, s, (d as u64) << 32 | s), &pk.kid(), |tbs| {
                    kp.sign(&rng, tbs)
                        .map(|x| x.as_ref().to_vec())
                        .map_err(|_| ())
                })
                .unwrap()
            })
            .collect();
        bodies.push(toks);
    }
    drop(store);
    let size = bodies[0][0].len();
    eprintln!(
        "prepared {} tokens of {size} bytes for {devices} devices in {:.1} s",
        devices * per,
        t0.elapsed().as_secs_f64()
    );

    let exe = std::env::current_exe().unwrap();
    let collector = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("fieldattest-collector");
    let mut child = std::process::Command::new(&collector)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .arg("--cert")
        .arg(dir.path().join("srv.pem"))
        .arg("--key")
        .arg(dir.path().join("srv.key"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("build fieldattest-collector with the same profile first");
    let mut line = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().rsplit(':').next().unwrap().parse().unwrap();
    let pid = child.id();

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let tls = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    // Work: every device's tokens in order, spread over the connections.
    let mut queues: Vec<Vec<Vec<u8>>> = vec![Vec::new(); conns];
    for (d, toks) in bodies.into_iter().enumerate() {
        queues[d % conns].extend(toks);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t1 = Instant::now();
    let results: Vec<(usize, usize, Vec<Duration>)> = rt.block_on(async {
        let mut handles = Vec::new();
        for q in queues {
            let tls = tls.clone();
            handles.push(tokio::spawn(async move {
                let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .unwrap();
                let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
                let stream = tokio_rustls::TlsConnector::from(tls)
                    .connect(name, tcp)
                    .await
                    .unwrap();
                let (mut send, conn) =
                    hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                        .await
                        .unwrap();
                tokio::spawn(conn);
                let (mut ok, mut bad, mut lat) = (0, 0, Vec::new());
                for body in q {
                    let req = hyper::Request::post("/attestation/v1/tokens")
                        .header("host", "localhost")
                        .header("content-type", token::MEDIA_TYPE)
                        .body(Full::new(bytes::Bytes::from(body)))
                        .unwrap();
                    let s = Instant::now();
                    let resp = send.send_request(req).await.unwrap();
                    let status = resp.status();
                    let _ = resp.into_body().collect().await;
                    lat.push(s.elapsed());
                    if status == 200 {
                        ok += 1
                    } else {
                        bad += 1
                    }
                }
                (ok, bad, lat)
            }));
        }
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    });
    let wall = t1.elapsed().as_secs_f64();
    let hwm = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .map(|l| {
            l.split_whitespace()
                .nth(1)
                .unwrap_or("0")
                .parse::<u64>()
                .unwrap_or(0)
        })
        .unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    let ok: usize = results.iter().map(|r| r.0).sum();
    let bad: usize = results.iter().map(|r| r.1).sum();
    let mut lat: Vec<Duration> = results.into_iter().flat_map(|r| r.2).collect();
    lat.sort();
    let pct =
        |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1000.0;
    println!("devices {devices}, tokens {} ({size} bytes each, 120 packages, 67 rules), {conns} TLS 1.3 connections", ok + bad);
    println!(
        "verified and stored: {ok} accepted, {bad} refused in {wall:.2} s -> {:.0} attestations/s",
        ok as f64 / wall
    );
    println!(
        "latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
    println!("collector peak RSS {:.1} MB", hwm as f64 / 1024.0);
}
