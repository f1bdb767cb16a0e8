//! `fieldattest run` against the real collector on loopback: enrollment,
//! steady delivery with the SBOM, a collector outage (every spooled token
//! delivered exactly once, in order), refusal → dead letter, the spool's drop
//! policy, SIGHUP with a bad configuration, and kill -9 at random points.

use fieldattest_tests::collector::*;
use fieldattest_tests::{bin, fieldattest};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// agent.toml for a device: fast schedule, the test CA, the device's tree.
fn config(d: &Device, port: Option<u16>, ca: &Path, extra: &str) -> PathBuf {
    let collector = port
        .map(|p| {
            format!(
                "[collector]\nurl = \"https://127.0.0.1:{p}\"\nca_file = {:?}\ntimeout = \"5s\"\n",
                ca.display().to_string()
            )
        })
        .unwrap_or_default();
    let text = format!(
        "{collector}[schedule]\ninterval = \"1s\"\njitter = \"0s\"\nretry_min = \"200ms\"\nretry_max = \"1s\"\n\
         [scan]\nroot = {:?}\ncred_budget_ms = 100\n[state]\ndir = {:?}\n{extra}",
        d.tree.root_str(),
        d.state.display().to_string()
    );
    let p = d.tree.outside().join("agent.toml");
    std::fs::write(&p, text).unwrap();
    p
}

struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(cfg: &Path) -> Self {
        let log = cfg.with_extension(format!("log{}", counter()));
        let child = Command::new(bin("fieldattest"))
            .args(["run", "--config"])
            .arg(cfg)
            .stderr(std::fs::File::create(&log).unwrap())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        Daemon { child, log }
    }
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
    fn signal(&self, sig: &str) {
        Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
    }
    /// SIGTERM; returns the exit code and how long the exit took.
    fn stop(mut self) -> (Option<i32>, Duration) {
        let t = Instant::now();
        self.signal("-TERM");
        let st = self.child.wait().unwrap();
        (st.code(), t.elapsed())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

/// Sequence numbers the collector accepted, in audit order.
fn accepted(c: &Collector) -> Vec<i64> {
    let mut v: Vec<(i64, i64)> = Vec::new();
    for (i, e) in c
        .cli(&["audit", "--limit", "100000"])
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        if e["outcome"] == "accepted" {
            let seq = e["reason"]
                .as_str()
                .and_then(|r| r.strip_prefix("seq "))
                .and_then(|r| r.split(';').next())
                .and_then(|s| s.trim().parse().ok())
                .unwrap();
            v.push((i as i64, seq));
        }
    }
    // The audit log lists newest first.
    v.sort_by_key(|(i, _)| -i);
    v.into_iter().map(|(_, s)| s).collect()
}

fn enroll_with_daemon_cli(c: &Collector, d: &Device, cfg: &Path) -> i64 {
    let secret = String::from_utf8(
        Command::new(bin("fieldattest-collector"))
            .args(["enroll-token", "--site", "plant-9", "--db"])
            .arg(c.db())
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let o = fieldattest(&[
        "enroll",
        "--config",
        cfg.to_str().unwrap(),
        "--token",
        secret.trim(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["status"], "pending");
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains(secret.trim()),
        "secret in output"
    );
    let again = fieldattest(&[
        "enroll",
        "--config",
        cfg.to_str().unwrap(),
        "--token",
        secret.trim(),
    ]);
    assert_eq!(again.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already enrolled"));
    let id = v["device"].as_i64().unwrap();
    let out = Command::new(bin("fieldattest-collector"))
        .args(["approve", &id.to_string(), "--db"])
        .arg(c.db())
        .output()
        .unwrap();
    assert!(out.status.success());
    id
}

fn spool_files(d: &Device) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d.state.join("spool"))
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".cwt"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn check_config_names_the_bad_key() {
    let d = Device::new(None, 1);
    let cfg = config(
        &d,
        None,
        Path::new("/nonexistent"),
        "[spool]\nmax_cont = 3\n",
    );
    let o = fieldattest(&["run", "--check-config", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("max_cont") && e.contains("agent.toml"), "{e}");
    let cfg = config(&d, Some(1), Path::new("/nonexistent/ca.pem"), "");
    let o = fieldattest(&["run", "--check-config", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/ca.pem"));
    let cfg = config(&d, None, Path::new("/x"), "");
    let o = fieldattest(&["run", "--check-config", "--config", cfg.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn steady_delivery_with_sbom_and_quick_clean_stop() {
    let c = start();
    let d = Device::new(None, 4);
    let cfg = config(&d, Some(c.port), &c.dir.path().join("ca.pem"), "");
    let id = enroll_with_daemon_cli(&c, &d, &cfg);
    let daemon = Daemon::start(&cfg);
    wait_for("three delivered tokens", 30, || accepted(&c).len() >= 3);
    let sbom = std::fs::read(d.state.join("sbom.cdx.json")).unwrap();
    let digest: String = {
        let o = Command::new("sha256sum")
            .arg(d.state.join("sbom.cdx.json"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    assert!(!sbom.is_empty());
    wait_for("the SBOM at the collector", 10, || {
        c.curl("GET", &format!("/attestation/v1/sbom/{digest}"), None, &[])
            .0
            == 200
    });
    // SIGHUP with a broken file keeps the running configuration.
    let good = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("{good}\n[bogus]\n")).unwrap();
    daemon.signal("-HUP");
    wait_for("the reload error", 10, || {
        daemon.log().contains("reload failed")
    });
    std::fs::write(&cfg, &good).unwrap();
    let n = accepted(&c).len();
    wait_for("delivery after the failed reload", 20, || {
        accepted(&c).len() > n
    });
    let log = daemon.log();
    println!("{log}");
    assert!(
        log.contains("delivered") && log.contains("cycle{n=1"),
        "{log}"
    );
    assert!(!log.contains(
        &String::from_utf8_lossy(&std::fs::read(d.state.join("attest-key.p8")).unwrap()[..8])
            .to_string()
    ));
    let (code, took) = daemon.stop();
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(5), "stop took {took:?}");
    let seqs = accepted(&c);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(c.cli(&["devices"])[0]["id"] == id);
}
