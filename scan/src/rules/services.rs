//! Services and interfaces (catalog 2.I, 2.L, 2.M): plaintext remote access,
//! SNMP and MQTT defaults, serial consoles, boot loader, single-user mode,
//! trust files, and unneeded kernel modules.

use super::ctx::Started;
use super::{Ctx, Hit, Meta, Outcome, Rule, Skip};
use crate::parse::content_lines;
use crate::parse::services::is_loopback;
use fieldattest_protocol::report::Severity;

fn hit_for(s: &Started, what: &str) -> Hit {
    let how = if s.command.is_empty() {
        String::new()
    } else {
        format!(" ({})", s.command)
    };
    Hit::new(format!("{what} started via {}{how}", s.via))
        .subject(s.name.clone())
        .at(&s.path, s.line)
}

/// Started entries whose name or command matches one of `names`.
fn matching<'a>(ctx: &'a Ctx, names: &[&str]) -> Result<Vec<&'a Started>, Skip> {
    Ok(ctx
        .started()?
        .iter()
        .filter(|s| {
            let n = s
                .name
                .trim_end_matches(".service")
                .trim_end_matches(".socket")
                .trim_end_matches('@');
            let prog = s
                .command
                .split_whitespace()
                .next()
                .unwrap_or("")
                .rsplit('/')
                .next()
                .unwrap_or("");
            names.iter().any(|m| n == *m || prog == *m)
        })
        .collect())
}

fn listener_hits(ctx: &Ctx, ports: &[(u16, &str)], what: &str) -> Vec<Hit> {
    ctx.listeners()
        .into_iter()
        .filter(|l| {
            ports
                .iter()
                .any(|(p, proto)| l.port == *p && l.proto.starts_with(proto))
        })
        .map(|l| {
            Hit::new(format!(
                "{what} listening on {}:{}/{}",
                l.addr, l.port, l.proto
            ))
            .subject(format!("{}/{}", l.port, l.proto))
            .at(format!("/proc/net/{}", l.proto), None)
        })
        .collect()
}

fn telnet(ctx: &Ctx) -> Outcome {
    let mut hits: Vec<Hit> = matching(
        ctx,
        &[
            "telnet",
            "telnetd",
            "in.telnetd",
            "utelnetd",
            "inetutils-telnetd",
            "telnetd-ssl",
        ],
    )?
    .into_iter()
    .map(|s| hit_for(s, "telnet server"))
    .collect();
    hits.extend(listener_hits(ctx, &[(23, "tcp")], "telnet"));
    Ok(hits)
}

const LEGACY: [&str; 24] = [
    "ftp",
    "ftpd",
    "in.ftpd",
    "vsftpd",
    "proftpd",
    "pure-ftpd",
    "tftp",
    "tftpd",
    "in.tftpd",
    "atftpd",
    "tftpd-hpa",
    "shell",
    "login",
    "exec",
    "rsh",
    "rlogin",
    "rexec",
    "in.rshd",
    "in.rlogind",
    "talk",
    "ntalk",
    "ypbind",
    "ypserv",
    "rsh.socket",
];

fn legacy_plaintext(ctx: &Ctx) -> Outcome {
    let mut hits: Vec<Hit> = matching(ctx, &LEGACY)?
        .into_iter()
        .map(|s| hit_for(s, "plaintext legacy service"))
        .collect();
    hits.extend(listener_hits(
        ctx,
        &[
            (21, "tcp"),
            (69, "udp"),
            (512, "tcp"),
            (513, "tcp"),
            (514, "tcp"),
        ],
        "legacy plaintext service",
    ));
    Ok(hits)
}

const SNMP_DEFAULTS: [&str; 8] = [
    "public",
    "private",
    "community",
    "snmp",
    "admin",
    "manager",
    "secret",
    "default",
];

