//! Prioritisation: what makes a vulnerability on a device urgent, in order
//! — known exploited (CISA KEV, ransomware campaigns first), reachable from
//! the network on this device (a non-loopback listener of the component's
//! package), the probability of exploitation (FIRST EPSS), the CVSS base
//! score (v3.1 / v4.0, computed from the vector with the `cvss` crate) —
//! and the reason shown for the rank:
//! "KEV (ransomware) · listening tcp/0.0.0.0:22 (sshd) · EPSS 0.94 (p99) ·
//! CVSS 9.8 (v3.1)".

use crate::store::{DeviceListener, Epss, Kev};
use std::cmp::Ordering;
use std::str::FromStr;

/// A CVSS base score computed from a vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Cvss {
    pub score: f64,
    /// `3.0`, `3.1`, `4.0`.
    pub version: String,
    pub vector: String,
}

/// The base score of one (type, vector) of an advisory: CVSS v3.x and
/// v4.0 vectors (by their prefix, whatever the type says); `None` for
/// anything else or a vector that does not parse.
pub fn cvss_score(_kind: &str, vector: &str) -> Option<Cvss> {
    let v = vector.trim();
    // Every base metric exactly once (the parser takes partial vectors).
    let complete = |needed: &[&str]| {
        let keys: Vec<&str> = v
            .split('/')
            .skip(1)
            .filter_map(|m| m.split_once(':').map(|(k, _)| k))
            .collect();
        needed
            .iter()
            .all(|n| keys.iter().filter(|k| *k == n).count() == 1)
    };
    let (score, version) = if let Some(rest) = v.strip_prefix("CVSS:3.") {
        if !complete(&["AV", "AC", "PR", "UI", "S", "C", "I", "A"]) {
            return None;
        }
        let minor = rest.split('/').next().unwrap_or("");
        let b = cvss::v3::Base::from_str(v).ok()?;
        (b.score().value(), format!("3.{minor}"))
    } else if v.starts_with("CVSS:4.0/") {
        if !complete(&[
            "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
        ]) {
            return None;
        }
        let b = cvss::v4::Vector::from_str(v).ok()?;
        (b.score().value(), "4.0".to_string())
    } else {
        return None;
    };
    (score.is_finite() && (0.0..=10.0).contains(&score)).then(|| Cvss {
        score,
        version,
        vector: v.to_string(),
    })
}

/// Every computable base score of an advisory's vectors, v3.x first.
pub fn cvss_all(vectors: &[(String, String)]) -> Vec<Cvss> {
    let mut out: Vec<Cvss> = vectors
        .iter()
        .filter_map(|(k, v)| cvss_score(k, v))
        .collect();
    out.sort_by(|a, b| a.version.cmp(&b.version));
    out.dedup_by(|a, b| a.version == b.version);
    out
}

/// The score ranked on: CVSS v3.1 (or 3.0) where the advisory has one —
/// what most advisories and policies are written against — else v4.0.
pub fn ranked_cvss(all: &[Cvss]) -> Option<&Cvss> {
    all.iter()
        .rev()
        .find(|c| c.version.starts_with('3'))
        .or_else(|| all.iter().find(|c| c.version == "4.0"))
}

/// How a vulnerable component is exposed on a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Listening on a non-loopback address: "tcp/0.0.0.0:22 (sshd)".
    Network(Vec<String>),
    /// Listening on loopback only.
    Local(Vec<String>),
    /// No listener of its packages (or none reported).
    None,
}

impl Reach {
    pub fn is_network(&self) -> bool {
        matches!(self, Reach::Network(_))
    }

    /// `network`, `local`, `none`.
    pub fn label(&self) -> &'static str {
        match self {
            Reach::Network(_) => "network",
            Reach::Local(_) => "local",
            Reach::None => "none",
        }
    }

    pub fn evidence(&self) -> &[String] {
        match self {
            Reach::Network(e) | Reach::Local(e) => e,
            Reach::None => &[],
        }
    }
}

/// Whether a listening address is loopback only.
pub fn loopback(addr: &str) -> bool {
    let a = addr.trim_start_matches('[').trim_end_matches(']');
    a.starts_with("127.") || a == "::1" || a == "localhost" || a == "::ffff:127.0.0.1"
}

/// Whether a listener's package is one of the component's: one of its
/// binary packages, the component itself, or a package split from its
/// recipe (`openssh-sshd` of `openssh`).
fn owned_by(package: &str, component: &str, binaries: &[String]) -> bool {
    package == component
        || binaries.iter().any(|b| b == package)
        || package
            .strip_prefix(component)
            .is_some_and(|rest| rest.starts_with('-'))
}

/// "tcp/0.0.0.0:22 (sshd)".
pub fn describe(l: &DeviceListener) -> String {
    let addr = if l.addr.contains(':') && !l.addr.starts_with('[') {
        format!("[{}]", l.addr)
    } else {
        l.addr.clone()
    };
    match l.process.as_deref().filter(|p| !p.is_empty()) {
        None => format!("{}/{addr}:{}", l.proto, l.port),
        Some(p) => format!("{}/{addr}:{} ({p})", l.proto, l.port),
    }
}

