//! Kernel and network sysctls (catalog 2.J/2.K rules 68-73).
//!
//! Live mode checks the effective value in `/proc/sys`; image mode the value
//! persisted in `sysctl.d`/`sysctl.conf` (after precedence), falling back to
//! the upstream kernel default when nothing sets the key.

use super::{Ctx, Hit, Meta, Outcome, Rule};
use fieldattest_protocol::report::Severity;

/// A sysctl requirement: key, test, wanted value (for the message), upstream
/// default, and an optional severity override.
struct Want {
    key: &'static str,
    ok: fn(i64) -> bool,
    want: &'static str,
    default: Option<i64>,
    severity: Option<Severity>,
}

const fn w(
    key: &'static str,
    ok: fn(i64) -> bool,
    want: &'static str,
    default: Option<i64>,
) -> Want {
    Want {
        key,
        ok,
        want,
        default,
        severity: None,
    }
}

const fn ws(
    key: &'static str,
    ok: fn(i64) -> bool,
    want: &'static str,
    default: Option<i64>,
    s: Severity,
) -> Want {
    Want {
        key,
        ok,
        want,
        default,
        severity: Some(s),
    }
}

fn check(ctx: &Ctx, wants: &[Want]) -> Outcome {
    let mut hits = Vec::new();
    let mut known = 0;
    for wt in wants {
        let (value, path, line) = match ctx.sysctl(wt.key)? {
            Some((v, p, l)) => (v, Some(p), l),
            None if ctx.live => continue, // the running kernel lacks this knob
            None => match wt.default {
                Some(d) => (d.to_string(), None, None),
                None => continue,
            },
        };
        known += 1;
        let n: Option<i64> = value.split_whitespace().next().and_then(|v| v.parse().ok());
        let ok = n.map(wt.ok).unwrap_or(false);
        // Live mode: also compare with what is persisted (it wins at next boot).
        let persisted = if path
            .as_deref()
            .map(|p| p.starts_with("/proc/"))
            .unwrap_or(false)
        {
            ctx.sysctl_persisted()?
                .get(wt.key)
                .filter(|s| s.value != value)
                .cloned()
        } else {
            None
        };
        let differs = persisted
            .as_ref()
            .map(|s| format!("; persisted {} in {}:{} differs", s.value, s.path, s.line))
            .unwrap_or_default();
        if !ok {
            let src = match &path {
                Some(p) if p.starts_with("/proc/") => "effective".to_string(),
                Some(_) => "persisted".to_string(),
                None => "not set; upstream kernel default".to_string(),
            };
            let mut h = Hit::new(format!(
                "{} = {value} ({src}{differs}); want {}",
                wt.key, wt.want
            ))
            .subject(wt.key);
            if let Some(p) = path {
                h = h.at(p, line);
            }
            if let Some(s) = wt.severity {
                h = h.severity(s);
            }
            hits.push(h);
        } else if let Some(s) = persisted {
            let pn: Option<i64> = s
                .value
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok());
            if !pn.map(wt.ok).unwrap_or(false) {
                hits.push(
                    Hit::new(format!("{} = {value} (effective) but {} persisted in {}:{}: the weaker value returns at the next boot; want {}", wt.key, s.value, s.path, s.line, wt.want))
                        .subject(wt.key)
                        .at(s.path.clone(), Some(s.line))
                        .severity(Severity::Low),
                );
            }
        }
    }
    if known == 0 {
        return Err(super::Skip::na("none of the sysctls exist on this kernel"));
    }
    Ok(hits)
}

fn ge1(v: i64) -> bool {
    v >= 1
}
fn ge2(v: i64) -> bool {
    v >= 2
}
fn eq0(v: i64) -> bool {
    v == 0
}
fn eq1(v: i64) -> bool {
    v == 1
}
fn eq2(v: i64) -> bool {
    v == 2
}
fn ne0(v: i64) -> bool {
    v != 0
}

