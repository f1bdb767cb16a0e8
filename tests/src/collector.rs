//! The real collector on a loopback port with an openssl-made test CA, and
//! simulated devices (a fixture rootfs and a state directory) driven by the
//! real agent binary — shared by the collector and daemon end-to-end tests.

use crate::{bin, dpkg_para, fieldattest, Tree};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct Collector {
    pub child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn sh(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!(
            "cannot run {:?}: {e} (scripts/test installs the programs the tests use)",
            cmd.get_program()
        )
    });
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A test CA and a server certificate for 127.0.0.1, made with openssl.
pub fn pki(dir: &Path) {
    let d = |f: &str| dir.join(f);
    sh(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=fieldattest test CA",
            "-keyout",
        ])
        .arg(d("ca.key"))
        .arg("-out")
        .arg(d("ca.pem")));
    issue(dir, "srv", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
}

/// A P-256 key `<name>.key` and a certificate `<name>.pem` signed by the test CA in `dir`.
pub fn issue(dir: &Path, name: &str, cn: &str, ext: &str) {
    let d = |f: &str| dir.join(f);
    std::fs::write(d(&format!("{name}.cnf")), ext).unwrap();
    sh(Command::new("openssl")
        .args([
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            &format!("/CN={cn}"),
            "-keyout",
        ])
        .arg(d(&format!("{name}.key")))
        .arg("-out")
        .arg(d(&format!("{name}.csr"))));
    sh(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-in"])
        .arg(d(&format!("{name}.csr")))
        .arg("-CA")
        .arg(d("ca.pem"))
        .arg("-CAkey")
        .arg(d("ca.key"))
        .arg("-CAcreateserial")
        .arg("-extfile")
        .arg(d(&format!("{name}.cnf")))
        .arg("-out")
        .arg(d(&format!("{name}.pem"))));
}

pub fn start() -> Collector {
    let dir = tempfile::tempdir().unwrap();
    pki(dir.path());
    let (child, port) = spawn_collector(dir.path(), &[]);
    Collector { child, port, dir }
}

/// Starts `serve` on an ephemeral loopback port with the PKI in `dir`; returns
/// the process and the port it printed.
pub fn spawn_collector(dir: &Path, extra: &[&str]) -> (Child, u16) {
    spawn_collector_on(dir, "127.0.0.1:0", extra)
}

/// As [`spawn_collector`], on a given address (a restart on the same port).
pub fn spawn_collector_on(dir: &Path, listen: &str, extra: &[&str]) -> (Child, u16) {
    let mut child = Command::new(bin("fieldattest-collector"))
        .args(["serve", "--listen", listen, "--db"])
        .arg(dir.join("c.db"))
        .arg("--cert")
        .arg(dir.join("srv.pem"))
        .arg("--key")
        .arg(dir.join("srv.key"))
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start collector");
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (child, port)
}

