use super::*;
use crate::store::SqliteStore;
use fieldattest_protocol::token::PublicKey;

const END: i64 = 1_800_000_000;

fn options(devices: u64, seed: u64) -> Options {
    Options {
        devices,
        days: 30,
        seed,
        end: END,
        threads: 2,
    }
}

#[test]
fn a_generated_fleet_goes_through_verification_with_realistic_distributions() {
    let store = SqliteStore::memory().unwrap();
    let s = generate(&store, &options(300, 7)).unwrap();
    let devs = store.devices().unwrap();
    assert_eq!(devs.len(), 300);
    assert_eq!(s.devices, 300);
    assert_eq!(s.active + s.pending + s.revoked, 300);
    // Statuses: mostly active, a few pending and revoked.
    let count = |st: &str| devs.iter().filter(|d| d.status == st).count();
    assert!(count("active") >= 270, "{s:?}");
    assert!(count("pending") >= 2 && count("pending") <= 25, "{s:?}");
    assert!(count("revoked") >= 1 && count("revoked") <= 12, "{s:?}");
    // Sites: many, of skewed sizes.
    let mut per_site: HashMap<&str, usize> = HashMap::new();
    for d in &devs {
        *per_site.entry(d.site.as_str()).or_default() += 1;
    }
    assert!(per_site.len() >= 20, "{per_site:?}");
    let largest = per_site.values().max().copied().unwrap_or(0);
    assert!(largest >= 30, "largest site {largest}: {per_site:?}");
    // A few dozen package sets at most, not one per device.
    assert!(
        s.package_sets >= 8 && s.package_sets <= 120,
        "{} package sets",
        s.package_sets
    );
    // Most devices attested twice; some of them with a change.
    let active: Vec<_> = devs.iter().filter(|d| d.status == "active").collect();
    let two = active
        .iter()
        .filter(|d| store.last_two(d.id).unwrap().len() == 2)
        .count();
    assert!(two * 10 >= active.len() * 8, "{two} of {}", active.len());
    let drifting = store.drifting().unwrap().len();
    assert!(
        drifting * 100 >= active.len() * 12 && drifting * 100 <= active.len() * 40,
        "{drifting} drifting of {}",
        active.len()
    );
    // Silent: a few percent of the active devices.
    let agg = store.aggregates(END - 3 * 86_400).unwrap();
    assert!(
        agg.silent >= 1 && agg.silent * 100 <= active.len() as u64 * 8,
        "{agg:?}"
    );
    // Rule failures vary widely: a few rules on many devices, most on few.
    let failing: HashMap<&str, u64> = agg.failing.iter().map(|(r, n)| (r.as_str(), *n)).collect();
    let n = active.len() as u64 + count("revoked") as u64;
    let high = failing.values().filter(|c| **c * 100 >= n * 30).count();
    let low = failing.values().filter(|c| **c * 100 < n * 5).count();
    assert!(
        (3..=16).contains(&high),
        "{high} rules on >= 30%: {failing:?}"
    );
    assert!(low >= 30, "{low} rules on < 5%: {failing:?}");
    // The collector computed the ceilings; a few devices claim more.
    assert!(!agg.ceilings.is_empty());
    let disputes = store.ceiling_disputes().unwrap().len();
    assert!(disputes <= 10, "{disputes} disputes");
    // Vulnerabilities: synthetic advisories match, and nothing else.
    assert_eq!(store.advisory_stats().unwrap().0, 200);
    let ms = crate::vuln::matches(&store).unwrap();
    assert!(ms.len() >= 50, "{} matches", ms.len());
    assert!(ms
        .iter()
        .all(|m| m.vuln.starts_with("DEMO-") && m.aliases.is_empty()));
    assert!(ms.iter().any(|m| m.ecosystem == "Debian:12"));
    assert!(ms.iter().any(|m| m.ecosystem.starts_with("Alpine:v3.")));
    assert!(ms.iter().any(|m| m.fixed.is_some()) && ms.iter().any(|m| m.fixed.is_none()));
    assert_eq!(s.vex, 3);
    assert_eq!(store.vex_entries().unwrap().len(), 3);
    // Every stored latest token re-verifies with the device's enrolled key.
    let mut verified = 0;
    for d in &devs {
        let Some(t) = store.latest_token(d.id).unwrap() else {
            assert_eq!(d.status, "pending", "device {} without a token", d.id);
            continue;
        };
        let key = PublicKey::from_sec1(&d.pubkey).unwrap();
        assert_eq!(key.kid(), d.kid);
        let c = token::verify(&t.raw, &key).unwrap();
        assert_eq!(c.ueid, d.ueid);
        assert_eq!(c.ueid.len(), 33);
        assert_eq!(i64::try_from(c.seq).unwrap(), t.seq);
        assert!(c.iat <= END && c.iat > END - 31 * 86_400);
        verified += 1;
    }
    assert!(verified as u64 >= s.active);
    assert_eq!(
        s.tokens,
        devs.iter()
            .map(|d| d.last_seq.unwrap_or(0) as u64)
            .sum::<u64>()
    );
    assert_eq!(store.verify_audit().unwrap().broken, None);
    // The posture was recorded at each simulated day's end: 30 days, the
    // device count growing as devices enroll.
    let devices: Vec<(i64, u64)> = store
        .posture(0, "devices")
        .unwrap()
        .into_iter()
        .filter(|(_, m, _)| m == "devices")
        .map(|(d, _, n)| (d, n))
        .collect();
    assert_eq!(devices.len(), 30, "{devices:?}");
    assert!(devices.windows(2).all(|w| w[0].1 <= w[1].1), "{devices:?}");
    assert_eq!(devices.last().map(|d| d.1), Some(300));
}

