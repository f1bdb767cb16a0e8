//! OpenSSH `sshd_config(5)`, read the way OpenSSH 9.2's `servconf.c` reads it,
//! and the effective configuration `sshd -T` would print.
//!
//! Lines: leading/trailing whitespace stripped; the keyword ends at whitespace
//! or one `=` (`strdelim`); the rest is split like `argv_split(…, 1)`: `"` and
//! `'` quotes, `\\ \" \' "\ "` escapes, a `#` starting an argument ends the line.
//! `Include` takes glob(3) patterns (relative to `/etc/ssh`, sorted, names
//! starting with `.` only matched by a pattern segment starting with `.`),
//! processed in place; an included file starts in, and gives back, the Match
//! state of the line that included it. `Match` opens a conditional block until
//! the next `Match` or the end of the file it is in.
//!
//! [`SshdConfig::effective`] resolves what sshd does with that: the global pass
//! (top-level lines and `Match all` blocks, first value wins), then the
//! connection pass (only lines in matching Match blocks, first value wins),
//! whose values override the global ones (`copy_set_server_options`).
//!
//! The parser is pure: includes are resolved through a callback that lists and
//! reads files (the caller passes the root-confined view). Work is bounded:
//! include depth 16 (as sshd), at most [`MAX_FILES`] files and [`MAX_BYTES`]
//! bytes in all, and every matcher is linear in its input.

use super::LineError;
use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

/// A keyword assignment with where it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// Lower-case keyword as written (an alias stays an alias: see [`canonical`]).
    pub key: String,
    /// The arguments joined by one space.
    pub value: String,
    /// The arguments after quote removal and escapes.
    pub args: Vec<String>,
    pub path: String,
    pub line: u64,
}

/// One `Match` criterion (attribute names are case-insensitive in the file).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Criterion {
    All,
    User(String),
    Group(String),
    Host(String),
    Address(String),
    LocalAddress(String),
    LocalPort(u16),
    RDomain(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchBlock {
    /// The condition as written (after `Match`).
    pub condition: String,
    /// Parsed criteria (ANDed); empty when the line was invalid.
    pub criteria: Vec<Criterion>,
    /// The block in force where the file holding this block was included
    /// (None: included at top level, or in the main file). This block is
    /// only evaluated when that one is active.
    pub parent: Option<usize>,
    pub path: String,
    pub line: u64,
    /// Lines governed by this block, including top-level lines of files
    /// included inside it.
    pub settings: Vec<Setting>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Global(usize),
    Block(usize, usize),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshdConfig {
    /// Top-level settings (outside any Match block) in processing order.
    pub global: Vec<Setting>,
    pub matches: Vec<MatchBlock>,
    /// Files read, in order.
    pub files: Vec<String>,
    /// Every setting in processing order (includes expanded in place).
    order: Vec<Slot>,
}

/// Include depth sshd allows (SERVCONF_MAX_DEPTH).
pub const MAX_DEPTH: usize = 16;
/// Files read through `Include`, in all.
pub const MAX_FILES: usize = 256;
/// Bytes of configuration text, in all.
pub const MAX_BYTES: usize = 8 << 20;
/// Directory listings for Include globs, in all.
pub const MAX_LISTS: usize = 1024;

/// Keywords whose every occurrence counts (the rest: first wins).
const MULTI: [&str; 11] = [
    "hostkey",
    "listenaddress",
    "port",
    "acceptenv",
    "subsystem",
    "hostcertificate",
    "allowusers",
    "denyusers",
    "allowgroups",
    "denygroups",
    "setenv",
];

/// Keywords sshd 9.2 accepts only outside Match blocks (SSHCFG_GLOBAL);
/// everything else it knows is allowed in both.
const GLOBAL_ONLY: &[&str] = &[
    "usepam",
    "pamauthenticationviakbdint",
    "port",
    "hostkey",
    "hostdsakey",
    "hostkeyagent",
    "pidfile",
    "modulifile",
    "serverkeybits",
    "logingracetime",
    "keyregenerationinterval",
    "syslogfacility",
    "rhostsauthentication",
    "hostkeyalgorithms",
    "dsaauthentication",
    "kerberosorlocalpasswd",
    "kerberosticketcleanup",
    "kerberosgetafstoken",
    "kerberostgtpassing",
    "afstokenpassing",
    "gssapicleanupcredentials",
    "gssapistrictacceptorcheck",
    "checkmail",
    "listenaddress",
    "addressfamily",
    "printmotd",
    "printlastlog",
    "ignoreuserknownhosts",
    "xauthlocation",
    "strictmodes",
    "permituserenvironment",
    "uselogin",
    "compression",
    "tcpkeepalive",
    "keepalive",
    "ciphers",
    "macs",
    "protocol",
    "subsystem",
    "maxstartups",
    "persourcemaxstartups",
    "persourcenetblocksize",
    "usedns",
    "verifyreversemapping",
    "reversemappingcheck",
    "useprivilegeseparation",
    "hostcertificate",
    "kexalgorithms",
    "versionaddendum",
    "fingerprinthash",
    "securitykeyprovider",
];

/// Values a connection's Match pass copies over the global ones
/// (copy_set_server_options), among the keywords resolved here.
const COPIED: &[&str] = &[
    "passwordauthentication",
    "hostbasedauthentication",
    "kbdinteractiveauthentication",
    "permitrootlogin",
    "permitemptypasswords",
    "ignorerhosts",
    "allowtcpforwarding",
    "allowstreamlocalforwarding",
    "allowagentforwarding",
    "disableforwarding",
    "permittunnel",
    "gatewayports",
    "x11forwarding",
    "maxsessions",
    "maxauthtries",
    "clientaliveinterval",
    "loglevel",
    "banner",
    "authorizedkeysfile",
    "allowusers",
    "denyusers",
    "allowgroups",
    "denygroups",
    "pubkeyauthentication",
    "authenticationmethods",
    "forcecommand",
    "chrootdirectory",
];

/// The keywords [`SshdConfig::effective`] resolves (as `sshd -T` names them).
pub const KEYS: &[&str] = &[
    "usepam",
    "logingracetime",
    "maxauthtries",
    "maxsessions",
    "clientaliveinterval",
    "permitrootlogin",
    "ignorerhosts",
    "hostbasedauthentication",
    "passwordauthentication",
    "kbdinteractiveauthentication",
    "x11forwarding",
    "strictmodes",
    "permitemptypasswords",
    "gatewayports",
    "allowtcpforwarding",
    "allowagentforwarding",
    "disableforwarding",
    "allowstreamlocalforwarding",
    "ciphers",
    "macs",
    "kexalgorithms",
    "loglevel",
    "allowusers",
    "denyusers",
    "allowgroups",
    "denygroups",
    "maxstartups",
    "permittunnel",
    "permituserenvironment",
];

/// Whether a value of `key` (canonical) set in a Match block takes effect
/// for the connections the block matches (copy_set_server_options).
pub fn settable_in_match(key: &str) -> bool {
    COPIED.contains(&key)
}

/// The canonical keyword of an alias (lower-case input).
pub fn canonical(key: &str) -> &str {
    match key {
        "challengeresponseauthentication" | "skeyauthentication" => "kbdinteractiveauthentication",
        "hostdsakey" => "hostkey",
        "keepalive" => "tcpkeepalive",
        "dsaauthentication" => "pubkeyauthentication",
        "pubkeyacceptedkeytypes" => "pubkeyacceptedalgorithms",
        "hostbasedacceptedkeytypes" => "hostbasedacceptedalgorithms",
        k => k,
    }
}

impl SshdConfig {
    /// The first value of `key` in the global pass (top-level lines and
    /// `Match all` blocks), overridden by the first in a `Match all` block
    /// for keywords a Match block can set — what plain `sshd -T` shows.
    pub fn get(&self, key: &str) -> Option<&Setting> {
        let k = key.to_ascii_lowercase();
        let k = canonical(&k);
        let act = self.activity(None);
        let first = |pass2: bool| {
            self.order
                .iter()
                .filter(|s| self.slot_active(**s, &act, pass2))
                .map(|s| self.setting(*s))
                .find(|s| canonical(&s.key) == k)
        };
        if COPIED.contains(&k) {
            if let Some(s) = first(true) {
                return Some(s);
            }
        }
        first(false)
    }
    /// All values of a multi-valued keyword in the global pass, in order.
    pub fn all(&self, key: &str) -> Vec<&Setting> {
        let k = key.to_ascii_lowercase();
        let k = canonical(&k);
        let act = self.activity(None);
        self.order
            .iter()
            .filter(|s| self.slot_active(**s, &act, false))
            .map(|s| self.setting(*s))
            .filter(|s| canonical(&s.key) == k)
            .collect()
    }
    pub fn is_multi(key: &str) -> bool {
        MULTI.contains(&key)
    }

    fn setting(&self, s: Slot) -> &Setting {
        match s {
            Slot::Global(i) => &self.global[i],
            Slot::Block(b, i) => &self.matches[b].settings[i],
        }
    }

    /// Whether each block is active in the global pass (`.0`) and in the
    /// connection pass for `conn` (`.1`).
    fn activity(&self, conn: Option<&Conn>) -> (Vec<bool>, Vec<bool>) {
        let blank = Conn::default();
        let conn = conn.unwrap_or(&blank);
        let mut a1 = Vec::with_capacity(self.matches.len());
        let mut a2 = Vec::with_capacity(self.matches.len());
        for m in &self.matches {
            // Parents always come first.
            let (p1, p2) = match m.parent {
                Some(p) => (a1[p], a2[p]),
                None => (true, true),
            };
            a1.push(p1 && eval_criteria(&m.criteria, None));
            a2.push(p2 && eval_criteria(&m.criteria, Some(conn)));
        }
        (a1, a2)
    }

    fn slot_active(&self, s: Slot, act: &(Vec<bool>, Vec<bool>), pass2: bool) -> bool {
        match (s, pass2) {
            (Slot::Global(_), p2) => !p2,
            (Slot::Block(b, _), false) => act.0[b],
            (Slot::Block(b, _), true) => act.1[b],
        }
    }

    /// Settings in processing order with the block they are in.
    pub fn ordered(&self) -> impl Iterator<Item = (Option<usize>, &Setting)> + '_ {
        self.order.iter().map(move |s| match *s {
            Slot::Global(i) => (None, &self.global[i]),
            Slot::Block(b, i) => (Some(b), &self.matches[b].settings[i]),
        })
    }

    /// The chain of non-`all` criteria that must hold for block `b` to be
    /// active in a connection pass (outermost first; empty: always).
    pub fn guard(&self, b: usize) -> Vec<&Criterion> {
        let mut chain = Vec::new();
        let mut cur = Some(b);
        while let Some(i) = cur {
            chain.push(i);
            cur = self.matches[i].parent;
        }
        chain
            .iter()
            .rev()
            .flat_map(|i| self.matches[*i].criteria.iter())
            .filter(|c| **c != Criterion::All)
            .collect()
    }

    /// Whether block `b` can ever be active (its chain never passes through
    /// an invalid block, which matches nothing).
    pub fn reachable(&self, b: usize) -> bool {
        let mut cur = Some(b);
        while let Some(i) = cur {
            if self.matches[i].criteria.is_empty() {
                return false;
            }
            cur = self.matches[i].parent;
        }
        true
    }

    /// The effective configuration for a connection (`sshd -T -C …`), or with
    /// no connection information (`sshd -T`: only `Match all` blocks apply).
    pub fn effective(&self, conn: Option<&Conn>, defaults: &Defaults) -> Effective<'_> {
        let act = self.activity(conn);
        let mut map = BTreeMap::new();
        for &key in KEYS {
            let lines = |pass2: bool| -> Vec<&Setting> {
                self.order
                    .iter()
                    .filter(|s| self.slot_active(**s, &act, pass2))
                    .map(|s| self.setting(*s))
                    .filter(|s| canonical(&s.key) == key)
                    .collect()
            };
            let p1 = lines(false);
            let p2 = if COPIED.contains(&key) || key == "permituserenvironment" {
                lines(true)
            } else {
                Vec::new()
            };
            map.insert(key, resolve(key, &p1, &p2, defaults));
        }
        Effective { map }
    }
}

