//! The option table. Each option is defined once ([`FLAGS`]): its name,
//! short name, value name, help line, the subcommands that take it, and how
//! its value updates [`Opts`]. The parser ([`parse`]) and every `--help`
//! text ([`command_help`], [`top_help`]) are driven by this table, so an
//! option cannot be parsed without being documented, or the reverse.

use super::{emit, usage_err, Exit, COMMANDS, PROG};
use fieldattest_protocol::report::Severity;
use fieldattest_scan::report::Format;
use std::ffi::OsString;
use std::path::PathBuf;

/// Subcommand bits for [`Flag::cmds`].
pub const SCAN: u16 = 1;
pub const ATTEST: u16 = 1 << 1;
pub const EXPORT: u16 = 1 << 2;
pub const ROTATE: u16 = 1 << 3;
pub const IDENTITY: u16 = 1 << 4;
pub const RUN: u16 = 1 << 5;
pub const ENROLL: u16 = 1 << 6;
pub const VERIFY: u16 = 1 << 7;
pub const RULES: u16 = 1 << 8;

/// A subcommand.
pub struct Command {
    pub name: &'static str,
    /// Its bit in [`Flag::cmds`].
    pub bit: u16,
    /// Its synopsis lines, as in the usage texts (without indentation).
    pub usage: &'static str,
    /// What it does: its help, and its line in the top-level help.
    pub about: &'static str,
    /// The arguments it takes that are not options (`verify TOKEN`).
    pub operands: &'static [&'static str],
    pub run: fn(Opts) -> Exit,
}

/// Everything the options of all subcommands set; each subcommand reads the
/// fields its options fill (the parser refuses the others).
#[derive(Debug, Clone)]
pub struct Opts {
    pub root: PathBuf,
    /// `--format` as given: scan takes text|json|cyclonedx, rules text|json.
    pub format: Option<String>,
    /// `--output`/`-o`/`--out`: the report, token, request or bundle directory.
    pub output: Option<PathBuf>,
    /// `--write FORMAT=FILE`, in order.
    pub writes: Vec<(Format, PathBuf)>,
    pub sl: u8,
    pub fail_on: Option<Severity>,
    pub max_file: u64,
    pub accept: Option<PathBuf>,
    /// None: unlimited; Some(0): the check is off.
    pub cred_budget_ms: Option<u64>,
    pub no_cred_check: bool,
    pub hardware_ids: bool,
    pub state_dir: Option<PathBuf>,
    pub nonce: Option<Vec<u8>>,
    pub sbom_out: Option<PathBuf>,
    pub enrollment: bool,
    pub spool: bool,
    pub purge: bool,
    pub commit: bool,
    pub config: Option<PathBuf>,
    pub check_config: bool,
    pub once: bool,
    pub collector: Option<String>,
    pub token: Option<String>,
    pub ca: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// Arguments that are not options (`verify TOKEN`).
    pub operands: Vec<OsString>,
}

impl Default for Opts {
    fn default() -> Opts {
        Opts {
            root: PathBuf::from("/"),
            format: None,
            output: None,
            writes: Vec::new(),
            sl: 2,
            fail_on: None,
            max_file: fieldattest_scan::root::DEFAULT_MAX_FILE,
            accept: None,
            cred_budget_ms: Some(2000),
            no_cred_check: false,
            hardware_ids: false,
            state_dir: None,
            nonce: None,
            sbom_out: None,
            enrollment: false,
            spool: false,
            purge: false,
            commit: false,
            config: None,
            check_config: false,
            once: false,
            collector: None,
            token: None,
            ca: None,
            key: None,
            operands: Vec::new(),
        }
    }
}