#[test]
fn the_same_seed_gives_the_same_fleet() {
    let shape = |seed| {
        let store = SqliteStore::memory().unwrap();
        let s = generate(&store, &options(40, seed)).unwrap();
        let devs: Vec<(String, String, Option<i64>, Vec<u8>)> = store
            .devices()
            .unwrap()
            .into_iter()
            .map(|d| (d.site, d.status, d.last_seen, d.ueid))
            .collect();
        (s, devs)
    };
    assert_eq!(shape(11), shape(11));
    assert_ne!(shape(11).1, shape(12).1);
}

#[test]
fn a_database_with_devices_is_refused() {
    let store = SqliteStore::memory().unwrap();
    store
        .insert_device(&[1; 32], &[1; 33], &[4; 65], "plant", 0)
        .unwrap();
    let e = generate(&store, &options(5, 1)).unwrap_err();
    assert!(e.contains("already holds devices"), "{e}");
    assert_eq!(store.devices().unwrap().len(), 1);
    assert_eq!(store.advisory_stats().unwrap().0, 0);
}

#[test]
fn purls_are_written_as_the_agent_writes_them_and_map_to_osv() {
    let deb = &FAMILIES[0];
    let src = deb
        .sources(0, None)
        .into_iter()
        .find(|s| s.name == "openssl")
        .unwrap();
    let purls = deb.purls(0, &src);
    assert!(purls.contains(
        &"pkg:deb/debian/libssl3@3.0.11-1?arch=arm64&distro=debian-12&upstream=openssl".to_string()
    ));
    assert!(
        purls.contains(&"pkg:deb/debian/openssl@3.0.11-1?arch=arm64&distro=debian-12".to_string())
    );
    let key = crate::vuln::package_keys(&purls[1]).remove(0);
    assert_eq!(
        key,
        ("Debian:12".into(), "openssl".into(), "3.0.11-1".into())
    );
    // An individual upgrade and a later release are newer in dpkg's order.
    let up = deb
        .sources(0, Some("openssl"))
        .into_iter()
        .find(|s| s.name == "openssl")
        .unwrap();
    assert_eq!(up.version, "3.0.11-1+deb12u1");
    assert_eq!(images::bump(Kind::Alpine, "3.1.4-r5", 2), "3.1.4-r7");
    assert_eq!(images::bump(Kind::Yocto, "9.6p1", 1), "9.6p2");
    let alpine = FAMILIES.iter().find(|f| f.kind == Kind::Alpine).unwrap();
    let s = alpine
        .sources(0, None)
        .into_iter()
        .find(|s| s.name == "openssl")
        .unwrap();
    let u = &alpine.purls(0, &s)[0];
    assert_eq!(
        u,
        "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=aarch64&distro=alpine-3.19.1&upstream=openssl"
    );
    assert_eq!(
        crate::vuln::package_keys(u).remove(0).0,
        alpine.ecosystem(0).unwrap()
    );
    // Every family's sources parse, and the tables hold ~100-150 Debian packages.
    for f in FAMILIES {
        for k in 0..f.releases.len() {
            assert!(!image(f, k, None).purls.is_empty(), "{}", f.key);
        }
    }
    let n = image(deb, 0, None).purls.len();
    assert!((100..=160).contains(&n), "{n} Debian gateway packages");
}