impl Collector {
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("c.db")
    }
    pub fn url(&self, p: &str) -> String {
        format!("https://127.0.0.1:{}{p}", self.port)
    }
    /// curl; returns (HTTP status, body as JSON).
    pub fn curl(
        &self,
        method: &str,
        path: &str,
        body: Option<&Path>,
        extra: &[&str],
    ) -> (u16, Value) {
        let mut c = Command::new("curl");
        c.args(["-s", "-o", "-", "-w", "\n%{http_code}", "--cacert"])
            .arg(self.dir.path().join("ca.pem"))
            .args(["-X", method]);
        if let Some(b) = body {
            if !extra.iter().any(|x| x.starts_with("Content-Type:")) {
                c.arg("-H").arg("Content-Type: application/eat+cwt; eat_profile=\"tag:fieldattest.org,2026:eat/v1\"");
            }
            c.arg("--data-binary").arg(format!("@{}", b.display()));
        }
        c.args(extra).arg(self.url(path));
        let out = c.output().expect("curl");
        let s = String::from_utf8_lossy(&out.stdout).to_string();
        let (b, code) = s.rsplit_once('\n').unwrap_or(("", "0"));
        (
            code.trim().parse().unwrap_or(0),
            serde_json::from_str(b).unwrap_or(Value::String(b.to_string())),
        )
    }
    /// The collector CLI on this database: (exit status, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let o = Command::new(bin("fieldattest-collector"))
            .args(args)
            .arg("--db")
            .arg(self.db())
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into(),
            String::from_utf8_lossy(&o.stderr).into(),
        )
    }

    pub fn cli(&self, args: &[&str]) -> Value {
        let out = Command::new(bin("fieldattest-collector"))
            .args(args)
            .arg("--db")
            .arg(self.db())
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
    /// A one-time enrollment secret from `enroll-token`.
    pub fn enroll_secret(&self, site: &str) -> String {
        let out = Command::new(bin("fieldattest-collector"))
            .args(["enroll-token", "--site", site, "--ttl", "10m", "--db"])
            .arg(self.db())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// `approve DEVICE`.
    pub fn approve(&self, id: i64) {
        let out = Command::new(bin("fieldattest-collector"))
            .args(["approve", &id.to_string(), "--db"])
            .arg(self.db())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn session(&self) -> (String, String) {
        let (code, v) = self.curl("POST", "/attestation/v1/sessions", None, &[]);
        assert_eq!(code, 201, "{v}");
        (
            v["id"].as_str().unwrap().to_string(),
            v["nonce"].as_str().unwrap().to_string(),
        )
    }
}

/// A simulated device: a rootfs and its own state directory.
pub struct Device {
    pub tree: Tree,
    pub state: PathBuf,
}

impl Device {
    pub fn new(host_key: Option<&Path>, packages: usize) -> Self {
        let tree = Tree::new();
        let mut status = String::new();
        for i in 0..packages {
            status.push_str(&dpkg_para(&format!("pkg{i}"), "1.0", "arm64"));
        }
        tree.file("var/lib/dpkg/status", status)
            .file(
                "etc/os-release",
                "ID=debian\nVERSION_ID=12\nNAME=\"Debian GNU/Linux\"\n",
            )
            .file("etc/passwd", "root:x:0:0::/root:/bin/sh\n");
        let key = tree.root().join("etc/ssh/ssh_host_ed25519_key");
        std::fs::create_dir_all(key.parent().unwrap()).unwrap();
        match host_key {
            Some(k) => {
                std::fs::create_dir_all(key.parent().unwrap()).unwrap();
                std::fs::copy(k, &key).unwrap();
                std::fs::copy(k.with_extension("pub"), key.with_extension("pub")).unwrap();
            }
            None => {
                sh(Command::new("ssh-keygen")
                    .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                    .arg(&key));
            }
        }
        let state = tree.outside().join("state");
        Device { tree, state }
    }

    pub fn token(&self, nonce: Option<&str>, enrollment: bool) -> PathBuf {
        let out = self.tree.outside().join(format!("t{}.cwt", counter()));
        let mut args = vec![
            "attest",
            "--state-dir",
            self.state.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        let root = self.tree.root_str();
        if enrollment {
            args.push("--enrollment");
        } else {
            args.extend(["--root", root.as_str()]);
        }
        if let Some(n) = nonce {
            args.extend(["--nonce", n]);
        }
        let o = fieldattest(&args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        out
    }

    pub fn enroll(&self, c: &Collector) -> i64 {
        self.enroll_at(c, "plant-7")
    }

    /// [`Device::enroll`] with a secret for `site`.
    pub fn enroll_at(&self, c: &Collector, site: &str) -> i64 {
        let secret = c.enroll_secret(site);
        let (sid, nonce) = c.session();
        let t = self.token(Some(&nonce), true);
        let (code, v) = c.curl(
            "POST",
            &format!("/attestation/v1/enroll/{sid}"),
            Some(&t),
            &["-H", &format!("Authorization: Bearer {}", secret.trim())],
        );
        assert_eq!(code, 201, "{v}");
        assert_eq!(v["status"], "pending");
        let id = v["device"].as_i64().unwrap();
        c.approve(id);
        id
    }

    /// `fieldattest attest --spool`: a token into the device's spool.
    pub fn spool(&self) {
        let root = self.tree.root_str();
        let o = fieldattest(&[
            "attest",
            "--spool",
            "--root",
            &root,
            "--state-dir",
            self.state.to_str().unwrap(),
        ]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    pub fn spooled(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.state.join("spool"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "cwt"))
            .collect();
        v.sort();
        v
    }

    /// `fieldattest export --out DIR`.
    pub fn export(&self, purge: bool) -> PathBuf {
        let out = self.tree.outside().join(format!("bundle{}", counter()));
        let mut args = vec![
            "export",
            "--state-dir",
            self.state.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        if purge {
            args.push("--purge");
        }
        let o = fieldattest(&args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        out
    }

    pub fn attest_online(&self, c: &Collector) -> (u16, Value) {
        let (code, v, _) = self.attest_online_token(c);
        (code, v)
    }

    /// [`Device::attest_online`], also returning the token file it posted.
    pub fn attest_online_token(&self, c: &Collector) -> (u16, Value, PathBuf) {
        let (sid, nonce) = c.session();
        let t = self.token(Some(&nonce), false);
        let (code, v) = c.curl(
            "POST",
            &format!("/attestation/v1/sessions/{sid}"),
            Some(&t),
            &[],
        );
        (code, v, t)
    }
}

pub fn counter() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}
