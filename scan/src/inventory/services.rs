//! What the device starts at boot or on connection, and how: enabled systemd
//! units (not masked), SysV `S` links, inittab processes, inetd and xinetd
//! services. The rules read it through [`Ctx::started`], which computes it
//! once per scan.

use crate::parse::services;
use crate::rules::ctx::first_error;
use crate::rules::{Ctx, Skip};
use std::path::Path;

/// Something the device starts at boot or on connection, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// Unit, script, inetd service or program basename (`telnetd`, `vsftpd`).
    pub name: String,
    /// The command line when known (inittab, inetd).
    pub command: String,
    /// `systemd`, `sysv`, `inittab`, `inetd`, `xinetd`.
    pub via: &'static str,
    pub path: String,
    pub line: Option<u64>,
}

/// Everything configured to start, in discovery order: systemd `.wants` and
/// `.requires` links, SysV `S` links of runlevels S and 2-5, inittab processes,
/// inetd services, enabled xinetd services. A malformed inittab or inetd.conf
/// is an error naming its first bad line.
pub fn started(ctx: &Ctx) -> Result<Vec<Started>, Skip> {
    let mut out = Vec::new();
    let base = |p: &str| {
        p.rsplit('/')
            .next()
            .unwrap_or(p)
            .trim_start_matches('-')
            .to_string()
    };
    for dir in [
        "/etc/systemd/system",
        "/lib/systemd/system",
        "/usr/lib/systemd/system",
    ] {
        let Ok(ents) = ctx.root.read_dir(dir) else {
            continue;
        };
        for e in ents {
            let n = e.name.to_string_lossy().into_owned();
            if !(n.ends_with(".wants") || n.ends_with(".requires")) {
                continue;
            }
            let wdir = format!("{dir}/{n}");
            for u in ctx.root.read_dir(&wdir).unwrap_or_default() {
                let unit = u.name.to_string_lossy().into_owned();
                let masked = ctx
                    .root
                    .read_link(format!("/etc/systemd/system/{unit}"))
                    .map(|t| t == Path::new("/dev/null"))
                    .unwrap_or(false);
                if !masked
                    && !out
                        .iter()
                        .any(|s: &Started| s.via == "systemd" && s.name == unit)
                {
                    out.push(Started {
                        name: unit.clone(),
                        command: String::new(),
                        via: "systemd",
                        path: format!("{wdir}/{unit}"),
                        line: None,
                    });
                }
            }
        }
    }
    for rl in ["rcS.d", "rc2.d", "rc3.d", "rc4.d", "rc5.d"] {
        let dir = format!("/etc/{rl}");
        for e in ctx.root.read_dir(&dir).unwrap_or_default() {
            let n = e.name.to_string_lossy().into_owned();
            if let Some(rest) = n.strip_prefix('S') {
                let name = rest
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .to_string();
                out.push(Started {
                    name,
                    command: String::new(),
                    via: "sysv",
                    path: format!("{dir}/{n}"),
                    line: None,
                });
            }
        }
    }
    if let Some(t) = ctx.text("/etc/inittab")? {
        let (entries, errs) = services::parse_inittab(&t);
        if let Some(e) = first_error("/etc/inittab", &errs) {
            return Err(e);
        }
        for e in entries.into_iter().filter(|e| !e.process.is_empty()) {
            let prog = e
                .process
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string();
            out.push(Started {
                name: base(&prog),
                command: e.process.clone(),
                via: "inittab",
                path: "/etc/inittab".into(),
                line: Some(e.line),
            });
        }
    }
    for conf in ["/etc/inetd.conf"] {
        if let Some(t) = ctx.text(conf)? {
            let (svcs, errs) = services::parse_inetd(&t);
            if let Some(e) = first_error(conf, &errs) {
                return Err(e);
            }
            for s in svcs {
                out.push(Started {
                    name: s.service.clone(),
                    command: s.server.clone(),
                    via: "inetd",
                    path: conf.into(),
                    line: Some(s.line),
                });
            }
        }
    }
    for e in ctx.root.read_dir("/etc/xinetd.d").unwrap_or_default() {
        let p = format!("/etc/xinetd.d/{}", e.name.to_string_lossy());
        if let Some(t) = ctx.text(&p)? {
            for (name, enabled, line) in services::parse_xinetd(&t) {
                if enabled {
                    out.push(Started {
                        name,
                        command: String::new(),
                        via: "xinetd",
                        path: p.clone(),
                        line: Some(line),
                    });
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{started, Started};
    use crate::rules::testutil::T;
    use crate::rules::{Ctx, Skip};

    fn run(t: &T) -> Result<Vec<Started>, Skip> {
        let root = t.root();
        let ctx = Ctx::new(&root, false, 2, &[], 20_000);
        started(&ctx)
    }

    fn link(t: &T, target: &str, rel: &str) {
        let p = t.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, p).unwrap();
    }

    #[test]
    fn nothing_configured_nothing_started() {
        let t = T::new();
        t.file("etc/hostname", "plc\n")
            .file("etc/rc3.d/K20telnetd", "")
            .file("etc/xinetd.d/tftp", "service tftp\n{\n\tdisable = yes\n}\n");
        assert_eq!(run(&t).unwrap(), []);
    }

    #[test]
    fn every_source_in_order_without_masked_units() {
        let t = T::new();
        link(
            &t,
            "/lib/systemd/system/ssh.service",
            "etc/systemd/system/multi-user.target.wants/ssh.service",
        );
        link(
            &t,
            "/lib/systemd/system/vsftpd.service",
            "etc/systemd/system/multi-user.target.wants/vsftpd.service",
        );
        link(&t, "/dev/null", "etc/systemd/system/vsftpd.service");
        // The same unit wanted twice is listed once.
        t.file("lib/systemd/system/sockets.target.wants/ssh.service", "")
            .file("etc/rc3.d/S20snmpd", "")
            .file(
                "etc/inittab",
                "::sysinit:/etc/init.d/rcS\nttyS0::respawn:-/sbin/getty -L ttyS0 115200\n",
            )
            .file(
                "etc/inetd.conf",
                "# comment\ntelnet stream tcp nowait root /usr/sbin/telnetd telnetd\n",
            )
            .file(
                "etc/xinetd.d/rsync",
                "service rsync\n{\n\tdisable = no\n}\n",
            );
        let got: Vec<String> = run(&t)
            .unwrap()
            .iter()
            .map(|s| format!("{} {} {} {:?}", s.via, s.name, s.path, s.line))
            .collect();
        assert_eq!(
            got,
            [
                "systemd ssh.service /etc/systemd/system/multi-user.target.wants/ssh.service None",
                "sysv snmpd /etc/rc3.d/S20snmpd None",
                "inittab rcS /etc/inittab Some(1)",
                "inittab getty /etc/inittab Some(2)",
                "inetd telnet /etc/inetd.conf Some(2)",
                "xinetd rsync /etc/xinetd.d/rsync Some(1)",
            ]
        );
    }

    #[test]
    fn malformed_inittab_is_an_error_on_its_line() {
        let t = T::new();
        t.file("etc/inittab", "::sysinit:/etc/init.d/rcS\nbroken line\n");
        match run(&t) {
            Err(Skip::Error { path, line, .. }) => {
                assert_eq!((path.as_str(), line), ("/etc/inittab", Some(2)))
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }
}
