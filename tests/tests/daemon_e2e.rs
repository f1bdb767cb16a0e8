//! `fieldattest run` against the real collector on loopback: enrollment,
//! steady delivery with the SBOM, a collector outage (every spooled token
//! delivered exactly once, in order), refusal → dead letter, the spool's drop
//! policy, SIGHUP with a bad configuration, and kill -9 at random points.

use fieldattest_tests::collector::*;
use fieldattest_tests::{bin, fieldattest, require_root, require_tool};
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

fn enroll_with_daemon_cli(c: &Collector, cfg: &Path) -> i64 {
    let secret = c.enroll_secret("plant-9");
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
    c.approve(id);
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
    let id = enroll_with_daemon_cli(&c, &cfg);
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

/// Reasons of the audit entries with `outcome`, each as often as it
/// happened (a repeated refusal from one address is one entry with a
/// `repeats` counter).
fn audit_outcomes(c: &Collector, outcome: &str) -> Vec<String> {
    c.cli(&["audit", "--limit", "100000"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == outcome)
        .flat_map(|e| {
            let times = 1 + e["repeats"].as_u64().unwrap_or(0) as usize;
            vec![e["reason"].as_str().unwrap_or("").to_string(); times]
        })
        .collect()
}

fn contiguous(seqs: &[i64]) -> bool {
    seqs.windows(2).all(|w| w[1] == w[0] + 1)
}

#[test]
fn collector_outage_then_every_spooled_token_once_in_order() {
    let mut c = start();
    let d = Device::new(None, 4);
    let cfg = config(&d, Some(c.port), &c.dir.path().join("ca.pem"), "");
    enroll_with_daemon_cli(&c, &cfg);
    c.child.kill().unwrap();
    c.child.wait().unwrap();
    let daemon = Daemon::start(&cfg);
    wait_for(
        "four spooled tokens while the collector is down",
        30,
        || spool_files(&d).len() >= 4,
    );
    assert!(
        daemon.log().contains("delivery postponed"),
        "{}",
        daemon.log()
    );
    c.respawn();
    wait_for("the spool drained", 30, || {
        spool_files(&d).is_empty() && accepted(&c).len() >= 4
    });
    let (code, _) = daemon.stop();
    assert_eq!(code, Some(0));
    let seqs = accepted(&c);
    assert_eq!(seqs[0], 2, "the first token after enrollment: {seqs:?}");
    assert!(contiguous(&seqs), "every token once, in order: {seqs:?}");
    assert!(audit_outcomes(&c, "rejected").is_empty());
}

#[test]
fn refused_token_goes_to_the_dead_letter_area_once() {
    let c = start();
    let d = Device::new(None, 2);
    let cfg = config(&d, Some(c.port), &c.dir.path().join("ca.pem"), "");
    let id = enroll_with_daemon_cli(&c, &cfg);
    let daemon = Daemon::start(&cfg);
    wait_for("a delivered token", 20, || !accepted(&c).is_empty());
    let out = Command::new(bin("fieldattest-collector"))
        .args(["revoke", &id.to_string(), "--db"])
        .arg(&c.db_arg)
        .output()
        .unwrap();
    assert!(out.status.success());
    let dead = d.state.join("spool/dead");
    let dead_tokens = || {
        std::fs::read_dir(&dead)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".cwt"))
            .count()
    };
    wait_for("two dead letters", 20, || dead_tokens() >= 2);
    let (code, _) = daemon.stop();
    assert_eq!(code, Some(0));
    let reasons: Vec<String> = std::fs::read_dir(&dead)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".reason"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect();
    assert!(
        reasons.iter().all(|r| r.starts_with("403 device revoked")),
        "{reasons:?}"
    );
    // Each refused token was posted once, not retried.
    let refused = audit_outcomes(&c, "rejected");
    assert_eq!(refused.len(), dead_tokens(), "{refused:?}");
    assert!(spool_files(&d).is_empty());
}

