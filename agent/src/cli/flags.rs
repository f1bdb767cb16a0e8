//! The option table. Each option is defined once, as a row of [`FLAGS`]:
//! its name, short name, value name, help line and the subcommands that take
//! it; [`apply`] (an exhaustive match on its [`Id`]) says how its value
//! updates [`Opts`]. The parser ([`parse`]) and every `--help` text
//! ([`super::help`]) are driven by this table, so an option
//! cannot be parsed without being documented, or the reverse. (A match
//! rather than a function pointer per row: no relocation and no unwind entry
//! per option in the flash-budgeted binary.)

use super::help::command_help;
use super::opts::{parse_nonce, parse_severity, parse_write, utf8};
use super::{emit, usage_err, Command, Exit, Opts, COMMANDS, PROG};
use std::ffi::OsString;

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

/// The options, for [`apply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Id {
    Root,
    Format,
    Output,
    Write,
    Out,
    Sl,
    Accept,
    FailOn,
    CredBudgetMs,
    NoCredCheck,
    MaxFileSize,
    HardwareIds,
    Nonce,
    SbomOut,
    Enrollment,
    Spool,
    Purge,
    Commit,
    Config,
    CheckConfig,
    Once,
    Collector,
    Token,
    Ca,
    Key,
    StateDir,
    Help,
}

/// One option.
pub struct Flag {
    pub long: &'static str,
    pub short: Option<char>,
    pub id: Id,
    /// The name of its value in the help (`--root DIR`); None: a switch.
    pub value: Option<&'static str>,
    /// The subcommands that take it and list it in their help.
    pub cmds: u16,
    /// The subcommands that also take it, silently, because they always
    /// have (`attest --format`, `scan --out`); not listed in their help.
    pub compat: u16,
    pub help: &'static str,
}

pub const HELP: Flag = Flag {
    long: "help",
    short: Some('h'),
    id: Id::Help,
    value: None,
    cmds: !0,
    compat: 0,
    help: "Print this help and exit",
};

