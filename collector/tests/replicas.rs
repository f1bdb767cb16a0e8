//! Three `serve` replicas on one PostgreSQL database, 50 simulated devices
//! posting to a random replica on every request: every token stored exactly
//! once, each device's sequence intact, no session nonce accepted twice;
//! one replica killed with SIGKILL in the middle and PostgreSQL stopped
//! and started again in the middle — the remaining collectors answer 503
//! while the database is away and recover without a restart; nothing is
//! lost or duplicated.
//!
//! The nonce race comes first, on three live replicas; the faults start when
//! every device is past it.

#[path = "../src/store/pg_cluster.rs"]
mod pg_cluster;
#[path = "common/sim.rs"]
mod sim;

use fieldattest_collector::store::PostgresStore;
use fieldattest_protocol::token;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DEVICES: u64 = 50;
/// Offline tokens per device after its session token (seq 1).
const TOKENS: u64 = 12;

struct Replica {
    child: Child,
    port: u16,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(url: &str, dir: &std::path::Path) -> Replica {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fieldattest-collector"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db", url, "--cert"])
        .arg(dir.join("srv.pem"))
        .arg("--key")
        .arg(dir.join("srv.key"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    let port = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    // Keep reading so that the replica never blocks on a full pipe.
    std::thread::spawn(move || {
        for l in err.lines().map_while(Result::ok) {
            eprintln!("replica {port}: {l}");
        }
    });
    Replica { child, port }
}

/// What the devices saw, for the assertions.
#[derive(Default)]
struct Seen {
    /// Answers per status code.
    statuses: Mutex<std::collections::BTreeMap<u16, usize>>,
    /// 409 answers by code.
    conflicts: Mutex<std::collections::BTreeMap<String, usize>>,
    acked: AtomicUsize,
    /// Devices past the nonce race (the faults wait for all of them).
    raced: AtomicUsize,
}

/// The device routes other than tokens, each asked once on replica
/// `port` (the database stopped): (route, status, rejection code).
fn outage_probes(tls: &Arc<rustls::ClientConfig>, port: u16) -> Vec<(String, u16, String)> {
    let digest = "ab".repeat(32);
    let sbom = format!("/attestation/v1/sbom/{digest}");
    let asks: [(&str, &str, Option<&str>); 3] = [
        ("POST", "/attestation/v1/sessions", None),
        ("GET", &sbom, None),
        ("PUT", &sbom, Some("application/vnd.cyclonedx+json")),
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut c = sim::connect(tls.clone(), port).await.unwrap();
        let mut out = Vec::new();
        for (method, path, media) in asks {
            let (status, body) = sim::request(&mut c, method, path, media, b"{}".to_vec())
                .await
                .unwrap();
            out.push((format!("{method} {path}"), status, code(&body)));
        }
        out
    })
}

fn code(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_string))
        .unwrap_or_default()
}

