//! Typed values of the keywords the resolver knows, parsed and validated as
//! sshd's `process_server_config_line` does.

use super::addr_match_list;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermitRoot {
    ProhibitPassword,
    ForcedCommandsOnly,
    Yes,
    No,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rhosts {
    Yes,
    No,
    ShostsOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forwarding {
    Yes,
    No,
    Local,
    Remote,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gateway {
    No,
    Yes,
    ClientSpecified,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tunnel {
    No,
    PointToPoint,
    Ethernet,
    Yes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Quiet,
    Fatal,
    Error,
    Info,
    Verbose,
    Debug1,
    Debug2,
    Debug3,
}

/// A typed value of a resolved keyword; `Display` prints it as `sshd -T` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Flag(bool),
    PermitRoot(PermitRoot),
    Rhosts(Rhosts),
    Forwarding(Forwarding),
    Gateway(Gateway),
    Tunnel(Tunnel),
    /// PermitUserEnvironment: whether the environment is read, and the
    /// pattern list when one was given.
    UserEnv {
        on: bool,
        allow: Option<String>,
    },
    Level(LogLevel),
    Int(u32),
    Seconds(u64),
    Startups {
        begin: i64,
        rate: i64,
        full: i64,
    },
    List(Vec<String>),
}

impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let yn = |b: bool| if b { "yes" } else { "no" };
        match self {
            Val::Flag(b) => f.write_str(yn(*b)),
            Val::PermitRoot(p) => f.write_str(match p {
                PermitRoot::ProhibitPassword => "without-password",
                PermitRoot::ForcedCommandsOnly => "forced-commands-only",
                PermitRoot::Yes => "yes",
                PermitRoot::No => "no",
            }),
            Val::Rhosts(r) => f.write_str(match r {
                Rhosts::Yes => "yes",
                Rhosts::No => "no",
                Rhosts::ShostsOnly => "shosts-only",
            }),
            Val::Forwarding(x) => f.write_str(match x {
                Forwarding::Yes => "yes",
                Forwarding::No => "no",
                Forwarding::Local => "local",
                Forwarding::Remote => "remote",
            }),
            Val::Gateway(g) => f.write_str(match g {
                Gateway::No => "no",
                Gateway::Yes => "yes",
                Gateway::ClientSpecified => "clientspecified",
            }),
            Val::Tunnel(t) => f.write_str(match t {
                Tunnel::No => "no",
                Tunnel::PointToPoint => "point-to-point",
                Tunnel::Ethernet => "ethernet",
                Tunnel::Yes => "yes",
            }),
            Val::UserEnv { on, allow } => match allow {
                Some(a) => f.write_str(a),
                None => f.write_str(yn(*on)),
            },
            Val::Level(l) => f.write_str(match l {
                LogLevel::Quiet => "QUIET",
                LogLevel::Fatal => "FATAL",
                LogLevel::Error => "ERROR",
                LogLevel::Info => "INFO",
                LogLevel::Verbose => "VERBOSE",
                LogLevel::Debug1 => "DEBUG1",
                LogLevel::Debug2 => "DEBUG2",
                LogLevel::Debug3 => "DEBUG3",
            }),
            Val::Int(n) => write!(f, "{n}"),
            Val::Seconds(n) => write!(f, "{n}"),
            Val::Startups { begin, rate, full } => write!(f, "{begin}:{rate}:{full}"),
            Val::List(v) => f.write_str(&v.join(",")),
        }
    }
}

impl Val {
    pub fn flag(&self) -> Option<bool> {
        match self {
            Val::Flag(b) => Some(*b),
            _ => None,
        }
    }
    pub fn list(&self) -> &[String] {
        match self {
            Val::List(v) => v,
            _ => &[],
        }
    }
}

fn one<'a>(args: &'a [String], what: &str) -> Result<&'a str, String> {
    match args {
        [] => Err(format!("missing {what}")),
        [a] => Ok(a),
        [_, extra, ..] => Err(format!("extra argument '{extra}' at end of line")),
    }
}

fn choose<T: Copy>(arg: &str, table: &[(&str, T)], case: bool) -> Result<T, String> {
    table
        .iter()
        .find(|(n, _)| {
            if case {
                *n == arg
            } else {
                n.eq_ignore_ascii_case(arg)
            }
        })
        .map(|(_, v)| *v)
        .ok_or_else(|| format!("unsupported option \"{arg}\""))
}