/// One resolved keyword: its value and the lines it came from (none: the
/// compiled-in default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved<'a> {
    pub value: Val,
    pub from: Vec<&'a Setting>,
}

/// The effective values of [`KEYS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective<'a> {
    map: BTreeMap<&'static str, Resolved<'a>>,
}

impl<'a> Effective<'a> {
    pub fn get(&self, key: &str) -> Option<&Resolved<'a>> {
        self.map.get(key)
    }
    pub fn value(&self, key: &str) -> Option<&Val> {
        self.map.get(key).map(|r| &r.value)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Resolved<'a>)> {
        self.map.iter().map(|(k, v)| (*k, v))
    }
}

/// Connection attributes for `Match` (`sshd -T -C user=…,host=…,addr=…`).
/// An absent attribute never matches (sshd's test mode).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conn {
    pub user: Option<String>,
    /// The user's groups (primary included); empty when the user does not exist.
    pub groups: Vec<String>,
    pub host: Option<String>,
    pub addr: Option<String>,
    pub laddr: Option<String>,
    pub lport: Option<u16>,
    pub rdomain: Option<String>,
}

/// Compiled-in defaults the resolver needs (per OpenSSH version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    pub version: Option<(u32, u32)>,
    pub ciphers: String,
    pub macs: String,
    pub kex: String,
}

impl Defaults {
    pub fn openssh(version: Option<(u32, u32)>) -> Self {
        let d = |k| default_for(k, version).unwrap_or("").to_string();
        Defaults {
            version,
            ciphers: d("ciphers"),
            macs: d("macs"),
            kex: d("kexalgorithms"),
        }
    }
}

// ---------------------------------------------------------------------------
// Values

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

/// Known algorithm names (OpenSSH 9.2 plus older and newer ones), the
/// universe `Ciphers`/`MACs`/`KexAlgorithms` lists are filtered through.
const ALL_CIPHERS: &str = "3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,blowfish-cbc,cast128-cbc,arcfour,arcfour128,arcfour256,rijndael-cbc@lysator.liu.se";
const ALL_MACS: &str = "hmac-sha1,hmac-sha1-96,hmac-sha2-256,hmac-sha2-512,hmac-md5,hmac-md5-96,umac-64@openssh.com,umac-128@openssh.com,hmac-sha1-etm@openssh.com,hmac-sha1-96-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-md5-etm@openssh.com,hmac-md5-96-etm@openssh.com,umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-ripemd160,hmac-ripemd160@openssh.com,hmac-ripemd160-etm@openssh.com";
const ALL_KEX: &str = "diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group14-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1,diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,curve25519-sha256,curve25519-sha256@libssh.org,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,mlkem768x25519-sha256,sntrup4591761x25519-sha512@tinyssh.org";

fn algorithm_universe(key: &str) -> &'static str {
    match key {
        "ciphers" => ALL_CIPHERS,
        "macs" => ALL_MACS,
        _ => ALL_KEX,
    }
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
/// written (one item); [`resolve`] assembles them with the default.
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

