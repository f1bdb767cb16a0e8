//! The subcommands: a table of [`Command`]s (name, synopsis, help text,
//! accepted options, the function that runs it), the option parser they
//! share, and the output helpers. One module per group of subcommands:
//! `admin` (serve, enrollment, approval, audit), `fleet_cmds` (devices, device,
//! findings, fleet, import), `vulns` (vulndb, vulns, vex), `report` (report,
//! catalog), `users` (user, token: operator accounts and API tokens), `demo`
//! (demo-fleet).

use crate::{emit, emit_and_exit, PROG};
use fieldattest_collector::fleet;
use fieldattest_collector::store::Store;
use fieldattest_protocol::fsio;
use serde_json::Value;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

mod admin;
mod demo;
mod fleet_cmds;
mod report;
mod users;
mod vulns;

/// One subcommand.
pub struct Command {
    pub name: &'static str,
    /// Synopsis lines, each after the program name (continuations indented).
    synopsis: &'static [&'static str],
    /// What it does, for its `--help`.
    about: &'static str,
    /// Options taking a value (`--NAME VALUE`).
    values: &'static [&'static str],
    /// Options without a value.
    flags: &'static [&'static str],
    /// Accepted `--format` values, the default first (empty: no `--format`).
    formats: &'static [&'static str],
    pub run: fn(&Opts) -> Result<(), ExitCode>,
}

const TEXT_JSON_CSV: &[&str] = &["text", "json", "csv"];

/// Every subcommand, in the order of the usage text.
pub const COMMANDS: &[Command] = &[
    admin::SERVE,
    admin::ENROLL_TOKEN,
    admin::APPROVE,
    admin::REVOKE,
    fleet_cmds::DEVICES,
    fleet_cmds::FLEET,
    admin::AUDIT,
    fleet_cmds::DEVICE,
    fleet_cmds::FINDINGS,
    fleet_cmds::IMPORT,
    report::CATALOG,
    vulns::VULNDB,
    vulns::VULNS,
    vulns::VEX,
    report::REPORT,
    users::USER,
    users::TOKEN,
    demo::DEMO_FLEET,
    admin::MIGRATE,
];

const DEVICE_NOTE: &str = "DEVICE is the numeric id or a prefix of the key id (kid, hex).\n";

const EXIT_NOTE: &str = "\
Exit status: 0 ok, 1 not found / refused, 2 usage error, 3 runtime error
(database, TLS, network, stdout or output file not writable), 141 stdout is a
closed pipe (quietly, as if killed by SIGPIPE).
";

fn synopsis_lines(out: &mut String, c: &Command) {
    for l in c.synopsis {
        out.push_str(&format!("  {PROG} {l}\n"));
    }
}

/// The global usage text: every subcommand's synopsis.
pub fn usage() -> String {
    let mut u =
        format!("{PROG} — receives, verifies and stores fieldattest attestations\n\nUsage:\n");
    for c in COMMANDS {
        synopsis_lines(&mut u, c);
    }
    u.push_str(&format!(
        "\n'{PROG} COMMAND --help' explains a command and its options.\n\n{DEVICE_NOTE}\
         The enrollment secret is printed once; only its SHA-256 is stored.\n\n{EXIT_NOTE}"
    ));
    u
}

/// One subcommand's own usage text.
fn command_usage(c: &Command) -> String {
    let mut u = format!(
        "{PROG} {} — {}\n\nUsage:\n",
        c.name,
        c.about.lines().next().unwrap_or("")
    );
    synopsis_lines(&mut u, c);
    let rest: Vec<&str> = c.about.lines().skip(1).collect();
    if !rest.join("").trim().is_empty() {
        u.push('\n');
        for l in rest.iter().skip_while(|l| l.trim().is_empty()) {
            u.push_str(l);
            u.push('\n');
        }
    }
    u.push('\n');
    if c.synopsis.iter().any(|l| l.contains("DEVICE")) {
        u.push_str(DEVICE_NOTE);
        u.push('\n');
    }
    u.push_str(EXIT_NOTE);
    u
}

/// Options taking a value in any subcommand (to find the command word
/// behind leading options).
fn takes_value(name: &str) -> bool {
    COMMANDS.iter().any(|c| c.values.contains(&name)) || name == "format"
}

