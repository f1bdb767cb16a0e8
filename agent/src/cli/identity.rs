//! `fieldattest identity`: what enrolling the device needs.

use super::flags;
use super::{print, Command, Exit, Opts};
use fieldattest_agent::attest::keystore::{Identity, Signer};
use fieldattest_agent::config::DEFAULT_STATE_DIR;
use fieldattest_protocol::hex::hex;
use std::path::PathBuf;

pub const COMMAND: Command = Command {
    name: "identity",
    bit: flags::IDENTITY,
    usage: "fieldattest identity [--state-dir DIR]",
    about: "Print the UEID, kid and public key (PEM) needed to enroll the device.",
    operands: &[],
    run,
};

fn run(o: Opts) -> Exit {
    let dir = o
        .state_dir
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR));
    match Identity::load_or_create(&dir) {
        Ok(id) => print(format!(
            "ueid: {}\nkid: {}\nkey-tier: software\n{}",
            hex(&id.ueid),
            hex(&id.kid()),
            id.key.public_key().to_pem()
        )),
        Err(e) => {
            say!("fieldattest: device identity: {e}");
            Exit::Failed
        }
    }
}
