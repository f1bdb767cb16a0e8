//! Compiled-in defaults per OpenSSH version and algorithm-list assembly
//! (`kex_assemble_names`).

use super::{glob_match, match_pattern_list};
use std::collections::HashSet;

/// Known algorithm names (OpenSSH 9.2 plus older and newer ones), the
/// universe `Ciphers`/`MACs`/`KexAlgorithms` lists are filtered through.
const ALL_CIPHERS: &str = "3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,blowfish-cbc,cast128-cbc,arcfour,arcfour128,arcfour256,rijndael-cbc@lysator.liu.se";
const ALL_MACS: &str = "hmac-sha1,hmac-sha1-96,hmac-sha2-256,hmac-sha2-512,hmac-md5,hmac-md5-96,umac-64@openssh.com,umac-128@openssh.com,hmac-sha1-etm@openssh.com,hmac-sha1-96-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-md5-etm@openssh.com,hmac-md5-96-etm@openssh.com,umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-ripemd160,hmac-ripemd160@openssh.com,hmac-ripemd160-etm@openssh.com";
const ALL_KEX: &str = "diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group14-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1,diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,curve25519-sha256,curve25519-sha256@libssh.org,sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,mlkem768x25519-sha256,sntrup4591761x25519-sha512@tinyssh.org";

pub(super) fn algorithm_universe(key: &str) -> &'static str {
    match key {
        "ciphers" => ALL_CIPHERS,
        "macs" => ALL_MACS,
        _ => ALL_KEX,
    }
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