#[test]
fn full_spool_drops_the_oldest_routine_tokens_and_says_so() {
    let d = Device::new(None, 2);
    let cfg = config(&d, None, Path::new("/unused"), "[spool]\nmax_count = 3\n");
    let daemon = Daemon::start(&cfg);
    wait_for("a dropped token", 30, || {
        daemon.log().contains("spool full")
    });
    wait_for("two drops", 30, || {
        daemon.log().matches("spool full").count() >= 2
    });
    let (code, _) = daemon.stop();
    assert_eq!(code, Some(0));
    let files = spool_files(&d);
    assert_eq!(files.len(), 3, "{files:?}");
    // The first token's evidence was new ("k"), later ones routine ("r"):
    // the kept one survives, the oldest routine ones went.
    assert!(
        files[0].starts_with("00000000000000000001-") && files[0].ends_with("-k.cwt"),
        "{files:?}"
    );
    assert!(
        files[1..].iter().all(|f| f.ends_with("-r.cwt")),
        "{files:?}"
    );
}

#[test]
fn kill_9_at_random_points_loses_and_duplicates_nothing() {
    use fieldattest_protocol::token::{self, PublicKey};
    let mut c = start();
    let d = Device::new(None, 3);
    let cfg = config(&d, Some(c.port), &c.dir.path().join("ca.pem"), "");
    enroll_with_daemon_cli(&c, &cfg);
    let mut up = true;
    let id = fieldattest(&["identity", "--state-dir", d.state.to_str().unwrap()]);
    let pem = String::from_utf8_lossy(&id.stdout);
    let key = PublicKey::from_pem(&pem[pem.find("-----BEGIN").unwrap()..]).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    // A random seed, printed so that a failure can be replayed with
    // FIELDATTEST_KILL_SEED=<seed>.
    let seed = match std::env::var("FIELDATTEST_KILL_SEED") {
        Ok(s) => s
            .trim()
            .parse::<u64>()
            .unwrap_or_else(|e| panic!("FIELDATTEST_KILL_SEED={s:?}: {e}")),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    };
    println!("kill -9 test: seed {seed} (replay with FIELDATTEST_KILL_SEED={seed})");
    let mut rng = seed;
    // Exactly KILLS kills, whatever the time they take; each one is bounded
    // (at most ~1.5 s of daemon run time plus a collector restart), and a
    // kill that takes longer than PER_KILL fails the test.
    const KILLS: u32 = 25;
    const PER_KILL: Duration = Duration::from_secs(30);
    let mut kills = 0;
    while kills < KILLS {
        let this_kill = Instant::now();
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // The collector comes and goes, so kills also hit a spool with a
        // backlog and a backlog being drained.
        if (rng >> 20) % 3 == 0 {
            if up {
                c.child.kill().unwrap();
                c.child.wait().unwrap();
            } else {
                c.respawn();
            }
            up = !up;
        }
        let mut daemon = Daemon::start(&cfg);
        std::thread::sleep(Duration::from_millis(20 + (rng >> 33) % 1500));
        daemon.child.kill().unwrap();
        daemon.child.wait().unwrap();
        kills += 1;
        for f in spool_files(&d) {
            let b = std::fs::read(d.state.join("spool").join(&f)).unwrap();
            let claims = token::verify(&b, &key).unwrap_or_else(|e| {
                panic!("seed {seed}, kill {kills}: corrupt spool file {f}: {e}")
            });
            assert!(
                f.starts_with(&format!("{:020}-", claims.seq)),
                "seed {seed}: {f}"
            );
            seen.insert(claims.seq as i64);
        }
        assert!(
            this_kill.elapsed() < PER_KILL,
            "seed {seed}: kill {kills} took {:?}",
            this_kill.elapsed()
        );
    }
    assert_eq!(kills, KILLS);
    if !up {
        c.respawn();
    }
    // One clean run drains whatever is left.
    let daemon = Daemon::start(&cfg);
    wait_for("a delivery", 30, || daemon.log().contains("delivered"));
    wait_for("the spool drained", 30, || spool_files(&d).is_empty());
    let (code, _) = daemon.stop();
    assert_eq!(code, Some(0));
    let seqs = accepted(&c);
    let unique: std::collections::BTreeSet<i64> = seqs.iter().copied().collect();
    assert_eq!(
        unique.len(),
        seqs.len(),
        "seed {seed}: the collector accepted a duplicate: {seqs:?}"
    );
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "seed {seed}: out of order or reused seq: {seqs:?}"
    );
    let lost: Vec<&i64> = seen.iter().filter(|s| !unique.contains(s)).collect();
    assert!(
        lost.is_empty(),
        "seed {seed}: spooled tokens never delivered: {lost:?}"
    );
    for r in audit_outcomes(&c, "rejected") {
        assert!(
            r.contains("duplicate cti"),
            "seed {seed}: unexpected refusal: {r}"
        );
    }
    assert_eq!(
        std::fs::read_dir(d.state.join("spool/dead"))
            .unwrap()
            .count(),
        0,
        "nothing dead-lettered"
    );
    println!(
        "seed {seed}: {kills} kills, {} tokens accepted, {} seen in the spool after a kill",
        seqs.len(),
        seen.len()
    );
}