/// Index of the command word: the first argument that is neither an option
/// nor the value of one.
pub fn command_position(args: &[OsString]) -> Option<usize> {
    let mut i = 0;
    while i < args.len() {
        let a = args[i].to_string_lossy();
        match a.strip_prefix("--") {
            Some(name) if !name.contains('=') && takes_value(name) => i += 2,
            _ if a.starts_with('-') && a.len() > 1 => i += 1,
            _ => return Some(i),
        }
    }
    None
}

/// A subcommand's parsed arguments.
pub struct Opts {
    /// Positional arguments (after the command word).
    pub pos: Vec<String>,
    values: Vec<(&'static str, String)>,
    flags: Vec<&'static str>,
    /// `--format`, checked against the command's list (its default otherwise).
    pub format: &'static str,
}

impl Opts {
    /// The value of `--name` (the last one given).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self, name: &str) -> Option<PathBuf> {
        self.get(name).map(PathBuf::from)
    }

    pub fn flag(&self, name: &str) -> bool {
        self.flags.contains(&name)
    }

    /// `--name` as a number (`default` when absent); a usage error (exit 2)
    /// naming `what` otherwise.
    pub fn number<T: std::str::FromStr>(
        &self,
        name: &str,
        default: T,
        what: &str,
    ) -> Result<T, ExitCode> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                say!("{PROG}: --{name}: {what}");
                ExitCode::from(2)
            }),
        }
    }
}

/// Parses a subcommand's arguments: its own options only; `--help`/`-h`
/// prints its usage and exits 0. Err: the usage error's message.
pub fn parse(cmd: &Command, args: Vec<OsString>) -> Result<Opts, String> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_args(args);
    let mut o = Opts {
        pos: Vec::new(),
        values: Vec::new(),
        flags: Vec::new(),
        format: cmd.formats.first().copied().unwrap_or(""),
    };
    let utf8 = |v: OsString| {
        v.into_string()
            .map_err(|_| "value is not UTF-8".to_string())
    };
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        match arg {
            Value(v) => o.pos.push(utf8(v)?),
            Long("help") | Short('h') => emit_and_exit(&command_usage(cmd)),
            Long("format") if !cmd.formats.is_empty() => {
                let f = utf8(p.value().map_err(|e| e.to_string())?)?;
                o.format = cmd
                    .formats
                    .iter()
                    .find(|x| **x == f)
                    .copied()
                    .ok_or_else(|| format!("--format: {f:?} ({})", cmd.formats.join(", ")))?;
            }
            Long(name) => {
                if let Some(n) = cmd.values.iter().find(|n| **n == name) {
                    o.values
                        .push((n, utf8(p.value().map_err(|e| e.to_string())?)?));
                } else if let Some(n) = cmd.flags.iter().find(|n| **n == name) {
                    o.flags.push(n);
                } else {
                    return Err(arg.unexpected().to_string());
                }
            }
            other => return Err(other.unexpected().to_string()),
        }
    }
    Ok(o)
}

/// Opens `--db PATH` (exit 2 without it, 3 when it cannot be opened).
/// Who acts on the command line, for the audit trail: `cli (uid N)`, the
/// process's user (the owner of `/proc/self`), or `cli` without `/proc`.
pub fn cli_actor() -> String {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata("/proc/self") {
        Ok(m) => format!("cli (uid {})", m.uid()),
        Err(_) => "cli".into(),
    }
}

pub fn open(o: &Opts) -> Result<Box<dyn Store>, ExitCode> {
    let Some(db) = o.get("db") else {
        say!("{PROG}: --db PATH|postgres://... is required");
        return Err(ExitCode::from(2));
    };
    fieldattest_collector::store::open(db).map_err(fail)
}

/// A runtime failure: the message, exit 3.
pub fn fail(e: impl std::fmt::Display) -> ExitCode {
    complain(e, 3)
}

/// A usage failure inside a command: the message, exit 2.
pub fn misuse(e: impl std::fmt::Display) -> ExitCode {
    complain(e, 2)
}

/// A refusal or something not found: the message, exit 1.
pub fn refused(e: impl std::fmt::Display) -> ExitCode {
    complain(e, 1)
}

/// [`warn`], then `code` as the exit status.
fn complain(e: impl std::fmt::Display, code: u8) -> ExitCode {
    warn(e);
    ExitCode::from(code)
}

/// Prints `PROG: MESSAGE` on stderr, the message sanitised of control
/// characters (it may quote what a device or an advisory said).
pub fn warn(e: impl std::fmt::Display) {
    say!("{PROG}: {}", fleet::sanitize(&e.to_string()));
}