fn resolve<'a>(
    key: &'static str,
    p1: &[&'a Setting],
    p2: &[&'a Setting],
    d: &Defaults,
) -> Resolved<'a> {
    let parse = |s: &Setting| parse_value(key, &s.args).ok();
    match key {
        "maxstartups" => {
            // Every line writes (last wins), a single number keeps the rate.
            let (mut b, mut r, mut f) = (-1i64, -1i64, -1i64);
            let mut from = Vec::new();
            for s in p1 {
                if let Some(Val::Startups { begin, rate, full }) = parse(s) {
                    b = begin;
                    f = full;
                    if rate != -1 {
                        r = rate;
                    }
                    from = vec![*s];
                }
            }
            let or = |v: i64, dflt| if v == -1 { dflt } else { v };
            Resolved {
                value: Val::Startups {
                    begin: or(b, 10),
                    rate: or(r, 30),
                    full: or(f, 100),
                },
                from,
            }
        }
        "allowusers" | "denyusers" | "allowgroups" | "denygroups" => {
            let collect = |lines: &[&'a Setting]| {
                let mut v = Vec::new();
                let mut from = Vec::new();
                for s in lines {
                    if let Some(Val::List(l)) = parse(s) {
                        v.extend(l);
                        from.push(*s);
                    }
                }
                (v, from)
            };
            let (v2, f2) = collect(p2);
            let (v, from) = if v2.is_empty() { collect(p1) } else { (v2, f2) };
            Resolved {
                value: Val::List(v),
                from,
            }
        }
        "ciphers" | "macs" | "kexalgorithms" => {
            let def = match key {
                "ciphers" => &d.ciphers,
                "macs" => &d.macs,
                _ => &d.kex,
            };
            let all = algorithm_universe(key);
            let first = p1.iter().find_map(|s| parse(s).map(|v| (v, *s)));
            match first {
                Some((Val::List(v), s)) => {
                    let mut list = assemble_names(&v[0], def, all, true).unwrap_or_default();
                    if list.is_empty() {
                        // A `-` list removing everything leaves "", which sshd
                        // assembles again (copy_set_server_options) into the
                        // default.
                        list = assemble_names("", def, all, true).unwrap_or_default();
                    }
                    Resolved {
                        value: Val::List(list),
                        from: vec![s],
                    }
                }
                _ => Resolved {
                    value: Val::List(assemble_names("", def, all, true).unwrap_or_default()),
                    from: vec![],
                },
            }
        }
        "permituserenvironment" => {
            let first1 = p1.iter().find_map(|s| parse(s).map(|v| (v, *s)));
            let (mut value, mut from) = match first1 {
                Some((v, s)) => (v, vec![s]),
                None => (
                    Val::UserEnv {
                        on: false,
                        allow: None,
                    },
                    vec![],
                ),
            };
            // The connection pass copies only the pattern list.
            if let Some((Val::UserEnv { allow: Some(a), .. }, s)) =
                p2.iter().find_map(|s| parse(s).map(|v| (v, *s)))
            {
                if let Val::UserEnv { allow, .. } = &mut value {
                    *allow = Some(a);
                }
                from = vec![s];
            }
            Resolved { value, from }
        }
        _ => {
            let first =
                |lines: &[&'a Setting]| lines.iter().find_map(|s| parse(s).map(|v| (v, *s)));
            match first(p2).or_else(|| first(p1)) {
                Some((value, s)) => Resolved {
                    value,
                    from: vec![s],
                },
                None => {
                    let dflt = default_for(key, d.version).unwrap_or("");
                    let value = parse_value(key, &[dflt.to_string()]).unwrap_or(Val::Flag(false));
                    Resolved {
                        value,
                        from: vec![],
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Matching

/// Matches `name` against a pattern with `*` (any run) and `?` (any one
/// byte), in time O(len(pat) * len(name)) at worst — no backtracking blowup.
pub fn glob_match(pat: &str, name: &str) -> bool {
    let toks: Vec<Tok> = pat
        .bytes()
        .map(|b| match b {
            b'*' => Tok::Star,
            b'?' => Tok::Any,
            c => Tok::Lit(c),
        })
        .collect();
    match_toks(&toks, name.as_bytes())
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Star,
    Any,
    Lit(u8),
    /// A bracket expression: negated, then (low, high) inclusive ranges.
    Class(bool, Vec<(u8, u8)>),
}

impl Tok {
    fn one(&self, c: u8) -> bool {
        match self {
            Tok::Star => true,
            Tok::Any => true,
            Tok::Lit(l) => *l == c,
            Tok::Class(neg, ranges) => ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != *neg,
        }
    }
}

/// Two-pointer wildcard matching: on a mismatch, resume after the last star
/// with one more byte consumed by it. Each (star, position) pair is tried at
/// most once, so the work is bounded by len(toks) * len(s).
fn match_toks(toks: &[Tok], s: &[u8]) -> bool {
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if p < toks.len() && toks[p] == Tok::Star {
            p += 1;
            star = Some((p, i));
        } else if p < toks.len() && toks[p].one(s[i]) {
            p += 1;
            i += 1;
        } else if let Some((sp, si)) = star {
            p = sp;
            i = si + 1;
            star = Some((sp, si + 1));
        } else {
            return false;
        }
    }
    toks[p..].iter().all(|t| *t == Tok::Star)
}

/// OpenSSH `match_pattern_list`: comma-separated patterns, `!` negates.
/// 1: a positive match, -1: a negated match, 0: none.
pub fn match_pattern_list(s: &str, list: &str, lower: bool) -> i32 {
    let mut got = 0;
    for sub in list.split(',') {
        let (neg, sub) = match sub.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, sub),
        };
        if sub.len() >= 1023 {
            return 0;
        }
        let m = if lower {
            glob_match(&sub.to_ascii_lowercase(), s)
        } else {
            glob_match(sub, s)
        };
        if m {
            if neg {
                return -1;
            }
            got = 1;
        }
    }
    got
}

/// `addr_pton_cidr`: Ok((address, mask length)), Err(-1) not an address,
/// Err(-2) an address with an inconsistent mask.
fn pton_cidr(p: &str) -> Result<(IpAddr, u32), i32> {
    if p.len() >= 64 {
        return Err(-1);
    }
    let (a, mask) = match p.split_once('/') {
        Some((a, m)) => {
            if m.is_empty() || !m.bytes().all(|b| b.is_ascii_digit()) {
                return Err(-1);
            }
            let v: u64 = m.parse().unwrap_or(u64::MAX);
            if v > 128 {
                return Err(-1);
            }
            (a, Some(v as u32))
        }
        None => (p, None),
    };
    let ip: IpAddr = a.parse().map_err(|_| -1)?;
    let bits = if ip.is_ipv4() { 32 } else { 128 };
    let len = mask.unwrap_or(bits);
    if len > bits {
        return Err(-2);
    }
    let host = ip_bits(ip) & host_mask(bits, len);
    if host != 0 {
        return Err(-2);
    }
    Ok((ip, len))
}

fn ip_bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v) => u32::from(v) as u128,
        IpAddr::V6(v) => u128::from(v),
    }
}

fn host_mask(bits: u32, len: u32) -> u128 {
    let width = if bits == 32 {
        u32::MAX as u128
    } else {
        u128::MAX
    };
    if len == 0 {
        width
    } else if len >= bits {
        0
    } else {
        (width >> len) & width
    }
}

/// OpenSSH `addr_match_list`: CIDR entries or wildcard patterns, `!`
/// negates. With no address only checks the list (0 or -2).
pub fn addr_match_list(addr: Option<&str>, list: &str) -> i32 {
    let try_ip = match addr {
        Some(a) => match a.parse::<IpAddr>() {
            Ok(ip) => Some((a, ip)),
            Err(_) => return 0,
        },
        None => None,
    };
    let mut ret = 0;
    for cp in list.split(',') {
        let (neg, cp) = match cp.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, cp),
        };
        if cp.is_empty() {
            return -2;
        }
        let found = match pton_cidr(cp) {
            Err(-2) => return -2,
            Ok((net, len)) => try_ip.is_some_and(|(_, ip)| {
                ip.is_ipv4() == net.is_ipv4() && {
                    let bits = if ip.is_ipv4() { 32 } else { 128 };
                    (ip_bits(ip) ^ ip_bits(net)) & !host_mask(bits, len) & host_mask(bits, 0) == 0
                }
            }),
            Err(_) => try_ip.is_some_and(|(a, _)| glob_match(cp, a)),
        };
        if found {
            if neg {
                return -1;
            }
            ret = 1;
        }
    }
    ret
}