/// `strtonum(s, 0, INT_MAX)` (optional sign, decimal digits).
fn atoi(s: &str) -> Result<u32, String> {
    match strtol(s.as_bytes()) {
        Some((v, n)) if n == s.len() => {
            if v < 0 {
                Err(format!("integer value '{s}' too small"))
            } else if v > i32::MAX as i128 {
                Err(format!("integer value '{s}' too large"))
            } else {
                Ok(v as u32)
            }
        }
        _ => Err(format!("integer value '{s}' invalid")),
    }
}

/// `strtol` prefix: optional sign and decimal digits; returns (value
/// saturated, bytes used) or None when no digits.
fn strtol(s: &[u8]) -> Option<(i128, usize)> {
    let mut i = 0;
    let neg = match s.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let start = i;
    let mut v: i128 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        v = (v * 10 + (s[i] - b'0') as i128).min(1 << 70);
        i += 1;
    }
    (i > start).then_some((if neg { -v } else { v }, i))
}

/// sshd time format (`convtime`): `120`, `2m`, `1h30m`; None when invalid.
pub fn convtime(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() {
        return None;
    }
    let max = i32::MAX as i128;
    let mut total: i128 = 0;
    let mut p = 0;
    while p < b.len() {
        let (secs, n) = strtol(&b[p..])?;
        if secs < 0 {
            return None;
        }
        p += n;
        let mult = match b.get(p) {
            None => 1,
            Some(c) => {
                p += 1;
                match c {
                    b's' | b'S' => 1,
                    b'm' | b'M' => 60,
                    b'h' | b'H' => 3600,
                    b'd' | b'D' => 86_400,
                    b'w' | b'W' => 604_800,
                    _ => return None,
                }
            }
        };
        if secs > max / mult {
            return None;
        }
        let secs = secs * mult;
        if total > max - secs {
            return None;
        }
        total += secs;
    }
    Some(total as u64)
}

/// `sscanf(arg, "%d:%d:%d")`: the values converted.
fn scan_startups(s: &str) -> Vec<i64> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut p = 0;
    for i in 0..3 {
        if i > 0 {
            if b.get(p) != Some(&b':') {
                break;
            }
            p += 1;
        }
        while p < b.len() && matches!(b[p], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
            p += 1;
        }
        match strtol(&b[p..]) {
            Some((v, n)) if v >= i32::MIN as i128 && v <= i32::MAX as i128 => {
                out.push(v as i64);
                p += n;
            }
            _ => break,
        }
    }
    out
}

/// Validates a `Ciphers`/`MACs`/`KexAlgorithms` argument as sshd does (names
/// are only checked up to the first empty item; `-` lists not at all). Names
/// we do not know are accepted: the device's sshd may be newer.
fn valid_algorithms(key: &str, arg: &str) -> Result<(), String> {
    if arg.starts_with('-') {
        return Ok(());
    }
    let names = arg.strip_prefix(['+', '^']).unwrap_or(arg);
    if names.is_empty() {
        return Err(format!("bad {key} spec '{arg}'"));
    }
    for n in names.split(',') {
        if n.is_empty() {
            break;
        }
        if n.contains(['*', '?', '!']) {
            return Err(format!(
                "bad {key} spec '{arg}': '{n}' is not an algorithm name"
            ));
        }
    }
    Ok(())
}

