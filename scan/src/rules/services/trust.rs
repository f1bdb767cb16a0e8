//! Trust and stored-credential files: `hosts.equiv`, and `.rhosts`, `.shosts`,
//! `.netrc`, `.forward` in home directories.

use crate::rules::{Ctx, Hit, Meta, Outcome, Rule};
use fieldattest_protocol::report::Severity;

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

pub const NETRC_RHOSTS: Rule = Rule {
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
};

#[cfg(test)]
mod tests {
    use crate::rules::testutil::{fails, passes, T};

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
}
