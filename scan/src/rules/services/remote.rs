//! Plaintext remote access: a telnet server, and FTP, TFTP, r-services, talk
//! or NIS, started at boot (inetd, inittab, systemd, init scripts) or
//! listening.

use crate::inventory::services::Started;
use crate::rules::{Ctx, Hit, Meta, Outcome, Rule, Skip};
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

pub const TELNET: Rule = Rule {
    meta: Meta {
        id: "svc.telnet",
        title: "Telnet server enabled",
        fr: "FR4",
        severity: Severity::Critical,
        reqs: &[("CR 4.1", 1), ("CR 1.7", 1), ("CR 7.7", 1)],
        remediation:
            "Remove or disable telnetd (inetd line, init script, BusyBox applet); use SSH.",
        reference: "CIS 2.1.8, 2.3.4; STIG UBTU-20-010405",
    },
    check: telnet,
};

pub const LEGACY_PLAINTEXT: Rule = Rule {
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
};

#[cfg(test)]
mod tests {
    use crate::rules::testutil::{fails, passes, T};

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
}
