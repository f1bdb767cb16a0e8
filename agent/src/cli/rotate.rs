//! `fieldattest rotate`: key rotation request, then `--commit`.

use super::flags;
use super::{now, print, usage_err, write_out, Command, Exit, Opts};
use fieldattest_agent::attest;
use fieldattest_agent::config::DEFAULT_STATE_DIR;
use fieldattest_protocol::hex::hex;
use std::path::PathBuf;

pub const COMMAND: Command = Command {
    name: "rotate",
    bit: flags::ROTATE,
    usage: "\
fieldattest rotate --nonce HEX [--out FILE] [--state-dir DIR]
fieldattest rotate --commit [--state-dir DIR]",
    about: "Key rotation: write the rotation request (old key vouches for a new \
            one, the new one proves possession) for the collector's \
            /attestation/v1/rotate/{session}; after it is accepted, --commit \
            makes the new key current (the sequence continues).",
    operands: &[],
    run,
};

fn run(o: Opts) -> Exit {
    let dir = o
        .state_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR));
    let mut id = match attest::keystore::Identity::load_or_create(&dir) {
        Ok(i) => i,
        Err(e) => {
            say!("fieldattest: device identity: {e}");
            return Exit::Failed;
        }
    };
    let r = match (o.commit, o.nonce) {
        (true, None) => id.commit_rotation().map(|()| {
            say!("fieldattest: rotation committed; kid {}", hex(&id.kid()));
        }),
        (false, Some(n)) => match attest::rotation_body(&id, now(), n) {
            Ok(b) => match &o.output {
                Some(p) => write_out(p, &b, 0o644),
                None => return print(&b),
            },
            Err(e) => Err(e),
        },
        _ => return usage_err("rotate needs either --nonce HEX or --commit"),
    };
    match r {
        Ok(()) => Exit::Clean,
        Err(e) => {
            say!("fieldattest: rotate: {e}");
            Exit::Failed
        }
    }
}
