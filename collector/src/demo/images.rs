//! The firmware images of the demo fleet: eight families, each released in
//! two or three versions, their packages as the agent writes them (purls of
//! `scan/src/inventory/purl.rs`), configuration files, SSH daemon and the
//! per-rule failure probabilities of each image.

use super::hash01;
use super::tables::*;

/// How a family's packages are identified (the purl form the agent writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// dpkg: `pkg:deb/debian/BIN@VER?arch=..&distro=debian-12&upstream=SRC`.
    Debian,
    /// opkg built by Yocto: `pkg:yocto/RECIPE@PV?arch=..`.
    Yocto,
    /// opkg on OpenWrt: `pkg:generic/NAME@VER?arch=..&distro=openwrt-REL`.
    OpenWrt,
    /// apk: `pkg:apk/alpine/BIN@VER?arch=..&distro=alpine-REL&upstream=SRC`.
    Alpine,
    /// No package database: binaries detected by version string, `pkg:generic/NAME@VER`.
    Buildroot,
}

/// One firmware image family.
pub struct Family {
    pub key: &'static str,
    /// `sw` claim name (os-release NAME).
    pub os_name: &'static str,
    /// Relative share of the fleet.
    pub weight: f64,
    pub kind: Kind,
    pub arch: &'static str,
    /// Released image versions, oldest first (os VERSION_ID / BUILD_ID).
    pub releases: &'static [&'static str],
    /// Package tables (name, `SOURCE VERSION [BINARY...]` per line); a
    /// table's name keys its updates, so families sharing a distribution's
    /// table share its point releases.
    pub tables: &'static [(&'static str, &'static str)],
    /// Sources a device may have upgraded individually.
    pub hotfix: &'static [&'static str],
    /// Configuration files measured (those of the agent's `CONFIG_FILES`
    /// the image has), under `/etc`, separated by spaces.
    pub configs: &'static str,
    /// Dropbear instead of OpenSSH.
    pub dropbear: bool,
}

/// The eight image families, by share of the fleet.
pub const FAMILIES: &[Family] = &[
    Family {
        key: "debian12-gateway",
        os_name: "Debian GNU/Linux",
        weight: 24.0,
        kind: Kind::Debian,
        arch: "arm64",
        releases: &["12"; 3],
        tables: &[("debian", DEBIAN), ("debian-gateway", DEBIAN_GATEWAY)],
        hotfix: &["openssl", "openssh", "mosquitto"],
        configs: "passwd group login.defs sudoers ssh/sshd_config pam.d/common-auth pam.d/common-password pam.d/su sysctl.conf snmp/snmpd.conf mosquitto/mosquitto.conf systemd/journald.conf rsyslog.conf",
        dropbear: false,
    },
    Family {
        key: "debian12-hmi",
        os_name: "Debian GNU/Linux",
        weight: 12.0,
        kind: Kind::Debian,
        arch: "amd64",
        releases: &["12"; 3],
        tables: &[("debian", DEBIAN), ("debian-hmi", DEBIAN_HMI)],
        hotfix: &["openssl", "curl", "glibc"],
        configs: "passwd group login.defs sudoers ssh/sshd_config pam.d/common-auth pam.d/common-password pam.d/su sysctl.conf inetd.conf systemd/journald.conf rsyslog.conf",
        dropbear: false,
    },
    Family {
        key: "yocto-scarthgap-plc",
        os_name: "Poky (Yocto Project Reference Distro)",
        weight: 16.0,
        kind: Kind::Yocto,
        arch: "cortexa53",
        releases: &["5.0.3", "5.0.5", "5.0.8"],
        tables: &[("scarthgap", YOCTO_SCARTHGAP)],
        hotfix: &["openssl", "curl", "mosquitto"],
        configs: "passwd group login.defs ssh/sshd_config pam.d/common-auth sysctl.conf systemd/journald.conf",
        dropbear: false,
    },
    Family {
        key: "yocto-kirkstone-rtu",
        os_name: "Poky (Yocto Project Reference Distro)",
        weight: 10.0,
        kind: Kind::Yocto,
        arch: "cortexa7t2hf-neon",
        releases: &["4.0.17", "4.0.21"],
        tables: &[("kirkstone", YOCTO_KIRKSTONE)],
        hotfix: &["openssl", "openssh"],
        configs: "passwd group login.defs ssh/sshd_config pam.d/common-auth sysctl.conf inittab",
        dropbear: false,
    },
    Family {
        key: "openwrt-router",
        os_name: "OpenWrt",
        weight: 10.0,
        kind: Kind::OpenWrt,
        arch: "aarch64_cortex-a53",
        releases: &["23.05.3", "23.05.4", "23.05.5"],
        tables: &[("openwrt", OPENWRT)],
        hotfix: &["dropbear", "dnsmasq"],
        configs: "passwd group config/dropbear sysctl.conf inittab",
        dropbear: true,
    },
    Family {
        key: "alpine319-edge",
        os_name: "Alpine Linux",
        weight: 10.0,
        kind: Kind::Alpine,
        arch: "aarch64",
        releases: &["3.19.1", "3.19.4"],
        tables: &[("alpine-3.19", ALPINE_319)],
        hotfix: &["openssl", "curl", "busybox"],
        configs: "passwd group ssh/sshd_config sysctl.conf inittab mosquitto/mosquitto.conf",
        dropbear: false,
    },
    Family {
        key: "alpine320-container-host",
        os_name: "Alpine Linux",
        weight: 6.0,
        kind: Kind::Alpine,
        arch: "x86_64",
        releases: &["3.20.2", "3.20.3", "3.20.5"],
        tables: &[("alpine-3.20", ALPINE_320)],
        hotfix: &["openssl", "docker"],
        configs: "passwd group ssh/sshd_config sysctl.conf inittab",
        dropbear: false,
    },
    Family {
        key: "buildroot-sensor",
        os_name: "Buildroot",
        weight: 12.0,
        kind: Kind::Buildroot,
        arch: "armv7",
        releases: &["2023.02.9", "2024.02.1", "2024.02.6"],
        tables: &[("buildroot", BUILDROOT)],
        hotfix: &["dropbear"],
        configs: "passwd group default/dropbear inittab",
        dropbear: true,
    },
];

