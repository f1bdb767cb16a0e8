//! Rule results of the demo fleet: which rules apply to an image, which an
//! image release fails, a device's own deviations and the findings.

use super::images::{Family, Kind};
use super::{hash01, Rng};
use fieldattest_protocol::eat;

/// Rules failing on many images: (rule, share of images failing it).
const HOT: &[(&str, f64)] = &[
    ("log.remote-forwarding", 0.65),
    ("audit.enabled", 0.6),
    ("banner.system-use-notice", 0.55),
    ("ssh.dropbear-hardening", 0.6),
    ("ssh.password-authentication", 0.45),
    ("session.idle-timeout", 0.45),
    ("time.sync", 0.4),
    ("pwpolicy.quality-params", 0.4),
    ("pam.login-lockout", 0.35),
    ("sysctl.kernel-info-leak", 0.35),
    ("kmod.unneeded", 0.3),
    ("ssh.auth-rate-limits", 0.3),
    ("sysctl.network", 0.3),
    ("net.listening-exposure", 0.25),
];

/// What of a device's packages the rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Facts {
    pub telnetd: bool,
    pub mosquitto: bool,
    pub snmpd: bool,
}

impl Facts {
    pub fn of(purls: &[String]) -> Facts {
        let has = |p: &str| purls.iter().any(|u| u.contains(p));
        Facts {
            telnetd: has("telnetd"),
            mosquitto: has("mosquitto"),
            snmpd: has("snmpd"),
        }
    }

    /// Every combination, for precomputing verdicts.
    pub fn all() -> impl Iterator<Item = Facts> {
        (0..8u8).map(|b| Facts {
            telnetd: b & 1 != 0,
            mosquitto: b & 2 != 0,
            snmpd: b & 4 != 0,
        })
    }
}

/// Whether a rule applies to an image at all (else the agent reports it absent).
fn applies(f: &Family, rule: &str, facts: Facts) -> bool {
    let openssh_rule = rule.starts_with("ssh.")
        && !matches!(rule, "ssh.dropbear-hardening" | "ssh.key-and-config-perms");
    match rule {
        "ssh.dropbear-hardening" => f.dropbear,
        _ if openssh_rule => !f.dropbear,
        r if r.starts_with("pam.") || r.starts_with("pwpolicy.") => {
            matches!(f.kind, Kind::Debian | Kind::Yocto)
        }
        "mqtt.broker-auth-tls" => facts.mosquitto,
        "cred.snmp-default-community" => facts.snmpd,
        "boot.bootloader-locked" => matches!(f.kind, Kind::Yocto | Kind::Buildroot),
        _ => true,
    }
}

/// Whether release `k` of the image ships failing `rule` (newer releases
/// fix some of what older ones got wrong).
fn image_fails(f: &Family, k: usize, rule: &str, facts: Facts) -> bool {
    let p = match rule {
        "svc.telnet" => return facts.telnetd || (f.kind == Kind::Buildroot && k == 0),
        "cred.snmp-default-community" | "mqtt.broker-auth-tls" => 0.5,
        _ => HOT
            .iter()
            .find(|(r, _)| *r == rule)
            .map_or(0.06 * hash01(&[rule, "image"]), |(_, p)| *p),
    };
    let newer = 1.0 - 0.3 * k as f64 / f.releases.len() as f64;
    hash01(&[f.key, &k.to_string(), rule]) < p * newer
}

/// An image release's verdict on one rule: `None` when it does not apply,
/// else whether the image fails it and the rate of local failures.
pub type Verdict = Option<(bool, f64)>;

/// The verdicts of release `k` on `rules`, in their order.
pub fn verdicts(f: &Family, k: usize, rules: &[String], facts: Facts) -> Vec<Verdict> {
    rules
        .iter()
        .map(|rule| {
            applies(f, rule, facts).then(|| {
                let local = match rule.as_str() {
                    "cred.known-default-password" if f.dropbear => 0.15,
                    _ => 0.002 + 0.035 * hash01(&[rule, "local"]).powi(2),
                };
                (image_fails(f, k, rule, facts), local)
            })
        })
        .collect()
}

/// A device's result for a rule of its image: the image's verdict, fixed
/// locally on 8% of devices, else failing locally at the rule's rate; 0.2%
/// of results are "not run".
pub fn device_result(v: Verdict, rng: &mut Rng) -> u8 {
    let Some((image_fails, local)) = v else {
        return eat::RESULT_ABSENT;
    };
    if rng.chance(0.002) {
        return eat::RESULT_NOT_RUN;
    }
    let fail = if image_fails {
        !rng.chance(0.08)
    } else {
        rng.chance(local)
    };
    if fail {
        eat::RESULT_FAIL
    } else {
        eat::RESULT_PASS
    }
}

/// The subject and path of a failing rule's finding, as the agent names them.
pub fn finding(f: &Family, rule: &str, rng: &mut Rng) -> (String, String) {
    const USERS: &[&str] = &["root", "plc", "operator", "service", "admin", "maint"];
    let sshd = if f.kind == Kind::OpenWrt {
        "/etc/config/dropbear"
    } else if f.dropbear {
        "/etc/default/dropbear"
    } else {
        "/etc/ssh/sshd_config"
    };
    let (subject, path) = match rule {
        "ssh.permit-root-login" => ("PermitRootLogin".into(), sshd),
        "ssh.password-authentication" => ("PasswordAuthentication".into(), sshd),
        "ssh.dropbear-hardening" => ("root password login".into(), sshd),
        r if r.starts_with("ssh.") => (r[4..].to_string(), sshd),
        "svc.telnet" => ("telnetd".into(), "/etc/inetd.conf"),
        "cred.snmp-default-community" => ("public".into(), "/etc/snmp/snmpd.conf"),
        "mqtt.broker-auth-tls" => ("listener 1883".into(), "/etc/mosquitto/mosquitto.conf"),
        "sysctl.kernel-info-leak" => ("kernel.dmesg_restrict".into(), "/etc/sysctl.conf"),
        "sysctl.network" => ("net.ipv4.conf.all.rp_filter".into(), "/etc/sysctl.conf"),
        "time.sync" => ("no time synchronisation".into(), ""),
        r if r.starts_with("account.")
            || r.starts_with("cred.known")
            || r.starts_with("pwhash.") =>
        {
            (
                USERS[rng.below(USERS.len() as u64) as usize].into(),
                "/etc/shadow",
            )
        }
        r if r.starts_with("fileperm.") => (String::new(), "/etc/shadow"),
        _ => (String::new(), ""),
    };
    (subject, path.to_string())
}
