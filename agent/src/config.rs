//! The daemon's configuration, `/etc/fieldattest/agent.toml` (every key is
//! documented in `agent/dist/agent.toml` and the README). Unknown keys and bad
//! values are errors naming the file, the key and its line; nothing is
//! silently defaulted from a typo.

use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_PATH: &str = "/etc/fieldattest/agent.toml";
/// `state.dir` (and `--state-dir`) when not set.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/fieldattest";
/// `collector.timeout` when not set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub collector: Option<Collector>,
    pub interval: Duration,
    pub jitter: Duration,
    pub retry_min: Duration,
    pub retry_max: Duration,
    pub root: PathBuf,
    pub sl: u8,
    pub accept: Option<PathBuf>,
    /// CPU time of the default-credential check; 0 turns the check off.
    pub cred_budget_ms: u64,
    /// `cred_check = false` turns the default-credential check off.
    pub cred_check: bool,
    pub max_file_size: u64,
    /// Report MAC addresses and hardware serials in clear (default: hashed).
    pub hardware_ids: bool,
    pub state_dir: PathBuf,
    pub spool: crate::spool::Limits,
    pub nice: i32,
    pub io_idle: bool,
    pub log_level: String,
    pub user: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Collector {
    pub url: String,
    pub host: String,
    pub port: u16,
    pub ca_file: Option<PathBuf>,
    /// SHA-256 of the collector's certificate (DER).
    pub pin_sha256: Option<Vec<u8>>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub timeout: Duration,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    collector: Option<CollectorFile>,
    #[serde(default)]
    schedule: ScheduleFile,
    #[serde(default)]
    scan: ScanFile,
    #[serde(default)]
    state: StateFile,
    #[serde(default)]
    spool: SpoolFile,
    #[serde(default)]
    politeness: PolitenessFile,
    #[serde(default)]
    log: LogFile,
    #[serde(default)]
    privileges: PrivilegesFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CollectorFile {
    url: String,
    ca_file: Option<PathBuf>,
    pin_sha256: Option<String>,
    client_cert: Option<PathBuf>,
    client_key: Option<PathBuf>,
    timeout: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ScheduleFile {
    interval: Option<String>,
    jitter: Option<String>,
    retry_min: Option<String>,
    retry_max: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ScanFile {
    root: Option<PathBuf>,
    sl: Option<u8>,
    accept: Option<PathBuf>,
    cred_budget_ms: Option<u64>,
    cred_check: Option<bool>,
    max_file_size: Option<u64>,
    hardware_ids: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StateFile {
    dir: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SpoolFile {
    max_bytes: Option<u64>,
    max_count: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PolitenessFile {
    nice: Option<i32>,
    io_idle: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct LogFile {
    level: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PrivilegesFile {
    user: Option<String>,
}

fn duration(key: &str, v: Option<&str>, default: Duration) -> Result<Duration, String> {
    match v {
        None => Ok(default),
        Some(s) => humantime::parse_duration(s).map_err(|e| format!("{key}: {s:?}: {e}")),
    }
}

/// `https://host[:port][/]` → (host, port). IPv6 literals in brackets.
fn parse_url(url: &str) -> Result<(String, u16), String> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| format!("collector.url: {url:?} must start with https://"))?;
    let authority = rest.trim_end_matches('/');
    if authority.contains('/') || authority.contains('@') || authority.is_empty() {
        return Err(format!(
            "collector.url: {url:?}: want https://host[:port] without a path"
        ));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, p) = v6
            .split_once(']')
            .ok_or_else(|| format!("collector.url: {url:?}: unclosed ["))?;
        (h.to_string(), p.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    let port = match port {
        None | Some("") => 443,
        Some(p) => p
            .parse()
            .map_err(|_| format!("collector.url: {url:?}: bad port {p:?}"))?,
    };
    Ok((host, port))
}

/// Parses and validates a configuration text; `path` names it in errors.
pub fn parse(text: &str, path: &str) -> Result<Config, String> {
    let f: File = toml::from_str(text).map_err(|e| format!("{path}: {e}"))?;
    from_file(f, path)
}

/// Validates a parsed file; `path` names it in errors.
fn from_file(f: File, path: &str) -> Result<Config, String> {
    let err = |m: String| format!("{path}: {m}");
    let collector = match f.collector {
        None => None,
        Some(c) => {
            let pin = c
                .pin_sha256
                .as_deref()
                .map(|p| {
                    crate::unhex(p).filter(|d| d.len() == 32).ok_or_else(|| {
                        err(format!(
                            "collector.pin_sha256: want 64 hex digits (SHA-256 of the certificate), got {p:?}"
                        ))
                    })
                })
                .transpose()?;
            if c.client_cert.is_some() != c.client_key.is_some() {
                return Err(err(
                    "collector: client_cert and client_key go together".into()
                ));
            }
            let timeout = duration("collector.timeout", c.timeout.as_deref(), DEFAULT_TIMEOUT)
                .map_err(err)?;
            Some(
                Collector::new(
                    &c.url,
                    c.ca_file,
                    pin,
                    c.client_cert.zip(c.client_key),
                    timeout,
                )
                .map_err(err)?,
            )
        }
    };
    let s = &f.schedule;
    let interval = duration(
        "schedule.interval",
        s.interval.as_deref(),
        Duration::from_secs(6 * 3600),
    )
    .map_err(err)?;
    if interval < Duration::from_secs(1) {
        return Err(err("schedule.interval: must be at least 1s".into()));
    }
    let jitter = duration(
        "schedule.jitter",
        s.jitter.as_deref(),
        (interval / 10).min(Duration::from_secs(900)),
    )
    .map_err(err)?;
    if jitter > interval {
        return Err(err("schedule.jitter: larger than schedule.interval".into()));
    }
    let retry_min = duration(
        "schedule.retry_min",
        s.retry_min.as_deref(),
        Duration::from_secs(30),
    )
    .map_err(err)?;
    let retry_max =
        duration("schedule.retry_max", s.retry_max.as_deref(), interval).map_err(err)?;
    if retry_min.is_zero() || retry_min > retry_max {
        return Err(err(
            "schedule.retry_min: must be positive and not above retry_max".into(),
        ));
    }
    let sl = f.scan.sl.unwrap_or(2);
    if !(1..=4).contains(&sl) {
        return Err(err(format!("scan.sl: {sl} is not 1, 2, 3 or 4")));
    }
    let max_file_size = f
        .scan
        .max_file_size
        .unwrap_or(fieldattest_scan::root::DEFAULT_MAX_FILE);
    if max_file_size == 0 {
        return Err(err("scan.max_file_size: must be positive".into()));
    }
    let d = crate::spool::Limits::default();
    let spool = crate::spool::Limits {
        max_bytes: f.spool.max_bytes.unwrap_or(d.max_bytes),
        max_count: f.spool.max_count.unwrap_or(d.max_count),
    };
    if spool.max_count == 0 || spool.max_bytes < 64 * 1024 {
        return Err(err(
            "spool: max_count must be positive and max_bytes at least 65536".into(),
        ));
    }
    let nice = f.politeness.nice.unwrap_or(19);
    if !(-20..=19).contains(&nice) {
        return Err(err(format!("politeness.nice: {nice} is not in -20..19")));
    }
    let log_level = f.log.level.unwrap_or_else(|| "info".into());
    if !matches!(
        log_level.as_str(),
        "error" | "warn" | "info" | "debug" | "trace"
    ) {
        return Err(err(format!(
            "log.level: {log_level:?} (error, warn, info, debug, trace)"
        )));
    }
    Ok(Config {
        collector,
        interval,
        jitter,
        retry_min,
        retry_max,
        root: f.scan.root.unwrap_or_else(|| PathBuf::from("/")),
        sl,
        accept: f.scan.accept,
        cred_budget_ms: f.scan.cred_budget_ms.unwrap_or(2000),
        cred_check: f.scan.cred_check.unwrap_or(true),
        max_file_size,
        hardware_ids: f.scan.hardware_ids.unwrap_or(false),
        state_dir: f
            .state
            .dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR)),
        spool,
        nice,
        io_idle: f.politeness.io_idle.unwrap_or(true),
        log_level,
        user: f.privileges.user,
    })
}

impl Collector {
    /// A validated collector: `https://host[:port]` URL, a way to verify its
    /// certificate (CA file or pin), and optionally a client certificate
    /// and key. Errors name the configuration key.
    pub fn new(
        url: &str,
        ca_file: Option<PathBuf>,
        pin_sha256: Option<Vec<u8>>,
        client: Option<(PathBuf, PathBuf)>,
        timeout: Duration,
    ) -> Result<Collector, String> {
        let (host, port) = parse_url(url)?;
        if ca_file.is_none() && pin_sha256.is_none() {
            return Err(
                "collector: set ca_file or pin_sha256 (the collector's certificate must be verified)"
                    .into(),
            );
        }
        let (client_cert, client_key) = client.unzip();
        Ok(Collector {
            url: url.to_string(),
            host,
            port,
            ca_file,
            pin_sha256,
            client_cert,
            client_key,
            timeout,
        })
    }
}

impl Config {
    /// The configuration of an empty file: an offline agent with defaults.
    pub fn defaults() -> Result<Config, String> {
        from_file(File::default(), "defaults")
    }

    /// Why the default-credential check is off, for the report (None: it runs).
    pub fn cred_skip(&self) -> Option<String> {
        if !self.cred_check {
            Some("cred_check = false in the agent configuration".into())
        } else if self.cred_budget_ms == 0 {
            Some("cred_budget_ms = 0 in the agent configuration".into())
        } else {
            None
        }
    }
}

/// Reads and parses a configuration file.
pub fn load(path: &std::path::Path) -> Result<Config, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cred_check_off_and_zero_budget_skip_the_check() {
        let on = parse("[scan]\ncred_budget_ms = 500\n", "x").unwrap();
        assert_eq!((on.cred_check, on.cred_skip()), (true, None));
        let off = parse("[scan]\ncred_check = false\n", "x").unwrap();
        assert_eq!(
            off.cred_skip().as_deref(),
            Some("cred_check = false in the agent configuration")
        );
        let zero = parse("[scan]\ncred_budget_ms = 0\n", "x").unwrap();
        assert_eq!(
            zero.cred_skip().as_deref(),
            Some("cred_budget_ms = 0 in the agent configuration")
        );
        let bad = parse("[scan]\ncred_check = \"off\"\n", "x").unwrap_err();
        assert!(bad.contains("cred_check"), "{bad}");
    }

    #[test]
    fn full_file_parses() {
        let c = parse(
            r#"
[collector]
url = "https://collector.plant.example:8443/"
ca_file = "/etc/fieldattest/ca.pem"
client_cert = "/etc/fieldattest/client.pem"
client_key = "/etc/fieldattest/client.key"
timeout = "10s"
[schedule]
interval = "1h"
jitter = "5m"
[scan]
sl = 3
accept = "/etc/fieldattest/accept.toml"
[spool]
max_bytes = 1048576
max_count = 50
[politeness]
nice = 10
io_idle = false
[log]
level = "debug"
[privileges]
user = "fieldattest"
"#,
            "agent.toml",
        )
        .unwrap();
        let col = c.collector.unwrap();
        assert_eq!(
            (col.host.as_str(), col.port),
            ("collector.plant.example", 8443)
        );
        assert_eq!(c.interval, Duration::from_secs(3600));
        assert_eq!(c.jitter, Duration::from_secs(300));
        assert_eq!((c.sl, c.nice, c.io_idle), (3, 10, false));
        assert_eq!(c.spool.max_count, 50);
        assert_eq!(c.user.as_deref(), Some("fieldattest"));
    }

    #[test]
    fn empty_file_is_an_offline_agent_with_defaults() {
        let c = parse("", "agent.toml").unwrap();
        assert!(c.collector.is_none());
        assert_eq!(c.interval, Duration::from_secs(6 * 3600));
        assert_eq!((c.sl, c.nice, c.io_idle), (2, 19, true));
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let e = parse(
            "[schedule]\ninterval = \"1h\"\nintervall = \"2h\"\n",
            "a.toml",
        )
        .unwrap_err();
        assert!(
            e.contains("a.toml") && e.contains("intervall") && e.contains("line 3"),
            "{e}"
        );
        let e = parse("[schedule]\ninterval = \"soon\"\n", "a.toml").unwrap_err();
        assert!(e.contains("schedule.interval"), "{e}");
        let e = parse("[scan]\nsl = 5\n", "a.toml").unwrap_err();
        assert!(e.contains("scan.sl"), "{e}");
        let e = parse(
            "[collector]\nurl = \"http://x\"\nca_file = \"/c\"\n",
            "a.toml",
        )
        .unwrap_err();
        assert!(e.contains("https://"), "{e}");
        let e = parse("[collector]\nurl = \"https://x\"\n", "a.toml").unwrap_err();
        assert!(e.contains("ca_file or pin_sha256"), "{e}");
        let e = parse(
            "[collector]\nurl = \"https://x\"\npin_sha256 = \"ab\"\n",
            "a.toml",
        )
        .unwrap_err();
        assert!(e.contains("collector.pin_sha256"), "{e}");
        let e = parse("[log]\nlevel = \"loud\"\n", "a.toml").unwrap_err();
        assert!(e.contains("log.level"), "{e}");
        let e = parse("[spool]\nmax_count = 0\n", "a.toml").unwrap_err();
        assert!(e.contains("spool"), "{e}");
    }

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("https://[::1]:9443").unwrap(),
            ("::1".into(), 9443)
        );
        assert_eq!(
            parse_url("https://c.example").unwrap(),
            ("c.example".into(), 443)
        );
        assert!(parse_url("https://c.example/path").is_err());
        assert!(parse_url("https://user@c.example").is_err());
    }
}

#[cfg(test)]
mod shipped {
    /// The documented configuration shipped in `agent/dist` is valid and
    /// mentions every key the parser knows.
    #[test]
    fn shipped_agent_toml_parses_and_documents_every_key() {
        let text = include_str!("../dist/agent.toml");
        let c = super::parse(text, "agent/dist/agent.toml").unwrap();
        assert_eq!(c.user.as_deref(), Some("fieldattest"));
        let uncommented: String = text
            .lines()
            .map(|l| match l.strip_prefix('#') {
                Some(r)
                    if r.starts_with('[')
                        || r.split(" = ").next().is_some_and(|k| {
                            !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                        }) && r.contains(" = ") =>
                {
                    r
                }
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let all = super::parse(
            &uncommented.replace("3b0c...64 hex digits", &"ab".repeat(32)),
            "x",
        );
        assert!(all.is_ok(), "{all:?}");
        for key in [
            "url",
            "ca_file",
            "pin_sha256",
            "client_cert",
            "client_key",
            "timeout",
            "interval",
            "jitter",
            "retry_min",
            "retry_max",
            "root",
            "sl",
            "accept",
            "cred_budget_ms",
            "cred_check",
            "max_file_size",
            "hardware_ids",
            "dir",
            "max_bytes",
            "max_count",
            "nice",
            "io_idle",
            "level",
            "user",
        ] {
            assert!(text.contains(&format!("{key} = ")), "{key} undocumented");
        }
    }
}
