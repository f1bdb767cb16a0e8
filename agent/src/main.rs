//! `fieldattest` command line. Exit codes (design.md): 0 clean, 1 findings at or
//! above `--fail-on`, 2 usage or configuration error, 3 the scan could not run
//! (or stdout / an output file could not be written), 141 stdout is a closed
//! pipe (quietly). Nothing here prints with `println!`/`eprintln!`, which
//! panic on a closed or full stream: stdout through `emit`, stderr `say!`.
#![forbid(unsafe_code)]

use fieldattest_protocol::report::{FindingStatus, Severity};
use fieldattest_scan::report::{self, Format};
use fieldattest_scan::root::RootFs;
use fieldattest_scan::ScanOptions;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use fieldattest_protocol::fsio;

/// `eprintln!` that never panics (a closed or full stderr is ignored).
macro_rules! say {
    ($($t:tt)*) => {
        fsio::stderr(&format!("{}\n", format_args!($($t)*)))
    };
}

/// Writes `data` to stdout and flushes it. Err: the exit status — 141
/// quietly for a closed pipe, 3 with "cannot write to stdout: REASON" for
/// anything else (`/dev/full`).
fn emit(data: impl AsRef<[u8]>) -> Result<(), u8> {
    fsio::stdout(data.as_ref()).map_err(|e| fsio::stdout_failed("fieldattest", &e))
}

/// Writes a user-named output file (`--output`, `--out`, `--sbom-out`):
/// atomic for a regular or new file (owner and mode kept), in place for a
/// device node or FIFO, through a symlink (see `fsio::write_output`).
fn write_out(p: &Path, data: &[u8], mode: u32) -> Result<(), String> {
    fsio::write_output(p, data, mode)
        .map(|_| ())
        .map_err(|e| format!("{}: {}", p.display(), fsio::describe(&e)))
}

const USAGE: &str = "\
fieldattest — software inventory and IEC 62443-4-2 checks for embedded Linux devices

Usage:
  fieldattest scan [--root DIR] [--format text|json|cyclonedx] [--output FILE]
                   [--sl 1..4] [--accept FILE] [--fail-on SEVERITY]
                   [--cred-budget-ms MS|unlimited] [--no-cred-check]
                   [--state-dir DIR] [--max-file-size BYTES]
                   [--hardware-ids]
  fieldattest attest [scan options] [--nonce HEX] [--out FILE] [--sbom-out FILE]
  fieldattest attest --enrollment --nonce HEX [--out FILE] [--state-dir DIR]
  fieldattest attest [scan options] --spool
  fieldattest export --out DIR [--purge] [--state-dir DIR]
  fieldattest rotate --nonce HEX [--out FILE] [--state-dir DIR]
  fieldattest rotate --commit [--state-dir DIR]
  fieldattest identity [--state-dir DIR]
  fieldattest run [--config FILE] [--check-config | --once]
  fieldattest enroll --collector URL --token SECRET [--config FILE] [--ca PEM]
  fieldattest verify --key PUB.pem TOKEN
  fieldattest rules [--format text|json]
  fieldattest --help | --version

Commands:
  scan    Inventory the software of this device (--root /, the default) or of an
          image / mounted rootfs (--root DIR), evaluate the IEC 62443-4-2 rules,
          and print the report.
  attest  Scan, then write a signed attestation token (EAT in COSE_Sign1, ES256,
          profile tag:fieldattest.org,2026:eat/v1) for the collector. The device
          key and UEID live in --state-dir (default /var/lib/fieldattest).
  export  Write the spooled tokens as a signed bundle (tokens.cborseq,
          manifest.cbor, manifest.cose) for an air-gapped transfer; the
          collector imports it with 'fieldattest-collector import DIR'.
  rotate  Key rotation: write the rotation request (old key vouches for a
          new one, the new one proves possession) for the collector's
          /attestation/v1/rotate/{session}; after it is accepted, --commit
          makes the new key current (the sequence continues).
  identity Print the UEID, kid and public key (PEM) needed to enroll the device.
  run     The device daemon: scan + attest at start and every interval (with
          jitter) at the lowest CPU and I/O priority, spool each token durably,
          deliver it to the collector (session nonce, retries with backoff),
          upload the SBOM when the collector lacks it. Configuration:
          /etc/fieldattest/agent.toml (see agent/dist/agent.toml). SIGHUP
          reloads it; SIGTERM stops.
  enroll  Enroll this device with the collector once, using the operator's
          one-time secret; the result is kept in the state directory.
  verify  Verify a token offline against a public key and print its claims.
  rules   Print the rule catalog with its IEC 62443-4-2 mappings.

