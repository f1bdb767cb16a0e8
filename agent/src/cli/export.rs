//! `fieldattest export --out DIR`: the spooled tokens as a signed bundle
//! (profile §9.3) for air-gapped sites; `--purge` removes them from the
//! spool once the bundle is durably written.

use super::flags;
use super::{now, usage_err, write_out, Command, Exit, Opts};
use fieldattest_agent::config::DEFAULT_STATE_DIR;
use fieldattest_agent::{attest, spool};
use fieldattest_protocol::bundle;
use std::path::{Path, PathBuf};

pub const COMMAND: Command = Command {
    name: "export",
    bit: flags::EXPORT,
    usage: "fieldattest export --out DIR [--purge] [--state-dir DIR]",
    about: "Write the spooled tokens as a signed bundle (tokens.cborseq, \
            manifest.cbor, manifest.cose) for an air-gapped transfer; the \
            collector imports it with 'fieldattest-collector import DIR'.",
    operands: &[],
    run,
};

/// Writes the bundle; Ok: (tokens, first seq, last seq).
fn export(
    dir: &Path,
    out: &Path,
    purge: bool,
) -> Result<(usize, Option<u64>, Option<u64>), String> {
    let id = attest::keystore::Identity::load_or_create(dir)?;
    let sp = spool::Spool::open(&dir.join("spool"), spool::Limits::default())?;
    let items = sp.pending()?;
    let tokens = items
        .iter()
        .map(|i| sp.read(i))
        .collect::<Result<Vec<_>, _>>()?;
    let b = attest::export_bundle(&tokens, &id, now())?;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    // The signed manifest is written last: a bundle cut short by a crash or
    // a pulled USB stick fails the collector's checks.
    for (name, bytes) in [
        (bundle::TOKENS_FILE, &b.tokens),
        (bundle::MANIFEST_FILE, &b.manifest),
        (bundle::MANIFEST_SIG_FILE, &b.manifest_cose),
    ] {
        write_out(&out.join(name), bytes, 0o600)?;
    }
    if purge {
        for i in &items {
            sp.remove(i)?;
        }
    }
    Ok((
        b.count,
        items.first().map(|i| i.seq),
        items.last().map(|i| i.seq),
    ))
}

fn run(o: Opts) -> Exit {
    let Some(out) = &o.output else {
        return usage_err("export needs --out DIR");
    };
    let dir = o
        .state_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR));
    match export(&dir, out, o.purge) {
        Ok((n, first, last)) => {
            say!(
                "fieldattest: exported {n} token(s){} to {}",
                match (first, last) {
                    (Some(f), Some(l)) => format!(" (seq {f}..{l})"),
                    _ => String::new(),
                },
                out.display()
            );
            Exit::Clean
        }
        Err(e) => {
            say!("fieldattest: export: {e}");
            Exit::Failed
        }
    }
}
