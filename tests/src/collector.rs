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
    /// The device channel (`--listen`).
    pub port: u16,
    /// The operator console and API (`--operator-listen`).
    pub op_port: u16,
    pub dir: tempfile::TempDir,
    /// The `--db` argument: the SQLite file in `dir`, or a PostgreSQL URL.
    pub db_arg: String,
    /// The PostgreSQL cluster of this collector (stopped after it).
    pub cluster: Option<crate::pg::Cluster>,
}

thread_local! {
    static POSTGRES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the test collectors this thread starts use PostgreSQL (each its
/// own cluster) rather than an SQLite file in their directory.
pub fn postgres_backend() -> bool {
    POSTGRES.with(std::cell::Cell::get)
}

/// Runs an end-to-end test with its collectors on PostgreSQL.
pub fn on_postgres(test: fn()) {
    POSTGRES.with(|p| p.set(true));
    test()
}

/// The end-to-end tests named, once more each on PostgreSQL: a module
/// `postgres` with a test of the same name running the same function
/// through [`on_postgres`] (parametrised, not copied).
#[macro_export]
macro_rules! on_postgres_too {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[test]
                fn $name() {
                    $crate::collector::on_postgres(super::$name)
                }
            )*
        }
    };
}

/// The database of a new test collector in `dir`: its `--db` argument and
/// the cluster holding it (PostgreSQL backend).
pub fn new_db(dir: &Path) -> (String, Option<crate::pg::Cluster>) {
    if postgres_backend() {
        let c = crate::pg::Cluster::start();
        c.create_db("fleet");
        (c.url("fleet"), Some(c))
    } else {
        (dir.join("c.db").display().to_string(), None)
    }
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
    start_in(dir, &[])
}

/// Starts `serve` with the PKI already in `dir` and `extra` options.
pub fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Collector {
    let (db_arg, cluster) = new_db(dir.path());
    let (child, port, op_port) = spawn_collector(dir.path(), &db_arg, extra);
    Collector {
        child,
        port,
        op_port,
        dir,
        db_arg,
        cluster,
    }
}

/// The collector with mTLS (`--client-ca`): a client certificate
/// `<name>.pem`/`<name>.key` (CN `cn`, clientAuth) for each of `clients`,
/// all signed by the test CA.
pub fn start_mtls(clients: &[(&str, &str)]) -> Collector {
    let dir = tempfile::tempdir().unwrap();
    pki(dir.path());
    for (name, cn) in clients {
        issue(
            dir.path(),
            name,
            cn,
            "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
        );
    }
    let ca = dir.path().join("ca.pem").display().to_string();
    start_in(dir, &["--client-ca", &ca])
}

/// Starts `serve` on ephemeral loopback ports with the PKI in `dir`; returns
/// the process, the device port and the operator port it printed.
pub fn spawn_collector(dir: &Path, db: &str, extra: &[&str]) -> (Child, u16, u16) {
    spawn_collector_on(dir, db, "127.0.0.1:0", extra)
}

/// As [`spawn_collector`], the device channel on a given address (a restart
/// on the same port); the operator listener on an ephemeral port.
pub fn spawn_collector_on(dir: &Path, db: &str, listen: &str, extra: &[&str]) -> (Child, u16, u16) {
    let mut child = Command::new(bin("fieldattest-collector"))
        .args([
            "serve",
            "--listen",
            listen,
            "--operator-listen",
            "127.0.0.1:0",
            "--db",
            db,
        ])
        .arg("--cert")
        .arg(dir.join("srv.pem"))
        .arg("--key")
        .arg(dir.join("srv.key"))
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start collector");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut port = || {
        let mut line = String::new();
        err.read_line(&mut line).unwrap();
        line.trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"))
    };
    let device = port();
    let operator = port();
    (child, device, operator)
}

/// The password the test operators get.
pub const OPERATOR_PASSWORD: &str = "test operator passphrase";

