//! OpenSSH server (catalog 2.D rules 26-40): the effective configuration as
//! `sshd -T` shows it (parse::sshd resolves includes, quotes, first value
//! wins, `Match all`, and the compiled-in default of the installed OpenSSH
//! version when a keyword is absent), plus settings in `Match` blocks that can
//! take effect for some connection, reported with their condition.
//!
//! This file holds what the rules share (effective values, Match-block
//! candidates, `check_key`); the rules live by concern in `login`,
//! `session`, `algorithms` and `perms`; [`RULES`] lists them in report order.

mod algorithms;
mod login;
mod perms;
mod session;

use super::{Ctx, Hit, Rule};
use crate::parse::sshd::{
    self, canonical, default_for, Defaults, Effective, Setting, SshdConfig, Val,
};

const MAIN: &str = "/etc/ssh/sshd_config";

fn effective<'c>(ctx: &Ctx, cfg: &'c SshdConfig) -> Effective<'c> {
    cfg.effective(None, &Defaults::openssh(ctx.openssh_version()))
}

/// The Match block a setting is in (None: top level).
fn block_of(cfg: &SshdConfig, s: &Setting) -> Option<usize> {
    cfg.ordered()
        .find(|(_, x)| std::ptr::eq(*x, s))
        .and_then(|(b, _)| b)
}

/// `Match A' and 'Match B` for a block and the blocks it sits in.
fn condition(cfg: &SshdConfig, b: usize) -> String {
    let mut chain = vec![b];
    while let Some(p) = cfg.matches[*chain.last().unwrap_or(&b)].parent {
        chain.push(p);
    }
    chain
        .iter()
        .rev()
        .map(|i| cfg.matches[*i].condition.as_str())
        .filter(|c| !c.eq_ignore_ascii_case("all"))
        .collect::<Vec<_>>()
        .join("' and 'Match ")
}

/// Settings of `key` in Match blocks that can take effect for some
/// connection: in a block that can match, with a condition beyond `all`, for
/// a keyword a Match block can set, and not shadowed by an earlier setting
/// whose conditions are a subset of its own (the same condition, or `Match
/// all`: the earlier one always wins there).
fn match_candidates<'c>(cfg: &'c SshdConfig, key: &str) -> Vec<(usize, &'c Setting)> {
    use std::collections::HashSet;
    if !sshd::settable_in_match(key) {
        return Vec::new();
    }
    // Guards (sorted criteria) of earlier settings; a later setting is
    // shadowed when one of them is a subset of its own guard. Subsets are
    // looked up (at most 2^8 per setting), so hostile files stay linear.
    let mut earlier: HashSet<Vec<&sshd::Criterion>> = HashSet::new();
    let mut out = Vec::new();
    for (b, s) in cfg.ordered() {
        let Some(b) = b else { continue };
        if canonical(&s.key) != key || !cfg.reachable(b) {
            continue;
        }
        let mut guard = cfg.guard(b);
        guard.sort();
        guard.dedup();
        let shadowed = if guard.len() <= 8 {
            (0u32..1 << guard.len()).any(|mask| {
                let sub: Vec<_> = (0..guard.len())
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| guard[i])
                    .collect();
                earlier.contains(&sub)
            })
        } else {
            earlier.contains(&Vec::new())
                || earlier.contains(&guard)
                || guard.iter().any(|c| earlier.contains(&vec![*c]))
        };
        if !shadowed && !guard.is_empty() {
            out.push((b, s));
        }
        earlier.insert(guard);
    }
    out
}

/// Hits for `key`: the effective global value (or the compiled-in default)
/// and every Match-block setting that can take effect. `bad` says why a
/// value is a problem.
fn check_key(
    ctx: &Ctx,
    cfg: &SshdConfig,
    key: &str,
    bad: impl Fn(&Val) -> Option<String>,
) -> Vec<Hit> {
    let eff = effective(ctx, cfg);
    let mut hits = Vec::new();
    let ver = ctx.openssh_version();
    if let Some(r) = eff.get(key) {
        if let Some(why) = bad(&r.value) {
            match r.from.last() {
                Some(s) => {
                    let note = block_of(cfg, s)
                        .map(|b| format!(" in 'Match {}'", cfg.matches[b].condition))
                        .unwrap_or_default();
                    hits.push(
                        Hit::new(format!("{key} {}{note} — {why}", s.value))
                            .subject(key)
                            .at(&s.path, Some(s.line)),
                    );
                }
                None => {
                    let d = default_for(key, ver).unwrap_or("?");
                    let v = ver
                        .map(|(a, b)| format!("OpenSSH {a}.{b}"))
                        .unwrap_or_else(|| "OpenSSH (version unknown)".into());
                    hits.push(
                        Hit::new(format!(
                            "{key} not set; compiled-in default of {v} is '{d}' — {why}"
                        ))
                        .subject(key)
                        .at(MAIN, None),
                    );
                }
            }
        }
    }
    for (b, s) in match_candidates(cfg, key) {
        let Ok(v) = sshd::parse_value(key, &s.args) else {
            continue;
        };
        if let Some(why) = bad(&v) {
            let cond = condition(cfg, b);
            hits.push(
                Hit::new(format!("{key} {} in 'Match {cond}' — {why}", s.value))
                    .subject(format!("{key} (Match {cond})"))
                    .at(&s.path, Some(s.line)),
            );
        }
    }
    hits
}

fn is_yes(v: &Val) -> bool {
    v.flag() == Some(true)
}

/// The OpenSSH rules, in report order.
pub const RULES: &[Rule] = &[
    login::PERMIT_ROOT_LOGIN,
    login::PERMIT_EMPTY_PASSWORDS,
    login::PASSWORD_AUTHENTICATION,
    session::ENV_AND_FORWARDING,
    login::HOST_BASED_TRUST,
    session::LOGLEVEL,
    login::ACCESS_RESTRICTED,
    login::AUTH_RATE_LIMITS,
    algorithms::CIPHERS,
    algorithms::MACS,
    algorithms::KEX,
    perms::KEY_AND_CONFIG_PERMS,
    session::IDLE_TIMEOUT,
    session::CONCURRENCY_LIMIT,
];

#[cfg(test)]
mod tests;
