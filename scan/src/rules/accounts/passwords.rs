//! Password fields: accounts without a password, hashes kept in the
//! world-readable `/etc/passwd` instead of `/etc/shadow`.

use super::PASSWD;
use crate::parse::accounts::{is_nologin_shell, pw_state, PwState};
use crate::rules::{Ctx, Hit, Outcome};

pub(super) fn empty_password(ctx: &Ctx) -> Outcome {
    let mut hits = Vec::new();
    for p in ctx.passwd()?.iter().filter(|p| !p.nis) {
        let (field, path, line) = ctx.password_field(p)?;
        if pw_state(field) == PwState::Empty {
            let shell_note = if is_nologin_shell(&p.shell) {
                " (shell is nologin, but other services may accept it)"
            } else {
                ""
            };
            hits.push(
                Hit::new(format!("empty password field{shell_note}"))
                    .subject(&p.name)
                    .at(path, Some(line)),
            );
        }
    }
    if let Ok(files) = ctx.pam() {
        for f in files {
            for l in &f.lines {
                if l.module_name() == "pam_unix"
                    && (l.has_arg("nullok") || l.has_arg("nullok_secure"))
                {
                    hits.push(
                        Hit::new(format!(
                            "pam_unix accepts empty passwords ({} {})",
                            l.kind,
                            l.args.join(" ")
                        ))
                        .at(&f.path, Some(l.line)),
                    );
                }
            }
        }
    }
    Ok(hits)
}

/// Scheme of a crypt string, for evidence (never the hash itself).
pub fn scheme_name(hash: &str) -> &'static str {
    match hash {
        h if h.starts_with("$y$") => "yescrypt",
        h if h.starts_with("$gy$") => "gost-yescrypt",
        h if h.starts_with("$7$") => "scrypt",
        h if h.starts_with("$6$") => "sha512crypt",
        h if h.starts_with("$5$") => "sha256crypt",
        h if h.starts_with("$2b$") || h.starts_with("$2y$") => "bcrypt",
        h if h.starts_with("$2a$") || h.starts_with("$2x$") => "bcrypt (legacy prefix)",
        h if h.starts_with("$1$") => "md5crypt",
        h if h.starts_with("$md5") => "sunmd5",
        h if h.starts_with("$sha1$") => "sha1crypt",
        h if h.starts_with("$3$") => "NT hash",
        h if h.starts_with('_') => "bsdicrypt",
        h if h.len() == 13 && !h.starts_with('$') => "descrypt",
        h if h.len() > 13 && !h.starts_with('$') => "bigcrypt",
        _ => "unknown",
    }
}

pub(super) fn hash_outside_shadow(ctx: &Ctx) -> Outcome {
    Ok(ctx
        .passwd()?
        .iter()
        .filter(|p| !p.nis && pw_state(&p.password) == PwState::Usable && p.password != "x")
        .map(|p| {
            Hit::new(format!(
                "{} hash in world-readable file",
                scheme_name(&p.password)
            ))
            .subject(&p.name)
            .at(PASSWD, Some(p.line))
        })
        .collect())
}
