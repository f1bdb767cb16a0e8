//! The boot path: a boot loader that can be interrupted or edited, and
//! single-user or rescue mode without authentication.

use crate::parse::content_lines;
use crate::rules::{Ctx, Hit, Meta, Outcome, Rule, Skip};
use fieldattest_protocol::report::Severity;

fn bootloader(ctx: &Ctx) -> Outcome {
    let mut seen = false;
    let mut hits = Vec::new();
    for f in [
        "/boot/uEnv.txt",
        "/boot/boot.cmd",
        "/etc/u-boot-initial-env",
        "/boot/u-boot-env.txt",
        "/uboot.env.txt",
    ] {
        let Some(t) = ctx.text(f)? else { continue };
        seen = true;
        let mut delay: Option<(i64, u64)> = None;
        let mut keyed = false;
        for (line, l) in content_lines(&t) {
            let l = l.trim().trim_start_matches("setenv ").trim();
            let (k, v) = l
                .split_once('=')
                .or_else(|| l.split_once(' '))
                .unwrap_or((l, ""));
            match k.trim() {
                "bootdelay" => delay = v.trim().trim_matches('"').parse().ok().map(|n| (n, line)),
                "bootstopkey" | "bootstopkeysha256" | "bootstopusesha256" => keyed = true,
                _ => {}
            }
        }
        if let Some((d, line)) = delay {
            if d >= 0 && !keyed {
                hits.push(Hit::new(format!("bootdelay={d}: any key on the console stops autoboot (want -2 or a keyed stop string)")).subject("bootdelay").at(f, Some(line)));
            }
        }
    }
    for f in [
        "/boot/grub/grub.cfg",
        "/boot/grub2/grub.cfg",
        "/boot/efi/EFI/BOOT/grub.cfg",
    ] {
        let Some(t) = ctx.text(f)? else { continue };
        seen = true;
        if !t.contains("set superusers") || !t.contains("password_pbkdf2") {
            hits.push(Hit::new("GRUB without superusers/password_pbkdf2: boot entries and kernel command line editable at the console").subject("grub").at(f, None));
        }
        if let Ok(m) = ctx.root.metadata(f) {
            if m.mode & 0o022 != 0 || m.uid != 0 {
                hits.push(
                    Hit::new(format!(
                        "boot configuration mode {:04o} uid {}",
                        m.mode & 0o7777,
                        m.uid
                    ))
                    .subject("grub.cfg")
                    .at(f, None),
                );
            }
        }
    }
    if !seen {
        return Err(Skip::na(
            "no U-Boot environment or GRUB configuration in the root",
        ));
    }
    Ok(hits)
}

fn single_user(ctx: &Ctx) -> Outcome {
    let mut hits = Vec::new();
    let mut seen = false;
    if let Some(t) = ctx.text("/etc/inittab")? {
        let (entries, _) = crate::parse::services::parse_inittab(&t);
        let sysv = entries.iter().any(|e| e.action == "initdefault");
        if sysv {
            seen = true;
            let sulogin = entries
                .iter()
                .any(|e| e.runlevels.contains('S') && e.process.contains("sulogin"));
            if !sulogin {
                hits.push(
                    Hit::new("runlevel S has no sulogin: single-user mode gives a root shell")
                        .at("/etc/inittab", None),
                );
            }
        }
    }
    for unit in ["rescue.service", "emergency.service"] {
        for dir in [
            "/etc/systemd/system",
            "/lib/systemd/system",
            "/usr/lib/systemd/system",
        ] {
            let p = format!("{dir}/{unit}");
            if let Some(t) = ctx.text(&p)? {
                seen = true;
                if let Some((line, l)) =
                    content_lines(&t).find(|(_, l)| l.trim_start().starts_with("ExecStart="))
                {
                    if !l.contains("sulogin") && !l.contains("systemd-sulogin-shell") {
                        hits.push(
                            Hit::new(format!("{unit} starts without sulogin: {}", l.trim()))
                                .subject(unit)
                                .at(&p, Some(line)),
                        );
                    }
                }
                break;
            }
        }
    }
    if !seen {
        return Err(Skip::na("no SysV runlevels or systemd rescue units"));
    }
    Ok(hits)
}

pub const BOOTLOADER_LOCKED: Rule = Rule {
    meta: Meta {
        id: "boot.bootloader-locked",
        title: "Boot loader can be interrupted or edited",
        fr: "FR2",
        severity: Severity::High,
        reqs: &[("EDR 2.13", 2), ("EDR 3.14", 1)],
        remediation: "U-Boot: bootdelay=-2 or CONFIG_AUTOBOOT_KEYED with a SHA-256 stop string; GRUB: set superusers and password_pbkdf2; boot config root-owned.",
        reference: "AGL security blueprint; U-Boot README.autoboot; CIS 1.4.1, 1.4.2",
    },
    check: bootloader,
};

pub const SINGLE_USER_AUTH: Rule = Rule {
    meta: Meta {
        id: "boot.single-user-auth",
        title: "Single-user or rescue mode without authentication",
        fr: "FR1",
        severity: Severity::High,
        reqs: &[("CR 1.1", 1), ("EDR 3.14", 1)],
        remediation: "SysV: add '~~:S:wait:/sbin/sulogin' to /etc/inittab; systemd: keep sulogin in rescue/emergency units.",
        reference: "CIS 1.4.3, 1.4.4; STIG UBTU-20-010009",
    },
    check: single_user,
};

#[cfg(test)]
mod tests {
    use crate::rules::testutil::{fails, passes, run, T};
    use crate::rules::Skip;

    #[test]
    fn uboot_and_grub() {
        let t = T::new();
        assert!(matches!(
            run(&t, "boot.bootloader-locked"),
            Err(Skip::NotApplicable(_))
        ));
        t.file("boot/uEnv.txt", "bootdelay=3\nbootcmd=run mmcboot\n");
        fails(&t, "boot.bootloader-locked");
        t.file("boot/uEnv.txt", "bootdelay=-2\n");
        passes(&t, "boot.bootloader-locked");
    }

    #[test]
    fn single_user_mode() {
        let t = T::new();
        t.file(
            "etc/inittab",
            "id:2:initdefault:\nsi::sysinit:/etc/init.d/rcS\n",
        );
        fails(&t, "boot.single-user-auth");
        t.file(
            "etc/inittab",
            "id:2:initdefault:\nsi::sysinit:/etc/init.d/rcS\n~~:S:wait:/sbin/sulogin\n",
        );
        passes(&t, "boot.single-user-auth");
    }
}
