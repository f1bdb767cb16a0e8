//! Kernel modules a device rarely needs (uncommon network protocols, USB
//! storage, legacy file systems) that are loadable or loaded.

use crate::parse::content_lines;
use crate::rules::{Ctx, Hit, Meta, Outcome, Rule, Skip};
use fieldattest_protocol::report::Severity;

const UNNEEDED_MODULES: [(&str, &str); 10] = [
    ("dccp", "net/dccp/dccp.ko"),
    ("sctp", "net/sctp/sctp.ko"),
    ("rds", "net/rds/rds.ko"),
    ("tipc", "net/tipc/tipc.ko"),
    ("usb_storage", "drivers/usb/storage/usb-storage.ko"),
    ("cramfs", "fs/cramfs/cramfs.ko"),
    ("freevxfs", "fs/freevxfs/freevxfs.ko"),
    ("hfs", "fs/hfs/hfs.ko"),
    ("hfsplus", "fs/hfsplus/hfsplus.ko"),
    ("udf", "fs/udf/udf.ko"),
];

fn kmod_unneeded(ctx: &Ctx) -> Outcome {
    // Modules disabled by `install m /bin/false|/bin/true` or `blacklist m`.
    let mut blocked: Vec<String> = Vec::new();
    for dir in [
        "/etc/modprobe.d",
        "/lib/modprobe.d",
        "/usr/lib/modprobe.d",
        "/run/modprobe.d",
    ] {
        for e in ctx.root.read_dir(dir).unwrap_or_default() {
            let p = format!("{dir}/{}", e.name.to_string_lossy());
            if let Some(t) = ctx.text(&p)? {
                for (_, l) in content_lines(&t) {
                    let w: Vec<&str> = l.split_whitespace().collect();
                    match w.as_slice() {
                        ["install", m, cmd, ..]
                            if cmd.ends_with("/false") || cmd.ends_with("/true") =>
                        {
                            blocked.push(m.replace('-', "_"))
                        }
                        ["blacklist", m] => blocked.push(m.replace('-', "_")),
                        _ => {}
                    }
                }
            }
        }
    }
    let mut hits = Vec::new();
    if ctx.live {
        let loaded = ctx
            .root
            .read("/proc/modules")
            .map(|b| crate::inventory::os::parse_proc_modules(&String::from_utf8_lossy(&b)))
            .unwrap_or_default();
        for (m, _) in UNNEEDED_MODULES {
            if loaded.iter().any(|l| l == m) {
                hits.push(
                    Hit::new(format!("module {m} is loaded"))
                        .subject(m)
                        .at("/proc/modules", None),
                );
            }
        }
    }
    let kernels = crate::inventory::os::installed_kernels(ctx.root);
    if kernels.is_empty() && !ctx.live {
        return Err(Skip::na("no kernel module tree in the image"));
    }
    for rel in &kernels {
        let dep = format!("/lib/modules/{rel}/modules.dep");
        let Some(t) = ctx.text(&dep)? else { continue };
        for (m, ko) in UNNEEDED_MODULES {
            let present = t
                .lines()
                .any(|l| l.split(':').next().map(|k| k.contains(ko)).unwrap_or(false));
            if present
                && !blocked.iter().any(|b| b == m)
                && !hits.iter().any(|h: &Hit| h.subject.as_deref() == Some(m))
            {
                let sev = if m == "usb_storage" {
                    Severity::Medium
                } else {
                    Severity::Low
                };
                hits.push(
                    Hit::new(format!(
                        "module {m} can be auto-loaded (not blacklisted or disabled)"
                    ))
                    .subject(m)
                    .at(&dep, None)
                    .severity(sev),
                );
            }
        }
    }
    Ok(hits)
}

pub const UNNEEDED: Rule = Rule {
    meta: Meta {
        id: "kmod.unneeded",
        title: "Unneeded kernel modules loadable",
        fr: "FR7",
        severity: Severity::Low,
        reqs: &[("CR 7.7", 1)],
        remediation: "Add 'install <module> /bin/false' and 'blacklist <module>' in /etc/modprobe.d/ for dccp, sctp, rds, tipc, usb-storage and unused filesystems.",
        reference: "CIS 1.1.1.1-1.1.1.8, 1.1.23, 3.4.1-3.4.4; STIG UBTU-20-010461",
    },
    check: kmod_unneeded,
};

#[cfg(test)]
mod tests {
    use crate::rules::testutil::{fails, passes, T};

    #[test]
    fn modules() {
        let t = T::new();
        t.file("lib/modules/6.1.0/modules.dep", "kernel/net/sctp/sctp.ko: kernel/lib/libcrc32c.ko\nkernel/drivers/usb/storage/usb-storage.ko:\nkernel/fs/ext4/ext4.ko:\n");
        let h = fails(&t, "kmod.unneeded");
        assert_eq!(h.len(), 2);
        t.file(
            "etc/modprobe.d/cis.conf",
            "install sctp /bin/false\ninstall usb-storage /bin/false\n",
        );
        passes(&t, "kmod.unneeded");
    }
}
