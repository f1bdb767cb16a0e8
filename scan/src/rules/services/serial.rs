//! Serial consoles: a shell or autologin without authentication, and
//! authenticated serial gettys whose physical protection must be documented.

use crate::parse::content_lines;
use crate::rules::{Ctx, Hit, Meta, Outcome, Rule};
use fieldattest_protocol::report::Severity;

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

pub const CONSOLE_LOGIN: Rule = Rule {
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
};

#[cfg(test)]
mod tests {
    use crate::rules::testutil::{fails, passes, T};

    use fieldattest_protocol::report::Severity;

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
}
