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
//!
//! Layout: this file holds the parsed form and the keyword tables; `lex`
//! tokenises a line, `read` reads files (with `include` expanding `Include`
//! globs), `matching` evaluates `Match` criteria and pattern lists, `value`
//! types and validates keyword values, `defaults` holds the compiled-in
//! defaults per version, `effective` resolves what sshd does with it all.

mod defaults;
mod effective;
mod include;
mod lex;
mod matching;
mod read;
mod value;

pub use defaults::{algorithm_list, assemble_names, default_for, openssh_version};
pub use effective::{Conn, Defaults, Effective, Resolved};
pub use include::{glob_segment, Files};
pub use lex::argv_split;
pub use matching::{addr_match_list, glob_match, match_pattern_list};
pub use read::parse;
pub use value::{
    convtime, parse_value, Forwarding, Gateway, LogLevel, PermitRoot, Rhosts, Tunnel, Val,
};

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

#[cfg(test)]
mod tests;
