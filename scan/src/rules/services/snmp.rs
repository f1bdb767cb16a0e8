//! SNMP agents (`snmpd.conf` and its drop-ins) with a default community or
//! SNMPv1/v2c.

use crate::parse::content_lines;
use crate::rules::{Ctx, Hit, Meta, Outcome, Rule, Skip};
use fieldattest_protocol::report::Severity;

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

pub const DEFAULT_COMMUNITY: Rule = Rule {
    meta: Meta {
        id: "cred.snmp-default-community",
        title: "SNMP default community or SNMPv1/v2c",
        fr: "FR1",
        severity: Severity::High,
        reqs: &[("CR 1.5", 1), ("CR 4.1", 1), ("CR 7.7", 1)],
        remediation:
            "Remove rocommunity/rwcommunity/com2sec lines and use SNMPv3 users with authPriv.",
        reference: "Metasploit snmp_default_pass.txt; CIS 2.2.14",
    },
    check: snmp,
};

#[cfg(test)]
mod tests {
    use crate::rules::testutil::{fails, passes, run, T};
    use crate::rules::Skip;
    use fieldattest_protocol::report::Severity;

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
}
