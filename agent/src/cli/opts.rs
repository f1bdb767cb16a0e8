//! What the command line says: the subcommand ([`Command`]), the values of
//! its options ([`Opts`]), and the parsers of those values.

use super::Exit;
use fieldattest_protocol::report::Severity;
use fieldattest_scan::report::Format;
use std::ffi::OsString;
use std::path::PathBuf;

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

/// The value as UTF-8, or "--NAME: value is not valid UTF-8".
pub fn utf8(name: &str, v: OsString) -> Result<String, String> {
    v.into_string()
        .map_err(|_| format!("--{name}: value is not valid UTF-8"))
}

pub fn parse_severity(s: &str) -> Option<Severity> {
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
pub fn parse_write(v: OsString) -> Result<(Format, PathBuf), String> {
    use std::os::unix::ffi::OsStringExt;
    let bad = || "--write: want FORMAT=FILE (FORMAT text, json or cyclonedx)".to_string();
    let mut s = v.into_vec();
    let eq = s.iter().position(|b| *b == b'=').ok_or_else(bad)?;
    let path = s.split_off(eq + 1);
    let name = std::str::from_utf8(&s[..eq]).map_err(|_| bad())?;
    let format = Format::parse(name).ok_or_else(|| {
        format!(
            "--write: unknown format {name:?} ({})",
            fieldattest_scan::report::FORMATS
        )
    })?;
    if path.is_empty() {
        return Err(bad());
    }
    Ok((format, PathBuf::from(OsString::from_vec(path))))
}