const INFO_LEAK: &[Want] = &[
    w("kernel.kptr_restrict", ge2, "2", Some(0)),
    w("kernel.dmesg_restrict", eq1, "1", Some(0)),
    w(
        "kernel.perf_event_paranoid",
        ge2,
        ">= 2 (3 where supported)",
        Some(2),
    ),
];
const ASLR: &[Want] = &[w("kernel.randomize_va_space", eq2, "2", Some(2))];
const ISOLATION: &[Want] = &[
    w("kernel.yama.ptrace_scope", ge1, ">= 1", Some(1)),
    w("fs.protected_symlinks", eq1, "1", Some(0)),
    w("fs.protected_hardlinks", eq1, "1", Some(0)),
    w("fs.protected_fifos", eq2, "2", Some(0)),
    w("fs.protected_regular", eq2, "2", Some(0)),
];
const UNPRIV: &[Want] = &[
    w("kernel.unprivileged_bpf_disabled", ne0, "1 or 2", Some(2)),
    w("net.core.bpf_jit_harden", eq2, "2", Some(0)),
    w("vm.unprivileged_userfaultfd", eq0, "0", Some(0)),
    w("kernel.io_uring_disabled", eq2, "2", Some(0)),
    w("dev.tty.ldisc_autoload", eq0, "0", Some(1)),
    w("dev.tty.legacy_tiocsti", eq0, "0", Some(1)),
];
const CORE: &[Want] = &[w("fs.suid_dumpable", eq0, "0", Some(0))];
const NETWORK: &[Want] = &[
    w(
        "net.ipv4.ip_forward",
        eq0,
        "0 (unless the device routes)",
        Some(0),
    ),
    w(
        "net.ipv6.conf.all.forwarding",
        eq0,
        "0 (unless the device routes)",
        Some(0),
    ),
    ws(
        "net.ipv4.conf.all.send_redirects",
        eq0,
        "0",
        Some(1),
        Severity::Low,
    ),
    ws(
        "net.ipv4.conf.all.accept_redirects",
        eq0,
        "0",
        Some(1),
        Severity::Low,
    ),
    ws(
        "net.ipv4.conf.all.secure_redirects",
        eq0,
        "0",
        Some(1),
        Severity::Low,
    ),
    ws(
        "net.ipv4.conf.all.accept_source_route",
        eq0,
        "0",
        Some(0),
        Severity::Low,
    ),
    ws(
        "net.ipv6.conf.all.accept_redirects",
        eq0,
        "0",
        Some(1),
        Severity::Low,
    ),
    ws(
        "net.ipv6.conf.all.accept_source_route",
        eq0,
        "0",
        Some(0),
        Severity::Low,
    ),
    ws(
        "net.ipv6.conf.all.accept_ra",
        eq0,
        "0 (if not needed)",
        Some(1),
        Severity::Low,
    ),
    ws(
        "net.ipv4.conf.all.rp_filter",
        eq1,
        "1",
        Some(0),
        Severity::Low,
    ),
    ws(
        "net.ipv4.conf.all.log_martians",
        eq1,
        "1",
        Some(0),
        Severity::Low,
    ),
    ws(
        "net.ipv4.icmp_echo_ignore_broadcasts",
        eq1,
        "1",
        Some(1),
        Severity::Low,
    ),
    ws(
        "net.ipv4.icmp_ignore_bogus_error_responses",
        eq1,
        "1",
        Some(1),
        Severity::Low,
    ),
    w("net.ipv4.tcp_syncookies", eq1, "1", Some(1)),
];

fn info_leak(ctx: &Ctx) -> Outcome {
    check(ctx, INFO_LEAK)
}
fn aslr(ctx: &Ctx) -> Outcome {
    check(ctx, ASLR)
}
fn isolation(ctx: &Ctx) -> Outcome {
    check(ctx, ISOLATION)
}
fn unpriv(ctx: &Ctx) -> Outcome {
    check(ctx, UNPRIV)
}
fn core(ctx: &Ctx) -> Outcome {
    check(ctx, CORE)
}
fn network(ctx: &Ctx) -> Outcome {
    check(ctx, NETWORK)
}

