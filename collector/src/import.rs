//! Offline import of export bundles (profile §9.3) from air-gapped sites.
//!
//! Order, failing closed for the bundle as a whole: manifest signature header
//! → key lookup (current or retired key; the device active, not revoked) →
//! manifest signature → UEID binding → completeness (every listed token
//! present exactly once, nothing unlisted). Then each token goes through the
//! same verification as a spooled online post ([`verify::accept`], offline
//! arrival), in sequence order. Tokens already stored (same `cti`) are
//! skipped, so importing a bundle twice changes nothing.

use crate::store::Store;
use crate::verify::{self, from_store, reject, Arrival, Refusal};
use fieldattest_protocol::bundle;
use fieldattest_protocol::rejection::Rejection;
use fieldattest_protocol::token::PublicKey;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    pub device_id: i64,
    pub listed: usize,
    pub new: usize,
    pub already: usize,
    /// (seq, reason) of tokens refused (each also in the audit trail).
    pub rejected: Vec<(u64, String)>,
    /// Missing sequence ranges found while importing.
    pub gaps: Vec<(i64, i64)>,
}

/// Imports one bundle given the bytes of its three files.
pub fn import(
    store: &dyn Store,
    tokens: &[u8],
    manifest: &[u8],
    manifest_cose: &[u8],
    now: i64,
) -> Result<ImportOutcome, Refusal> {
    let mut kid_seen = None;
    let mut dev_seen = None;
    let r = (|| {
        let kid = bundle::manifest_kid(manifest_cose).map_err(|e| {
            reject(
                Rejection::BadManifest,
                format!("{}: {e}", bundle::MANIFEST_SIG_FILE),
            )
        })?;
        kid_seen = Some(kid.clone());
        let (device, _) = verify::lookup_key(store, &kid)?;
        dev_seen = Some(device.id);
        verify::check_active(&device)?;
        let key = PublicKey::from_sec1(&device.pubkey)
            .map_err(|e| reject(Rejection::Internal, format!("storage: stored key: {e}")))?;
        let m = bundle::verify_manifest(manifest_cose, manifest, &key)
            .map_err(|e| reject(Rejection::BadManifest, e))?;
        if m.ueid != device.ueid {
            return Err(reject(
                Rejection::UeidMismatch,
                "manifest UEID does not match the device enrolled for this kid",
            ));
        }
        let ordered = bundle::check_complete(&m, tokens)
            .map_err(|e| reject(Rejection::IncompleteBundle, e))?;
        Ok((device, m, ordered))
    })();
    let (device, m, ordered) = match r {
        Ok(x) => x,
        Err(rj) => {
            store
                .audit(
                    now,
                    kid_seen.as_deref(),
                    dev_seen,
                    "import-rejected",
                    &rj.reason,
                )
                .map_err(from_store)?;
            return Err(rj);
        }
    };
    let mut out = ImportOutcome {
        device_id: device.id,
        listed: m.entries.len(),
        ..Default::default()
    };
    for (entry, tok) in m.entries.iter().zip(ordered) {
        if store.cti_seen(device.id, &entry.cti).map_err(from_store)? {
            out.already += 1;
            continue;
        }
        match verify::accept(store, tok, Arrival::Offline, now) {
            Ok(a) => {
                out.new += 1;
                out.gaps.extend(a.gap);
            }
            Err(rj) if rj.code == Rejection::Internal => return Err(rj),
            Err(rj) => out.rejected.push((entry.seq, rj.reason)),
        }
    }
    if out.new > 0 || !out.rejected.is_empty() {
        let first_last = m
            .entries
            .first()
            .zip(m.entries.last())
            .map(|(f, l)| format!(" (seq {}..{})", f.seq, l.seq))
            .unwrap_or_default();
        store
            .audit(
                now,
                Some(&m.kid),
                Some(device.id),
                "imported",
                &format!(
                    "bundle of {} token(s){first_last} exported at {}: {} new, {} already stored, {} rejected",
                    out.listed,
                    m.exported_at,
                    out.new,
                    out.already,
                    out.rejected.len()
                ),
            )
            .map_err(from_store)?;
    }
    Ok(out)
}