fn snmp(ctx: &Ctx) -> Outcome {
    let mut files = vec!["/etc/snmp/snmpd.conf".to_string()];
    for e in ctx
        .root
        .read_dir("/etc/snmp/snmpd.conf.d")
        .unwrap_or_default()
    {
        files.push(format!(
            "/etc/snmp/snmpd.conf.d/{}",
            e.name.to_string_lossy()
        ));
    }
    let mut any = false;
    let mut hits = Vec::new();
    for f in files {
        let Some(t) = ctx.text(&f)? else { continue };
        any = true;
        for (line, l) in content_lines(&t) {
            let w: Vec<&str> = l.split_whitespace().collect();
            let (rw, community) = match w.as_slice() {
                [d, c, ..] if matches!(*d, "rwcommunity" | "rwcommunity6") => (true, *c),
                [d, c, ..] if matches!(*d, "rocommunity" | "rocommunity6") => (false, *c),
                ["com2sec" | "com2sec6", _name, _src, c, ..] => (false, *c),
                _ => continue,
            };
            let default = SNMP_DEFAULTS.contains(&community.to_ascii_lowercase().as_str());
            let (sev, why) = match (default, rw) {
                (true, true) => (Severity::Critical, "default read-write community"),
                (true, false) => (Severity::High, "default read-only community"),
                (false, true) => (
                    Severity::Medium,
                    "SNMPv1/v2c read-write community (cleartext; use SNMPv3)",
                ),
                (false, false) => (
                    Severity::Medium,
                    "SNMPv1/v2c community (cleartext; use SNMPv3)",
                ),
            };
            // The community name itself is a credential: report only default ones by name.
            let subject = if default {
                community.to_string()
            } else {
                w[0].to_string()
            };
            hits.push(
                Hit::new(format!("{} {}", w[0], why))
                    .subject(subject)
                    .at(&f, Some(line))
                    .severity(sev),
            );
        }
    }
    if !any {
        return Err(Skip::na("no snmpd configuration"));
    }
    Ok(hits)
}

fn mqtt(ctx: &Ctx) -> Outcome {
    let mut files = vec!["/etc/mosquitto/mosquitto.conf".to_string()];
    let Some(main) = ctx.text(&files[0])? else {
        return Err(Skip::na("no mosquitto configuration"));
    };
    for (_, l) in content_lines(&main) {
        if let Some(dir) = l.trim().strip_prefix("include_dir") {
            for e in ctx.root.read_dir(dir.trim()).unwrap_or_default() {
                let n = e.name.to_string_lossy();
                if n.ends_with(".conf") {
                    files.push(format!("{}/{n}", dir.trim().trim_end_matches('/')));
                }
            }
        }
    }
    let mut hits = Vec::new();
    let mut listeners: Vec<(String, u64, String, bool)> = Vec::new(); // path, line, bind, tls
    let mut anonymous: Option<(String, u64, bool)> = None;
    let mut password_file = false;
    for f in &files {
        let Some(t) = ctx.text(f)? else { continue };
        for (line, l) in content_lines(&t) {
            let w: Vec<&str> = l.split_whitespace().collect();
            match w.as_slice() {
                ["listener", port, rest @ ..] => listeners.push((
                    f.clone(),
                    line,
                    rest.first()
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| format!("0.0.0.0:{port}")),
                    false,
                )),
                ["certfile", ..] | ["psk_hint", ..] => {
                    if let Some(last) = listeners.last_mut() {
                        last.3 = true;
                    }
                }
                ["allow_anonymous", v] => anonymous = Some((f.clone(), line, *v == "true")),
                ["password_file", ..] | ["auth_plugin", ..] | ["plugin", ..] => {
                    password_file = true
                }
                _ => {}
            }
        }
    }
    let version2 = ctx
        .package_version("mosquitto")
        .map(|v| !v.starts_with("1."))
        .unwrap_or(true);
    match anonymous {
        Some((p, l, true)) => hits.push(
            Hit::new("allow_anonymous true: clients connect without credentials")
                .subject("allow_anonymous")
                .at(p, Some(l)),
        ),
        None if !version2 && !password_file => hits.push(
            Hit::new(
                "mosquitto 1.x without password_file or auth plugin accepts anonymous clients",
            )
            .subject("allow_anonymous")
            .at(&files[0], None),
        ),
        _ => {}
    }
    for (p, l, bind, tls) in listeners {
        if !tls
            && !is_loopback(bind.split(':').next().unwrap_or(&bind))
            && !bind.starts_with("localhost")
        {
            hits.push(
                Hit::new(format!("listener {bind} without TLS (certfile)"))
                    .subject(bind)
                    .at(p, Some(l)),
            );
        }
    }
    Ok(hits)
}