fn eval_criteria(crit: &[Criterion], conn: Option<&Conn>) -> bool {
    if crit.is_empty() {
        return false;
    }
    crit.iter().all(|c| match (c, conn) {
        (Criterion::All, _) => true,
        (_, None) => false,
        (Criterion::User(p), Some(k)) => k
            .user
            .as_deref()
            .is_some_and(|u| match_pattern_list(u, p, false) == 1),
        (Criterion::Group(p), Some(k)) => {
            k.user.is_some() && {
                let mut found = false;
                for g in &k.groups {
                    match match_pattern_list(g, p, false) {
                        -1 => return false,
                        1 => found = true,
                        _ => {}
                    }
                }
                found
            }
        }
        (Criterion::Host(p), Some(k)) => k
            .host
            .as_deref()
            .is_some_and(|h| match_pattern_list(&h.to_ascii_lowercase(), p, true) == 1),
        (Criterion::Address(p), Some(k)) => k
            .addr
            .as_deref()
            .is_some_and(|a| addr_match_list(Some(a), p) == 1),
        (Criterion::LocalAddress(p), Some(k)) => k
            .laddr
            .as_deref()
            .is_some_and(|a| addr_match_list(Some(a), p) == 1),
        (Criterion::LocalPort(n), Some(k)) => k.lport == Some(*n),
        (Criterion::RDomain(p), Some(k)) => k
            .rdomain
            .as_deref()
            .is_some_and(|r| match_pattern_list(r, p, false) == 1),
    })
}

// ---------------------------------------------------------------------------
// Lexing

const WS: &[u8] = b" \t\r\n";

fn skip_ws(s: &str) -> &str {
    s.trim_start_matches(|c: char| c.is_ascii() && WS.contains(&(c as u8)))
}

/// OpenSSH `strdelim`: the next token, split at whitespace, one `=`, or a
/// double-quoted run. Ok((token, rest)); rest None when the string ended;
/// Err when a quote is not closed.
fn strdelim(s: &str) -> Result<(String, Option<&str>), ()> {
    let b = s.as_bytes();
    let Some(p) = b
        .iter()
        .position(|c| WS.contains(c) || *c == b'"' || *c == b'=')
    else {
        return Ok((s.to_string(), None));
    };
    if b[p] == b'"' {
        let after = &s[p + 1..];
        let q = after.find('"').ok_or(())?;
        let tok = format!("{}{}", &s[..p], &after[..q]);
        return Ok((tok, Some(skip_ws(&after[q + 1..]))));
    }
    let eq = b[p] == b'=';
    let mut r = skip_ws(&s[p + 1..]);
    if !eq {
        if let Some(x) = r.strip_prefix('=') {
            r = skip_ws(x);
        }
    }
    Ok((s[..p].to_string(), Some(r)))
}

/// OpenSSH `argv_split(s, …, terminate_on_comment = 1)`. None: unbalanced quotes.
pub fn argv_split(s: &str) -> Option<Vec<String>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b' ' || b[i] == b'\t' {
            i += 1;
            continue;
        }
        if b[i] == b'#' {
            break;
        }
        let mut arg = Vec::new();
        let mut quote = 0u8;
        while i < b.len() {
            let c = b[i];
            if c == b'\\' {
                match b.get(i + 1) {
                    Some(&n)
                        if n == b'\'' || n == b'"' || n == b'\\' || (quote == 0 && n == b' ') =>
                    {
                        i += 1;
                        arg.push(n);
                    }
                    _ => arg.push(c),
                }
            } else if quote == 0 && (c == b' ' || c == b'\t') {
                break;
            } else if quote == 0 && (c == b'"' || c == b'\'') {
                quote = c;
            } else if quote != 0 && c == quote {
                quote = 0;
            } else {
                arg.push(c);
            }
            i += 1;
        }
        if quote != 0 {
            return None;
        }
        out.push(String::from_utf8_lossy(&arg).into_owned());
    }
    Some(out)
}

/// Parses the criteria of a `Match` line (`match_cfg_line` syntax).
fn parse_match(rest: &str) -> Result<Vec<Criterion>, String> {
    let mut out = Vec::new();
    let mut cp = Some(rest);
    while let Some(cur) = cp {
        let (attrib, after) = strdelim(cur).map_err(|_| "unbalanced quote in Match".to_string())?;
        cp = after;
        if attrib.is_empty() {
            break;
        }
        if attrib.starts_with('#') {
            cp = None;
            break;
        }
        if attrib.eq_ignore_ascii_case("all") {
            if !out.is_empty() {
                return Err("'all' cannot be combined with other Match attributes".into());
            }
            if let Some(c) = cp {
                let (arg, after) =
                    strdelim(c).map_err(|_| "unbalanced quote in Match".to_string())?;
                if !arg.is_empty() && !arg.starts_with('#') {
                    return Err("'all' cannot be combined with other Match attributes".into());
                }
                cp = if arg.starts_with('#') { None } else { after };
            }
            if cp.is_some_and(|c| !c.is_empty()) {
                return Err("extra arguments at end of Match line".into());
            }
            return Ok(vec![Criterion::All]);
        }
        let (arg, after) = match cp {
            Some(c) => strdelim(c).map_err(|_| "unbalanced quote in Match".to_string())?,
            None => (String::new(), None),
        };
        if arg.is_empty() || arg.starts_with('#') {
            return Err(format!("missing Match criteria for {attrib}"));
        }
        cp = after;
        let c = match attrib.to_ascii_lowercase().as_str() {
            "user" => Criterion::User(arg),
            "group" => Criterion::Group(arg),
            "host" => Criterion::Host(arg),
            "address" | "localaddress" => {
                if addr_match_list(None, &arg) != 0 {
                    return Err(format!("invalid Match {attrib} argument '{arg}'"));
                }
                if attrib.eq_ignore_ascii_case("address") {
                    Criterion::Address(arg)
                } else {
                    Criterion::LocalAddress(arg)
                }
            }
            "localport" => match arg.parse::<u16>() {
                Ok(n) if arg.bytes().all(|b| b.is_ascii_digit()) => Criterion::LocalPort(n),
                _ => return Err(format!("invalid LocalPort '{arg}' on Match line")),
            },
            "rdomain" => Criterion::RDomain(arg),
            _ => return Err(format!("unsupported Match attribute {attrib}")),
        };
        out.push(c);
    }
    if out.is_empty() {
        return Err("one or more attributes required for Match".into());
    }
    if cp.is_some_and(|c| !c.is_empty()) {
        return Err("extra arguments at end of Match line".into());
    }
    Ok(out)
}

