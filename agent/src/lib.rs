//! fieldattest agent library: root-confined filesystem view, inventory,
//! report contract. The binary (`main.rs`) is a thin CLI over [`scan`].
#![forbid(unsafe_code)]

pub mod accept;
pub mod inventory;
pub mod parse;
pub mod report;
pub mod root;
pub mod rules;

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
}

/// Runs a scan of `root`. Live mode (reading `/proc`) is used exactly when the
/// root is the host's `/`. The clock is read here, at the edge.
pub fn scan(root: &RootFs, opts: &ScanOptions) -> Report {
    let started = SystemTime::now();
    let t0 = Instant::now();
    let live = root.is_host_root();
    let collected = inventory::collect(root, live);
    let today = started
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.as_secs() / 86_400) as i64)
        .unwrap_or(0);
    let ctx = rules::Ctx::new(
        root,
        live,
        opts.target_sl,
        &collected.inventory.packages,
        today,
    );
    let mut eval = rules::evaluate(&ctx, &rules::catalog());
    accept::apply(&mut eval, &opts.accept, today);
    let keys = rules::keys::inventory(&ctx);
    drop(ctx);
    let mut collected = collected;
    collected.inventory.keys = keys;
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
    report::build(collected, eval, meta)
}