pub const RULES: &[Rule] = &[
    Rule {
        meta: Meta {
            id: "sysctl.kernel-info-leak",
            title: "Kernel pointers or log readable by unprivileged users",
            fr: "FR4",
            severity: Severity::Medium,
            reqs: &[("CR 4.1", 1), ("CR 7.7", 1)],
            remediation: "Persist kernel.kptr_restrict=2, kernel.dmesg_restrict=1, kernel.perf_event_paranoid=3 in /etc/sysctl.d/.",
            reference: "KSPP; STIG UBTU-20-010401",
        },
        check: info_leak,
    },
    Rule {
        meta: Meta {
            id: "sysctl.aslr",
            title: "Address space layout randomisation not fully enabled",
            fr: "FR3",
            severity: Severity::High,
            reqs: &[("EDR 3.2", 1)],
            remediation: "Set kernel.randomize_va_space=2.",
            reference: "CIS 1.5.3; STIG UBTU-20-010448; KSPP",
        },
        check: aslr,
    },
    Rule {
        meta: Meta {
            id: "sysctl.userspace-isolation",
            title: "ptrace and link/FIFO protections not enforced",
            fr: "FR2",
            severity: Severity::Medium,
            reqs: &[("CR 2.1", 1)],
            remediation: "Set kernel.yama.ptrace_scope>=1 (2 or 3 preferred), fs.protected_symlinks=1, fs.protected_hardlinks=1, fs.protected_fifos=2, fs.protected_regular=2.",
            reference: "KSPP",
        },
        check: isolation,
    },
    Rule {
        meta: Meta {
            id: "sysctl.unprivileged-attack-surface",
            title: "Kernel attack surface open to unprivileged users",
            fr: "FR7",
            severity: Severity::Medium,
            reqs: &[("CR 7.7", 1)],
            remediation: "Set kernel.unprivileged_bpf_disabled=1, net.core.bpf_jit_harden=2, vm.unprivileged_userfaultfd=0, kernel.io_uring_disabled=2, dev.tty.ldisc_autoload=0, dev.tty.legacy_tiocsti=0.",
            reference: "KSPP via kernel-hardening-checker",
        },
        check: unpriv,
    },
    Rule {
        meta: Meta {
            id: "sysctl.core-dumps",
            title: "Set-id programs may dump core",
            fr: "FR4",
            severity: Severity::Medium,
            reqs: &[("CR 4.1", 1), ("CR 4.2", 2)],
            remediation: "Set fs.suid_dumpable=0.",
            reference: "CIS 1.5.1; STIG UBTU-20-010413; KSPP",
        },
        check: core,
    },
    Rule {
        meta: Meta {
            id: "sysctl.network",
            title: "Network stack not hardened",
            fr: "FR5",
            severity: Severity::Medium,
            reqs: &[("CR 5.1", 1), ("CR 7.1", 1)],
            remediation: "Persist the CIS network sysctls (no forwarding unless routing, no redirects or source routes, rp_filter=1, log_martians=1, tcp_syncookies=1).",
            reference: "CIS 3.1.1-3.2.9; STIG UBTU-20-010412",
        },
        check: network,
    },
];

#[cfg(test)]
mod tests {
    use super::super::testutil::{fails, passes, T};

    const HARDENED: &str = "kernel.kptr_restrict = 2\nkernel.dmesg_restrict = 1\nkernel.perf_event_paranoid = 3\nkernel.randomize_va_space = 2\nkernel.yama.ptrace_scope = 2\nfs.protected_symlinks = 1\nfs.protected_hardlinks = 1\nfs.protected_fifos = 2\nfs.protected_regular = 2\nkernel.unprivileged_bpf_disabled = 1\nnet.core.bpf_jit_harden = 2\nvm.unprivileged_userfaultfd = 0\nkernel.io_uring_disabled = 2\ndev.tty.ldisc_autoload = 0\ndev.tty.legacy_tiocsti = 0\nfs.suid_dumpable = 0\nnet.ipv4.conf.all.send_redirects = 0\nnet.ipv4.conf.all.accept_redirects = 0\nnet.ipv4.conf.all.secure_redirects = 0\nnet.ipv6.conf.all.accept_redirects = 0\nnet.ipv6.conf.all.accept_ra = 0\nnet.ipv4.conf.all.rp_filter = 1\nnet.ipv4.conf.all.log_martians = 1\n";