Options:
  --root DIR            Root of the system to scan; nothing outside it is read
                        (symlinks are resolved inside it). Default: /
  --format FORMAT       text (default), json (fieldattest/report/v1) or
                        cyclonedx (CycloneDX 1.6 JSON SBOM)
  --output FILE         Write the report to FILE instead of stdout (a regular
                        file atomically, keeping its owner and mode; a device
                        or FIFO in place; a symlink through to its target)
  --sl N                Target security level 1..4 (default 2)
  --accept FILE         TOML file of accepted findings with their compensating
                        countermeasure (IEC 62443-4-2 CCSC 2): [[accept]] rule,
                        subject (glob, optional), reason, expires (optional)
  --fail-on SEVERITY    Exit 1 when a finding at or above SEVERITY is not accepted
                        (critical, high, medium, low, info)
  --cred-budget-ms MS   CPU time for re-hashing candidate default passwords
                        (default 2000; 'unlimited' for no limit; 0 = the
                        check is off, as --no-cred-check). Coverage is reported.
  --no-cred-check       Skip the default-credential check; its rule is reported
                        as not applicable, naming this option
  --state-dir DIR       Remember hashes already checked (keyed digests only), so
                        unchanged accounts cost nothing next time
  --max-file-size BYTES Refuse to read files larger than this whole (default 33554432)
  --hardware-ids        Report MAC addresses and hardware serial numbers in
                        clear (default: salted hashes, since they identify the device)

Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage error,
3 the scan could not run (or stdout/an output file could not be written),
141 stdout is a closed pipe (quietly, as if killed by SIGPIPE).
";

struct ScanArgs {
    root: PathBuf,
    format: Format,
    output: Option<PathBuf>,
    sl: u8,
    fail_on: Option<Severity>,
    max_file: u64,
    accept: Option<PathBuf>,
    /// None: unlimited; Some(0): the check is off.
    cred_budget_ms: Option<u64>,
    no_cred_check: bool,
    state_dir: Option<PathBuf>,
    /// attest only: collector nonce and SBOM output.
    nonce: Option<Vec<u8>>,
    sbom_out: Option<PathBuf>,
    enrollment: bool,
    /// attest only: put the token into the state directory's spool.
    spool: bool,
    hardware_ids: bool,
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

fn usage_err(msg: impl std::fmt::Display) -> ExitCode {
    say!("fieldattest: {msg}\nTry 'fieldattest --help'.");
    ExitCode::from(2)
}

/// A collector nonce given as hex: 8..64 bytes.
fn parse_nonce(v: &str) -> Result<Vec<u8>, String> {
    let b: Option<Vec<u8>> = (v.len() % 2 == 0)
        .then(|| {
            (0..v.len() / 2)
                .map(|i| {
                    v.get(i * 2..i * 2 + 2)
                        .and_then(|x| u8::from_str_radix(x, 16).ok())
                })
                .collect()
        })
        .flatten();
    match b {
        Some(b) if (8..=64).contains(&b.len()) => Ok(b),
        _ => Err(format!("--nonce: want 8..64 bytes as hex, got {v:?}")),
    }
}

fn parse_scan(mut p: lexopt::Parser) -> Result<ScanArgs, String> {
    use lexopt::prelude::*;
    let mut a = ScanArgs {
        root: PathBuf::from("/"),
        format: Format::Text,
        output: None,
        sl: 2,
        fail_on: None,
        max_file: fieldattest_scan::root::DEFAULT_MAX_FILE,
        accept: None,
        cred_budget_ms: Some(2000),
        no_cred_check: false,
        state_dir: None,
        nonce: None,
        sbom_out: None,
        enrollment: false,
        spool: false,
        hardware_ids: false,
    };
    let val = |p: &mut lexopt::Parser, name: &str| -> Result<String, String> {
        p.value()
            .map_err(|e| e.to_string())?
            .into_string()
            .map_err(|_| format!("{name}: value is not valid UTF-8"))
    };
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        match arg {
            Long("nonce") => a.nonce = Some(parse_nonce(&val(&mut p, "--nonce")?)?),
            Long("enrollment") => a.enrollment = true,
            Long("spool") => a.spool = true,
            Long("hardware-ids") => a.hardware_ids = true,
            Long("sbom-out") => {
                a.sbom_out = Some(PathBuf::from(p.value().map_err(|e| e.to_string())?))
            }
            Long("out") => a.output = Some(PathBuf::from(p.value().map_err(|e| e.to_string())?)),
            Long("root") => a.root = PathBuf::from(p.value().map_err(|e| e.to_string())?),
            Long("output") | Short('o') => {
                a.output = Some(PathBuf::from(p.value().map_err(|e| e.to_string())?))
            }
            Long("format") | Short('f') => {
                let v = val(&mut p, "--format")?;
                a.format = Format::parse(&v).ok_or_else(|| {
                    format!("--format: unknown format {v:?} (text, json, cyclonedx)")
                })?;
            }
            Long("sl") => {
                let v = val(&mut p, "--sl")?;
                a.sl = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=4).contains(n))
                    .ok_or_else(|| format!("--sl: {v:?} is not 1, 2, 3 or 4"))?;
            }
            Long("fail-on") => {
                let v = val(&mut p, "--fail-on")?;
                a.fail_on = Some(
                    parse_severity(&v)
                        .ok_or_else(|| format!("--fail-on: unknown severity {v:?}"))?,
                );
            }
            Long("max-file-size") => {
                let v = val(&mut p, "--max-file-size")?;
                a.max_file =
                    v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        format!("--max-file-size: {v:?} is not a positive number")
                    })?;
            }
            Long("cred-budget-ms") => {
                let v = val(&mut p, "--cred-budget-ms")?;
                a.cred_budget_ms = match v.as_str() {
                    "unlimited" => None,
                    _ => Some(v.parse().map_err(|_| {
                        format!("--cred-budget-ms: {v:?} is not a number or 'unlimited'")
                    })?),
                };
            }
            Long("no-cred-check") => a.no_cred_check = true,
            Long("state-dir") => {
                a.state_dir = Some(PathBuf::from(p.value().map_err(|e| e.to_string())?))
            }
            Long("accept") => a.accept = Some(PathBuf::from(p.value().map_err(|e| e.to_string())?)),
            Long("help") | Short('h') => {
                std::process::exit(emit(USAGE).err().unwrap_or(0).into());
            }
            other => return Err(other.unexpected().to_string()),
        }
    }
    Ok(a)
}

