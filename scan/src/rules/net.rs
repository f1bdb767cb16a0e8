//! Listening sockets (catalog 2.I rule 63, CR 7.7 / CR 5.1), live mode only:
//! every non-loopback listener with its owning process, industrial protocols
//! named. The operator documents needed listeners in the accept file
//! (subject `tcp/502`), which is how the "product allowlist" is expressed.

use super::{Ctx, Hit, Meta, Outcome, Rule, Skip};
use crate::inventory::listeners::{inventory, socket_owners};
use crate::parse::services::is_loopback;
use fieldattest_protocol::report::Severity;

/// Well-known industrial and IoT ports: (port, proto prefix, name, plaintext).
pub const INDUSTRIAL: &[(u16, &str, &str, bool)] = &[
    (502, "tcp", "Modbus/TCP", true),
    (102, "tcp", "Siemens S7 (ISO-TSAP)", true),
    (44818, "tcp", "EtherNet/IP", true),
    (44818, "udp", "EtherNet/IP", true),
    (2222, "udp", "EtherNet/IP I/O", true),
    (4840, "tcp", "OPC UA", false),
    (47808, "udp", "BACnet/IP", true),
    (20000, "tcp", "DNP3", true),
    (2404, "tcp", "IEC 60870-5-104", true),
    (1883, "tcp", "MQTT", true),
    (8883, "tcp", "MQTT over TLS", false),
    (34964, "udp", "PROFINET CM", true),
    (9600, "tcp", "OMRON FINS", true),
    (9600, "udp", "OMRON FINS", true),
    (5007, "tcp", "MELSEC-Q", true),
    (18245, "tcp", "GE SRTP", true),
    (1911, "tcp", "Niagara Fox", true),
    (789, "tcp", "Red Lion Crimson", true),
];

pub fn protocol_name(port: u16, proto: &str) -> Option<(&'static str, bool)> {
    INDUSTRIAL
        .iter()
        .find(|(p, pr, _, _)| *p == port && proto.starts_with(pr))
        .map(|(_, _, n, plain)| (*n, *plain))
}

fn exposure(ctx: &Ctx) -> Outcome {
    if !ctx.live {
        return Err(Skip::na(
            "listening sockets are only known on the running device (live mode)",
        ));
    }
    let mut hits = Vec::new();
    for l in inventory(ctx) {
        if is_loopback(&l.addr) {
            continue;
        }
        let proto = l.proto.trim_end_matches('6');
        let who = l
            .process
            .clone()
            .unwrap_or_else(|| "unknown process".into());
        let (name, plain) = protocol_name(l.port, &l.proto)
            .map(|(n, p)| (format!(" {n}"), p))
            .unwrap_or((String::new(), false));
        let mut h = Hit::new(format!("{}{name} listening on {}:{} ({who}); document it or bind it to the interface that needs it", l.proto, l.addr, l.port))
            .subject(format!("{proto}/{}", l.port))
            .at(format!("/proc/net/{}", l.proto), None);
        if plain {
            h = h.severity(Severity::Medium);
        } else {
            h = h.severity(Severity::Low);
        }
        hits.push(h);
    }
    Ok(hits)
}

/// Full capability set of a root process: every bit the kernel knows.
fn full_caps(hex: &str) -> bool {
    u64::from_str_radix(hex.trim(), 16)
        .map(|c| c.count_ones() >= 38)
        .unwrap_or(false)
}

/// Network daemons (owners of non-loopback listeners) running as UID 0 with
/// the full capability set (CCSC 3).
fn daemon_least_privilege(ctx: &Ctx) -> Outcome {
    if !ctx.live {
        return Err(Skip::na(
            "running processes are only known on the running device (live mode)",
        ));
    }
    let owners = socket_owners(ctx);
    let mut seen = Vec::new();
    let mut hits = Vec::new();
    for l in ctx.listeners().iter().filter(|l| !is_loopback(&l.addr)) {
        let Some(who) = owners.get(&l.inode) else {
            continue;
        };
        let Some(pid) = who
            .rsplit("pid ")
            .next()
            .map(|p| p.trim_end_matches(')').to_string())
        else {
            continue;
        };
        if seen.contains(&pid) {
            continue;
        }
        seen.push(pid.clone());
        let Ok(b) = ctx
            .root
            .read_limited(format!("/proc/{pid}/status"), 64 * 1024)
        else {
            continue;
        };
        let st = String::from_utf8_lossy(&b);
        let field = |k: &str| {
            st.lines()
                .find_map(|x| x.strip_prefix(k))
                .map(|v| v.trim().to_string())
        };
        let uid0 = field("Uid:")
            .map(|u| u.split_whitespace().nth(1) == Some("0"))
            .unwrap_or(false);
        let caps = field("CapEff:").unwrap_or_default();
        if uid0 && full_caps(&caps) {
            hits.push(
                Hit::new(format!(
                    "{who} serves {}/{} as root with every capability (CapEff {caps})",
                    l.proto, l.port
                ))
                .subject(who.clone())
                .at(format!("/proc/{pid}/status"), None),
            );
        }
    }
    Ok(hits)
}

