//! A PostgreSQL cluster of a test run's own: `initdb` and `pg_ctl` (the
//! newest under /usr/lib/postgresql) as the `postgres` account, in a
//! private directory, on a private loopback port, its socket in that
//! directory, trust authentication for the user `fa`; stopped when
//! dropped. Shared by the collector's unit tests and the end-to-end tests
//! (`tests/src/pg.rs` includes this file), so it needs std and tempfile only.

#![allow(dead_code)] // each includer uses its part

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub port: u16,
    bin: PathBuf,
}

fn bin() -> PathBuf {
    let mut v: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries (Debian package postgresql; scripts/test installs it)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    v.sort();
    v.pop().expect("no /usr/lib/postgresql/*/bin/initdb")
}

/// Runs a server tool as `postgres`, its output in `log` (never a pipe:
/// the server `pg_ctl` starts would hold it open); whether it succeeded.
fn as_postgres(bin: &Path, tool: &str, args: &[&str], log: &Path) -> bool {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(bin.join(tool))
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .status()
        .expect("runuser")
        .success()
}

impl Cluster {
    pub fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let chown = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(chown.success());
        let bin = bin();
        let data = dir.path().join("data");
        let log = dir.path().join("log");
        assert!(
            as_postgres(
                &bin,
                "initdb",
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-A",
                    "trust",
                    "-U",
                    "fa",
                    "--no-sync"
                ],
                &log,
            ),
            "initdb: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        // A free port: bound once, released, handed to the server.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = Cluster { dir, port, bin };
        c.pg_ctl_start();
        c
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl_start(&self) {
        let opts = format!(
            "-k {} -p {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
            self.dir.path().display(),
            self.port
        );
        let server_log = self.dir.path().join("server.log");
        let log = self.dir.path().join("log");
        let data = self.data();
        assert!(
            as_postgres(
                &self.bin,
                "pg_ctl",
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-l",
                    server_log.to_str().unwrap(),
                    "-o",
                    &opts,
                    "-w",
                    "-t",
                    "60",
                    "-s",
                    "start",
                ],
                &log,
            ),
            "pg_ctl start: {}",
            std::fs::read_to_string(&server_log).unwrap_or_default()
        );
    }

    /// Stops the server (`immediate`: as a crash would, connections cut).
    pub fn stop(&self) -> bool {
        let data = self.data();
        as_postgres(
            &self.bin,
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-s",
                "stop",
            ],
            &self.dir.path().join("log"),
        )
    }

    /// Starts the server again after [`stop`](Self::stop), on the same port.
    pub fn restart(&self) {
        self.pg_ctl_start();
    }

    /// A connection URL of database `db` over loopback TCP.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://fa@127.0.0.1:{}/{db}?sslmode=disable", self.port)
    }

    /// Creates database `name` with `psql`.
    pub fn create_db(&self, name: &str) {
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
    }

    /// Runs `sql` on database `db` with `psql`, stopping at the first
    /// error; panics naming the statement and psql's message.
    pub fn psql(&self, db: &str, sql: &str) {
        let out = Command::new("psql")
            .arg(self.url(db))
            .args(["-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .expect("psql (Debian package postgresql-client)");
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}
