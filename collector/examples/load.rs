//! Load benchmark: N simulated devices post signed tokens concurrently over
//! TLS 1.3 on loopback to a real `fieldattest-collector serve` process.
//! Prints verified attestations per second, latency percentiles and the
//! collector's peak RSS.
//!
//! `cargo build --profile server -p fieldattest-collector && cargo run --profile server -p fieldattest-collector --example load -- [devices] [tokens-per-device] [connections] [postgres-replicas]`
//!
//! With `postgres-replicas` (1, 2, ...), the collector's database is a
//! PostgreSQL cluster of the benchmark's own (initdb in a temporary
//! directory, private port; Debian's `postgresql`), served by that many
//! `serve` processes; the connections are spread over them.

#[path = "../src/store/pg_cluster.rs"]
mod pg_cluster;
#[path = "../tests/common/sim.rs"]
mod sim;

use fieldattest_collector::store::{PostgresStore, SqliteStore, Store};
use fieldattest_protocol::token;
use std::io::BufRead;
use std::time::{Duration, Instant};

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
    let replicas = args.get(3).copied();
    let dir = tempfile::tempdir().unwrap();
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    std::fs::write(dir.path().join("srv.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.path().join("srv.key"), cert.key_pair.serialize_pem()).unwrap();
    // The database: a file, or a PostgreSQL cluster of the run's own.
    let cluster = replicas.map(|_| {
        let c = pg_cluster::Cluster::start();
        c.create_db("load");
        c
    });
    let db = match &cluster {
        Some(c) => c.url("load"),
        None => dir.path().join("load.db").display().to_string(),
    };

    // Devices enrolled and approved directly in the database; tokens signed up front.
    let store: Box<dyn Store> = match &cluster {
        Some(_) => Box::new(PostgresStore::open(&db, None).unwrap()),
        None => Box::new(SqliteStore::open(std::path::Path::new(&db)).unwrap()),
    };
    let t0 = Instant::now();
    let bodies: Vec<Vec<Vec<u8>>> = (0..devices as u64)
        .map(|d| {
            let dev = sim::Device::enroll(store.as_ref(), d);
            (1..=per as u64).map(|s| dev.token(s, None)).collect()
        })
        .collect();
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
    let mut children = Vec::new();
    let mut ports = Vec::new();
    for _ in 0..replicas.unwrap_or(1).max(1) {
        let mut child = std::process::Command::new(&collector)
            .args(["serve", "--listen", "127.0.0.1:0", "--db", &db])
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
        ports.push(
            line.trim()
                .rsplit(':')
                .next()
                .unwrap()
                .parse::<u16>()
                .unwrap(),
        );
        children.push(child);
    }

    let tls = sim::tls(cert.cert.der());
    // Work: every device's tokens in order, spread over the connections
    // (and the connections over the replicas).
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
        for (i, q) in queues.into_iter().enumerate() {
            let (tls, port) = (tls.clone(), ports[i % ports.len()]);
            handles.push(tokio::spawn(async move {
                let mut send = sim::connect(tls, port).await.unwrap();
                let (mut ok, mut bad, mut lat) = (0, 0, Vec::new());
                for body in q {
                    let s = Instant::now();
                    let (status, _) = sim::post(
                        &mut send,
                        "/attestation/v1/tokens",
                        Some(token::MEDIA_TYPE),
                        body,
                    )
                    .await
                    .unwrap();
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
    let hwm: u64 = children
        .iter()
        .map(|c| {
            std::fs::read_to_string(format!("/proc/{}/status", c.id()))
                .unwrap_or_default()
                .lines()
                .find(|l| l.starts_with("VmHWM"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .max()
        .unwrap_or(0);
    for mut c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
    let ok: usize = results.iter().map(|r| r.0).sum();
    let bad: usize = results.iter().map(|r| r.1).sum();
    let mut lat: Vec<Duration> = results.into_iter().flat_map(|r| r.2).collect();
    lat.sort();
    let pct =
        |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1000.0;
    let backend = match replicas {
        Some(n) => format!("PostgreSQL, {n} replica(s)"),
        None => "SQLite".into(),
    };
    println!("{backend}: devices {devices}, tokens {} ({size} bytes each, 120 packages, 67 rules), {conns} TLS 1.3 connections", ok + bad);
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
    println!(
        "collector peak RSS {:.1} MB (largest replica)",
        hwm as f64 / 1024.0
    );
}