/// One source package of an image: its name, version and binary packages.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Source {
    pub name: String,
    pub version: String,
    pub binaries: Vec<String>,
}

/// A version `steps` updates later, in the family's versioning style:
/// Debian stable updates (`+deb12uN`), Alpine package releases (`-rN`),
/// otherwise the last number counted up.
pub fn bump(kind: Kind, v: &str, steps: u32) -> String {
    if steps == 0 {
        return v.to_string();
    }
    if kind == Kind::Debian {
        return format!("{v}+deb12u{steps}");
    }
    // The last run of digits, counted up.
    let end = v.rfind(|c: char| c.is_ascii_digit()).map_or(0, |i| i + 1);
    let start = v[..end]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    let n: u64 = v[start..end].parse().unwrap_or(0);
    format!("{}{}{}", &v[..start], n + u64::from(steps), &v[end..])
}

/// Updates a source received up to release `k` (deterministic per
/// distribution table, so both Debian families share Debian's point releases).
fn steps(table: &str, src: &str, k: usize) -> u32 {
    (1..=k)
        .filter(|j| hash01(&[table, src, &j.to_string()]) < 0.35)
        .count() as u32
}

impl Family {
    /// The measured configuration files' paths.
    pub fn config_paths(&self) -> impl Iterator<Item = String> {
        self.configs.split_whitespace().map(|p| format!("/etc/{p}"))
    }

    /// The sources of release `k`, in table order; `hotfix` names a source
    /// upgraded once more than the release ships.
    pub fn sources(&self, k: usize, hotfix: Option<&str>) -> Vec<Source> {
        let mut out = Vec::new();
        for (tid, table) in self.tables {
            for line in table.lines() {
                let mut w = line.split_whitespace();
                let (Some(name), Some(v)) = (w.next(), w.next()) else {
                    continue;
                };
                let mut binaries: Vec<String> = w.map(str::to_string).collect();
                if binaries.is_empty() {
                    binaries.push(name.to_string());
                }
                let extra = u32::from(hotfix == Some(name));
                out.push(Source {
                    name: name.into(),
                    version: bump(self.kind, v, steps(tid, name, k) + extra),
                    binaries,
                });
            }
        }
        out
    }

    /// The `distro` qualifier / OSV ecosystem release of release `k`.
    pub fn release(&self, k: usize) -> &'static str {
        self.releases[k.min(self.releases.len() - 1)]
    }

    /// The purls the agent writes for a source's binary packages.
    pub fn purls(&self, k: usize, s: &Source) -> Vec<String> {
        use super::pct as e;
        let (arch, rel) = (self.arch, self.release(k));
        let upstream = |b: &str| {
            if b == s.name {
                String::new()
            } else {
                format!("&upstream={}", e(&s.name))
            }
        };
        match self.kind {
            Kind::Debian => s
                .binaries
                .iter()
                .map(|b| {
                    format!(
                        "pkg:deb/debian/{}@{}?arch={arch}&distro=debian-{rel}{}",
                        e(b),
                        e(&s.version),
                        upstream(b)
                    )
                })
                .collect(),
            Kind::Alpine => s
                .binaries
                .iter()
                .map(|b| {
                    format!(
                        "pkg:apk/alpine/{}@{}?arch={arch}&distro=alpine-{rel}{}",
                        e(b),
                        e(&s.version),
                        upstream(b)
                    )
                })
                .collect(),
            Kind::Yocto => vec![format!(
                "pkg:yocto/{}@{}?arch={arch}",
                e(&s.name),
                e(&s.version)
            )],
            Kind::OpenWrt => vec![format!(
                "pkg:generic/{}@{}?arch={arch}&distro=openwrt-{rel}",
                e(&s.name),
                e(&s.version)
            )],
            Kind::Buildroot => vec![format!("pkg:generic/{}@{}", e(&s.name), e(&s.version))],
        }
    }

    /// The OSV ecosystem of release `k`, when the collector matches this
    /// family's purls (`vuln::package_keys`): Debian and Alpine only.
    pub fn ecosystem(&self, k: usize) -> Option<String> {
        match self.kind {
            Kind::Debian => Some("Debian:12".into()),
            Kind::Alpine => {
                let mm: Vec<&str> = self.release(k).split('.').take(2).collect();
                Some(format!("Alpine:v{}", mm.join(".")))
            }
            _ => None,
        }
    }
}