/// The SysV script starts the daemon as an unprivileged user holding only
/// CAP_DAC_READ_SEARCH — through setpriv, and through the daemon's own
/// privilege drop — and it still reads a root-only /etc/shadow.
#[test]
#[ignore = "needs root: starts the daemon as nobody with one capability"]
fn sysv_script_runs_the_daemon_unprivileged_with_one_capability() {
    require_root("the init script switches to nobody and sets capabilities");
    require_tool("setpriv", "util-linux");
    require_tool("start-stop-daemon", "dpkg");
    for setpriv in ["auto", "no"] {
        let d = Device::new(None, 2);
        std::fs::write(
            d.tree.root().join("etc/shadow"),
            "root:!:19000:0:99999:7:::\n",
        )
        .unwrap();
        let mut perm = std::fs::metadata(d.tree.root().join("etc/shadow"))
            .unwrap()
            .permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o600);
        std::fs::set_permissions(d.tree.root().join("etc/shadow"), perm).unwrap();
        let cfg = config(
            &d,
            None,
            Path::new("/unused"),
            "[privileges]\nuser = \"nobody\"\n",
        );
        let out = d.tree.outside();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../agent/dist/fieldattest.init");
        let run = |action: &str| {
            Command::new("sh")
                .arg(&script)
                .arg(action)
                .env("DAEMON", bin("fieldattest"))
                .env("CONFIG", &cfg)
                .env("PIDFILE", out.join("fa.pid"))
                .env("RUNAS", "nobody")
                .env("RUNGROUP", "nogroup")
                .env("STATEDIR", &d.state)
                .env("LOGFILE", out.join("fa.log"))
                .env("SETPRIV", setpriv)
                .output()
                .unwrap()
        };
        let o = run("start");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let log = || std::fs::read_to_string(out.join("fa.log")).unwrap_or_default();
        wait_for("a spooled token", 20, || log().contains("token spooled"));
        let pid = std::fs::read_to_string(out.join("fa.pid"))
            .unwrap()
            .trim()
            .to_string();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let field = |k: &str| {
            status
                .lines()
                .find(|l| l.starts_with(k))
                .map(|l| l[k.len()..].trim().to_string())
                .unwrap_or_default()
        };
        assert!(field("Uid:").starts_with("65534"), "{setpriv}: {status}");
        // CAP_DAC_READ_SEARCH is bit 2.
        assert_eq!(field("CapEff:"), "0000000000000004", "{setpriv}: {status}");
        assert_eq!(field("CapBnd:"), "0000000000000004", "{setpriv}: {status}");
        assert_eq!(field("NoNewPrivs:"), "1", "{setpriv}");
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let nice: i32 = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .nth(16)
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(nice, 19, "{setpriv}");
        assert!(!log().contains("unreadable"), "{}", log());
        if setpriv == "no" {
            assert!(
                log().contains("running unprivileged with CAP_DAC_READ_SEARCH only"),
                "{}",
                log()
            );
        }
        let o = run("stop");
        assert!(o.status.success());
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "{setpriv}: still running"
        );
        assert!(log().contains("daemon stopped"), "{}", log());
    }
}