#[test]
fn replicas_share_one_database_through_a_replica_kill_and_a_database_restart() {
    let cluster = pg_cluster::Cluster::start();
    cluster.create_db("fleet");
    let url = cluster.url("fleet");
    let dir = tempfile::tempdir().unwrap();
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    std::fs::write(dir.path().join("srv.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.path().join("srv.key"), cert.key_pair.serialize_pem()).unwrap();

    let devices: Vec<Arc<sim::Device>> = {
        let store = PostgresStore::open(&url, None).unwrap();
        (0..DEVICES)
            .map(|n| Arc::new(sim::Device::enroll(&store, n)))
            .collect()
    };
    let replicas: Arc<Mutex<Vec<Replica>>> = Arc::new(Mutex::new(
        (0..3).map(|_| serve(&url, dir.path())).collect(),
    ));
    let ports: Vec<u16> = replicas.lock().unwrap().iter().map(|r| r.port).collect();
    let tls = sim::tls(cert.cert.der());
    let seen = Arc::new(Seen::default());
    let total = (DEVICES * (TOKENS + 1)) as usize;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The faults, driven by progress: replica 0 killed at a third of the
    // tokens, the database stopped for 3 s at two thirds.
    let outage_503 = Arc::new(AtomicUsize::new(0));
    let in_outage = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let faults = {
        let (seen, replicas, in_outage) = (seen.clone(), replicas.clone(), in_outage.clone());
        let (cluster, tls, ports) = (&cluster, tls.clone(), ports.clone());
        move || {
            let wait = |n: usize| {
                let t = Instant::now();
                while seen.acked.load(Ordering::SeqCst) < n {
                    assert!(t.elapsed() < Duration::from_secs(300), "no progress");
                    std::thread::sleep(Duration::from_millis(5));
                }
            };
            let t = Instant::now();
            while seen.raced.load(Ordering::SeqCst) < DEVICES as usize {
                assert!(
                    t.elapsed() < Duration::from_secs(300),
                    "the nonce race never ended"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            wait(total / 3);
            let mut r = replicas.lock().unwrap();
            r[0].child.kill().unwrap(); // SIGKILL
            r[0].child.wait().unwrap();
            drop(r);
            wait(2 * total / 3);
            in_outage.store(true, Ordering::SeqCst);
            let t = Instant::now();
            assert!(cluster.stop(), "pg_ctl stop");
            let probes = outage_probes(&tls, ports[1]);
            std::thread::sleep(Duration::from_secs(3).saturating_sub(t.elapsed()));
            cluster.restart();
            in_outage.store(false, Ordering::SeqCst);
            probes
        }
    };
    std::thread::scope(|scope| {
        let f = scope.spawn(faults);
        rt.block_on(async {
            let mut tasks = Vec::new();
            for (i, d) in devices.iter().enumerate() {
                let (d, tls, seen, ports) = (d.clone(), tls.clone(), seen.clone(), ports.clone());
                let (outage_503, in_outage) = (outage_503.clone(), in_outage.clone());
                tasks.push(tokio::spawn(async move {
                    // The device's own address.
                    let from = [127, 1, (i / 250) as u8, (i % 250) as u8 + 1];
                    let mut pick = i;
                    let all = ports.clone();
                    let mut next = move || {
                        // A different replica on each request (a
                        // load balancer's round robin, offset per device).
                        pick = pick.wrapping_mul(2_654_435_761).wrapping_add(7) % 1_000_003;
                        all[pick % all.len()]
                    };
                    // Seq 1: a session on one replica, its token posted
                    // to all three at once — exactly one accepts the nonce.
                    let session = loop {
                        let Ok(mut c) = sim::connect_from(tls.clone(), from, next()).await else {
                            continue;
                        };
                        if let Ok((201, b)) =
                            sim::post(&mut c, "/attestation/v1/sessions", None, vec![]).await
                        {
                            break serde_json::from_slice::<serde_json::Value>(&b).unwrap();
                        }
                    };
                    let nonce = (0..session["nonce"].as_str().unwrap().len() / 2)
                        .map(|k| {
                            u8::from_str_radix(
                                &session["nonce"].as_str().unwrap()[2 * k..2 * k + 2],
                                16,
                            )
                            .unwrap()
                        })
                        .collect();
                    let body = d.token(1, Some(nonce));
                    let path = format!(
                        "/attestation/v1/sessions/{}",
                        session["id"].as_str().unwrap()
                    );
                    let mut race = Vec::new();
                    for p in ports.clone() {
                        let (tls, body, path) = (tls.clone(), body.clone(), path.clone());
                        race.push(tokio::spawn(async move {
                            let mut c = sim::connect_from(tls, from, p).await.unwrap();
                            sim::post(&mut c, &path, Some(token::MEDIA_TYPE), body)
                                .await
                                .unwrap_or_else(|e| panic!("port {p}: {e}"))
                        }));
                    }
                    let mut accepted = 0;
                    for r in race {
                        let (s, b) = r.await.unwrap();
                        match s {
                            200 => accepted += 1,
                            409 => assert!(
                                ["nonce-replayed", "duplicate-cti", "sequence-not-increasing"]
                                    .contains(&code(&b).as_str()),
                                "{}",
                                String::from_utf8_lossy(&b)
                            ),
                            other => {
                                panic!("session token: {other} {}", String::from_utf8_lossy(&b))
                            }
                        }
                    }
                    assert_eq!(accepted, 1, "one replica accepts the nonce");
                    seen.acked.fetch_add(1, Ordering::SeqCst);
                    seen.raced.fetch_add(1, Ordering::SeqCst);
                    // Then the spool: each token until acknowledged, on
                    // whichever replica answers.
                    for seq in 2..=TOKENS + 1 {
                        let body = d.token(seq, None);
                        let t = Instant::now();
                        loop {
                            assert!(
                                t.elapsed() < Duration::from_secs(120),
                                "device {} seq {seq} never stored",
                                d.id
                            );
                            let answer = match sim::connect_from(tls.clone(), from, next()).await {
                                Ok(mut c) => {
                                    sim::post(
                                        &mut c,
                                        "/attestation/v1/tokens",
                                        Some(token::MEDIA_TYPE),
                                        body.clone(),
                                    )
                                    .await
                                }
                                Err(e) => Err(e.to_string()),
                            };
                            let Ok((s, b)) = answer else {
                                continue; // the killed replica: try another
                            };
                            *seen.statuses.lock().unwrap().entry(s).or_default() += 1;
                            match s {
                                200 => break,
                                // Stored, its answer lost: recognised.
                                409 if code(&b) == "duplicate-cti" => {
                                    *seen.conflicts.lock().unwrap().entry(code(&b)).or_default() +=
                                        1;
                                    break;
                                }
                                503 => {
                                    if in_outage.load(Ordering::SeqCst) {
                                        outage_503.fetch_add(1, Ordering::SeqCst);
                                    }
                                    tokio::time::sleep(Duration::from_millis(100)).await;
                                }
                                other => panic!(
                                    "device {} seq {seq}: {other} {}",
                                    d.id,
                                    String::from_utf8_lossy(&b)
                                ),
                            }
                        }
                        seen.acked.fetch_add(1, Ordering::SeqCst);
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        });
        let probes = f.join().unwrap();
        // Every device route that needs the database says so while it is
        // away: 503 `unavailable`, never 500 or an answer from nowhere.
        for (route, status, code) in &probes {
            assert_eq!(
                (*status, code.as_str()),
                (503, "unavailable"),
                "{route} while the database is away: {probes:?}"
            );
        }
    });

    // The database after it all, read directly.
    let out = Command::new("psql")
        .arg(&url)
        .args(["-At", "-F", " ", "-c"])
        .arg(format!(
            "SELECT (SELECT COUNT(*) FROM tokens), (SELECT COUNT(DISTINCT (device_id, seq)) FROM tokens),
                    (SELECT COUNT(DISTINCT (device_id, cti)) FROM tokens),
                    (SELECT COUNT(*) FROM devices WHERE last_seq = {last}),
                    (SELECT COUNT(*) FROM sessions WHERE used = 0)",
            last = TOKENS + 1
        ))
        .output()
        .expect("psql");
    let counts = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let t = total.to_string();
    assert_eq!(
        counts,
        format!("{t} {t} {t} {DEVICES} 0"),
        "tokens, distinct (device, seq), distinct (device, cti), devices at their last seq, unused sessions; {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let statuses = seen.statuses.lock().unwrap().clone();
    eprintln!(
        "answers: {statuses:?}; recognised duplicates {:?}; 503 while the database was away: {}",
        seen.conflicts.lock().unwrap(),
        outage_503.load(Ordering::SeqCst)
    );
    assert!(
        outage_503.load(Ordering::SeqCst) > 0,
        "the replicas answer 503 while the database is away: {statuses:?}"
    );
    // The surviving replicas still serve after the restart (no restart of theirs).
    let mut r = replicas.lock().unwrap();
    for x in r.iter_mut().skip(1) {
        assert!(x.child.try_wait().unwrap().is_none(), "a replica exited");
        let _ = x.child.kill();
        let _ = x.child.wait();
    }
}