/// The exposure of a component on a device from the device's listeners.
pub fn reach(listeners: &[DeviceListener], component: &str, binaries: &[String]) -> Reach {
    let (mut net, mut local) = (Vec::new(), Vec::new());
    for l in listeners {
        let Some(p) = l.package.as_deref() else {
            continue;
        };
        if !owned_by(p, component, binaries) {
            continue;
        }
        let d = describe(l);
        let list = if loopback(&l.addr) {
            &mut local
        } else {
            &mut net
        };
        if !list.contains(&d) {
            list.push(d);
        }
    }
    if !net.is_empty() {
        Reach::Network(net)
    } else if !local.is_empty() {
        Reach::Local(local)
    } else {
        Reach::None
    }
}

/// Everything a vulnerability on a device is ranked by.
#[derive(Debug, Clone, PartialEq)]
pub struct Risk {
    pub kev: Option<Kev>,
    pub reach: Reach,
    pub epss: Option<Epss>,
    /// Every computable base score (v3.x first).
    pub cvss: Vec<Cvss>,
}

impl Risk {
    /// The first KEV entry and the highest EPSS of the CVE ids, with the
    /// exposure and the vectors.
    pub fn of<'a>(
        cves: impl Iterator<Item = &'a str>,
        kev: &std::collections::HashMap<String, Kev>,
        epss: &std::collections::HashMap<String, Epss>,
        reach: Reach,
        vectors: &[(String, String)],
    ) -> Risk {
        let (mut k, mut e): (Option<&Kev>, Option<&Epss>) = (None, None);
        for id in cves {
            if let Some(x) = kev.get(id) {
                if k.is_none_or(|y| x.ransomware && !y.ransomware) {
                    k = Some(x);
                }
            }
            if let Some(x) = epss.get(id) {
                if e.is_none_or(|y| x.score > y.score) {
                    e = Some(x);
                }
            }
        }
        Risk {
            kev: k.cloned(),
            reach,
            epss: e.cloned(),
            cvss: cvss_all(vectors),
        }
    }

    /// The score ranked on (see [`ranked_cvss`]).
    pub fn base(&self) -> Option<&Cvss> {
        ranked_cvss(&self.cvss)
    }

    /// Most urgent first: KEV (ransomware before other KEV entries), then
    /// network-reachable, then EPSS, then CVSS; unknown values last.
    pub fn urgency(&self, other: &Risk) -> Ordering {
        let kev = |r: &Risk| r.kev.as_ref().map_or(0, |k| 1 + u8::from(k.ransomware));
        let num = |x: Option<f64>| x.filter(|v| v.is_finite()).unwrap_or(-1.0);
        kev(other)
            .cmp(&kev(self))
            .then(other.reach.is_network().cmp(&self.reach.is_network()))
            .then(
                num(other.epss.as_ref().map(|e| e.score))
                    .total_cmp(&num(self.epss.as_ref().map(|e| e.score))),
            )
            .then(num(other.base().map(|c| c.score)).total_cmp(&num(self.base().map(|c| c.score))))
    }

    /// Why it ranks where it does, each factor it has.
    pub fn reason(&self) -> String {
        let mut parts = Vec::new();
        if let Some(k) = &self.kev {
            parts.push(if k.ransomware {
                "KEV (ransomware)".to_string()
            } else {
                "KEV".to_string()
            });
        }
        match &self.reach {
            Reach::Network(e) => parts.push(format!("listening {}", e.join(", "))),
            Reach::Local(e) => parts.push(format!("loopback only {}", e.join(", "))),
            Reach::None => {}
        }
        if let Some(e) = &self.epss {
            parts.push(format!(
                "EPSS {:.2} (p{})",
                e.score,
                (e.percentile * 100.0).floor().clamp(0.0, 100.0) as u8
            ));
        }
        if let Some(c) = self.base() {
            parts.push(format!("CVSS {:.1} (v{})", c.score, c.version));
        }
        if parts.is_empty() {
            "no KEV, EPSS or CVSS data".to_string()
        } else {
            parts.join(" · ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn l(addr: &str, port: u16, process: &str, package: Option<&str>) -> DeviceListener {
        DeviceListener {
            proto: "tcp".into(),
            addr: addr.into(),
            port,
            process: Some(process.to_string()),
            package: package.map(str::to_string),
        }
    }

    #[test]
    fn base_scores_are_computed_from_the_vectors() {
        let v3 = cvss_score("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap();
        assert_eq!((v3.score, v3.version.as_str()), (9.8, "3.1"));
        let v30 = cvss_score("CVSS_V3", "CVSS:3.0/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N").unwrap();
        assert_eq!((v30.score, v30.version.as_str()), (1.8, "3.0"));
        let v4 = cvss_score(
            "CVSS_V4",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        )
        .unwrap();
        assert_eq!((v4.score, v4.version.as_str()), (9.3, "4.0"));
        let v4b = cvss_score(
            "CVSS_V4",
            "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N",
        )
        .unwrap();
        assert!(v4b.score < 5.0, "{v4b:?}");
        for bad in [
            "",
            "CVSS:3.1/AV:N",
            "CVSS:4.0/AV:X",
            "CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P",
            "high",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/AV:L",
        ] {
            assert!(cvss_score("CVSS_V3", bad).is_none(), "{bad}");
        }
        let both = cvss_all(&[
            ("CVSS_V4".into(), v4.vector.clone()),
            ("CVSS_V3".into(), v30.vector.clone()),
        ]);
        assert_eq!(ranked_cvss(&both).unwrap().version, "3.0");
        assert_eq!(ranked_cvss(&both[1..]).unwrap().version, "4.0");
    }

    #[test]
    fn reachability_from_listeners_of_the_component() {
        let ls = [
            l("0.0.0.0", 22, "sshd", Some("openssh-sshd")),
            l("127.0.0.1", 5432, "postgres", Some("postgresql")),
            l("::", 80, "lighttpd", None),
        ];
        assert_eq!(
            reach(&ls, "openssh", &[]),
            Reach::Network(vec!["tcp/0.0.0.0:22 (sshd)".into()])
        );
        assert_eq!(
            reach(&ls, "postgresql-15", &["postgresql".into()]),
            Reach::Local(vec!["tcp/127.0.0.1:5432 (postgres)".into()])
        );
        // No owning package: not linked; another component: not reachable.
        assert_eq!(reach(&ls, "lighttpd", &[]), Reach::None);
        assert_eq!(reach(&ls, "open", &[]), Reach::None);
        assert_eq!(reach(&ls, "openssl", &["libssl3".into()]), Reach::None);
        assert!(loopback("::1") && loopback("[::1]") && loopback("127.0.0.53"));
        assert!(!loopback("::") && !loopback("192.168.1.10"));
        assert_eq!(
            describe(&l("::", 443, "", None)),
            "tcp/[::]:443",
            "IPv6 in brackets"
        );
    }

    #[test]
    fn risk_order_and_reasons() {
        let kev = HashMap::from([
            (
                "CVE-1".to_string(),
                Kev {
                    added: "2024-01-01".into(),
                    ransomware: true,
                    due: Some("2024-01-22".into()),
                },
            ),
            (
                "CVE-2".to_string(),
                Kev {
                    added: "2024-01-01".into(),
                    ransomware: false,
                    due: Some("2024-01-22".into()),
                },
            ),
        ]);
        let epss = HashMap::from([
            (
                "CVE-1".to_string(),
                Epss {
                    score: 0.94,
                    percentile: 0.995,
                    date: "2024-06-01".into(),
                },
            ),
            (
                "CVE-4".to_string(),
                Epss {
                    score: 0.5,
                    percentile: 0.9,
                    date: "2024-06-01".into(),
                },
            ),
            (
                "CVE-5".to_string(),
                Epss {
                    score: 0.01,
                    percentile: 0.2,
                    date: "2024-06-01".into(),
                },
            ),
        ]);
        let v98 = vec![(
            "CVSS_V3".to_string(),
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".to_string(),
        )];
        let net = Reach::Network(vec!["tcp/0.0.0.0:22 (sshd)".into()]);
        let r = |id: &str, reach: Reach, v: &[(String, String)]| {
            Risk::of(std::iter::once(id), &kev, &epss, reach, v)
        };
        let all = [
            r("CVE-6", Reach::None, &v98), // CVSS only
            r("CVE-5", Reach::None, &[]),  // low EPSS
            r("CVE-3", net.clone(), &[]),  // reachable
            r("CVE-2", Reach::None, &[]),  // KEV
            r("CVE-1", net.clone(), &v98), // KEV ransomware
            r("CVE-4", Reach::None, &[]),  // EPSS 0.5
            r("CVE-7", Reach::None, &[]),  // nothing known
        ];
        let mut sorted: Vec<&Risk> = all.iter().collect();
        sorted.sort_by(|a, b| a.urgency(b));
        let reasons: Vec<String> = sorted.iter().map(|r| r.reason()).collect();
        assert_eq!(
            reasons,
            vec![
                "KEV (ransomware) · listening tcp/0.0.0.0:22 (sshd) · EPSS 0.94 (p99) · CVSS 9.8 (v3.1)",
                "KEV",
                "listening tcp/0.0.0.0:22 (sshd)",
                "EPSS 0.50 (p90)",
                "EPSS 0.01 (p20)",
                "CVSS 9.8 (v3.1)",
                "no KEV, EPSS or CVSS data",
            ]
        );
        // The CVE ids of a match: a ransomware KEV entry wins over another.
        let k = Risk::of(
            ["CVE-2", "CVE-1"].into_iter(),
            &kev,
            &epss,
            Reach::None,
            &[],
        );
        assert!(k.kev.unwrap().ransomware);
    }
}
