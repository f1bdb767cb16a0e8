//! `Match` evaluation: the criteria of a `Match` line, OpenSSH's pattern
//! lists (`match_pattern_list`), address lists with CIDR (`addr_match_list`).

use super::lex::strdelim;
use super::{Conn, Criterion};
use std::net::IpAddr;

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
pub(super) enum Tok {
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
pub(super) fn match_toks(toks: &[Tok], s: &[u8]) -> bool {
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

pub(super) fn eval_criteria(crit: &[Criterion], conn: Option<&Conn>) -> bool {
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

/// Parses the criteria of a `Match` line (`match_cfg_line` syntax).
pub(super) fn parse_match(rest: &str) -> Result<Vec<Criterion>, String> {
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