/// Splits a configuration line into (keyword, rest) as sshd does; None for
/// blank lines, comments and lines sshd skips.
fn keyword_split(raw: &str) -> Option<(String, &str)> {
    let l = raw.trim_start_matches([' ', '\t', '\r']);
    let mut end = l.len();
    while end > 1
        && matches!(
            l.as_bytes()[end - 1],
            b' ' | b'\t' | b'\r' | b'\n' | b'\x0c'
        )
    {
        end -= 1;
    }
    let l = &l[..end];
    if l.is_empty() {
        return None;
    }
    let (mut kw, mut rest) = strdelim(l).ok()?;
    if kw.is_empty() {
        (kw, rest) = strdelim(rest?).ok()?;
    }
    if kw.is_empty() || kw.starts_with('#') {
        return None;
    }
    Some((kw, rest.unwrap_or("")))
}

// ---------------------------------------------------------------------------
// glob(3) for Include

/// Compiles one glob(3) path segment (`*`, `?`, `[...]`, `\` escapes).
fn glob_toks(seg: &str) -> Vec<Tok> {
    let b = seg.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'*' => out.push(Tok::Star),
            b'?' => out.push(Tok::Any),
            b'\\' if i + 1 < b.len() => {
                i += 1;
                out.push(Tok::Lit(b[i]));
            }
            b'[' => match bracket(&b[i + 1..]) {
                Some((t, n)) => {
                    out.push(t);
                    i += n;
                }
                None => out.push(Tok::Lit(b'[')),
            },
            c => out.push(Tok::Lit(c)),
        }
        i += 1;
    }
    out
}

/// A bracket expression after `[`: the token and the bytes used (to `]`).
fn bracket(b: &[u8]) -> Option<(Tok, usize)> {
    let mut i = 0;
    let neg = matches!(b.first(), Some(b'!') | Some(b'^'));
    if neg {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *b.get(i)?;
        if c == b']' && !first {
            return Some((Tok::Class(neg, ranges), i + 1));
        }
        first = false;
        if c == b'[' && b.get(i + 1) == Some(&b':') {
            let rest = &b[i + 2..];
            let end = rest.windows(2).position(|w| w == b":]")?;
            let class = &rest[..end];
            let add: &[(u8, u8)] = match class {
                b"alpha" => &[(b'a', b'z'), (b'A', b'Z')],
                b"digit" => &[(b'0', b'9')],
                b"alnum" => &[(b'a', b'z'), (b'A', b'Z'), (b'0', b'9')],
                b"lower" => &[(b'a', b'z')],
                b"upper" => &[(b'A', b'Z')],
                b"space" => &[(b' ', b' '), (b'\t', b'\r')],
                b"xdigit" => &[(b'0', b'9'), (b'a', b'f'), (b'A', b'F')],
                b"punct" => &[(b'!', b'/'), (b':', b'@'), (b'[', b'`'), (b'{', b'~')],
                _ => return None,
            };
            ranges.extend_from_slice(add);
            i += 2 + end + 2;
            continue;
        }
        let (lo, n) = if c == b'\\' {
            (*b.get(i + 1)?, 2)
        } else {
            (c, 1)
        };
        i += n;
        if b.get(i) == Some(&b'-') && b.get(i + 1).is_some_and(|c| *c != b']') {
            let c2 = b[i + 1];
            let (hi, n2) = if c2 == b'\\' {
                (*b.get(i + 2)?, 2)
            } else {
                (c2, 1)
            };
            i += 1 + n2;
            ranges.push((lo, hi));
        } else {
            ranges.push((lo, lo));
        }
    }
}

fn has_magic(seg: &str) -> bool {
    seg.contains(['*', '?', '['])
}

fn unescape(seg: &str) -> String {
    let mut out = String::new();
    let mut esc = false;
    for c in seg.chars() {
        if c == '\\' && !esc {
            esc = true;
            continue;
        }
        esc = false;
        out.push(c);
    }
    out
}

/// Whether glob(3) matches `name` against one pattern segment: wildcards
/// never match a leading `.`.
pub fn glob_segment(seg: &str, name: &str) -> bool {
    segment_match(&glob_toks(seg), name)
}

fn segment_match(toks: &[Tok], name: &str) -> bool {
    if name.starts_with('.') && toks.first() != Some(&Tok::Lit(b'.')) {
        return false;
    }
    match_toks(toks, name.as_bytes())
}

/// Expands an absolute glob(3) pattern through `files`, sorted. At most
/// `*lists` more directory listings (decremented); matches beyond
/// [`MAX_FILES`] are dropped (the caller then reports too many files).
fn glob_paths(files: &dyn Files, pattern: &str, lists: &mut usize) -> Vec<String> {
    let mut bases = vec![String::new()];
    let segs: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    for seg in segs {
        let mut next = Vec::new();
        let toks = glob_toks(seg);
        for b in &bases {
            if has_magic(seg) {
                if *lists == 0 {
                    break;
                }
                *lists -= 1;
                let dir = if b.is_empty() { "/" } else { b.as_str() };
                let mut names = files.list(dir);
                names.retain(|n| segment_match(&toks, n));
                next.extend(names.into_iter().map(|n| format!("{b}/{n}")));
            } else {
                next.push(format!("{b}/{}", unescape(seg)));
            }
            if next.len() > MAX_FILES {
                next.truncate(MAX_FILES + 1);
                break;
            }
        }
        bases = next;
    }
    bases.sort();
    bases
}

// ---------------------------------------------------------------------------
// Parsing

/// Access to files for `Include`: list a directory (file names), read a file.
pub trait Files {
    fn list(&self, dir: &str) -> Vec<String>;
    fn read(&self, path: &str) -> Option<Result<String, String>>;
}

struct State<'f> {
    files: &'f dyn Files,
    cfg: SshdConfig,
    errors: Vec<(String, LineError)>,
    /// Whether each block is active in the global pass.
    active1: Vec<bool>,
    depth: usize,
    bytes: usize,
    /// Directory listings Include globs may still do.
    lists: usize,
    /// The files being parsed, outermost first: an Include of one of them is
    /// a cycle, which sshd refuses (it recurses until "Too many recursive
    /// configuration includes"); following it would only multiply the work.
    stack: Vec<String>,
}

fn parse_file(st: &mut State, path: &str, text: &str, inherited: Option<usize>) {
    st.stack.push(path.to_string());
    parse_lines(st, path, text, inherited);
    st.stack.pop();
}