    #[test]
    fn hardened_persisted_config_passes() {
        let t = T::new();
        t.file("etc/sysctl.d/90-hardening.conf", HARDENED);
        for id in [
            "sysctl.kernel-info-leak",
            "sysctl.aslr",
            "sysctl.userspace-isolation",
            "sysctl.unprivileged-attack-surface",
            "sysctl.core-dumps",
            "sysctl.network",
        ] {
            passes(&t, id);
        }
    }

    #[test]
    fn defaults_and_overrides_fire() {
        let t = T::new();
        // Nothing persisted: upstream defaults leave kptr_restrict at 0.
        let h = fails(&t, "sysctl.kernel-info-leak");
        assert!(
            h[0].evidence.contains("not set; upstream kernel default"),
            "{h:?}"
        );
        assert!(h[0].path.is_none());
        // A later file and /etc/sysctl.conf override earlier ones.
        t.file(
            "usr/lib/sysctl.d/10-a.conf",
            "kernel.randomize_va_space = 2\n",
        );
        t.file("etc/sysctl.conf", "kernel.randomize_va_space = 0\n");
        let h = fails(&t, "sysctl.aslr");
        assert_eq!(h[0].path.as_deref(), Some("/etc/sysctl.conf"));
        assert_eq!(h[0].line, Some(1));
        // Same file name in /etc masks /usr/lib.
        let t = T::new();
        t.file("usr/lib/sysctl.d/50-x.conf", "fs.suid_dumpable = 2\n")
            .file("etc/sysctl.d/50-x.conf", "fs.suid_dumpable = 0\n");
        passes(&t, "sysctl.core-dumps");
        t.file("etc/sysctl.d/60-y.conf", "net.ipv4.ip_forward=1\n");
        assert!(fails(&t, "sysctl.network")
            .iter()
            .any(|h| h.subject.as_deref() == Some("net.ipv4.ip_forward")));
    }

    #[test]
    fn live_mode_reports_effective_and_persisted_when_they_differ() {
        let t = T::new();
        t.file("proc/sys/kernel/randomize_va_space", "2\n")
            .file("etc/sysctl.conf", "kernel.randomize_va_space = 0\n");
        let root = t.root();
        let ctx = super::super::Ctx::new(&root, true, 2, &[], 20_000);
        let h = super::aslr(&ctx).unwrap();
        assert_eq!(h.len(), 1);
        assert!(h[0].evidence.contains("returns at the next boot"), "{h:?}");
        assert_eq!(h[0].path.as_deref(), Some("/etc/sysctl.conf"));
        t.file("proc/sys/kernel/randomize_va_space", "0\n")
            .file("etc/sysctl.conf", "kernel.randomize_va_space = 2\n");
        let ctx = super::super::Ctx::new(&root, true, 2, &[], 20_000);
        let h = super::aslr(&ctx).unwrap();
        assert!(
            h[0].evidence
                .contains("(effective; persisted 2 in /etc/sysctl.conf:1 differs)"),
            "{h:?}"
        );
    }

    #[test]
    fn bad_sysctl_file_is_an_error() {
        let t = T::new();
        t.file(
            "etc/sysctl.d/99-bad.conf",
            "kernel.kptr_restrict = 2\nthis is wrong\n",
        );
        match super::super::testutil::run(&t, "sysctl.aslr") {
            Err(super::super::Skip::Error { path, line, .. }) => {
                assert_eq!(path, "/etc/sysctl.d/99-bad.conf");
                assert_eq!(line, Some(2));
            }
            o => panic!("{o:?}"),
        }
    }
}
