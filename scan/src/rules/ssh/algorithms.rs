//! Ciphers, MACs and key exchange algorithms the server offers (the
//! effective lists, after `+`/`-`/`^` modifiers on the version's defaults).

use super::{effective, MAIN};
use crate::rules::{Ctx, Hit, Meta, Outcome, Rule};
use fieldattest_protocol::report::Severity;

fn algorithms(
    ctx: &Ctx,
    key: &str,
    classify: fn(&str) -> Option<(Severity, &'static str)>,
) -> Outcome {
    let cfg = ctx.sshd()?;
    let eff = effective(ctx, cfg);
    let mut hits = Vec::new();
    let Some(r) = eff.get(key) else {
        return Ok(hits);
    };
    let note = if r.from.is_empty() {
        " (compiled-in default)"
    } else {
        ""
    };
    for a in r.value.list() {
        if let Some((sev, why)) = classify(a) {
            let h = Hit::new(format!("{key}: {a} offered{note} — {why}"))
                .subject(a.clone())
                .severity(sev);
            hits.push(match r.from.last() {
                Some(s) => h.at(&s.path, Some(s.line)),
                None => h.at(MAIN, None),
            });
        }
    }
    Ok(hits)
}

fn weak_cipher(a: &str) -> Option<(Severity, &'static str)> {
    let weak = a.ends_with("-cbc")
        || a.starts_with("arcfour")
        || a == "none"
        || a == "rijndael-cbc@lysator.liu.se";
    weak.then_some((Severity::High, "CBC/RC4/none cipher"))
}

fn weak_mac(a: &str) -> Option<(Severity, &'static str)> {
    if a.starts_with("hmac-md5")
        || a.starts_with("hmac-sha1")
        || a.starts_with("umac-64")
        || a.starts_with("hmac-ripemd160")
    {
        Some((Severity::High, "MD5/SHA-1/64-bit MAC"))
    } else if a.starts_with("hmac-sha2-") && !a.contains("-etm@") {
        Some((Severity::Low, "encrypt-and-MAC mode (prefer -etm)"))
    } else {
        None
    }
}

fn weak_kex(a: &str) -> Option<(Severity, &'static str)> {
    matches!(
        a,
        "diffie-hellman-group1-sha1"
            | "diffie-hellman-group14-sha1"
            | "diffie-hellman-group-exchange-sha1"
    )
    .then_some((Severity::High, "SHA-1 or 1024-bit key exchange"))
}

pub(super) fn ciphers(ctx: &Ctx) -> Outcome {
    let mut hits = algorithms(ctx, "ciphers", weak_cipher)?;
    if let Some(p) = ctx.sshd()?.get("protocol") {
        if p.value.contains('1') {
            hits.push(
                Hit::new(format!("Protocol {}", p.value))
                    .subject("protocol")
                    .at(&p.path, Some(p.line)),
            );
        }
    }
    Ok(hits)
}

fn macs(ctx: &Ctx) -> Outcome {
    algorithms(ctx, "macs", weak_mac)
}

fn kex(ctx: &Ctx) -> Outcome {
    let mut hits = algorithms(ctx, "kexalgorithms", weak_kex)?;
    // moduli: column 5 is the size in bits minus one.
    if let Some(t) = ctx.text("/etc/ssh/moduli")? {
        let small = crate::parse::content_lines(&t)
            .filter(|(_, l)| {
                l.split_whitespace()
                    .nth(4)
                    .and_then(|b| b.parse::<u32>().ok())
                    .map(|b| b + 1 < 3072)
                    .unwrap_or(false)
            })
            .count();
        if small > 0 {
            hits.push(
                Hit::new(format!(
                    "{small} Diffie-Hellman groups smaller than 3072 bits"
                ))
                .subject("moduli")
                .at("/etc/ssh/moduli", None)
                .severity(Severity::Low),
            );
        }
    }
    Ok(hits)
}

pub const CIPHERS: Rule = Rule {
    meta: Meta {
        id: "ssh.ciphers",
        title: "SSH offers weak ciphers",
        fr: "FR4",
        severity: Severity::High,
        reqs: &[("CR 4.1", 1), ("CR 4.3", 1), ("CR 3.1", 1)],
        remediation: "Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr",
        reference: "CIS 5.2.13; STIG UBTU-20-010044; ssh-audit",
    },
    check: ciphers,
};

pub const MACS: Rule = Rule {
    meta: Meta {
        id: "ssh.macs",
        title: "SSH offers weak MACs",
        fr: "FR3",
        severity: Severity::High,
        reqs: &[("CR 3.1", 1), ("CR 3.1 RE(1)", 2), ("CR 4.3", 1)],
        remediation: "MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com",
        reference: "CIS 5.2.14; STIG UBTU-20-010043; ssh-audit",
    },
    check: macs,
};

pub const KEX: Rule = Rule {
    meta: Meta {
        id: "ssh.kex",
        title: "SSH offers weak key exchange",
        fr: "FR4",
        severity: Severity::High,
        reqs: &[("CR 4.3", 1), ("CR 3.1", 1)],
        remediation: "KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512; remove moduli below 3072 bits.",
        reference: "CIS 5.2.15; ssh-audit",
    },
    check: kex,
};
