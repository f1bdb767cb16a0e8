//! `fieldattest attest`: scan, then a signed attestation token.

use super::flags;
use super::{emit, now, print, usage_err, write_out, Command, Exit, Opts};
use fieldattest_agent::attest;
use fieldattest_agent::config::DEFAULT_STATE_DIR;
use fieldattest_protocol::hex::hex;
use std::path::PathBuf;

pub const COMMAND: Command = Command {
    name: "attest",
    bit: flags::ATTEST,
    usage: "\
fieldattest attest [scan options] [--nonce HEX] [--out FILE]
                   [--sbom-out FILE]
fieldattest attest --enrollment --nonce HEX [--out FILE] [--state-dir DIR]
fieldattest attest [scan options] --spool",
    about: "Scan, then write a signed attestation token (EAT in COSE_Sign1, \
            ES256, profile tag:fieldattest.org,2026:eat/v1) for the collector. \
            The device key and UEID live in --state-dir (default \
            /var/lib/fieldattest).",
    operands: &[],
    run,
};

/// Enrollment token: proof of possession of the device key, no scan.
fn enrollment(o: &Opts, id: &attest::keystore::Identity) -> Exit {
    let Some(nonce) = o.nonce.clone() else {
        return usage_err("--enrollment needs the collector's --nonce");
    };
    let tok = id
        .next_seq()
        .and_then(|seq| attest::enrollment_claims(id, now(), nonce, seq))
        .and_then(|c| attest::sign(&c, id));
    let t = match tok {
        Ok(t) => t,
        Err(e) => {
            say!("fieldattest: enrollment: {e}");
            return Exit::Failed;
        }
    };
    match &o.output {
        Some(p) => match write_out(p, &t, 0o644) {
            Ok(()) => Exit::Clean,
            Err(e) => {
                say!("fieldattest: enrollment: {e}");
                Exit::Failed
            }
        },
        None => print(&t),
    }
}

fn run(o: Opts) -> Exit {
    // Taken as ever (attest takes the scan options), but a token is a token.
    if let Err(code) = super::scan::format(&o) {
        return code;
    }
    let state_dir = o
        .state_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR));
    let id = match attest::keystore::Identity::load_or_create(&state_dir) {
        Ok(i) => i,
        Err(e) => {
            say!("fieldattest: device identity: {e}");
            return Exit::Failed;
        }
    };
    if o.enrollment {
        return enrollment(&o, &id);
    }
    let (root, rep) = match super::scan::scan(&o, Some(state_dir.clone())) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let made = match attest::make(&rep, &root, &id, o.nonce.clone(), now(), None) {
        Ok(m) => m,
        Err(e) => {
            say!("fieldattest: attestation: {e}");
            return Exit::Failed;
        }
    };
    if let Some(p) = &o.sbom_out {
        if let Err(e) = write_out(p, made.sbom.as_bytes(), 0o644) {
            say!("fieldattest: cannot write SBOM: {e}");
            return Exit::Failed;
        }
    }
    let (claims, tok) = (&made.claims, &made.token);
    if o.spool {
        let spooled = fieldattest_agent::spool::Spool::open(
            &state_dir.join("spool"),
            fieldattest_agent::spool::Limits::default(),
        )
        .and_then(|sp| attest::spool(&made, &id, &sp));
        return match spooled {
            Ok(dropped) => {
                for d in dropped {
                    say!(
                        "fieldattest: spool full: dropped token seq {} ({})",
                        d.seq,
                        if d.keep { "kept-class" } else { "routine" }
                    );
                }
                say!(
                    "fieldattest: token seq {} spooled ({} bytes)",
                    claims.seq,
                    tok.len()
                );
                Exit::Clean
            }
            Err(e) => {
                say!("fieldattest: spool: {e}");
                Exit::Failed
            }
        };
    }
    let written = match &o.output {
        Some(p) => write_out(p, tok, 0o644).map_err(|e| {
            say!("fieldattest: cannot write token: {e}");
            Exit::Failed
        }),
        None => emit(tok),
    };
    if let Err(code) = written {
        return code;
    }
    say!(
        "fieldattest: token of {} bytes, kid {}, {} packages, {} rules",
        tok.len(),
        hex(&id.kid()),
        rep.inventory.packages.len(),
        rep.rules.len()
    );
    Exit::Clean
}