/// Parses the arguments of a resolved keyword (canonical name) into a
/// typed value, rejecting what sshd rejects. Algorithm lists come back as
/// written (one item); `effective::resolve` assembles them with the default.
pub fn parse_value(key: &str, args: &[String]) -> Result<Val, String> {
    const FLAG: &[(&str, bool)] = &[("yes", true), ("no", false)];
    let a = || one(args, "argument");
    Ok(match key {
        "usepam"
        | "hostbasedauthentication"
        | "passwordauthentication"
        | "kbdinteractiveauthentication"
        | "x11forwarding"
        | "strictmodes"
        | "permitemptypasswords"
        | "allowagentforwarding"
        | "disableforwarding" => Val::Flag(choose(a()?, FLAG, false)?),
        "permitrootlogin" => Val::PermitRoot(choose(
            a()?,
            &[
                ("without-password", PermitRoot::ProhibitPassword),
                ("prohibit-password", PermitRoot::ProhibitPassword),
                ("forced-commands-only", PermitRoot::ForcedCommandsOnly),
                ("yes", PermitRoot::Yes),
                ("no", PermitRoot::No),
            ],
            false,
        )?),
        "ignorerhosts" => Val::Rhosts(choose(
            a()?,
            &[
                ("yes", Rhosts::Yes),
                ("no", Rhosts::No),
                ("shosts-only", Rhosts::ShostsOnly),
            ],
            false,
        )?),
        "gatewayports" => Val::Gateway(choose(
            a()?,
            &[
                ("clientspecified", Gateway::ClientSpecified),
                ("yes", Gateway::Yes),
                ("no", Gateway::No),
            ],
            false,
        )?),
        "allowtcpforwarding" | "allowstreamlocalforwarding" => Val::Forwarding(choose(
            a()?,
            &[
                ("yes", Forwarding::Yes),
                ("all", Forwarding::Yes),
                ("no", Forwarding::No),
                ("remote", Forwarding::Remote),
                ("local", Forwarding::Local),
            ],
            false,
        )?),
        "permittunnel" => Val::Tunnel(choose(
            a()?,
            &[
                ("no", Tunnel::No),
                ("point-to-point", Tunnel::PointToPoint),
                ("ethernet", Tunnel::Ethernet),
                ("yes", Tunnel::Yes),
            ],
            true,
        )?),
        "permituserenvironment" => {
            let v = a()?;
            if v.is_empty() {
                return Err("missing argument".into());
            }
            match v {
                "yes" => Val::UserEnv {
                    on: true,
                    allow: None,
                },
                "no" => Val::UserEnv {
                    on: false,
                    allow: None,
                },
                p => Val::UserEnv {
                    on: true,
                    allow: Some(p.to_string()),
                },
            }
        }
        "loglevel" => Val::Level(choose(
            a()?,
            &[
                ("QUIET", LogLevel::Quiet),
                ("SILENT", LogLevel::Quiet),
                ("FATAL", LogLevel::Fatal),
                ("ERROR", LogLevel::Error),
                ("INFO", LogLevel::Info),
                ("VERBOSE", LogLevel::Verbose),
                ("DEBUG", LogLevel::Debug1),
                ("DEBUG1", LogLevel::Debug1),
                ("DEBUG2", LogLevel::Debug2),
                ("DEBUG3", LogLevel::Debug3),
            ],
            false,
        )?),
        "maxauthtries" | "maxsessions" => Val::Int(atoi(a()?)?),
        "logingracetime" | "clientaliveinterval" => {
            let v = a()?;
            Val::Seconds(convtime(v).ok_or_else(|| format!("invalid time value '{v}'"))?)
        }
        "maxstartups" => {
            let v = a()?;
            let n = scan_startups(v);
            let bad = || Err(format!("invalid MaxStartups spec '{v}'"));
            match n.as_slice() {
                [b, r, f] => {
                    if b > f || *r > 100 || *r < 1 || *f <= 0 || *b <= 0 {
                        return bad();
                    }
                    Val::Startups {
                        begin: *b,
                        rate: *r,
                        full: *f,
                    }
                }
                [b] => {
                    if *b <= 0 {
                        return bad();
                    }
                    // The rate is whatever an earlier line left (see resolve).
                    Val::Startups {
                        begin: *b,
                        rate: -1,
                        full: *b,
                    }
                }
                _ => return bad(),
            }
        }
        "ciphers" | "macs" | "kexalgorithms" => {
            let v = a()?;
            valid_algorithms(key, v)?;
            Val::List(vec![v.to_string()])
        }
        "allowusers" | "denyusers" | "allowgroups" | "denygroups" => {
            for p in args {
                if p.is_empty() {
                    return Err(format!("empty {key} pattern"));
                }
                if key.ends_with("users") {
                    if let Some((_, host)) = p.split_once('@') {
                        if addr_match_list(None, host) == -2 {
                            return Err(format!("invalid {key} pattern: \"{p}\""));
                        }
                    }
                }
            }
            Val::List(args.to_vec())
        }
        _ => return Err(format!("{key} is not resolved")),
    })
}