/// Reads and validates the accept file; errors are usage errors (exit 2).
fn load_accept(path: &Path) -> Result<Vec<fieldattest_scan::accept::Acceptance>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let ids: Vec<&str> = fieldattest_scan::rules::catalog()
        .iter()
        .map(|r| r.meta.id)
        .collect();
    let acc = fieldattest_scan::accept::parse(&text, &path.display().to_string(), &ids)?;
    let today = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.as_secs() / 86_400) as i64)
        .unwrap_or(0);
    for a in acc
        .iter()
        .filter(|a| a.expires.map(|d| d < today).unwrap_or(false))
    {
        say!(
            "fieldattest: warning: {}: acceptance of {} expired on {}; it no longer applies",
            path.display(),
            a.rule,
            a.expires_text.as_deref().unwrap_or("?")
        );
    }
    Ok(acc)
}

/// The scan shared by `scan` and `attest`: accept file (exit 2 when
/// malformed), root (exit 3 when unusable), the scan itself, and its warnings.
fn scan_args(
    a: &ScanArgs,
    state_dir: Option<PathBuf>,
) -> Result<(RootFs, fieldattest_protocol::report::Report), ExitCode> {
    let accept = match a.accept.as_deref().map(load_accept).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(e) => {
            say!("fieldattest: accept file: {e}");
            return Err(ExitCode::from(2));
        }
    };
    let root = match RootFs::new(&a.root) {
        Ok(r) => r.with_max_file(a.max_file),
        Err(e) => {
            say!("fieldattest: cannot scan root {e}");
            return Err(ExitCode::from(3));
        }
    };
    let opts = ScanOptions {
        root_display: a.root.display().to_string(),
        target_sl: a.sl,
        accept,
        cred_budget: a.cred_budget_ms.map(std::time::Duration::from_millis),
        cred_skip: if a.no_cred_check {
            Some("--no-cred-check".into())
        } else if a.cred_budget_ms == Some(0) {
            Some("--cred-budget-ms 0".into())
        } else {
            None
        },
        state_dir,
        reveal_hardware_ids: a.hardware_ids,
    };
    let (rep, warnings) = fieldattest_scan::scan_with_warnings(&root, &opts);
    for w in &warnings {
        say!("fieldattest: warning: {w}");
    }
    Ok((root, rep))
}