fn serial_console(ctx: &Ctx) -> Outcome {
    let mut hits = Vec::new();
    let mut consoles = 0;
    for s in ctx.started()? {
        let c = &s.command;
        if s.via == "inittab" {
            let shell = c.trim_start_matches('-').starts_with("/bin/sh")
                || c.trim_start_matches('-').starts_with("/bin/ash")
                || c.trim_start_matches('-').starts_with("/bin/bash");
            let getty_shell = (c.contains("getty")
                && (c.contains(" -n ") || c.contains("-l /bin/sh")))
                || c.contains("--autologin")
                || c.contains(" -a root");
            if shell || getty_shell {
                hits.push(
                    Hit::new(format!("console gives a shell without authentication: {c}"))
                        .subject(s.name.clone())
                        .at(&s.path, s.line)
                        .severity(Severity::Critical),
                );
            } else if c.contains("getty")
                && (c.contains("ttyS")
                    || c.contains("ttyAMA")
                    || c.contains("ttymxc")
                    || c.contains("ttyO")
                    || c.contains("ttyPS"))
            {
                consoles += 1;
                if ctx.target_sl >= 2 {
                    hits.push(Hit::new(format!("authenticated serial getty ({c}); document physical protection (EDR 2.13)")).subject(s.name.clone()).at(&s.path, s.line).severity(Severity::Medium));
                }
            }
        } else if s.via == "systemd" && s.name.starts_with("serial-getty@") {
            consoles += 1;
            if ctx.target_sl >= 2 {
                hits.push(
                    Hit::new("serial getty enabled; document physical protection (EDR 2.13)")
                        .subject(s.name.clone())
                        .at(&s.path, None)
                        .severity(Severity::Medium),
                );
            }
        }
    }
    // systemd drop-ins that turn a getty into an autologin.
    for unit in [
        "serial-getty@.service.d",
        "getty@.service.d",
        "serial-getty@ttyS0.service.d",
        "getty@tty1.service.d",
        "console-getty.service.d",
    ] {
        let dir = format!("/etc/systemd/system/{unit}");
        for e in ctx.root.read_dir(&dir).unwrap_or_default() {
            let p = format!("{dir}/{}", e.name.to_string_lossy());
            if let Some(t) = ctx.text(&p)? {
                for (line, l) in content_lines(&t) {
                    if l.trim_start().starts_with("ExecStart=")
                        && (l.contains("--autologin") || l.contains(" -a "))
                    {
                        hits.push(
                            Hit::new(format!("getty autologin: {}", l.trim()))
                                .subject(unit.to_string())
                                .at(&p, Some(line))
                                .severity(Severity::Critical),
                        );
                    }
                }
            }
        }
    }
    let _ = consoles;
    Ok(hits)
}

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

fn netrc_rhosts(ctx: &Ctx) -> Outcome {
    let mut hits = Vec::new();
    for f in ["/etc/hosts.equiv", "/etc/shosts.equiv"] {
        if ctx.root.is_file(f) {
            hits.push(Hit::new("host-based trust file present").at(f, None));
        }
    }
    for p in ctx
        .passwd()?
        .iter()
        .filter(|p| !p.nis && !p.home.is_empty() && p.home != "/")
    {
        for dot in [".rhosts", ".shosts", ".netrc", ".forward"] {
            let path = format!("{}/{dot}", p.home.trim_end_matches('/'));
            if ctx.root.is_file(&path) {
                hits.push(
                    Hit::new(format!("{dot} present (trust or stored credentials)"))
                        .subject(p.name.clone())
                        .at(path, None),
                );
            }
        }
    }
    Ok(hits)
}

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

