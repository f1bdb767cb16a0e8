//! `fieldattest-collector` command line: one function per subcommand in
//! `cli/`, each with its own options and `--help`. Exit codes: 0 ok, 1 not
//! found / refused, 2 usage error, 3 runtime error (database, TLS, network,
//! stdout or an output file that cannot be written), 141 stdout is a closed
//! pipe (quietly). Nothing here prints with `println!`/`eprintln!`, which
//! panic on a closed or full stream: stdout through `emit`, stderr through
//! `say!`.
#![forbid(unsafe_code)]

use fieldattest_protocol::fsio;
use std::ffi::OsString;
use std::process::ExitCode;

/// `eprintln!` that never panics (a closed or full stderr is ignored).
macro_rules! say {
    ($($t:tt)*) => {
        fsio::stderr(&format!("{}\n", format_args!($($t)*)))
    };
}

mod cli;

/// jemalloc rather than glibc's malloc: under load (thousands of 10 KB
/// tokens a second decoded on the blocking pool's many threads) glibc's
/// allocator, its arena locks and consolidation, took about a sixth of the
/// server's busy CPU; with jemalloc the same run needs about 9% less CPU
/// per token (`bench/collector_load.sh`, README "Performance").
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const PROG: &str = "fieldattest-collector";

/// Writes `data` to stdout and flushes it. Err: the exit status — 141
/// quietly for a closed pipe, 3 with "cannot write to stdout: REASON" for
/// anything else (`/dev/full`).
fn emit(data: impl AsRef<[u8]>) -> Result<(), ExitCode> {
    fsio::stdout(data.as_ref()).map_err(|e| ExitCode::from(fsio::stdout_failed(PROG, &e)))
}

/// `emit` for the option parser, which exits (--help, --version).
fn emit_and_exit(data: &str) -> ! {
    let code = fsio::stdout(data.as_bytes())
        .map_err(|e| fsio::stdout_failed(PROG, &e))
        .err()
        .unwrap_or(0);
    std::process::exit(code.into())
}

/// A usage error: the message and a pointer to the help, exit 2.
fn usage_error(msg: &str, help: &str) -> ExitCode {
    say!("{PROG}: {msg}\nTry '{PROG} {help}--help'.");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    // The command is the first argument that is not an option (or an
    // option's value); options may come before it.
    let Some(at) = cli::command_position(&args) else {
        // Only options: the global ones, or nothing at all.
        return match args.first().and_then(|a| a.to_str()) {
            Some("--help" | "-h") => emit_and_exit(&cli::usage()),
            Some("--version" | "-V") => {
                emit_and_exit(&format!("{PROG} {}\n", env!("CARGO_PKG_VERSION")))
            }
            None => {
                fsio::stderr(&cli::usage());
                ExitCode::from(2)
            }
            Some(_) => usage_error(
                &format!(
                    "no command in {:?}",
                    args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>()
                ),
                "",
            ),
        };
    };
    let word = args.remove(at);
    let Some(word) = word.to_str() else {
        return usage_error("the command is not UTF-8", "");
    };
    let Some(cmd) = cli::COMMANDS.iter().find(|c| c.name == word) else {
        return usage_error(&format!("unknown command {word:?}"), "");
    };
    let opts = match cli::parse(cmd, args) {
        Ok(o) => o,
        Err(e) => return usage_error(&e, &format!("{} ", cmd.name)),
    };
    match (cmd.run)(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(c) => c,
    }
}