/// Every option of every subcommand (besides `--help`), in help order.
pub const FLAGS: &[Flag] = &[
    Flag {
        long: "root",
        short: None,
        id: Id::Root,
        value: Some("DIR"),
        cmds: SCAN | ATTEST,
        compat: 0,
        help: "Root of the system to scan; nothing outside it is read (symlinks \
               are resolved inside it). Default: / (live mode: /proc is read \
               too); any other root is an image",
    },
    Flag {
        long: "format",
        short: Some('f'),
        id: Id::Format,
        value: Some("FORMAT"),
        cmds: SCAN | RULES,
        compat: ATTEST,
        help: "text (default), json (scan: fieldattest/report/v1; rules: the \
               catalog document) or, for scan, cyclonedx (CycloneDX 1.6 JSON SBOM), \
               spdx-json (SPDX 2.3) or spdx3 (SPDX 3.0.1 JSON-LD; builds with \
               the spdx feature)",
    },
    Flag {
        long: "output",
        short: Some('o'),
        id: Id::Output,
        value: Some("FILE"),
        cmds: SCAN,
        compat: ATTEST,
        help: "Write the report to FILE instead of stdout (a regular file \
               atomically, keeping its owner and mode; a device or FIFO in \
               place; a symlink through to its target)",
    },
    Flag {
        long: "write",
        short: None,
        id: Id::Write,
        value: Some("FORMAT=FILE"),
        cmds: SCAN,
        compat: 0,
        help: "Also write the report as FORMAT (a --format name) to FILE, \
               from the same scan; repeatable (e.g. --write json=r.json --write \
               cyclonedx=r.cdx.json). Written like --output, before stdout",
    },
    Flag {
        long: "out",
        short: None,
        id: Id::Out,
        value: Some("PATH"),
        cmds: ATTEST | EXPORT | ROTATE,
        compat: SCAN,
        help: "attest: write the token to file PATH; rotate: the rotation \
               request; export: the bundle into directory PATH (written like \
               scan --output)",
    },
    Flag {
        long: "sl",
        short: None,
        id: Id::Sl,
        value: Some("N"),
        cmds: SCAN | ATTEST,
        compat: 0,
        help: "Target security level 1..4 (default 2)",
    },
    Flag {
        long: "accept",
        short: None,
        id: Id::Accept,
        value: Some("FILE"),
        cmds: SCAN | ATTEST,
        compat: 0,
        help: "TOML file of accepted findings with their compensating \
               countermeasure (IEC 62443-4-2 CCSC 2): [[accept]] rule, subject \
               (glob, optional), reason, expires (optional)",
    },
    Flag {
        long: "fail-on",
        short: None,
        id: Id::FailOn,
        value: Some("SEVERITY"),
        cmds: SCAN,
        compat: ATTEST,
        help: "Exit 1 when a finding at or above SEVERITY is not accepted \
               (critical, high, medium, low, info)",
    },
    Flag {
        long: "cred-budget-ms",
        short: None,
        id: Id::CredBudgetMs,
        value: Some("MS"),
        cmds: SCAN | ATTEST,
        compat: 0,
        help: "CPU time for re-hashing candidate default passwords (default \
               2000; 'unlimited' for no limit; 0 = the check is off, as \
               --no-cred-check). Coverage is reported",
    },
    Flag {
        long: "no-cred-check",
        short: None,
        id: Id::NoCredCheck,
        value: None,
        cmds: SCAN | ATTEST,
        compat: 0,
        help: "Skip the default-credential check; its rule is reported as not \
               applicable, naming this option",
    },
    Flag {
        long: "max-file-size",
        short: None,
        id: Id::MaxFileSize,
        value: Some("BYTES"),
        cmds: SCAN | ATTEST,
        compat: 0,
        help: "Refuse to read files larger than this whole (default 33554432)",
    },
    Flag {
        long: "hardware-ids",
        short: None,
        id: Id::HardwareIds,
        value: None,
        cmds: SCAN | ATTEST,
        compat: 0,
        help: "Report MAC addresses and hardware serial numbers in clear \
               (default: salted hashes, since they identify the device)",
    },
    Flag {
        long: "nonce",
        short: None,
        id: Id::Nonce,
        value: Some("HEX"),
        cmds: ATTEST | ROTATE,
        compat: 0,
        help: "The collector's session nonce (8..64 bytes as hex), bound into \
               the token or rotation request",
    },
    Flag {
        long: "sbom-out",
        short: None,
        id: Id::SbomOut,
        value: Some("FILE"),
        cmds: ATTEST,
        compat: 0,
        help: "Also write the CycloneDX SBOM whose digest the token carries",
    },
    Flag {
        long: "enrollment",
        short: None,
        id: Id::Enrollment,
        value: None,
        cmds: ATTEST,
        compat: 0,
        help: "Write an enrollment token (proof of possession of the device \
               key, no scan); needs --nonce",
    },
    Flag {
        long: "spool",
        short: None,
        id: Id::Spool,
        value: None,
        cmds: ATTEST,
        compat: 0,
        help: "Put the token into the state directory's spool \
               (store-and-forward) instead of writing it out",
    },
    Flag {
        long: "purge",
        short: None,
        id: Id::Purge,
        value: None,
        cmds: EXPORT,
        compat: 0,
        help: "Remove the exported tokens from the spool once the bundle is \
               durably written",
    },
    Flag {
        long: "commit",
        short: None,
        id: Id::Commit,
        value: None,
        cmds: ROTATE,
        compat: 0,
        help: "Make the new key current, after the collector accepted the \
               rotation request",
    },
    Flag {
        long: "config",
        short: None,
        id: Id::Config,
        value: Some("FILE"),
        cmds: RUN | ENROLL,
        compat: 0,
        help: "The agent configuration (default /etc/fieldattest/agent.toml; \
               every key is documented in agent/dist/agent.toml)",
    },
    Flag {
        long: "check-config",
        short: None,
        id: Id::CheckConfig,
        value: None,
        cmds: RUN,
        compat: 0,
        help: "Check the configuration (and that its TLS material and accept \
               file are readable), print \"configuration OK\" and exit",
    },
    Flag {
        long: "once",
        short: None,
        id: Id::Once,
        value: None,
        cmds: RUN,
        compat: 0,
        help: "Run one cycle (scan, attest, spool, deliver) and exit",
    },
    Flag {
        long: "collector",
        short: None,
        id: Id::Collector,
        value: Some("URL"),
        cmds: ENROLL,
        compat: 0,
        help: "The collector, https://host[:port] (default: collector.url of \
               the configuration)",
    },
    Flag {
        long: "token",
        short: None,
        id: Id::Token,
        value: Some("SECRET"),
        cmds: ENROLL,
        compat: 0,
        help: "The one-time enrollment secret from 'fieldattest-collector \
               enroll-token'",
    },
    Flag {
        long: "ca",
        short: None,
        id: Id::Ca,
        value: Some("PEM"),
        cmds: ENROLL,
        compat: 0,
        help: "CA certificate of the collector (default: collector.ca_file of \
               the configuration)",
    },
    Flag {
        long: "key",
        short: None,
        id: Id::Key,
        value: Some("PUB.pem"),
        cmds: VERIFY,
        compat: 0,
        help: "The device's public key (PEM, as 'fieldattest identity' prints it)",
    },
    Flag {
        long: "state-dir",
        short: None,
        id: Id::StateDir,
        value: Some("DIR"),
        cmds: SCAN | ATTEST | EXPORT | ROTATE | IDENTITY | ENROLL,
        compat: 0,
        help: "State directory: device key and UEID, spool, enrollment, and \
               the keyed digests of hashes already checked, so unchanged \
               accounts cost nothing next time (default /var/lib/fieldattest; \
               scan: none)",
    },
];