/// What an option does with the command line.
pub enum Kind {
    /// No value.
    Switch(fn(&mut Opts)),
    /// A value, named in the help (`--root DIR`).
    Value(&'static str, fn(&mut Opts, OsString) -> Result<(), String>),
}

/// One option.
pub struct Flag {
    pub long: &'static str,
    pub short: Option<char>,
    pub kind: Kind,
    /// The subcommands that take it and list it in their help.
    pub cmds: u16,
    /// The subcommands that also take it, silently, because they always
    /// have (`attest --format`, `scan --out`); not listed in their help.
    pub compat: u16,
    pub help: &'static str,
}

/// The value as UTF-8, or "--NAME: value is not valid UTF-8".
fn utf8(name: &str, v: OsString) -> Result<String, String> {
    v.into_string()
        .map_err(|_| format!("--{name}: value is not valid UTF-8"))
}

fn parse_severity(s: &str) -> Option<Severity> {
    Some(match s {
        "critical" => Severity::Critical,
        "high" => Severity::High,
        "medium" => Severity::Medium,
        "low" => Severity::Low,
        "info" => Severity::Info,
        _ => return None,
    })
}

/// A collector nonce given as hex: 8..64 bytes.
pub fn parse_nonce(v: &str) -> Result<Vec<u8>, String> {
    match v
        .bytes()
        .all(|c| c.is_ascii_hexdigit())
        .then(|| fieldattest_protocol::hex::unhex(v))
        .flatten()
    {
        Some(b) if (8..=64).contains(&b.len()) => Ok(b),
        _ => Err(format!("--nonce: want 8..64 bytes as hex, got {v:?}")),
    }
}

/// `--write FORMAT=FILE` (FILE may be any bytes; the first `=` splits).
fn parse_write(v: OsString) -> Result<(Format, PathBuf), String> {
    use std::os::unix::ffi::OsStringExt;
    let bad = || "--write: want FORMAT=FILE (FORMAT text, json or cyclonedx)".to_string();
    let mut s = v.into_vec();
    let eq = s.iter().position(|b| *b == b'=').ok_or_else(bad)?;
    let path = s.split_off(eq + 1);
    let name = std::str::from_utf8(&s[..eq]).map_err(|_| bad())?;
    let format = Format::parse(name)
        .ok_or_else(|| format!("--write: unknown format {name:?} (text, json, cyclonedx)"))?;
    if path.is_empty() {
        return Err(bad());
    }
    Ok((format, PathBuf::from(OsString::from_vec(path))))
}

const HELP: Flag = Flag {
    long: "help",
    short: Some('h'),
    kind: Kind::Switch(|_| {}),
    cmds: !0,
    compat: 0,
    help: "Print this help and exit",
};

/// Every option of every subcommand (besides `--help`), in help order.
pub const FLAGS: &[Flag] = &[
    Flag {
        long: "root",
        short: None,
        kind: Kind::Value("DIR", |o, v| {
            o.root = v.into();
            Ok(())
        }),
        cmds: SCAN | ATTEST,
        compat: 0,
        help: "Root of the system to scan; nothing outside it is read (symlinks \
               are resolved inside it). Default: / (live mode: /proc is read \
               too); any other root is an image",
    },
    Flag {
        long: "format",
        short: Some('f'),
        kind: Kind::Value("FORMAT", |o, v| {
            o.format = Some(utf8("format", v)?);
            Ok(())
        }),
        cmds: SCAN | RULES,
        compat: ATTEST,
        help: "text (default), json (scan: fieldattest/report/v1; rules: the \
               catalog document) or, for scan, cyclonedx (CycloneDX 1.6 JSON SBOM)",
    },
    Flag {
        long: "output",
        short: Some('o'),
        kind: Kind::Value("FILE", |o, v| {
            o.output = Some(v.into());
            Ok(())
        }),
        cmds: SCAN,
        compat: ATTEST,
        help: "Write the report to FILE instead of stdout (a regular file \
               atomically, keeping its owner and mode; a device or FIFO in \
               place; a symlink through to its target)",
    },
    Flag {
        long: "write",
        short: None,
        kind: Kind::Value("FORMAT=FILE", |o, v| {
            o.writes.push(parse_write(v)?);
            Ok(())
        }),
        cmds: SCAN,
        compat: 0,
        help: "Also write the report as FORMAT (text, json, cyclonedx) to FILE, \
               from the same scan; repeatable (e.g. --write json=r.json --write \
               cyclonedx=r.cdx.json). Written like --output, before stdout",
    },
    Flag {
        long: "out",
        short: None,
        kind: Kind::Value("PATH", |o, v| {
            o.output = Some(v.into());
            Ok(())
        }),
        cmds: ATTEST | EXPORT | ROTATE,
        compat: SCAN,
        help: "attest: write the token to file PATH; rotate: the rotation \
               request; export: the bundle into directory PATH (written like \
               scan --output)",
    },
    Flag {
        long: "sl",
        short: None,
        kind: Kind::Value("N", |o, v| {
            let v = utf8("sl", v)?;
            o.sl = v
                .parse()
                .ok()
                .filter(|n| (1..=4).contains(n))
                .ok_or_else(|| format!("--sl: {v:?} is not 1, 2, 3 or 4"))?;
            Ok(())
        }),
        cmds: SCAN | ATTEST,
        compat: 0,
        help: "Target security level 1..4 (default 2)",
    },
    Flag {
        long: "accept",
        short: None,
        kind: Kind::Value("FILE", |o, v| {
            o.accept = Some(v.into());
            Ok(())
        }),
        cmds: SCAN | ATTEST,
        compat: 0,
        help: "TOML file of accepted findings with their compensating \
               countermeasure (IEC 62443-4-2 CCSC 2): [[accept]] rule, subject \
               (glob, optional), reason, expires (optional)",
    },
    Flag {
        long: "fail-on",
        short: None,
        kind: Kind::Value("SEVERITY", |o, v| {
            let v = utf8("fail-on", v)?;
            o.fail_on = Some(
                parse_severity(&v).ok_or_else(|| format!("--fail-on: unknown severity {v:?}"))?,
            );
            Ok(())
        }),
        cmds: SCAN,
        compat: ATTEST,
        help: "Exit 1 when a finding at or above SEVERITY is not accepted \
               (critical, high, medium, low, info)",
    },
    Flag {
        long: "cred-budget-ms",
        short: None,
        kind: Kind::Value("MS", |o, v| {
            let v = utf8("cred-budget-ms", v)?;
            o.cred_budget_ms = match v.as_str() {
                "unlimited" => None,
                _ => Some(v.parse().map_err(|_| {
                    format!("--cred-budget-ms: {v:?} is not a number or 'unlimited'")
                })?),
            };
            Ok(())
        }),
        cmds: SCAN | ATTEST,
        compat: 0,
        help: "CPU time for re-hashing candidate default passwords (default \
               2000; 'unlimited' for no limit; 0 = the check is off, as \
               --no-cred-check). Coverage is reported",
    },
    Flag {
        long: "no-cred-check",
        short: None,
        kind: Kind::Switch(|o| o.no_cred_check = true),
        cmds: SCAN | ATTEST,
        compat: 0,
        help: "Skip the default-credential check; its rule is reported as not \
               applicable, naming this option",
    },
    Flag {
        long: "max-file-size",
        short: None,
        kind: Kind::Value("BYTES", |o, v| {
            let v = utf8("max-file-size", v)?;
            o.max_file = v
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("--max-file-size: {v:?} is not a positive number"))?;
            Ok(())
        }),
        cmds: SCAN | ATTEST,
        compat: 0,
        help: "Refuse to read files larger than this whole (default 33554432)",
    },
    Flag {
        long: "hardware-ids",
        short: None,
        kind: Kind::Switch(|o| o.hardware_ids = true),
        cmds: SCAN | ATTEST,
        compat: 0,
        help: "Report MAC addresses and hardware serial numbers in clear \
               (default: salted hashes, since they identify the device)",
    },
    Flag {
        long: "nonce",
        short: None,
        kind: Kind::Value("HEX", |o, v| {
            o.nonce = Some(parse_nonce(&utf8("nonce", v)?)?);
            Ok(())
        }),
        cmds: ATTEST | ROTATE,
        compat: 0,
        help: "The collector's session nonce (8..64 bytes as hex), bound into \
               the token or rotation request",
    },
    Flag {
        long: "sbom-out",
        short: None,
        kind: Kind::Value("FILE", |o, v| {
            o.sbom_out = Some(v.into());
            Ok(())
        }),
        cmds: ATTEST,
        compat: 0,
        help: "Also write the CycloneDX SBOM whose digest the token carries",
    },
    Flag {
        long: "enrollment",
        short: None,
        kind: Kind::Switch(|o| o.enrollment = true),
        cmds: ATTEST,
        compat: 0,
        help: "Write an enrollment token (proof of possession of the device \
               key, no scan); needs --nonce",
    },
    Flag {
        long: "spool",
        short: None,
        kind: Kind::Switch(|o| o.spool = true),
        cmds: ATTEST,
        compat: 0,
        help: "Put the token into the state directory's spool \
               (store-and-forward) instead of writing it out",
    },
    Flag {
        long: "purge",
        short: None,
        kind: Kind::Switch(|o| o.purge = true),
        cmds: EXPORT,
        compat: 0,
        help: "Remove the exported tokens from the spool once the bundle is \
               durably written",
    },
    Flag {
        long: "commit",
        short: None,
        kind: Kind::Switch(|o| o.commit = true),
        cmds: ROTATE,
        compat: 0,
        help: "Make the new key current, after the collector accepted the \
               rotation request",
    },
    Flag {
        long: "config",
        short: None,
        kind: Kind::Value("FILE", |o, v| {
            o.config = Some(v.into());
            Ok(())
        }),
        cmds: RUN | ENROLL,
        compat: 0,
        help: "The agent configuration (default /etc/fieldattest/agent.toml; \
               every key is documented in agent/dist/agent.toml)",
    },
    Flag {
        long: "check-config",
        short: None,
        kind: Kind::Switch(|o| o.check_config = true),
        cmds: RUN,
        compat: 0,
        help: "Check the configuration (and that its TLS material and accept \
               file are readable), print \"configuration OK\" and exit",
    },
    Flag {
        long: "once",
        short: None,
        kind: Kind::Switch(|o| o.once = true),
        cmds: RUN,
        compat: 0,
        help: "Run one cycle (scan, attest, spool, deliver) and exit",
    },
    Flag {
        long: "collector",
        short: None,
        kind: Kind::Value("URL", |o, v| {
            o.collector = Some(utf8("collector", v)?);
            Ok(())
        }),
        cmds: ENROLL,
        compat: 0,
        help: "The collector, https://host[:port] (default: collector.url of \
               the configuration)",
    },
    Flag {
        long: "token",
        short: None,
        kind: Kind::Value("SECRET", |o, v| {
            o.token = Some(utf8("token", v)?);
            Ok(())
        }),
        cmds: ENROLL,
        compat: 0,
        help: "The one-time enrollment secret from 'fieldattest-collector \
               enroll-token'",
    },
    Flag {
        long: "ca",
        short: None,
        kind: Kind::Value("PEM", |o, v| {
            o.ca = Some(v.into());
            Ok(())
        }),
        cmds: ENROLL,
        compat: 0,
        help: "CA certificate of the collector (default: collector.ca_file of \
               the configuration)",
    },
    Flag {
        long: "key",
        short: None,
        kind: Kind::Value("PUB.pem", |o, v| {
            o.key = Some(v.into());
            Ok(())
        }),
        cmds: VERIFY,
        compat: 0,
        help: "The device's public key (PEM, as 'fieldattest identity' prints it)",
    },
    Flag {
        long: "state-dir",
        short: None,
        kind: Kind::Value("DIR", |o, v| {
            o.state_dir = Some(v.into());
            Ok(())
        }),
        cmds: SCAN | ATTEST | EXPORT | ROTATE | IDENTITY | ENROLL,
        compat: 0,
        help: "State directory: device key and UEID, spool, enrollment, and \
               the keyed digests of hashes already checked, so unchanged \
               accounts cost nothing next time (default /var/lib/fieldattest; \
               scan: none)",
    },
];

