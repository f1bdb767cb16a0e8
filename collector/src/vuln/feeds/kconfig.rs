//! Kernel configurations (`.config`, or `/proc/config.gz` as copied from a
//! device) imported by content: the enabled symbols stored under the
//! SHA-256 of the bytes as given — what the agent reports for the file it
//! found — and, for gzip, of the text as well (a device reading the
//! image's `.config` record reports that digest). An import re-matches the
//! package sets holding a kernel.

use super::Import;
use crate::vuln::kbuild::{enabled_symbols, looks_like_config};
use crate::vuln::kernel_config::kernel_key;
use std::io::{Read, Seek, SeekFrom};

/// Largest configuration read (compressed or not); a full x86 `.config`
/// is ~300 KB.
pub const MAX_CONFIG: u64 = 8 << 20;

fn sha256(b: &[u8]) -> String {
    fieldattest_protocol::hex::hex(ring::digest::digest(&ring::digest::SHA256, b).as_ref())
}

/// Up to `max` bytes of `r`, and whether there was more.
fn read_max(r: impl Read, max: u64) -> std::io::Result<(Vec<u8>, bool)> {
    let mut b = Vec::new();
    r.take(max + 1).read_to_end(&mut b)?;
    let more = b.len() as u64 > max;
    b.truncate(max as usize);
    Ok((b, more))
}

/// Imports `r` when it is a kernel configuration (plain, or gzip when
/// `gz`); false, with `r` rewound, when it is not one.
pub(super) fn import<R: Read + Seek>(imp: &mut Import, name: &str, r: &mut R, gz: bool) -> bool {
    let head = if gz {
        read_max(flate2::read::MultiGzDecoder::new(&mut *r), 4096).map(|x| x.0)
    } else {
        read_max(&mut *r, 4096).map(|x| x.0)
    };
    if r.seek(SeekFrom::Start(0)).is_err() {
        return false;
    }
    if !head.is_ok_and(|h| looks_like_config(&h)) {
        return false;
    }
    let (raw, more) = match read_max(&mut *r, MAX_CONFIG) {
        Ok(x) => x,
        Err(e) => {
            imp.error(name, e.to_string());
            return true;
        }
    };
    if more {
        imp.error(
            name,
            format!("kernel configuration larger than {} MiB", MAX_CONFIG >> 20),
        );
        return true;
    }
    let mut digests = vec![sha256(&raw)];
    let text = if gz {
        match read_max(
            flate2::read::MultiGzDecoder::new(raw.as_slice()),
            MAX_CONFIG,
        ) {
            Ok((t, false)) => {
                digests.push(sha256(&t));
                t
            }
            Ok((_, true)) => {
                imp.error(
                    name,
                    format!("kernel configuration larger than {} MiB", MAX_CONFIG >> 20),
                );
                return true;
            }
            Err(e) => {
                imp.error(name, format!("gzip: {e}"));
                return true;
            }
        }
    } else {
        raw
    };
    let mut symbols: Vec<String> = enabled_symbols(&String::from_utf8_lossy(&text))
        .into_iter()
        .collect();
    symbols.sort();
    let origin = imp.origin.clone();
    match imp
        .store
        .put_kernel_config(&digests, &symbols.join("\n"), &origin, imp.now)
    {
        Ok(true) => {
            imp.rep.new += 1;
            imp.rep.touched.insert(kernel_key());
        }
        Ok(false) => imp.rep.unchanged += 1,
        Err(e) => imp.error(name, format!("storage: {e}")),
    }
    imp.took("kconfig", None);
    true
}