/// The device a selector names: the numeric id or a unique kid prefix.
pub fn find_device(store: &dyn Store, sel: &str) -> Result<Option<i64>, String> {
    if let Ok(id) = sel.parse::<i64>() {
        return Ok(store.device(id)?.map(|d| d.id));
    }
    let sel = sel.to_ascii_lowercase();
    let m: Vec<i64> = store
        .devices()?
        .into_iter()
        .filter(|d| fieldattest_collector::hex(&d.kid).starts_with(&sel))
        .map(|d| d.id)
        .collect();
    Ok(if m.len() == 1 { Some(m[0]) } else { None })
}

/// `--device DEVICE` resolved to an id (exit 1 when nothing or several match).
pub fn device_option(store: &dyn Store, o: &Opts) -> Result<Option<i64>, ExitCode> {
    let Some(sel) = o.get("device") else {
        return Ok(None);
    };
    match find_device(store, sel) {
        Ok(Some(id)) => Ok(Some(id)),
        Ok(None) => Err(refused(format!("no single device matches {sel:?}"))),
        Err(e) => Err(fail(e)),
    }
}

/// Writes a user-named output file (`report --output`): atomic for a regular
/// or new file (owner and mode kept), in place for a device node or FIFO,
/// through a symlink (see `fsio::write_output`).
pub fn write_out(p: &std::path::Path, data: &[u8]) -> Result<(), String> {
    fsio::write_output(p, data, 0o644)
        .map(|_| ())
        .map_err(|e| format!("{}: {}", p.display(), fsio::describe(&e)))
}

/// Renders `v` as `format` (json; csv for arrays of flat objects through
/// `fleet::to_csv`, formula cells neutralised; text through
/// `fleet::render_text`, device-reported strings sanitised of control
/// characters) and writes it to stdout.
pub fn print(v: &Value, format: &str) -> Result<(), ExitCode> {
    let out = match format {
        "json" => format!("{}\n", serde_json::to_string_pretty(v).unwrap_or_default()),
        "csv" => fleet::to_csv(v),
        _ => fleet::render_text(v),
    };
    emit(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_command_word_is_found_behind_leading_options() {
        assert_eq!(command_position(&os(&["devices", "--db", "x"])), Some(0));
        assert_eq!(command_position(&os(&["--db", "x", "devices"])), Some(2));
        assert_eq!(command_position(&os(&["--db=x", "devices"])), Some(1));
        assert_eq!(command_position(&os(&["--all", "vulns"])), Some(1));
        assert_eq!(command_position(&os(&["--help"])), None);
        assert_eq!(command_position(&os(&[])), None);
    }

    #[test]
    fn every_command_has_its_own_usage_and_the_global_one_lists_it() {
        let global = usage();
        for c in COMMANDS {
            let u = command_usage(c);
            assert!(u.contains(&format!("{PROG} {}", c.name)), "{u}");
            assert!(u.contains("Exit status"), "{u}");
            assert_ne!(u, global);
            for l in c.synopsis {
                assert!(l.starts_with(c.name), "{}: {l}", c.name);
                assert!(global.contains(l), "{l}");
            }
        }
        let names: std::collections::BTreeSet<&str> = COMMANDS.iter().map(|c| c.name).collect();
        assert_eq!(names.len(), COMMANDS.len(), "a command listed twice");
    }

    #[test]
    fn options_are_per_command_and_formats_checked() {
        let devices = COMMANDS.iter().find(|c| c.name == "devices").unwrap();
        let o = parse(devices, os(&["--db", "x", "--format", "csv"])).unwrap();
        assert_eq!(o.get("db"), Some("x"));
        assert_eq!(o.format, "csv");
        assert_eq!(parse(devices, os(&[])).unwrap().format, "text");
        assert!(parse(devices, os(&["--format", "pdf"])).is_err());
        assert!(parse(devices, os(&["--status", "x"])).is_err());
        let vulns = COMMANDS.iter().find(|c| c.name == "vulns").unwrap();
        let o = parse(vulns, os(&["--all", "--device", "3"])).unwrap();
        assert!(o.flag("all") && !o.flag("fleet"));
        assert_eq!(o.get("device"), Some("3"));
        assert!(parse(vulns, os(&["--all=1"])).is_err());
    }
}