pub const RULES: &[Rule] = &[
    Rule {
        meta: Meta {
            id: "svc.telnet",
            title: "Telnet server enabled",
            fr: "FR4",
            severity: Severity::Critical,
            reqs: &[("CR 4.1", 1), ("CR 1.7", 1), ("CR 7.7", 1)],
            remediation: "Remove or disable telnetd (inetd line, init script, BusyBox applet); use SSH.",
            reference: "CIS 2.1.8, 2.3.4; STIG UBTU-20-010405",
        },
        check: telnet,
    },
    Rule {
        meta: Meta {
            id: "svc.legacy-plaintext",
            title: "FTP, TFTP, r-services, talk or NIS enabled",
            fr: "FR4",
            severity: Severity::High,
            reqs: &[("CR 4.1", 1), ("CR 1.2", 2), ("CR 7.7", 1)],
            remediation: "Disable FTP/TFTP/rsh/rlogin/rexec/talk/NIS; use SFTP/SCP over SSH.",
            reference: "CIS 2.1.6, 2.1.7, 2.1.9, 2.2.9, 2.2.17, 2.3.1-2.3.3; STIG UBTU-20-010406",
        },
        check: legacy_plaintext,
    },
    Rule {
        meta: Meta {
            id: "cred.snmp-default-community",
            title: "SNMP default community or SNMPv1/v2c",
            fr: "FR1",
            severity: Severity::High,
            reqs: &[("CR 1.5", 1), ("CR 4.1", 1), ("CR 7.7", 1)],
            remediation: "Remove rocommunity/rwcommunity/com2sec lines and use SNMPv3 users with authPriv.",
            reference: "Metasploit snmp_default_pass.txt; CIS 2.2.14",
        },
        check: snmp,
    },
    Rule {
        meta: Meta {
            id: "mqtt.broker-auth-tls",
            title: "MQTT broker accepts anonymous or plaintext clients",
            fr: "FR1",
            severity: Severity::High,
            reqs: &[("CR 1.1", 1), ("CR 1.2", 2), ("CR 4.1", 1), ("CR 3.1", 1)],
            remediation: "Set allow_anonymous false with a password_file or auth plugin; give every non-loopback listener certfile/keyfile.",
            reference: "mosquitto.conf(5); Eclipse Mosquitto 2.0 migration notes",
        },
        check: mqtt,
    },
    Rule {
        meta: Meta {
            id: "debug.serial-console-login",
            title: "Serial console gives a shell without authentication",
            fr: "FR2",
            severity: Severity::Critical,
            reqs: &[("EDR 2.13", 2), ("CR 1.1", 1)],
            remediation: "Run a getty with login on serial consoles (no -n -l /bin/sh, no --autologin, no '::askfirst:-/bin/sh'); document physical protection.",
            reference: "CIS 5.5; CIP IEC 62443-4-2 assessment (serial port as human-user interface)",
        },
        check: serial_console,
    },
    Rule {
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
    },
    Rule {
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
    },
    Rule {
        meta: Meta {
            id: "cred.netrc-rhosts",
            title: "Trust or stored-credential files present",
            fr: "FR1",
            severity: Severity::High,
            reqs: &[("CR 1.5", 1), ("CR 1.2", 2)],
            remediation: "Remove hosts.equiv, .rhosts, .shosts, .netrc and .forward files.",
            reference: "CIS 6.2.11-6.2.14",
        },
        check: netrc_rhosts,
    },
    Rule {
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
    },
];

#[cfg(test)]
mod tests {
    use super::super::testutil::{fails, passes, run, T};
    use super::super::Skip;
    use fieldattest_protocol::report::Severity;

    #[test]
    fn telnet_via_inetd_inittab_and_systemd() {
        let t = T::new();
        t.file(
            "etc/inetd.conf",
            "#telnet stream tcp nowait root /usr/sbin/telnetd telnetd\n",
        );
        passes(&t, "svc.telnet");
        t.file(
            "etc/inetd.conf",
            "telnet stream tcp nowait root /usr/sbin/telnetd telnetd\n",
        );
        assert_eq!(fails(&t, "svc.telnet")[0].line, Some(1));
        let t = T::new();
        t.file(
            "etc/inittab",
            "::sysinit:/etc/init.d/rcS\n::respawn:/usr/sbin/telnetd -F -l /bin/login\n",
        );
        fails(&t, "svc.telnet");
        let t = T::new();
        std::fs::create_dir_all(t.dir.path().join("etc/systemd/system/sockets.target.wants"))
            .unwrap();
        std::os::unix::fs::symlink(
            "/lib/systemd/system/telnet.socket",
            t.dir
                .path()
                .join("etc/systemd/system/sockets.target.wants/telnet.socket"),
        )
        .unwrap();
        fails(&t, "svc.telnet");
        // Masked units do not count.
        std::os::unix::fs::symlink(
            "/dev/null",
            t.dir.path().join("etc/systemd/system/telnet.socket"),
        )
        .unwrap();
        passes(&t, "svc.telnet");
    }

