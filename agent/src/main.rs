//! `fieldattest` command line: finds the subcommand and hands it its
//! arguments. The subcommands, the option table and the help texts are in
//! [`cli`]; exit statuses are [`cli::Exit`] (0 clean, 1 findings at or above
//! `--fail-on`, 2 usage or configuration error, 3 the work could not be done
//! or stdout / an output file could not be written, 141 stdout is a closed
//! pipe, quietly).
#![forbid(unsafe_code)]

mod cli;

use cli::{usage_err, Exit, COMMANDS, PROG};
use std::process::ExitCode;

fn main() -> ExitCode {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_env();
    let exit = match p.next() {
        Ok(Some(Value(name))) => match COMMANDS.iter().find(|c| name == c.name) {
            Some(cmd) => cli::dispatch(cmd, &mut p),
            None => usage_err(format_args!("unknown command {:?}", name.to_string_lossy())),
        },
        Ok(Some(Long("help") | Short('h'))) => cli::print(cli::help::top_help()),
        Ok(Some(Long("version") | Short('V'))) => cli::print(format!(
            "{PROG} {}\n",
            fieldattest_scan::report::AGENT_VERSION
        )),
        Ok(None) => {
            fieldattest_protocol::fsio::stderr(&cli::help::top_help());
            Exit::Usage
        }
        Ok(Some(other)) => usage_err(other.unexpected()),
        Err(e) => usage_err(e),
    };
    exit.into()
}