impl Collector {
    /// curl arguments presenting the client certificate `name` (see [`start_mtls`]).
    pub fn cert_args(&self, name: &str) -> Vec<String> {
        let p = |ext: &str| {
            self.dir
                .path()
                .join(format!("{name}.{ext}"))
                .display()
                .to_string()
        };
        vec!["--cert".into(), p("pem"), "--key".into(), p("key")]
    }
    /// `fieldattest-collector ARGS --db DB`, whatever its outcome.
    pub fn run_output(&self, args: &[&str]) -> std::process::Output {
        Command::new(bin("fieldattest-collector"))
            .args(args)
            .arg("--db")
            .arg(&self.db_arg)
            .output()
            .unwrap()
    }
    /// Starts `serve` again on the same device port and database (after
    /// its process was killed); the new process becomes `child`.
    pub fn respawn(&mut self) {
        let listen = format!("127.0.0.1:{}", self.port);
        self.child = spawn_collector_on(self.dir.path(), &self.db_arg, &listen, &[]).0;
    }
    /// Runs one SQL statement on the collector's database (`sqlite3` or
    /// `psql`); its output, trimmed (columns separated by `|`).
    pub fn sql(&self, q: &str) -> String {
        let o = if self.cluster.is_some() {
            sh(Command::new("psql").arg(&self.db_arg).args([
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                q,
            ]))
        } else {
            sh(Command::new("sqlite3").arg(self.db()).arg(q))
        };
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }
    /// The SQLite database file (tests of what only SQLite has).
    pub fn db(&self) -> PathBuf {
        assert!(
            self.cluster.is_none(),
            "an SQLite-only test run on PostgreSQL"
        );
        self.dir.path().join("c.db")
    }
    pub fn url(&self, p: &str) -> String {
        format!("https://127.0.0.1:{}{p}", self.port)
    }
    /// A URL of the operator listener.
    pub fn op_url(&self, p: &str) -> String {
        format!("https://127.0.0.1:{}{p}", self.op_port)
    }
    /// `user add NAME --role ROLE` with `password` on stdin; the exit code and stderr.
    pub fn add_user(&self, name: &str, role: &str, password: &str) -> (i32, String) {
        use std::io::Write;
        let mut child = Command::new(bin("fieldattest-collector"))
            .args(["user", "add", name, "--role", role, "--db"])
            .arg(&self.db_arg)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{password}\n").as_bytes()).unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }
    /// Signs in on the operator listener as NAME (created with `role` and
    /// [`OPERATOR_PASSWORD`] if new); the curl cookie jar of the session.
    pub fn login(&self, name: &str, role: &str) -> PathBuf {
        let jar = self.dir.path().join(format!("{name}.cookies"));
        if !jar.exists() {
            let (code, err) = self.add_user(name, role, OPERATOR_PASSWORD);
            assert!(code == 0 || err.contains("exists"), "{err}");
        }
        // The session presented (if any) ends at sign-in.
        let present: &[&str] = if jar.exists() {
            &["-b", jar.to_str().unwrap()]
        } else {
            &[]
        };
        let (code, body, _) = self.op(
            "POST",
            "/login",
            &[
                present,
                &[
                    "-c",
                    jar.to_str().unwrap(),
                    "--data-urlencode",
                    &format!("name={name}"),
                    "--data-urlencode",
                    &format!("password={OPERATOR_PASSWORD}"),
                ],
            ]
            .concat(),
        );
        assert_eq!(code, 303, "sign-in as {name}: {body}");
        jar
    }
    /// curl on the operator listener; (status, body, response headers).
    pub fn op(&self, method: &str, path: &str, extra: &[&str]) -> (u16, String, String) {
        let hdrs = self.dir.path().join(format!("h{}", counter()));
        let out = Command::new("curl")
            .args(["-s", "-o", "-", "-w", "\n%{http_code}", "-D"])
            .arg(&hdrs)
            .arg("--cacert")
            .arg(self.dir.path().join("ca.pem"))
            .args(["-X", method])
            .args(extra)
            .arg(self.op_url(path))
            .output()
            .expect("curl");
        let s = String::from_utf8_lossy(&out.stdout).to_string();
        let (b, code) = s.rsplit_once('\n').unwrap_or(("", "0"));
        let h = std::fs::read_to_string(&hdrs).unwrap_or_default();
        (code.trim().parse().unwrap_or(0), b.to_string(), h)
    }
    /// GET on the operator listener signed in as a viewer; (status, body).
    pub fn console(&self, path: &str) -> (u16, String) {
        let jar = self.dir.path().join("viewer.cookies");
        if !jar.exists() {
            self.login("viewer", "viewer");
        }
        let (code, body, _) = self.op("GET", path, &["-b", jar.to_str().unwrap()]);
        (code, body)
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
    pub fn run_parts(&self, args: &[&str]) -> (i32, String, String) {
        let o = self.run_output(args);
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
            .arg(&self.db_arg)
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
    /// Runs a collector subcommand on this database (`--db` appended);
    /// asserts it succeeds; its stdout, trimmed.
    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new(bin("fieldattest-collector"))
            .args(args)
            .arg("--db")
            .arg(&self.db_arg)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// A one-time enrollment secret from `enroll-token`.
    pub fn enroll_secret(&self, site: &str) -> String {
        self.run(&["enroll-token", "--site", site, "--ttl", "10m"])
    }

    /// `approve DEVICE`.
    pub fn approve(&self, id: i64) {
        self.run(&["approve", &id.to_string()]);
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

    /// Enrolls and approves the device; its id.
    pub fn enroll(&self, c: &Collector) -> i64 {
        self.enroll_at(c, "plant-7")
    }

    /// [`Device::enroll`] with a secret for `site`: enrolled and approved.
    pub fn enroll_at(&self, c: &Collector, site: &str) -> i64 {
        let id = self.enroll_pending(c, site);
        c.approve(id);
        id
    }

    /// Enrolls the device at `site` and leaves it pending; its id.
    pub fn enroll_pending(&self, c: &Collector, site: &str) -> i64 {
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
        v["device"].as_i64().unwrap()
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

/// A DER `INTEGER` as exactly 32 big-endian bytes.
fn int32(der: &[u8]) -> (Vec<u8>, &[u8]) {
    assert_eq!(der[0], 0x02, "INTEGER expected");
    let n = der[1] as usize;
    let v = &der[2..2 + n];
    let v = &v[v.len().saturating_sub(32)..];
    let mut out = vec![0u8; 32 - v.len()];
    out.extend_from_slice(v);
    (out, &der[2 + n..])
}

/// ES256 signature r‖s of `tbs` with the PKCS#8 key at `key` (a device's
/// `attest-key.p8`), by openssl (which writes DER `SEQUENCE { r, s }`): a
/// device holding its software key can sign any claims.
pub fn es256_sign(key: &Path, tbs: &[u8]) -> Result<Vec<u8>, String> {
    let dir = tempfile::tempdir().unwrap();
    let (input, sig) = (dir.path().join("tbs"), dir.path().join("sig"));
    std::fs::write(&input, tbs).unwrap();
    sh(Command::new("openssl")
        .args(["dgst", "-sha256", "-keyform", "DER", "-sign"])
        .arg(key)
        .arg("-out")
        .arg(&sig)
        .arg(&input));
    let der = std::fs::read(&sig).unwrap();
    assert_eq!(der[0], 0x30, "DER SEQUENCE expected");
    let (r, rest) = int32(&der[2..]);
    let (s, _) = int32(rest);
    Ok([r, s].concat())
}