fn run_scan(a: ScanArgs) -> ExitCode {
    let (_, rep) = match scan_args(&a, a.state_dir.clone()) {
        Ok(x) => x,
        Err(code) => return code,
    };
    for e in &rep.inventory.errors {
        let line = e.line.map(|l| format!(":{l}")).unwrap_or_default();
        say!(
            "fieldattest: warning: [{}] {}{}: {}",
            e.source,
            e.path,
            line,
            e.message
        );
    }
    let to_tty = a.output.is_none() && std::io::stdout().is_terminal();
    let out = match a.format {
        Format::Json => report::render_json(&rep),
        Format::Text => report::render_text(&rep, to_tty && std::env::var_os("NO_COLOR").is_none()),
        Format::CycloneDx => {
            let mut serial = [0u8; 16];
            if let Err(e) = getrandom::getrandom(&mut serial) {
                say!("fieldattest: no randomness for the BOM serial number: {e}");
                return ExitCode::from(3);
            }
            report::render_cyclonedx(&rep, serial)
        }
    };
    match &a.output {
        Some(p) => {
            if let Err(e) = write_out(p, out.as_bytes(), 0o644) {
                say!("fieldattest: cannot write report: {e}");
                return ExitCode::from(3);
            }
        }
        None => {
            if let Err(c) = emit(&out) {
                return ExitCode::from(c);
            }
        }
    }
    if let Some(th) = a.fail_on {
        if rep
            .findings
            .iter()
            .any(|f| f.status == FindingStatus::Fail && f.severity >= th)
        {
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}

fn run_rules(mut p: lexopt::Parser) -> ExitCode {
    use lexopt::prelude::*;
    let mut json = false;
    loop {
        match p.next() {
            Ok(None) => break,
            Ok(Some(Long("format") | Short('f'))) => match p.value().map(|v| v.into_string()) {
                Ok(Ok(v)) if v == "json" => json = true,
                Ok(Ok(v)) if v == "text" => json = false,
                _ => return usage_err("--format: text or json"),
            },
            Ok(Some(Long("help") | Short('h'))) => {
                return ExitCode::from(emit(USAGE).err().unwrap_or(0));
            }
            Ok(Some(other)) => return usage_err(other.unexpected()),
            Err(e) => return usage_err(e),
        }
    }
    let cat = fieldattest_scan::rules::catalog();
    let out = if json {
        // The catalog document the collector reads (protocol/catalog/).
        fieldattest_scan::rules::catalog_document().to_json()
    } else {
        let mut s = format!("fieldattest rule catalog ({} rules)\n", cat.len());
        for r in &cat {
            let m = &r.meta;
            let reqs: Vec<String> = m
                .reqs
                .iter()
                .map(|(q, sl)| format!("{q} (SL{sl})"))
                .collect();
            s.push_str(&format!(
                "{:<40} {:<8} {}  {}\n    {}\n    ref: {}\n",
                m.id,
                report::severity_name(m.severity),
                m.fr,
                reqs.join(", "),
                m.title,
                m.reference
            ));
        }
        s
    };
    ExitCode::from(emit(out).err().unwrap_or(0))
}

const DEFAULT_STATE_DIR: &str = "/var/lib/fieldattest";

use fieldattest_protocol::hex::hex;

fn run_attest(a: ScanArgs) -> ExitCode {
    use fieldattest_agent::attest;
    let state_dir = a
        .state_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR));
    let id = match attest::keystore::Identity::load_or_create(&state_dir) {
        Ok(i) => i,
        Err(e) => {
            say!("fieldattest: device identity: {e}");
            return ExitCode::from(3);
        }
    };
    if a.enrollment {
        // Enrollment token: proof of possession of the device key, no scan.
        let Some(nonce) = a.nonce.clone() else {
            return usage_err("--enrollment needs the collector's --nonce");
        };
        let iat = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let tok = id
            .next_seq()
            .and_then(|seq| attest::enrollment_claims(&id, iat, nonce, seq))
            .and_then(|c| attest::sign(&c, &id));
        let t = match tok {
            Ok(t) => t,
            Err(e) => {
                say!("fieldattest: enrollment: {e}");
                return ExitCode::from(3);
            }
        };
        return match &a.output {
            Some(p) => match write_out(p, &t, 0o644) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    say!("fieldattest: enrollment: {e}");
                    ExitCode::from(3)
                }
            },
            None => ExitCode::from(emit(&t).err().unwrap_or(0)),
        };
    }
    let (root, rep) = match scan_args(&a, Some(state_dir.clone())) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let iat = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let made = match attest::make(&rep, &root, &id, a.nonce.clone(), iat, None) {
        Ok(m) => m,
        Err(e) => {
            say!("fieldattest: attestation: {e}");
            return ExitCode::from(3);
        }
    };
    if let Some(p) = &a.sbom_out {
        if let Err(e) = write_out(p, made.sbom.as_bytes(), 0o644) {
            say!("fieldattest: cannot write SBOM: {e}");
            return ExitCode::from(3);
        }
    }
    let (claims, tok) = (&made.claims, &made.token);
    if a.spool {
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
                ExitCode::SUCCESS
            }
            Err(e) => {
                say!("fieldattest: spool: {e}");
                ExitCode::from(3)
            }
        };
    }
    match &a.output {
        Some(p) => {
            if let Err(e) = write_out(p, tok, 0o644) {
                say!("fieldattest: cannot write token: {e}");
                return ExitCode::from(3);
            }
        }
        None => {
            if let Err(c) = emit(tok) {
                return ExitCode::from(c);
            }
        }
    }
    say!(
        "fieldattest: token of {} bytes, kid {}, {} packages, {} rules",
        tok.len(),
        hex(&id.kid()),
        rep.inventory.packages.len(),
        rep.rules.len()
    );
    ExitCode::SUCCESS
}

