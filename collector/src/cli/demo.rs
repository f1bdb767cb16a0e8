//! demo-fleet: a generated fleet for console tests and product evaluation.

use super::{fail, open, print, refused, Command, Opts};
use fieldattest_collector::{demo, now};
use serde_json::json;
use std::process::ExitCode;

pub const DEMO_FLEET: Command = Command {
    name: "demo-fleet",
    synopsis: &["demo-fleet --db PATH [--devices N] [--days D] [--seed S] [--format text|json]"],
    about: "fills an empty database with a generated demo fleet

Generates N devices (default 1000) over the last D days (default 30): 40
sites of skewed sizes, eight firmware image families (Debian, Yocto, OpenWrt,
Alpine, Buildroot) in several releases, the shipped catalog's rule results
with realistic failure rates, shared host keys of cloned images, silent,
pending and revoked devices, and about 200 synthetic OSV advisories (ids
DEMO-..., no real vulnerability) with a few VEX statements. Every device has
a real P-256 key and every attestation is a signed token verified and stored
by the collector's own path. The same seed (default 62443) gives the same
fleet relative to the current time, apart from the device keys.

Refuses a database that already holds devices, so a real collector is never
filled with demo data. Prints what it generated and the seconds it took.
Devices are flagged silent after serve's --silent-after (default one day):
the demo data ages.",
    values: &["db", "devices", "days", "seed"],
    flags: &[],
    formats: &["text", "json"],
    run: demo_fleet,
};

fn demo_fleet(o: &Opts) -> Result<(), ExitCode> {
    let devices = o.number("devices", 1000u64, "a number of devices (1 to 1000000)")?;
    let days = o.number("days", 30u32, "a number of days (1 to 3650)")?;
    let seed = o.number("seed", 62443u64, "an unsigned integer")?;
    if !(1..=1_000_000).contains(&devices) || !(1..=3650).contains(&days) {
        return Err(super::misuse("--devices: 1 to 1000000, --days: 1 to 3650"));
    }
    let store = open(o)?;
    if !store.devices().map_err(fail)?.is_empty() {
        return Err(refused(
            "the database already holds devices: demo-fleet fills an empty collector only",
        ));
    }
    let t0 = std::time::Instant::now();
    let opts = demo::Options {
        devices,
        days,
        seed,
        end: now(),
        // Enough concurrent submitters that the store's group-commit writer
        // batches many attestations per transaction.
        threads: std::thread::available_parallelism().map_or(16, |n| (n.get() * 8).clamp(8, 32)),
    };
    let s = demo::generate(&*store, &opts).map_err(fail)?;
    print(
        &json!({
            "devices": s.devices, "active": s.active, "pending": s.pending,
            "revoked": s.revoked, "tokens": s.tokens,
            "distinct_package_sets": s.package_sets, "advisories": s.advisories,
            "vex_statements": s.vex, "seed": seed, "days": days,
            "seconds": (t0.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        }),
        o.format,
    )
}