/// The flag `arg` names, if any.
fn lookup(arg: &lexopt::Arg) -> Option<&'static Flag> {
    use lexopt::Arg::{Long, Short};
    FLAGS.iter().chain([&HELP]).find(|f| match arg {
        Long(l) => f.long == *l,
        Short(c) => f.short == Some(*c),
        lexopt::Arg::Value(_) => false,
    })
}

/// "'fieldattest attest', 'fieldattest rotate'": the subcommands in `bits`.
fn takers(bits: u16) -> String {
    COMMANDS
        .iter()
        .filter(|c| bits & c.bit != 0)
        .map(|c| format!("'{PROG} {}'", c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses the arguments after `cmd`'s name. `--help` prints its help; the
/// Err is then its status (0, or that of a failed write).
pub fn parse(cmd: &Command, p: &mut lexopt::Parser) -> Result<Opts, Exit> {
    let mut o = Opts::default();
    loop {
        let arg = match p.next() {
            Ok(None) => return Ok(o),
            Ok(Some(a)) => a,
            Err(e) => return Err(usage_err(e)),
        };
        if let lexopt::Arg::Value(v) = arg {
            if o.operands.len() < cmd.operands.len() {
                o.operands.push(v);
                continue;
            }
            return Err(usage_err(lexopt::Arg::Value(v).unexpected()));
        }
        let Some(f) = lookup(&arg) else {
            return Err(usage_err(arg.unexpected()));
        };
        if (f.cmds | f.compat) & cmd.bit == 0 {
            return Err(usage_err(format_args!(
                "--{} belongs to {}",
                f.long,
                takers(f.cmds)
            )));
        }
        match f.kind {
            Kind::Switch(_) if f.long == HELP.long => {
                return Err(emit(command_help(cmd)).err().unwrap_or(Exit::Clean));
            }
            Kind::Switch(set) => set(&mut o),
            Kind::Value(_, set) => {
                let v = p.value().map_err(usage_err)?;
                set(&mut o, v).map_err(usage_err)?;
            }
        }
    }
}

const WIDTH: usize = 79;
/// The column of option help texts.
const COL: usize = 28;

/// Appends `text` word-wrapped to [`WIDTH`]; the cursor is at column `col`
/// of the current line, continuation lines are indented to it.
fn wrap(out: &mut String, col: usize, text: &str) {
    let mut x = col;
    for (i, w) in text.split_whitespace().enumerate() {
        let n = w.chars().count();
        if i > 0 && x + 1 + n > WIDTH {
            out.push('\n');
            out.extend(std::iter::repeat(' ').take(col));
            x = col;
        } else if i > 0 {
            out.push(' ');
            x += 1;
        }
        out.push_str(w);
        x += n;
    }
    out.push('\n');
}

/// The synopsis lines, indented.
fn usage_lines(out: &mut String, cmd: &Command) {
    for l in cmd.usage.lines() {
        out.push_str("  ");
        out.push_str(l);
        out.push('\n');
    }
}

const EXIT_STATUS: &str = "Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage \
                           error, 3 the scan could not run (or stdout/an output file could \
                           not be written), 141 stdout is a closed pipe (quietly, as if \
                           killed by SIGPIPE).";

/// `fieldattest CMD --help`: its usage, what it does, its options.
pub fn command_help(cmd: &Command) -> String {
    let mut s = String::from("Usage:\n");
    usage_lines(&mut s, cmd);
    s.push('\n');
    wrap(&mut s, 0, cmd.about);
    s.push_str("\nOptions:\n");
    for f in FLAGS.iter().chain([&HELP]) {
        if f.cmds & cmd.bit == 0 {
            continue;
        }
        let mut row = match f.short {
            Some(c) => format!("  -{c}, --{}", f.long),
            None => format!("      --{}", f.long),
        };
        if let Kind::Value(name, _) = f.kind {
            row.push(' ');
            row.push_str(name);
        }
        s.push_str(&row);
        let n = row.chars().count();
        if n + 2 > COL {
            s.push('\n');
            s.extend(std::iter::repeat(' ').take(COL));
        } else {
            s.extend(std::iter::repeat(' ').take(COL - n));
        }
        wrap(&mut s, COL, f.help);
    }
    s.push('\n');
    wrap(&mut s, 0, EXIT_STATUS);
    s
}

/// `fieldattest --help`: every subcommand's usage and what it does.
pub fn top_help() -> String {
    let mut s = format!(
        "{PROG} — software inventory and IEC 62443-4-2 checks for embedded Linux devices\n\nUsage:\n"
    );
    for c in COMMANDS {
        usage_lines(&mut s, c);
    }
    s.push_str(&format!("  {PROG} --help | --version\n\nCommands:\n"));
    for c in COMMANDS {
        let row = format!("  {:<9} ", c.name);
        s.push_str(&row);
        wrap(&mut s, row.len(), c.about);
    }
    s.push('\n');
    wrap(
        &mut s,
        0,
        &format!("'{PROG} COMMAND --help' describes the options of COMMAND."),
    );
    s.push('\n');
    wrap(&mut s, 0, EXIT_STATUS);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(cmd: &Command, args: &[&str]) -> Result<Opts, Exit> {
        parse(cmd, &mut lexopt::Parser::from_args(args))
    }

    #[test]
    fn names_are_unique_and_every_flag_has_a_taker() {
        let all: Vec<&Flag> = FLAGS.iter().chain([&HELP]).collect();
        for (i, f) in all.iter().enumerate() {
            assert!(f.cmds != 0, "--{} taken by no subcommand", f.long);
            assert_eq!(
                f.cmds & f.compat,
                0,
                "--{}: cmds and compat overlap",
                f.long
            );
            for g in &all[i + 1..] {
                assert_ne!(f.long, g.long);
                assert!(f.short.is_none() || f.short != g.short, "-{:?}", f.short);
            }
        }
        let bits: Vec<u16> = COMMANDS.iter().map(|c| c.bit).collect();
        assert!(bits.iter().all(|b| b.count_ones() == 1));
        assert_eq!(
            bits.iter().fold(0, |a, b| a | b).count_ones() as usize,
            COMMANDS.len()
        );
    }

    /// The hand-written synopsis of each subcommand names only options it
    /// takes, and its help lists every option it takes in its synopsis.
    #[test]
    fn synopsis_and_help_agree_with_the_table() {
        for c in COMMANDS {
            let help = command_help(c);
            assert!(
                help.starts_with(&format!("Usage:\n  {PROG} {} ", c.name)),
                "{help}"
            );
            for word in c
                .usage
                .split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '-'))
            {
                let Some(long) = word.strip_prefix("--") else {
                    continue;
                };
                let f = FLAGS
                    .iter()
                    .find(|f| f.long == long)
                    .unwrap_or_else(|| panic!("{}: --{long} not in the table", c.name));
                assert!(f.cmds & c.bit != 0, "{}: --{long} not taken", c.name);
            }
            for f in FLAGS.iter().filter(|f| f.cmds & c.bit != 0) {
                assert!(
                    help.contains(&format!("--{} ", f.long))
                        || help.contains(&format!("--{}\n", f.long)),
                    "{}: --{} missing from its help",
                    c.name,
                    f.long
                );
            }
            for f in FLAGS.iter().filter(|f| f.cmds & c.bit == 0) {
                assert!(
                    !help.contains(&format!("      --{} ", f.long)),
                    "{}: lists --{}",
                    c.name,
                    f.long
                );
            }
            assert!(help.lines().all(|l| l.chars().count() <= WIDTH), "{help}");
        }
        let top = top_help();
        for c in COMMANDS {
            assert!(
                top.contains(&format!("\n  {PROG} {} ", c.name)),
                "{}",
                c.name
            );
        }
        assert!(top.lines().all(|l| l.chars().count() <= 84), "{top}");
    }

    #[test]
    fn values_switches_operands_and_refusals() {
        let scan = super::super::scan::COMMAND;
        let o = parse_args(
            &scan,
            &[
                "--root=/mnt",
                "-f",
                "json",
                "--sl",
                "3",
                "--write",
                "cyclonedx=a=b.json",
                "--write=text=t.txt",
                "--no-cred-check",
                "--cred-budget-ms",
                "unlimited",
                "--out",
                "r.json",
            ],
        )
        .unwrap();
        assert_eq!(o.root, PathBuf::from("/mnt"));
        assert_eq!((o.format.as_deref(), o.sl), (Some("json"), 3));
        assert_eq!(
            o.writes,
            [
                (Format::CycloneDx, PathBuf::from("a=b.json")),
                (Format::Text, PathBuf::from("t.txt"))
            ]
        );
        assert!(o.no_cred_check && o.cred_budget_ms.is_none());
        assert_eq!(o.output, Some(PathBuf::from("r.json")));
        for bad in [
            &["--write", "json"][..],
            &["--write", "xml=a"],
            &["--write", "json="],
            &["--sl", "0"],
            &["--nonce", "00112233445566778899"],
            &["--commit"],
            &["--bogus"],
            &["stray"],
            &["--no-cred-check=yes"],
            &["--root"],
        ] {
            assert_eq!(parse_args(&scan, bad).err(), Some(Exit::Usage), "{bad:?}");
        }
        let verify = super::super::verify::COMMAND;
        let o = parse_args(&verify, &["t.cwt", "--key", "k.pem"]).unwrap();
        assert_eq!(o.operands, [OsString::from("t.cwt")]);
        assert_eq!(parse_args(&verify, &["a", "b"]).err(), Some(Exit::Usage));
        let attest = super::super::attest::COMMAND;
        let o = parse_args(&attest, &["--nonce", "00112233445566778899", "-o", "t"]).unwrap();
        assert_eq!(o.nonce.as_deref().map(|n| n.len()), Some(10));
        assert_eq!(o.output, Some(PathBuf::from("t")));
    }

    #[test]
    fn wrap_keeps_words_and_width() {
        let mut s = String::from("  --x  ");
        wrap(&mut s, 7, &"word ".repeat(40));
        assert!(s.lines().all(|l| l.len() <= WIDTH));
        assert_eq!(s.split_whitespace().filter(|w| *w == "word").count(), 40);
        assert!(s.lines().skip(1).all(|l| l.starts_with("       word")));
    }
}