/// `export --out DIR`: the spooled tokens as a signed bundle (profile §9.3)
/// for air-gapped sites; `--purge` removes them from the spool once the
/// bundle is durably written.
fn run_export(mut p: lexopt::Parser) -> ExitCode {
    use fieldattest_agent::{attest, spool};
    use fieldattest_protocol::bundle;
    use lexopt::prelude::*;
    let (mut dir, mut out, mut purge) = (PathBuf::from(DEFAULT_STATE_DIR), None, false);
    loop {
        match p.next() {
            Ok(None) => break,
            Ok(Some(Long("state-dir"))) => match p.value() {
                Ok(v) => dir = PathBuf::from(v),
                Err(e) => return usage_err(e),
            },
            Ok(Some(Long("out"))) => match p.value() {
                Ok(v) => out = Some(PathBuf::from(v)),
                Err(e) => return usage_err(e),
            },
            Ok(Some(Long("purge"))) => purge = true,
            Ok(Some(other)) => return usage_err(other.unexpected()),
            Err(e) => return usage_err(e),
        }
    }
    let Some(out) = out else {
        return usage_err("export needs --out DIR");
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let result = (|| {
        let id = attest::keystore::Identity::load_or_create(&dir)?;
        let sp = spool::Spool::open(&dir.join("spool"), spool::Limits::default())?;
        let items = sp.pending()?;
        let tokens = items
            .iter()
            .map(|i| sp.read(i))
            .collect::<Result<Vec<_>, _>>()?;
        let b = attest::export_bundle(&tokens, &id, now)?;
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        // The signed manifest is written last: a bundle cut short by a
        // crash or a pulled USB stick fails the collector's checks.
        for (name, bytes) in [
            (bundle::TOKENS_FILE, &b.tokens),
            (bundle::MANIFEST_FILE, &b.manifest),
            (bundle::MANIFEST_SIG_FILE, &b.manifest_cose),
        ] {
            let p = out.join(name);
            write_out(&p, bytes, 0o600)?;
        }
        if purge {
            for i in &items {
                sp.remove(i)?;
            }
        }
        Ok::<_, String>((
            b.count,
            items.first().map(|i| i.seq),
            items.last().map(|i| i.seq),
        ))
    })();
    match result {
        Ok((n, first, last)) => {
            say!(
                "fieldattest: exported {n} token(s){} to {}",
                match (first, last) {
                    (Some(f), Some(l)) => format!(" (seq {f}..{l})"),
                    _ => String::new(),
                },
                out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            say!("fieldattest: export: {e}");
            ExitCode::from(3)
        }
    }
}

fn run_rotate(mut p: lexopt::Parser) -> ExitCode {
    use fieldattest_agent::attest;
    use lexopt::prelude::*;
    let (mut dir, mut out, mut nonce, mut commit) =
        (PathBuf::from(DEFAULT_STATE_DIR), None, None, false);
    loop {
        match p.next() {
            Ok(None) => break,
            Ok(Some(Long("state-dir"))) => match p.value() {
                Ok(v) => dir = PathBuf::from(v),
                Err(e) => return usage_err(e),
            },
            Ok(Some(Long("out"))) => match p.value() {
                Ok(v) => out = Some(PathBuf::from(v)),
                Err(e) => return usage_err(e),
            },
            Ok(Some(Long("nonce"))) => match p.value().map(|v| parse_nonce(&v.to_string_lossy())) {
                Ok(Ok(n)) => nonce = Some(n),
                Ok(Err(e)) => return usage_err(e),
                Err(e) => return usage_err(e),
            },
            Ok(Some(Long("commit"))) => commit = true,
            Ok(Some(other)) => return usage_err(other.unexpected()),
            Err(e) => return usage_err(e),
        }
    }
    let mut id = match attest::keystore::Identity::load_or_create(&dir) {
        Ok(i) => i,
        Err(e) => {
            say!("fieldattest: device identity: {e}");
            return ExitCode::from(3);
        }
    };
    let r = match (commit, nonce) {
        (true, None) => id.commit_rotation().map(|()| {
            say!("fieldattest: rotation committed; kid {}", hex(&id.kid()));
        }),
        (false, Some(n)) => {
            let iat = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            match attest::rotation_body(&id, iat, n) {
                Ok(b) => match &out {
                    Some(p) => write_out(p, &b, 0o644),
                    None => return ExitCode::from(emit(&b).err().unwrap_or(0)),
                },
                Err(e) => Err(e),
            }
        }
        _ => return usage_err("rotate needs either --nonce HEX or --commit"),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say!("fieldattest: rotate: {e}");
            ExitCode::from(3)
        }
    }
}

fn run_daemon(mut p: lexopt::Parser) -> ExitCode {
    use fieldattest_agent::{config, daemon};
    use lexopt::prelude::*;
    let (mut path, mut check, mut once) = (PathBuf::from(config::DEFAULT_PATH), false, false);
    loop {
        match p.next() {
            Ok(None) => break,
            Ok(Some(Long("config"))) => match p.value() {
                Ok(v) => path = PathBuf::from(v),
                Err(e) => return usage_err(e),
            },
            Ok(Some(Long("check-config"))) => check = true,
            Ok(Some(Long("once"))) => once = true,
            Ok(Some(other)) => return usage_err(other.unexpected()),
            Err(e) => return usage_err(e),
        }
    }
    let cfg = match config::load(&path).and_then(|c| {
        // TLS material and the accept file must be readable now, not at 3 am.
        if let Some(col) = &c.collector {
            fieldattest_agent::net::Client::new(col)?;
        }
        if let Some(a) = &c.accept {
            load_accept(a)?;
        }
        Ok(c)
    }) {
        Ok(c) => c,
        Err(e) => {
            say!("fieldattest: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    if check {
        return ExitCode::from(
            emit(format!("{}: configuration OK\n", path.display()))
                .err()
                .unwrap_or(0),
        );
    }
    let level = match cfg.log_level.as_str() {
        "error" => tracing::Level::ERROR,
        "warn" => tracing::Level::WARN,
        "debug" => tracing::Level::DEBUG,
        "trace" => tracing::Level::TRACE,
        _ => tracing::Level::INFO,
    };
    fieldattest_agent::log::init(level);
    if let Err(e) = fieldattest_agent::sys::settle_in(&cfg) {
        tracing::error!("{e}");
        return ExitCode::from(3);
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(2)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("runtime: {e}");
            return ExitCode::from(3);
        }
    };
    let r = if once {
        rt.block_on(daemon::once(&cfg))
            .map(|n| tracing::info!(delivered = n, "one cycle done"))
    } else {
        rt.block_on(daemon::run(cfg, || config::load(&path)))
    };
    // A scan abandoned by SIGTERM is not waited for: nothing of it is spooled.
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(3)
        }
    }
}