/// What option `id` does with its value (`None` for a switch).
fn apply(o: &mut Opts, id: Id, v: Option<OsString>) -> Result<(), String> {
    let v = v.unwrap_or_default();
    match id {
        Id::Root => o.root = v.into(),
        Id::Format => o.format = Some(utf8("format", v)?),
        Id::Output | Id::Out => o.output = Some(v.into()),
        Id::Write => o.writes.push(parse_write(v)?),
        Id::Sl => {
            let v = utf8("sl", v)?;
            o.sl = v
                .parse()
                .ok()
                .filter(|n| (1..=4).contains(n))
                .ok_or_else(|| format!("--sl: {v:?} is not 1, 2, 3 or 4"))?;
        }
        Id::Accept => o.accept = Some(v.into()),
        Id::FailOn => {
            let v = utf8("fail-on", v)?;
            o.fail_on = Some(
                parse_severity(&v).ok_or_else(|| format!("--fail-on: unknown severity {v:?}"))?,
            );
        }
        Id::CredBudgetMs => {
            let v = utf8("cred-budget-ms", v)?;
            o.cred_budget_ms = match v.as_str() {
                "unlimited" => None,
                _ => Some(v.parse().map_err(|_| {
                    format!("--cred-budget-ms: {v:?} is not a number or 'unlimited'")
                })?),
            };
        }
        Id::NoCredCheck => o.no_cred_check = true,
        Id::MaxFileSize => {
            let v = utf8("max-file-size", v)?;
            o.max_file = v
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("--max-file-size: {v:?} is not a positive number"))?;
        }
        Id::HardwareIds => o.hardware_ids = true,
        Id::Nonce => o.nonce = Some(parse_nonce(&utf8("nonce", v)?)?),
        Id::SbomOut => o.sbom_out = Some(v.into()),
        Id::Enrollment => o.enrollment = true,
        Id::Spool => o.spool = true,
        Id::Purge => o.purge = true,
        Id::Commit => o.commit = true,
        Id::Config => o.config = Some(v.into()),
        Id::CheckConfig => o.check_config = true,
        Id::Once => o.once = true,
        Id::Collector => o.collector = Some(utf8("collector", v)?),
        Id::Token => o.token = Some(utf8("token", v)?),
        Id::Ca => o.ca = Some(v.into()),
        Id::Key => o.key = Some(v.into()),
        Id::StateDir => o.state_dir = Some(v.into()),
        Id::Help => {}
    }
    Ok(())
}

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
        if f.id == Id::Help {
            return Err(emit(command_help(cmd)).err().unwrap_or(Exit::Clean));
        }
        let v = match f.value {
            Some(_) => Some(p.value().map_err(usage_err)?),
            None => None,
        };
        apply(&mut o, f.id, v).map_err(usage_err)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldattest_scan::report::Format;
    use std::path::PathBuf;

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
}