/// SHA-256 (hex) of the DER of a PEM certificate, via openssl.
fn cert_sha256(pem: &Path) -> String {
    let der = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(pem)
        .output()
        .unwrap()
        .stdout;
    let o = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&der)?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// The collector pinned by certificate digest (no CA bundle), and over mTLS
/// with a client certificate: enrollment and delivery work; a wrong pin
/// fails closed and keeps the token spooled.
#[test]
fn pinned_collector_and_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    pki(dir.path());
    issue(
        dir.path(),
        "cli",
        "device-1",
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    );
    let ca = dir.path().join("ca.pem");
    let c = start_in(dir, &["--client-ca", ca.to_str().unwrap()]);
    let d = Device::new(None, 2);
    let pin = cert_sha256(&c.dir.path().join("srv.pem"));
    let mtls = format!(
        "[collector]\nurl = \"https://127.0.0.1:{}\"\npin_sha256 = \"{pin}\"\nclient_cert = {:?}\nclient_key = {:?}\n",
        c.port,
        c.dir.path().join("cli.pem").display().to_string(),
        c.dir.path().join("cli.key").display().to_string()
    );
    let write = |collector: &str| {
        let p = config(&d, None, Path::new("/unused"), "");
        let rest = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, format!("{collector}{rest}")).unwrap();
        p
    };
    let cfg = write(&mtls);
    enroll_with_daemon_cli(&c, &cfg);
    let daemon = Daemon::start(&cfg);
    wait_for("a delivery over mTLS with a pinned server", 20, || {
        !accepted(&c).is_empty()
    });
    daemon.stop();
    // The wrong pin: nothing is sent, the token stays in the spool.
    let cfg = write(&mtls.replace(&pin, &"00".repeat(32)));
    let daemon = Daemon::start(&cfg);
    wait_for("a refused handshake", 20, || {
        daemon.log().contains("delivery postponed")
    });
    assert!(daemon.log().contains("pin_sha256"), "{}", daemon.log());
    daemon.stop();
    assert!(!spool_files(&d).is_empty());
}

/// Under systemd: READY=1 after start-up, WATCHDOG=1 at half WATCHDOG_USEC,
/// STOPPING=1 on SIGTERM, all over $NOTIFY_SOCKET.
#[test]
fn sd_notify_ready_watchdog_stopping() {
    let d = Device::new(None, 1);
    let cfg = config(&d, None, Path::new("/unused"), "");
    let sock_path = d.tree.outside().join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let log = d.tree.outside().join("notify.log");
    let mut child = Command::new(bin("fieldattest"))
        .args(["run", "--config"])
        .arg(&cfg)
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "400000")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while got
        .iter()
        .filter(|m: &&String| m.as_str() == "WATCHDOG=1")
        .count()
        < 2
    {
        let n = sock.recv(&mut buf).expect("a notification");
        got.push(String::from_utf8_lossy(&buf[..n]).to_string());
    }
    assert_eq!(got[0], "READY=1", "{got:?}");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    loop {
        let n = sock.recv(&mut buf).expect("STOPPING=1");
        if &buf[..n] == b"STOPPING=1" {
            break;
        }
    }
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

// The same tests with the collector on PostgreSQL.
fieldattest_tests::on_postgres_too!(
    steady_delivery_with_sbom_and_quick_clean_stop,
    collector_outage_then_every_spooled_token_once_in_order,
    refused_token_goes_to_the_dead_letter_area_once,
    full_spool_drops_the_oldest_routine_tokens_and_says_so,
    kill_9_at_random_points_loses_and_duplicates_nothing,
    pinned_collector_and_client_certificate,
);
