//! fieldattest scanning library: the root-confined view of a filesystem
//! ([`root`]), the parsers of what an image holds ([`parse`]), the inventory
//! ([`inventory`]: packages, hardware, keys, services, listeners), the
//! IEC 62443-4-2 rules ([`rules`]), the CCSC 2 accept file ([`accept`]), the
//! report and its renderers ([`report`]) and the default-credential memo
//! ([`state`]). [`scan`] ties them together.
//!
//! Everything here is a pure function of the files under the root (and, in
//! live mode, `/proc`), the clock read once in [`scan`], and the options. No
//! async runtime, network, TLS or privilege handling: the agent binary and
//! the Yocto image check build on this crate, and the collector does not
//! depend on it at all (it reads the rule catalog from `fieldattest-protocol`).
#![forbid(unsafe_code)]

pub mod accept;
#[cfg(feature = "integrity")]
pub mod integrity;
pub mod inventory;
pub mod parse;
pub mod report;
pub mod root;
pub mod rules;
pub mod state;

use fieldattest_protocol::report::{Report, ScanMode};
use root::RootFs;
use std::time::{Instant, SystemTime};

/// Options of one scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// The root as the user named it, for the report.
    pub root_display: String,
    pub target_sl: u8,
    /// Compensating countermeasures from the accept file (CCSC 2).
    pub accept: Vec<accept::Acceptance>,
    /// CPU time the default-credential check may spend (None: unlimited).
    pub cred_budget: Option<std::time::Duration>,
    /// Skip the default-credential check; the option that turned it off
    /// (e.g. `--no-cred-check`) is named in the rule's result.
    pub cred_skip: Option<String>,
    /// State directory for the default-credential memo (None: no memo).
    pub state_dir: Option<std::path::PathBuf>,
    /// Report MAC addresses and hardware serial numbers in clear instead of
    /// as salted hashes.
    pub reveal_hardware_ids: bool,
}

impl ScanOptions {
    pub fn new(root_display: impl Into<String>, target_sl: u8) -> Self {
        ScanOptions {
            root_display: root_display.into(),
            target_sl,
            accept: Vec::new(),
            cred_budget: Some(std::time::Duration::from_secs(2)),
            cred_skip: None,
            state_dir: None,
            reveal_hardware_ids: false,
        }
    }
}

/// Runs a scan of `root`. Live mode (reading `/proc`) is used exactly when the
/// root is the host's `/`. The clock is read here, at the edge.
pub fn scan(root: &RootFs, opts: &ScanOptions) -> Report {
    scan_with_warnings(root, opts).0
}

/// Like [`scan`], also returning warnings about the scanner's own state (the
/// state directory, the randomness of the hardware identifier salt).
pub fn scan_with_warnings(root: &RootFs, opts: &ScanOptions) -> (Report, Vec<String>) {
    let mut warnings = Vec::new();
    let started = SystemTime::now();
    let t0 = Instant::now();
    let live = root.is_host_root();
    let today = fieldattest_protocol::hex::unix_seconds(started) / 86_400;
    let memo = match &opts.state_dir {
        Some(d) => match state::CredMemo::load(d) {
            Ok(m) => Some(m),
            Err(e) => {
                warnings.push(format!(
                    "state directory: {e}; default-credential memo disabled"
                ));
                None
            }
        },
        None => None,
    };
    // Hardware identifiers are hashed with a device-local secret (derived
    // from the state directory's memo key) so they stay comparable between
    // this device's reports; without a state directory, per scan.
    let salt = match &memo {
        Some(m) => {
            use hmac::Mac;
            let mut h = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&m.key)
                .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
            h.update(b"fieldattest hardware identifiers");
            h.finalize().into_bytes().to_vec()
        }
        None => {
            let mut r = vec![0u8; 32];
            if getrandom::getrandom(&mut r).is_err() {
                warnings.push("no randomness for the hardware identifier salt".into());
            }
            r
        }
    };
    let hw = inventory::hardware::Options {
        reveal_ids: opts.reveal_hardware_ids,
        salt,
    };
    let collected = inventory::collect_with(root, live, &hw);
    let cred = rules::ctx::CredOptions {
        deadline: opts.cred_budget.map(|b| Instant::now() + b),
        memo_key: memo.as_ref().map(|m| m.key.clone()),
        memo: memo.as_ref().map(|m| m.digests.clone()).unwrap_or_default(),
        skip: opts.cred_skip.clone(),
    };
    let ctx = rules::Ctx::new(
        root,
        live,
        opts.target_sl,
        &collected.inventory.packages,
        today,
    )
    .with_cred(cred);
    let mut eval = rules::evaluate(&ctx, &rules::catalog());
    accept::apply(&mut eval, &opts.accept, today);
    let keys = inventory::keys::inventory(&ctx);
    let listening = inventory::listeners::inventory(&ctx);
    if let Some(m) = &memo {
        // Keep digests of hashes still present and unchanged, plus new ones.
        let mut keep: Vec<[u8; 32]> = ctx.cred_memo_out();
        if let Ok(pw) = ctx.passwd() {
            for p in pw {
                if let Ok((h, _, _)) = ctx.password_field(p) {
                    let d = rules::cred::memo_key(&m.key, h);
                    if m.digests.contains(&d) {
                        keep.push(d);
                    }
                }
            }
        }
        keep.sort();
        keep.dedup();
        if let Err(e) = m.save(&keep) {
            warnings.push(format!("state directory: {e}"));
        }
    }
    drop(ctx);
    let mut collected = collected;
    collected.inventory.keys = keys;
    collected.inventory.listening = listening;
    let meta = report::ScanMeta {
        root: opts.root_display.clone(),
        mode: if live {
            ScanMode::Live
        } else {
            ScanMode::Image
        },
        started: humantime::format_rfc3339_seconds(started).to_string(),
        duration_ms: t0.elapsed().as_millis() as u64,
        target_sl: opts.target_sl,
    };
    (report::build(collected, eval, meta), warnings)
}