pub const RULES: &[Rule] = &[
    Rule {
        meta: Meta {
            id: "svc.daemon-least-privilege",
            title: "Network daemon runs as root with all capabilities",
            fr: "FR2",
            severity: Severity::Medium,
            reqs: &[("CR 2.1", 1), ("CR 7.7", 1)],
            remediation: "Run the service as its own user with only the capabilities it needs (systemd User=, CapabilityBoundingSet=, AmbientCapabilities=).",
            reference: "IEC 62443-4-2 CCSC 3; systemd.exec(5)",
        },
        check: daemon_least_privilege,
    },
    Rule {
    meta: Meta {
        id: "net.listening-exposure",
        title: "Network listener not documented for the product",
        fr: "FR7",
        severity: Severity::Medium,
        reqs: &[("CR 7.7", 1), ("CR 5.1", 1), ("CR 7.6", 1)],
        remediation: "Disable or bind to the needed interface; document needed listeners (accept file, subject tcp/PORT) and filter industrial protocols at the cell boundary.",
        reference: "CIS 3.5.2.4; STIG UBTU-20-010407",
    },
    check: exposure,
},
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_industrial_ports() {
        assert_eq!(protocol_name(502, "tcp"), Some(("Modbus/TCP", true)));
        assert_eq!(protocol_name(47808, "udp6"), Some(("BACnet/IP", true)));
        assert_eq!(protocol_name(4840, "tcp6").map(|x| x.1), Some(false));
        assert_eq!(protocol_name(22, "tcp"), None);
    }

    #[test]
    fn full_capability_sets() {
        assert!(full_caps("000001ffffffffff"));
        assert!(full_caps("000000ffffffffff"));
        assert!(!full_caps("0000000000000400"));
        assert!(!full_caps("0000000000000000"));
    }

    /// A live-mode fixture: /proc/net/tcp with one listener owned by pid 4242.
    fn live_fixture(bind_hex: &str, uid: &str, caps: &str) -> super::super::testutil::T {
        let t = super::super::testutil::T::new();
        t.file(
            "proc/net/tcp",
            &format!("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: {bind_hex}:01F6 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777001 1 0000 100 0 0 10 0\n"),
        )
        .file("proc/4242/comm", "plc-runtime\n")
        .file("proc/4242/status", &format!("Name:\tplc-runtime\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nCapEff:\t{caps}\n"));
        std::fs::create_dir_all(t.dir.path().join("proc/4242/fd")).unwrap();
        std::os::unix::fs::symlink("socket:[777001]", t.dir.path().join("proc/4242/fd/5")).unwrap();
        t
    }

    fn live_run(
        t: &super::super::testutil::T,
        f: fn(&Ctx) -> super::super::Outcome,
    ) -> Vec<super::super::Hit> {
        let root = t.root();
        let ctx = Ctx::new(&root, true, 2, &[], 20_000);
        f(&ctx).unwrap()
    }

    #[test]
    fn modbus_on_all_interfaces_as_full_root_fires_both_rules() {
        let t = live_fixture("00000000", "0", "000001ffffffffff");
        let h = live_run(&t, exposure);
        assert_eq!(h.len(), 1);
        assert!(
            h[0].evidence.contains("Modbus/TCP")
                && h[0].evidence.contains("plc-runtime (pid 4242)"),
            "{h:?}"
        );
        assert_eq!(h[0].subject.as_deref(), Some("tcp/502"));
        let h = live_run(&t, daemon_least_privilege);
        assert_eq!(h.len(), 1, "{h:?}");
    }

    #[test]
    fn loopback_or_unprivileged_daemon_does_not_fire() {
        let t = live_fixture("0100007F", "0", "000001ffffffffff");
        assert!(live_run(&t, exposure).is_empty());
        assert!(live_run(&t, daemon_least_privilege).is_empty());
        let t = live_fixture("00000000", "998", "0000000000000400");
        assert!(live_run(&t, daemon_least_privilege).is_empty());
    }

    #[test]
    fn image_mode_is_not_applicable() {
        let t = super::super::testutil::T::new();
        assert!(matches!(
            super::super::testutil::run(&t, "net.listening-exposure"),
            Err(Skip::NotApplicable(_))
        ));
    }

    #[test]
    fn live_listeners_of_this_machine_have_owners() {
        // A real listener on loopback, owned by this test process.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let root = crate::root::RootFs::new(std::path::Path::new("/")).unwrap();
        let ctx = Ctx::new(&root, true, 2, &[], 20_000);
        let inv = inventory(&ctx);
        let mine = inv
            .iter()
            .find(|x| x.port == port && x.proto == "tcp")
            .expect("own listener listed");
        assert_eq!(mine.addr, "127.0.0.1");
        assert!(
            mine.process
                .as_deref()
                .unwrap_or("")
                .contains(&format!("pid {}", std::process::id())),
            "{mine:?}"
        );
        // Loopback listeners are not findings.
        let hits = exposure(&ctx).unwrap();
        assert!(!hits
            .iter()
            .any(|h| h.subject.as_deref() == Some(&format!("tcp/{port}")[..])));
    }
}