fn parse_lines(st: &mut State, path: &str, text: &str, inherited: Option<usize>) {
    st.cfg.files.push(path.to_string());
    st.bytes += text.len();
    let mut current = inherited;
    let err = |st: &mut State, line: u64, m: String| {
        st.errors.push((path.to_string(), LineError::new(line, m)))
    };
    for (i, raw) in text.split('\n').enumerate() {
        let line = i as u64 + 1;
        let Some((kw, rest)) = keyword_split(raw) else {
            continue;
        };
        if rest.is_empty() {
            err(st, line, format!("'{kw}' without a value"));
            continue;
        }
        let args = match argv_split(rest) {
            Some(a) => a,
            None => {
                err(st, line, format!("'{kw}': unbalanced quotes"));
                continue;
            }
        };
        let key = kw.to_ascii_lowercase();
        match key.as_str() {
            "include" => {
                if args.is_empty() {
                    err(st, line, "Include without a file name".into());
                }
                for a in &args {
                    if a.is_empty() {
                        err(st, line, "Include with an empty argument".into());
                        break;
                    }
                    if st.depth + 1 > MAX_DEPTH {
                        err(st, line, "Include nested too deeply".into());
                        break;
                    }
                    // `~` is not expanded by sshd (no GLOB_TILDE): a relative
                    // name to the daemon's working directory, not in the image.
                    if a.starts_with('~') {
                        continue;
                    }
                    let pat = if a.starts_with('/') {
                        a.clone()
                    } else {
                        format!("/etc/ssh/{a}")
                    };
                    if st.lists == 0 {
                        err(st, line, format!("Include {a}: more than {MAX_LISTS} directory listings for Include globs"));
                        return;
                    }
                    for p in glob_paths(st.files, &pat, &mut st.lists) {
                        if st.cfg.files.len() >= MAX_FILES || st.bytes > MAX_BYTES {
                            err(st, line, format!("Include {p}: more than {MAX_FILES} files or {MAX_BYTES} bytes of configuration"));
                            return;
                        }
                        if st.stack.contains(&p) {
                            err(st, line, format!("Include {p}: includes itself (an Include cycle; sshd refuses it)"));
                            continue;
                        }
                        match st.files.read(&p) {
                            Some(Ok(t)) => {
                                st.depth += 1;
                                parse_file(st, &p, &t, current);
                                st.depth -= 1;
                            }
                            Some(Err(e)) => err(st, line, format!("Include {p}: {e}")),
                            None => {}
                        }
                    }
                }
            }
            "match" => {
                let criteria = match parse_match(rest) {
                    Ok(c) => c,
                    Err(e) => {
                        err(st, line, format!("bad Match condition: {e}"));
                        Vec::new()
                    }
                };
                let parent_active = inherited.map(|p| st.active1[p]).unwrap_or(true);
                st.active1
                    .push(parent_active && criteria == [Criterion::All]);
                // The condition as written, without a trailing comment.
                let cut = rest
                    .char_indices()
                    .find(|(i, c)| *c == '#' && rest[..*i].ends_with([' ', '\t']))
                    .map(|(i, _)| i)
                    .unwrap_or(rest.len());
                let condition = rest[..cut].trim_end().to_string();
                st.cfg.matches.push(MatchBlock {
                    condition,
                    criteria,
                    parent: inherited,
                    path: path.to_string(),
                    line,
                    settings: Vec::new(),
                });
                current = Some(st.cfg.matches.len() - 1);
            }
            _ => {
                let canon = canonical(&key);
                let active1 = current.map(|b| st.active1[b]).unwrap_or(true);
                if !active1 && GLOBAL_ONLY.contains(&key.as_str()) {
                    err(
                        st,
                        line,
                        format!("'{kw}' is not allowed within a Match block"),
                    );
                    continue;
                }
                if KEYS.contains(&canon) {
                    if let Err(e) = parse_value(canon, &args) {
                        err(st, line, format!("{kw}: {e}"));
                        continue;
                    }
                }
                let s = Setting {
                    key,
                    value: args.join(" "),
                    args,
                    path: path.to_string(),
                    line,
                };
                match current {
                    Some(b) => {
                        st.cfg.matches[b].settings.push(s);
                        let i = st.cfg.matches[b].settings.len() - 1;
                        st.cfg.order.push(Slot::Block(b, i));
                    }
                    None => {
                        st.cfg.global.push(s);
                        st.cfg.order.push(Slot::Global(st.cfg.global.len() - 1));
                    }
                }
            }
        }
    }
}

/// Parses the configuration at `path` and everything it includes. Errors carry
/// the file they belong to; each is a line sshd would refuse.
pub fn parse(files: &dyn Files, path: &str, text: &str) -> (SshdConfig, Vec<(String, LineError)>) {
    let mut st = State {
        files,
        cfg: SshdConfig::default(),
        errors: Vec::new(),
        active1: Vec::new(),
        depth: 0,
        bytes: 0,
        lists: MAX_LISTS,
        stack: Vec::new(),
    };
    if text.len() > MAX_BYTES {
        st.errors.push((
            path.to_string(),
            LineError::new(1, format!("larger than {MAX_BYTES} bytes")),
        ));
        return (st.cfg, st.errors);
    }
    parse_file(&mut st, path, text, None);
    (st.cfg, st.errors)
}

/// Parses an OpenSSH version (`9.2p1`) into (major, minor).
pub fn openssh_version(v: &str) -> Option<(u32, u32)> {
    // Debian: `1:9.2p1-2+deb12u3`; binary: `9.2p1`.
    let v = v.split_once(':').map(|(_, r)| r).unwrap_or(v);
    let mut it = v.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// Compiled-in server defaults of the OpenSSH version (sshd_config(5) of each
/// release; only the keywords our rules read).
pub fn default_for(key: &str, version: Option<(u32, u32)>) -> Option<&'static str> {
    let v = version.unwrap_or((9, 0));
    Some(match key {
        "permitrootlogin" => {
            if v >= (7, 0) {
                "prohibit-password"
            } else {
                "yes"
            }
        }
        "permitemptypasswords" => "no",
        "passwordauthentication" => "yes",
        "kbdinteractiveauthentication" | "challengeresponseauthentication" => "yes",
        "usepam" => "no",
        "hostbasedauthentication" => "no",
        "ignorerhosts" => "yes",
        "loglevel" => "INFO",
        "maxauthtries" => "6",
        "logingracetime" => "120",
        "maxstartups" => "10:30:100",
        "x11forwarding" => "no",
        "allowtcpforwarding" => "yes",
        "allowagentforwarding" => "yes",
        "allowstreamlocalforwarding" => "yes",
        "disableforwarding" => "no",
        "permittunnel" => "no",
        "permituserenvironment" => "no",
        "gatewayports" => "no",
        "clientaliveinterval" => "0",
        "maxsessions" => "10",
        "strictmodes" => "yes",
        "ciphers" => {
            if v >= (6, 7) {
                "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com"
            } else {
                "aes128-ctr,aes192-ctr,aes256-ctr,arcfour256,arcfour128,aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-cbc,3des-cbc,blowfish-cbc,cast128-cbc,aes192-cbc,aes256-cbc,arcfour"
            }
        }
        "macs" => "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
        "kexalgorithms" => {
            if v >= (9, 9) {
                "mlkem768x25519-sha256,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"
            } else if v >= (8, 5) {
                "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256"
            } else if v >= (7, 4) {
                "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,diffie-hellman-group14-sha1"
            } else {
                "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group14-sha1"
            }
        }
        _ => return None,
    })
}

/// `kex_names_cat`: `a` then the items of `b` not already in it (stops at
/// an empty item of `b`; like sshd, only looks at `a` up to its first empty
/// item).
fn names_cat(a: &str, b: &str) -> String {
    if a.is_empty() {
        return b.to_string();
    }
    if b.is_empty() {
        return a.to_string();
    }
    let holes = a.split(',').any(str::is_empty);
    let mut seen: HashSet<&str> = a.split(',').take_while(|c| !c.is_empty()).collect();
    let mut ret = a.to_string();
    for p in b.split(',') {
        if p.is_empty() {
            break;
        }
        if !seen.contains(p) {
            if !holes {
                seen.insert(p);
            }
            ret.push(',');
            ret.push_str(p);
        }
    }
    ret
}

