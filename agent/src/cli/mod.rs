//! The `fieldattest` command line: one module per subcommand, one option
//! table ([`flags::FLAGS`]) that drives both the parser and every `--help`
//! text ([`help`]), and the exit statuses as [`Exit`]. Nothing here prints with
//! `println!`/`eprintln!`, which panic on a closed or full stream: stdout
//! through [`emit`]/[`print`], stderr through `say!` (protocol's `fsio`).

use fieldattest_protocol::fsio;
use std::path::Path;
use std::process::ExitCode;

/// `eprintln!` that never panics (a closed or full stderr is ignored).
macro_rules! say {
    ($($t:tt)*) => {
        fieldattest_protocol::fsio::stderr(&format!("{}\n", format_args!($($t)*)))
    };
}

mod attest;
mod enroll;
mod export;
pub mod flags;
pub mod help;
mod identity;
mod opts;
mod rotate;
mod rules;
mod run;
mod scan;
mod verify;

pub use opts::{Command, Opts};

/// The program's name in messages.
pub const PROG: &str = "fieldattest";

/// Every subcommand, in the order of the top-level usage text.
pub const COMMANDS: [&Command; 9] = [
    &scan::COMMAND,
    &attest::COMMAND,
    &export::COMMAND,
    &rotate::COMMAND,
    &identity::COMMAND,
    &run::COMMAND,
    &enroll::COMMAND,
    &verify::COMMAND,
    &rules::COMMAND,
];

/// Exit statuses (design.md, README "Usage").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Done; no finding at or above `--fail-on`.
    Clean = 0,
    /// Findings at or above `--fail-on` (`verify`: the token is invalid).
    Findings = 1,
    /// Usage or configuration error.
    Usage = 2,
    /// The work could not be done, or stdout / an output file could not be
    /// written.
    Failed = 3,
    /// stdout is a closed pipe (quietly, as if killed by SIGPIPE).
    ClosedPipe = fsio::EXIT_BROKEN_PIPE,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// A usage error: the message, a pointer to the help, [`Exit::Usage`].
pub fn usage_err(msg: impl std::fmt::Display) -> Exit {
    say!("{PROG}: {msg}\nTry '{PROG} --help'.");
    Exit::Usage
}

/// Writes `data` to stdout and flushes it. Err: [`Exit::ClosedPipe`]
/// quietly, [`Exit::Failed`] with "cannot write to stdout: REASON" for
/// anything else (`/dev/full`).
pub fn emit(data: impl AsRef<[u8]>) -> Result<(), Exit> {
    fsio::stdout(data.as_ref()).map_err(|e| match fsio::stdout_failed(PROG, &e) {
        fsio::EXIT_BROKEN_PIPE => Exit::ClosedPipe,
        _ => Exit::Failed,
    })
}

/// [`emit`] as the command's last word: its status.
pub fn print(data: impl AsRef<[u8]>) -> Exit {
    emit(data).err().unwrap_or(Exit::Clean)
}

/// Writes a user-named output file (`--output`, `--write`, `--out`,
/// `--sbom-out`): atomic for a regular or new file (owner and mode kept), in
/// place for a device node or FIFO, through a symlink (see
/// `fsio::write_output`).
pub fn write_out(p: &Path, data: &[u8], mode: u32) -> Result<(), String> {
    fsio::write_output(p, data, mode)
        .map(|_| ())
        .map_err(|e| format!("{}: {}", p.display(), fsio::describe(&e)))
}

/// Seconds since the epoch (0 if the clock is before it).
pub fn now() -> i64 {
    fieldattest_protocol::hex::unix_seconds(std::time::SystemTime::now())
}

/// Parses the arguments after the subcommand's name and runs it.
pub fn dispatch(cmd: &Command, p: &mut lexopt::Parser) -> Exit {
    match flags::parse(cmd, p) {
        Ok(opts) => (cmd.run)(opts),
        Err(e) => e,
    }
}