    #[test]
    fn legacy_services() {
        let t = T::new();
        t.file("etc/xinetd.d/tftp", "service tftp\n{\n  disable = no\n}\n")
            .file("etc/xinetd.d/rsh", "service shell\n{\n  disable = yes\n}\n");
        let h = fails(&t, "svc.legacy-plaintext");
        assert_eq!(h.len(), 1);
        std::fs::create_dir_all(t.dir.path().join("etc/rc2.d")).unwrap();
        std::os::unix::fs::symlink("../init.d/vsftpd", t.dir.path().join("etc/rc2.d/S02vsftpd"))
            .unwrap();
        assert_eq!(fails(&t, "svc.legacy-plaintext").len(), 2);
    }

    #[test]
    fn snmp_communities() {
        let t = T::new();
        assert!(matches!(
            run(&t, "cred.snmp-default-community"),
            Err(Skip::NotApplicable(_))
        ));
        t.file(
            "etc/snmp/snmpd.conf",
            "createUser ops SHA-256 x AES y\nrouser ops authpriv\n",
        );
        passes(&t, "cred.snmp-default-community");
        t.file(
            "etc/snmp/snmpd.conf",
            "rocommunity public default\nrwcommunity private 10.0.0.0/8\nrocommunity S3cretName\n",
        );
        let h = fails(&t, "cred.snmp-default-community");
        assert_eq!(h[0].severity, Some(Severity::High));
        assert_eq!(h[1].severity, Some(Severity::Critical));
        assert!(
            !format!("{h:?}").contains("S3cretName"),
            "non-default community names are credentials"
        );
    }

    #[test]
    fn mosquitto() {
        let t = T::new();
        t.file("etc/mosquitto/mosquitto.conf", "listener 8883\ncertfile /etc/mosquitto/certs/server.crt\nkeyfile /etc/mosquitto/certs/server.key\nallow_anonymous false\npassword_file /etc/mosquitto/passwd\nlistener 1883 127.0.0.1\n");
        passes(&t, "mqtt.broker-auth-tls");
        t.file(
            "etc/mosquitto/mosquitto.conf",
            "listener 1883\nallow_anonymous true\n",
        );
        assert_eq!(fails(&t, "mqtt.broker-auth-tls").len(), 2);
    }

    #[test]
    fn serial_consoles() {
        let t = T::new();
        t.file(
            "etc/inittab",
            "::sysinit:/etc/init.d/rcS\nttyS0::respawn:/sbin/getty -L ttyS0 115200 vt100\n",
        );
        let h = fails(&t, "debug.serial-console-login");
        assert_eq!(h[0].severity, Some(Severity::Medium));
        t.file(
            "etc/inittab",
            "::sysinit:/etc/init.d/rcS\nttyS0::askfirst:-/bin/sh\n",
        );
        assert_eq!(
            fails(&t, "debug.serial-console-login")[0].severity,
            Some(Severity::Critical)
        );
        let t = T::new();
        t.file("etc/systemd/system/serial-getty@.service.d/autologin.conf", "[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root --keep-baud 115200 %I $TERM\n");
        assert_eq!(fails(&t, "debug.serial-console-login")[0].line, Some(3));
        passes(&T::new(), "debug.serial-console-login");
    }

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

    #[test]
    fn trust_files() {
        let t = T::new();
        t.file("etc/passwd", "root:x:0:0::/root:/bin/sh\n");
        passes(&t, "cred.netrc-rhosts");
        t.file("root/.rhosts", "+ +\n");
        assert_eq!(
            fails(&t, "cred.netrc-rhosts")[0].subject.as_deref(),
            Some("root")
        );
    }

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