/// `kex_assemble_names`: applies an algorithm-list value (`+add`,
/// `-patterns`, `^prepend`, or a replacement, each name a pattern over `all`)
/// to the default list, without duplicates. `keep_unknown`: exact names not
/// in `all` are kept (another sshd version may know them). None where sshd
/// fails.
pub fn assemble_names(
    value: &str,
    default: &str,
    all: &str,
    keep_unknown: bool,
) -> Option<Vec<String>> {
    let split = |s: &str| {
        s.split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    if value.is_empty() {
        return Some(split(default));
    }
    let list = if let Some(add) = value.strip_prefix('+') {
        names_cat(default, add)
    } else if let Some(rm) = value.strip_prefix('-') {
        return Some(
            default
                .split(',')
                .filter(|a| !a.is_empty() && match_pattern_list(a, rm, false) != 1)
                .map(str::to_string)
                .collect(),
        );
    } else if let Some(pre) = value.strip_prefix('^') {
        names_cat(pre, default)
    } else {
        value.to_string()
    };
    let known: HashSet<&str> = all.split(',').chain(default.split(',')).collect();
    let mut out: Vec<String> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for cp in list.split(',') {
        if cp.starts_with('!') {
            return None;
        }
        if cp.is_empty() || cp.len() >= 1023 {
            continue;
        }
        if !cp.contains(['*', '?']) {
            if (keep_unknown || known.contains(cp)) && seen.insert(cp) {
                out.push(cp.to_string());
            }
            continue;
        }
        for a in all.split(',') {
            if glob_match(cp, a) && seen.insert(a) {
                out.push(a.to_string());
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Applies an algorithm-list value (`+add`, `-remove`, `^prepend`, or a
/// replacement) to the default list, without duplicates (as sshd does).
/// Names we do not know are kept.
pub fn algorithm_list(value: &str, default: &str) -> Vec<String> {
    let all = [ALL_CIPHERS, ALL_MACS, ALL_KEX].join(",");
    assemble_names(value, default, &all, true).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct Mem(BTreeMap<String, String>);
    impl Files for Mem {
        fn list(&self, dir: &str) -> Vec<String> {
            let prefix = format!("{}/", dir.trim_end_matches('/'));
            self.0
                .keys()
                .filter_map(|k| {
                    k.strip_prefix(&prefix)
                        .filter(|r| !r.contains('/'))
                        .map(str::to_string)
                })
                .collect()
        }
        fn read(&self, path: &str) -> Option<Result<String, String>> {
            self.0.get(path).cloned().map(Ok)
        }
    }

    fn mem(files: &[(&str, &str)]) -> Mem {
        Mem(files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect())
    }

    /// Parses `main` (with `files` for Include) and returns the effective
    /// value of `key` as sshd -T prints it, for `conn`.
    fn eff(files: &[(&str, &str)], main: &str, conn: Option<&Conn>, key: &str) -> String {
        let m = mem(files);
        let (c, e) = parse(&m, "/etc/ssh/sshd_config", main);
        assert!(e.is_empty(), "{e:?}");
        c.effective(conn, &Defaults::openssh(Some((9, 2))))
            .value(key)
            .unwrap()
            .to_string()
    }

    fn user(u: &str, groups: &[&str]) -> Conn {
        Conn {
            user: Some(u.into()),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            host: Some("client.example".into()),
            addr: Some("192.0.2.7".into()),
            ..Conn::default()
        }
    }

    /// A configuration that includes itself (directly or through another
    /// file) is refused by sshd; the cycle is reported once per Include line
    /// and not followed, so the work stays proportional to the files.
    #[test]
    fn include_cycle_is_an_error_and_not_followed() {
        let m = mem(&[
            (
                "/etc/ssh/sshd_config.d/a.conf",
                "Include /etc/ssh/sshd_config\nInclude /etc/ssh/sshd_config.d/*.conf\nPort 2\n",
            ),
            ("/etc/ssh/sshd_config.d/b.conf", "Port 3\n"),
        ]);
        let main = "Include /etc/ssh/sshd_config.d/*.conf\nInclude /etc/ssh/sshd_config\n";
        let (c, e) = parse(&m, "/etc/ssh/sshd_config", main);
        let cycles = e
            .iter()
            .filter(|(_, l)| l.message.contains("Include cycle"))
            .count();
        // main → a (a → main: cycle, a → a: cycle, a → b), main → b, main → main: cycle.
        assert_eq!(cycles, 3, "{e:?}");
        assert_eq!(c.files.len(), 4, "{:?}", c.files);
    }

    #[test]
    fn include_first_wins_and_match() {
        let mut m = BTreeMap::new();
        m.insert(
            "/etc/ssh/sshd_config.d/10-root.conf".to_string(),
            "PermitRootLogin no\n".to_string(),
        );
        m.insert(
            "/etc/ssh/sshd_config.d/20-x.conf".to_string(),
            "PermitRootLogin yes\nX11Forwarding=yes\n".to_string(),
        );
        m.insert(
            "/etc/ssh/sshd_config.d/readme.txt".to_string(),
            "PermitRootLogin yes\n".to_string(),
        );
        let files = Mem(m);
        let main = "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\nHostKey /etc/ssh/a\nHostKey /etc/ssh/b\nMatch User backup\n  PasswordAuthentication yes\n";
        let (c, e) = parse(&files, "/etc/ssh/sshd_config", main);
        assert!(e.is_empty(), "{e:?}");
        let root = c.get("PermitRootLogin").unwrap();
        assert_eq!(root.value, "no");
        assert_eq!(root.path, "/etc/ssh/sshd_config.d/10-root.conf");
        assert_eq!(c.get("x11forwarding").unwrap().value, "yes");
        assert_eq!(c.all("hostkey").len(), 2);
        assert_eq!(c.matches.len(), 1);
        assert_eq!(c.matches[0].condition, "User backup");
        assert_eq!(c.matches[0].settings[0].key, "passwordauthentication");
        assert!(c.get("passwordauthentication").is_none());
        assert_eq!(c.files.len(), 3);
        let (c2, _) = parse(&files, "/etc/ssh/sshd_config", "Match User a\t# why\n");
        assert_eq!(c2.matches[0].condition, "User a");
    }

    #[test]
    fn errors_and_versions() {
        let files = Mem(BTreeMap::new());
        let (_, e) = parse(&files, "/etc/ssh/sshd_config", "PermitRootLogin\n");
        assert_eq!(e[0].1.line, 1);
        assert_eq!(openssh_version("1:9.2p1-2+deb12u3"), Some((9, 2)));
        assert_eq!(openssh_version("6.6.1p1"), Some((6, 6)));
        assert_eq!(default_for("permitrootlogin", Some((6, 6))), Some("yes"));
        assert_eq!(
            default_for("permitrootlogin", Some((9, 2))),
            Some("prohibit-password")
        );
        // Lines sshd refuses are errors naming the line.
        for bad in [
            "PermitRootLogin maybe\n",
            "MaxAuthTries 3 4\n",
            "PermitRootLogin \"yes\n",
            "Match User a\nCiphers aes128-ctr\n",
            "Match Address 10.0.0.1/8\n",
            "Match all User x\n",
            "MaxStartups 10:30\n",
            "LoginGraceTime 1x\n",
        ] {
            let (_, e) = parse(&files, "/etc/ssh/sshd_config", bad);
            assert!(!e.is_empty(), "{bad:?} accepted");
        }
    }

    #[test]
    fn algorithm_modifiers() {
        assert_eq!(algorithm_list("+3des-cbc", "a,b"), ["a", "b", "3des-cbc"]);
        assert_eq!(algorithm_list("-b*", "a,b1,b2"), ["a"]);
        assert_eq!(algorithm_list("^x", "a"), ["x", "a"]);
        assert_eq!(algorithm_list("x,y", "a"), ["x", "y"]);
        assert!(glob_match("*.conf", "10-a.conf") && !glob_match("*.conf", "a.txt"));
        // Repeating a default does not duplicate it (kex_names_cat).
        assert_eq!(algorithm_list("+a,c", "a,b"), ["a", "b", "c"]);
        assert_eq!(algorithm_list("^b,x", "a,b"), ["b", "x", "a"]);
        assert_eq!(algorithm_list("x,x,y", "a"), ["x", "y"]);
    }

    #[test]
    fn hostile_glob_is_linear() {
        let pat = format!("-{}z", "*".repeat(60));
        let t = std::time::Instant::now();
        let d = default_for("ciphers", Some((9, 2))).unwrap();
        assert_eq!(algorithm_list(&pat, d).len(), 6);
        let long = "a".repeat(5000);
        assert!(!glob_match(&format!("{}b", "*a".repeat(2000)), &long));
        assert!(glob_match("a*b?d*", "aXXbcdYY"));
        assert!(!glob_match("a*b?d", "aXXbcdYY"));
        assert!(t.elapsed().as_secs() < 2, "{:?}", t.elapsed());
    }

    #[test]
    fn quoted_values_and_comments() {
        assert_eq!(
            eff(
                &[],
                "PermitEmptyPasswords \"yes\"\n",
                None,
                "permitemptypasswords"
            ),
            "yes"
        );
        assert_eq!(eff(&[], "MaxAuthTries \"3\"\n", None, "maxauthtries"), "3");
        assert_eq!(
            eff(&[], "MaxAuthTries '3' # three\n", None, "maxauthtries"),
            "3"
        );
        assert_eq!(
            eff(
                &[],
                "PermitRootLogin no # not yes\n",
                None,
                "permitrootlogin"
            ),
            "no"
        );
        assert_eq!(
            eff(&[], "PermitRootLogin=yes\n", None, "permitrootlogin"),
            "yes"
        );
        assert_eq!(
            eff(
                &[],
                "permitrootlogin = Prohibit-Password\n",
                None,
                "permitrootlogin"
            ),
            "without-password"
        );
        assert_eq!(eff(&[], "\tLogLevel\tdebug\n", None, "loglevel"), "DEBUG1");
        assert_eq!(
            eff(&[], "LoginGraceTime 1m30s\n", None, "logingracetime"),
            "90"
        );
        assert_eq!(eff(&[], "MaxStartups 5\n", None, "maxstartups"), "5:30:5");
        assert_eq!(
            eff(
                &[],
                "MaxStartups 5:50:9\nMaxStartups 3\n",
                None,
                "maxstartups"
            ),
            "3:50:3"
        );
        assert_eq!(
            argv_split("a\\ b \"c d\" 'e\"f' #g").unwrap(),
            ["a b", "c d", "e\"f"]
        );
    }

    #[test]
    fn include_inside_match_keeps_match_scope() {
        let files = [("/etc/ssh/extra.conf", "X11Forwarding no\n")];
        // The line after the Include is still inside Match User bob.
        let main = "Match User bob\nInclude /etc/ssh/extra.conf\nPermitRootLogin yes\n";
        assert_eq!(
            eff(&files, main, None, "permitrootlogin"),
            "without-password"
        );
        assert_eq!(
            eff(&files, main, Some(&user("bob", &[])), "permitrootlogin"),
            "yes"
        );
        assert_eq!(
            eff(&files, main, Some(&user("bob", &[])), "x11forwarding"),
            "no"
        );
        // A Match in an included file ends with that file.
        let files = [("/etc/ssh/m.conf", "Match User bob\nX11Forwarding yes\n")];
        let main = "Include /etc/ssh/m.conf\nPermitRootLogin no\n";
        assert_eq!(eff(&files, main, None, "permitrootlogin"), "no");
        // An Include inside a non-matching block never matches its Match all.
        let files = [("/etc/ssh/a.conf", "Match all\nPasswordAuthentication no\n")];
        let main = "Match User carol\nInclude /etc/ssh/a.conf\n";
        assert_eq!(
            eff(
                &files,
                main,
                Some(&user("bob", &[])),
                "passwordauthentication"
            ),
            "yes"
        );
        assert_eq!(
            eff(
                &files,
                main,
                Some(&user("carol", &[])),
                "passwordauthentication"
            ),
            "no"
        );
    }

    #[test]
    fn include_globs_skip_dot_files() {
        let files = [
            ("/etc/ssh/d/.hidden.conf", "PermitRootLogin yes\n"),
            ("/etc/ssh/d/b.conf", "PermitRootLogin no\n"),
            ("/etc/ssh/d/a.txt", "PermitRootLogin yes\n"),
        ];
        assert_eq!(
            eff(&files, "Include d/*.conf\n", None, "permitrootlogin"),
            "no"
        );
        assert_eq!(
            eff(&files, "Include d/.*.conf\n", None, "permitrootlogin"),
            "yes"
        );
        assert_eq!(
            eff(
                &files,
                "Include /etc/ssh/d/[ab].*\n",
                None,
                "permitrootlogin"
            ),
            "yes"
        );
        assert!(
            glob_segment("[!a]*", "b") && !glob_segment("[!a]*", "a") && !glob_segment("?x", ".x")
        );
    }

    #[test]
    fn match_all_and_first_value_wins() {
        // Match all overrides an earlier top-level value in sshd -T.
        let main = "PermitRootLogin no\nMatch all\nPermitRootLogin yes\n";
        assert_eq!(eff(&[], main, None, "permitrootlogin"), "yes");
        // …but a global-only keyword after Match all is simply the next in line.
        assert_eq!(
            eff(
                &[],
                "StrictModes yes\nMatch all\nStrictModes no\n",
                None,
                "strictmodes"
            ),
            "yes"
        );
        // First value wins inside a block and across blocks with the same condition.
        let main =
            "Match User bob\nMaxAuthTries 3\nMaxAuthTries 9\nMatch User bob\nMaxAuthTries 7\n";
        assert_eq!(eff(&[], main, Some(&user("bob", &[])), "maxauthtries"), "3");
        assert_eq!(
            eff(&[], main, Some(&user("alice", &[])), "maxauthtries"),
            "6"
        );
        // Lists, negation, groups, addresses, hosts.
        let main = "Match User !root,*\nX11Forwarding yes\nMatch Group adm Address 192.0.2.0/24\nGatewayPorts yes\nMatch Host *.EXAMPLE\nPermitTunnel yes\n";
        assert_eq!(
            eff(&[], main, Some(&user("root", &["root"])), "x11forwarding"),
            "no"
        );
        assert_eq!(
            eff(&[], main, Some(&user("bob", &[])), "x11forwarding"),
            "yes"
        );
        assert_eq!(
            eff(&[], main, Some(&user("bob", &["adm"])), "gatewayports"),
            "yes"
        );
        assert_eq!(
            eff(&[], main, Some(&user("bob", &["staff"])), "gatewayports"),
            "no"
        );
        assert_eq!(
            eff(&[], main, Some(&user("bob", &[])), "permittunnel"),
            "yes"
        );
        assert_eq!(eff(&[], main, None, "permittunnel"), "no");
    }

    #[test]
    fn kbd_interactive_default_and_alias() {
        assert_eq!(
            eff(&[], "UsePAM yes\n", None, "kbdinteractiveauthentication"),
            "yes"
        );
        let main = "ChallengeResponseAuthentication no\nKbdInteractiveAuthentication yes\n";
        assert_eq!(eff(&[], main, None, "kbdinteractiveauthentication"), "no");
        let main = "KbdInteractiveAuthentication yes\nChallengeResponseAuthentication no\n";
        assert_eq!(eff(&[], main, None, "kbdinteractiveauthentication"), "yes");
    }

    #[test]
    fn algorithms_dedup_and_patterns() {
        let c = eff(&[], "Ciphers ^aes128-ctr,aes128-cbc\n", None, "ciphers");
        assert_eq!(c, "aes128-ctr,aes128-cbc,chacha20-poly1305@openssh.com,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com");
        let c = eff(
            &[],
            "Ciphers +aes128-ctr,aes128-cbc,aes128-cbc\n",
            None,
            "ciphers",
        );
        assert_eq!(c.matches("aes128-cbc").count(), 1);
        assert_eq!(eff(&[], "MACs -*sha1*,umac*\n", None, "macs"), "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512");
        assert!(eff(
            &[],
            &format!("Ciphers -{}z\n", "*".repeat(30)),
            None,
            "ciphers"
        )
        .starts_with("chacha20"));
    }
}