fn run_enroll(mut p: lexopt::Parser) -> ExitCode {
    use fieldattest_agent::{config, daemon};
    use lexopt::prelude::*;
    let mut path = PathBuf::from(config::DEFAULT_PATH);
    let (mut url, mut secret, mut ca, mut state) = (None, None, None, None);
    loop {
        let v = |p: &mut lexopt::Parser| p.value().map(|v| v.to_string_lossy().into_owned());
        match p.next() {
            Ok(None) => break,
            Ok(Some(Long("config"))) => match v(&mut p) {
                Ok(x) => path = PathBuf::from(x),
                Err(e) => return usage_err(e),
            },
            Ok(Some(Long("collector"))) => match v(&mut p) {
                Ok(x) => url = Some(x),
                Err(e) => return usage_err(e),
            },
            Ok(Some(Long("token"))) => match v(&mut p) {
                Ok(x) => secret = Some(x),
                Err(e) => return usage_err(e),
            },
            Ok(Some(Long("ca"))) => match v(&mut p) {
                Ok(x) => ca = Some(x),
                Err(e) => return usage_err(e),
            },
            Ok(Some(Long("state-dir"))) => match v(&mut p) {
                Ok(x) => state = Some(PathBuf::from(x)),
                Err(e) => return usage_err(e),
            },
            Ok(Some(other)) => return usage_err(other.unexpected()),
            Err(e) => return usage_err(e),
        }
    }
    let Some(secret) = secret else {
        return usage_err(
            "enroll needs --token SECRET (from 'fieldattest-collector enroll-token')",
        );
    };
    // The configuration file gives TLS settings and the state directory;
    // --collector / --ca override or stand in for it.
    let mut cfg = if path.exists() {
        match config::load(&path) {
            Ok(c) => c,
            Err(e) => {
                say!("fieldattest: configuration: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        config::parse("", "defaults").unwrap_or_else(|_| unreachable!())
    };
    if url.is_some() || ca.is_some() {
        let base = cfg.collector.clone();
        let u = url.or(base.as_ref().map(|c| c.url.clone()));
        let Some(u) = u else {
            return usage_err("enroll needs --collector URL");
        };
        let mut t = format!("[collector]\nurl = {u:?}\n");
        match (&ca, base.as_ref().and_then(|c| c.ca_file.clone())) {
            (Some(c), _) => t.push_str(&format!("ca_file = {c:?}\n")),
            (None, Some(c)) => t.push_str(&format!("ca_file = {:?}\n", c.display().to_string())),
            _ => {}
        }
        if let Some(pin) = base.as_ref().and_then(|c| c.pin_sha256.clone()) {
            t.push_str(&format!(
                "pin_sha256 = {:?}\n",
                fieldattest_agent::hex(&pin)
            ));
        }
        match config::parse(&t, "--collector/--ca") {
            Ok(c) => {
                let mut col = c.collector.unwrap_or_else(|| unreachable!());
                if let Some(b) = base {
                    col.client_cert = b.client_cert;
                    col.client_key = b.client_key;
                    col.timeout = b.timeout;
                }
                cfg.collector = Some(col);
            }
            Err(e) => return usage_err(e),
        }
    }
    if let Some(s) = state {
        cfg.state_dir = s;
    }
    let Some(col) = cfg.collector.clone() else {
        return usage_err(
            "enroll needs --collector URL (or a [collector] section in the configuration)",
        );
    };
    let r = fieldattest_agent::net::Client::new(&col).and_then(|client| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(daemon::enroll(&client, &cfg.state_dir, &col.url, &secret))
    });
    match r {
        Ok(v) => {
            say!("fieldattest: enrolled; an operator approves the device after comparing its kid: {}", v["kid"].as_str().unwrap_or(""));
            let body = format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default());
            ExitCode::from(emit(body).err().unwrap_or(0))
        }
        Err(e) => {
            say!("fieldattest: enroll: {e}");
            ExitCode::from(3)
        }
    }
}

fn run_identity(mut p: lexopt::Parser) -> ExitCode {
    use lexopt::prelude::*;
    let mut dir = PathBuf::from(DEFAULT_STATE_DIR);
    loop {
        match p.next() {
            Ok(None) => break,
            Ok(Some(Long("state-dir"))) => match p.value() {
                Ok(v) => dir = PathBuf::from(v),
                Err(e) => return usage_err(e),
            },
            Ok(Some(other)) => return usage_err(other.unexpected()),
            Err(e) => return usage_err(e),
        }
    }
    match fieldattest_agent::attest::keystore::Identity::load_or_create(&dir) {
        Ok(id) => {
            use fieldattest_agent::attest::keystore::Signer;
            let text = format!(
                "ueid: {}\nkid: {}\nkey-tier: software\n{}",
                hex(&id.ueid),
                hex(&id.kid()),
                id.key.public_key().to_pem()
            );
            ExitCode::from(emit(text).err().unwrap_or(0))
        }
        Err(e) => {
            say!("fieldattest: device identity: {e}");
            ExitCode::from(3)
        }
    }
}

fn run_verify(mut p: lexopt::Parser) -> ExitCode {
    use lexopt::prelude::*;
    let (mut key, mut tok) = (None, None);
    loop {
        match p.next() {
            Ok(None) => break,
            Ok(Some(Long("key"))) => match p.value() {
                Ok(v) => key = Some(PathBuf::from(v)),
                Err(e) => return usage_err(e),
            },
            Ok(Some(Value(v))) if tok.is_none() => tok = Some(PathBuf::from(v)),
            Ok(Some(other)) => return usage_err(other.unexpected()),
            Err(e) => return usage_err(e),
        }
    }
    let (Some(key), Some(tok)) = (key, tok) else {
        return usage_err("verify needs --key PUB.pem and a TOKEN file");
    };
    let pk = match std::fs::read_to_string(&key)
        .map_err(|e| e.to_string())
        .and_then(|t| fieldattest_protocol::token::PublicKey::from_pem(&t))
    {
        Ok(k) => k,
        Err(e) => {
            say!("fieldattest: {}: {e}", key.display());
            return ExitCode::from(2);
        }
    };
    let bytes = match std::fs::read(&tok) {
        Ok(b) => b,
        Err(e) => {
            say!("fieldattest: {}: {e}", tok.display());
            return ExitCode::from(2);
        }
    };
    match fieldattest_protocol::token::verify(&bytes, &pk) {
        Ok(c) => {
            let failed: Vec<&str> = c
                .measres
                .iter()
                .flat_map(|(_, r)| r.iter())
                .filter(|(_, code)| *code == 2)
                .map(|(id, _)| id.as_str())
                .collect();
            let v = serde_json::json!({
                "valid": true,
                "kid": hex(&pk.kid()),
                "ueid": hex(&c.ueid),
                "iat": c.iat,
                "seq": c.seq,
                "nonce": c.nonce.as_deref().map(hex),
                "swname": c.sw.as_ref().map(|s| s.name.clone()),
                "swversion": c.sw.as_ref().map(|s| s.version.clone()),
                "key_tier": c.key_tier,
                "measurements": c.measurements.len(),
                "rules": c.measres.iter().map(|(_, r)| r.len()).sum::<usize>(),
                "failed_rules": failed,
                "sl_ceiling": c.sl_ceiling.iter().map(|(k, v)| (k.clone(), *v)).collect::<std::collections::BTreeMap<_, _>>(),
                "sbom_sha256": c.sbom_digests.first().map(|(_, d)| hex(d)),
            });
            let body = format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default());
            ExitCode::from(emit(body).err().unwrap_or(0))
        }
        Err(e) => {
            say!("fieldattest: {}: invalid token: {e}", tok.display());
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_env();
    match p.next() {
        Ok(Some(Value(cmd))) => match cmd.to_str() {
            Some("scan") => match parse_scan(p) {
                Ok(a) if a.nonce.is_some() || a.sbom_out.is_some() || a.enrollment || a.spool => {
                    usage_err("--nonce, --sbom-out, --enrollment and --spool belong to 'fieldattest attest'")
                }
                Ok(a) => run_scan(a),
                Err(e) => usage_err(e),
            },
            Some("rules") => run_rules(p),
            Some("attest") => match parse_scan(p) {
                Ok(a) => run_attest(a),
                Err(e) => usage_err(e),
            },
            Some("identity") => run_identity(p),
            Some("export") => run_export(p),
            Some("rotate") => run_rotate(p),
            Some("run") => run_daemon(p),
            Some("enroll") => run_enroll(p),
            Some("verify") => run_verify(p),
            _ => usage_err(format!("unknown command {:?}", cmd.to_string_lossy())),
        },
        Ok(Some(Long("help") | Short('h'))) => ExitCode::from(emit(USAGE).err().unwrap_or(0)),
        Ok(Some(Long("version") | Short('V'))) => ExitCode::from(
            emit(format!("fieldattest {}\n", report::AGENT_VERSION))
                .err()
                .unwrap_or(0),
        ),
        Ok(None) => {
            fsio::stderr(USAGE);
            ExitCode::from(2)
        }
        Ok(Some(other)) => usage_err(other.unexpected()),
        Err(e) => usage_err(e),
    }
}
