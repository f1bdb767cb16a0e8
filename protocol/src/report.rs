//! The report contract, `schema: "fieldattest/report/v1"` (see design.md).
//!
//! Changes to this module must be additive (new optional fields); anything else
//! needs a new schema identifier.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Schema identifier written into every report.
pub const REPORT_SCHEMA: &str = "fieldattest/report/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub agent: AgentInfo,
    pub scan: ScanInfo,
    pub device: Device,
    pub inventory: Inventory,
    pub rules: Vec<RuleResult>,
    pub findings: Vec<Finding>,
    pub summary: Summary,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentInfo {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScanMode {
    /// The running system (`--root /`): `/proc` and `/sys` are read too.
    Live,
    /// An image or mounted rootfs: persisted files only.
    Image,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanInfo {
    pub root: String,
    pub mode: ScanMode,
    /// RFC 3339, UTC.
    pub started: String,
    pub duration_ms: u64,
    pub target_sl: u8,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Device {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    pub os: OsInfo,
    pub kernel: KernelInfo,
}

/// Identity from `os-release(5)`. Absent keys stay absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OsInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_like: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_codename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretty_name: Option<String>,
    /// Yocto and other build systems stamp the image build here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant_id: Option<String>,
    /// The file the identity came from (`/etc/os-release` or `/usr/lib/os-release`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KernelInfo {
    /// All releases found (an image can ship several module trees); the running one
    /// first in live mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub releases_installed: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    /// Where `release`/`machine` came from: `uname`, `lib/modules`, `elf-header`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The kernel's build configuration the scan found (the image record
    /// `/usr/share/fieldattest/kernel.config`, live `/proc/config.gz`, or
    /// `/boot/config-<release>`): its path and the SHA-256 of its bytes as
    /// read (ISSUE18: kernel CVEs in code that is not built).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<KernelConfig>,
}

/// A kernel configuration file, by digest (the collector holds the
/// imported configurations' symbols by the same digest).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelConfig {
    pub path: String,
    /// Lower-case hex SHA-256 of the file's bytes (compressed for `config.gz`).
    pub sha256: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PackageSource {
    Dpkg,
    Opkg,
    Rpm,
    Apk,
    Binary,
}

impl PackageSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PackageSource::Dpkg => "dpkg",
            PackageSource::Opkg => "opkg",
            PackageSource::Rpm => "rpm",
            PackageSource::Apk => "apk",
            PackageSource::Binary => "binary",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    pub source: PackageSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// dpkg `${binary:Package}`: `name:arch` for `Multi-Arch: same` packages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_arch: Option<String>,
    /// Source package (dpkg `Source`, apk origin, rpm SOURCERPM, Yocto recipe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_package: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// `license` as a valid SPDX expression, when it is one or maps onto one
    /// (Yocto `&`/`|`, Debian short names); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license_expression: Option<String>,
    /// The package manager's state when it is not plainly installed (dpkg:
    /// `half-installed`, `unpacked`, `half-configured`, `triggers-awaited`,
    /// `triggers-pending`): the files are on disk. Absent = installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The database or binary the entry was read from (path inside the root).
    pub path: String,
    /// CPE 2.3 formatted strings (NISTIR 7695 §6.2) naming the component as
    /// NVD does, e.g. `cpe:2.3:a:openssl:openssl:3.0.2:*:*:*:*:*:*:*`.
    /// Empty when no source knows the component (no guessing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpe: Vec<String>,
    /// CVE statuses the image build recorded for this package's recipe
    /// (Yocto `CVE_STATUS`, from `/usr/share/fieldattest/cve-record.jsonl`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cve_status: Vec<CveStatus>,
    /// Who maintains the package (dpkg and opkg `Maintainer`, apk `m:`):
    /// the SBOM's supplier and publisher (ISSUE19).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintainer: Option<String>,
    /// The package database's dependencies as written (dpkg `Pre-Depends`
    /// then `Depends`, joined with `, `): alternatives and versioned
    /// constraints kept (ISSUE19).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends: Option<String>,
    /// Names the package provides (dpkg/opkg `Provides`, apk `p:`, versions
    /// dropped): what resolving `depends` needs; not part of the report.
    #[serde(skip)]
    pub provides: Vec<String>,
    /// The installed packages it depends on (their `binary_name`, else
    /// name), resolved from `depends`: each clause's first alternative that
    /// is installed or provided by an installed package.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Clauses of `depends` no installed package satisfies (listed, never
    /// dropped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unresolved: Vec<String>,
    /// The package's files with the digest its database records (ISSUE19,
    /// feature `sbom-files`): for the SBOM, not the report. Absent from
    /// builds without the feature (the device's: no drop or clone code for
    /// it in the flash budget).
    #[cfg(feature = "sbom-files")]
    #[serde(skip)]
    pub files: Vec<FileHash>,
}

/// A file of a package and the digest the package database records for it:
/// dpkg `md5sums` (MD5), apk `Z:` (`Q1` SHA-1, `Q2` SHA-256), rpm
/// `FILEDIGESTS` (the header's `FILEDIGESTALGO`). Never converted: an MD5
/// stays an MD5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHash {
    /// Absolute path inside the image.
    pub path: String,
    /// The CycloneDX name of the algorithm: `MD5`, `SHA-1`, `SHA-256`, ….
    pub alg: &'static str,
    /// Lower-case hex.
    pub hex: String,
}

/// One CVE status recorded at build time (OE-core's `CVE_STATUS`), strings
/// as the image record holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CveStatus {
    /// `CVE-YYYY-N`.
    pub id: String,
    /// OE-core's mapped status: `Patched`, `Ignored`, `Unpatched`.
    pub status: String,
    /// The `CVE_STATUS` key: `fixed-version`, `backported-patch`,
    /// `cpe-stable-backport`, `cpe-incorrect`, `not-applicable-config`, ….
    #[serde(default)]
    pub detail: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
}

impl Package {
    /// A package with only the mandatory fields; the optional ones are unset.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        source: PackageSource,
        path: impl Into<String>,
    ) -> Self {
        Package {
            name: name.into(),
            version: version.into(),
            arch: None,
            source,
            purl: None,
            binary_name: None,
            multi_arch: None,
            source_package: None,
            source_version: None,
            license: None,
            license_expression: None,
            state: None,
            path: path.into(),
            cpe: Vec::new(),
            cve_status: Vec::new(),
            maintainer: None,
            depends: None,
            provides: Vec::new(),
            depends_on: Vec::new(),
            unresolved: Vec::new(),
            #[cfg(feature = "sbom-files")]
            files: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Key {
    pub path: String,
    pub kind: String,
    pub algorithm: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits: Option<u32>,
    pub encrypted: bool,
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listening {
    pub proto: String,
    pub addr: String,
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    /// The installed package owning the listening process's executable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
}

/// A source of inventory that could not be read completely. The scan goes on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryError {
    /// `dpkg`, `opkg`, `rpm`, `apk`, `binary`, `os-release`, `kernel`, ...
    pub source: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub message: String,
}

/// A hardware component of the device (HBOM): board, SoC/CPU, memory,
/// storage, network interface, USB device, TPM, serial port, watchdog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HardwareComponent {
    /// `board`, `cpu`, `memory`, `storage`, `network`, `usb`, `tpm`, `serial`, `watchdog`.
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Further facts (`compatible`, `size_bytes`, `driver`, `bus`, ...).
    /// Identifying values (MAC addresses, serial numbers) are salted hashes
    /// (`hmac-sha256:...`) unless the operator asked for them in clear.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub properties: std::collections::BTreeMap<String, String>,
    /// Where it was read (path inside the root).
    pub path: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    pub packages: Vec<Package>,
    pub keys: Vec<Key>,
    pub kernel_modules: Vec<String>,
    pub listening: Vec<Listening>,
    /// Package databases that were found and read (`/var/lib/dpkg/status`, ...).
    #[serde(default)]
    pub databases: Vec<String>,
    #[serde(default)]
    pub errors: Vec<InventoryError>,
    /// Hardware components (HBOM); additive to report v1.
    #[serde(default)]
    pub hardware: Vec<HardwareComponent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleStatus {
    Pass,
    Fail,
    Accepted,
    Error,
    NotApplicable,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleResult {
    pub id: String,
    pub status: RuleStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingStatus {
    Fail,
    Accepted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequirementRef {
    /// `CR 1.1 RE(1)` style identifier of IEC 62443-4-2.
    pub req: String,
    /// Lowest security level at which the requirement applies.
    pub sl: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    pub status: FindingStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub evidence: String,
    pub remediation: String,
    pub fr: String,
    pub iec62443: Vec<RequirementRef>,
    pub accepted_reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub by_severity: BTreeMap<String, u64>,
    /// Per FR, the highest SL none of whose evaluated requirements failed. Only FRs
    /// with at least one evaluated rule appear.
    pub sl_ceiling: BTreeMap<String, u8>,
    pub target_sl: u8,
    /// False when no rule was evaluated: absence of evidence is not compliance.
    pub meets_target: bool,
    pub packages: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_serialize_as_contract_strings() {
        assert_eq!(
            serde_json::to_string(&RuleStatus::NotApplicable).unwrap(),
            "\"not-applicable\""
        );
        assert_eq!(
            serde_json::to_string(&ScanMode::Image).unwrap(),
            "\"image\""
        );
        assert_eq!(
            serde_json::to_string(&PackageSource::Opkg).unwrap(),
            "\"opkg\""
        );
        assert_eq!(
            serde_json::to_string(&Severity::Critical).unwrap(),
            "\"critical\""
        );
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
    }

    #[test]
    fn package_roundtrip_omits_absent_optionals() {
        let mut p = Package::new("busybox", "1.36.1", PackageSource::Binary, "/bin/busybox");
        p.purl = Some("pkg:generic/busybox@1.36.1".into());
        let s = serde_json::to_string(&p).unwrap();
        assert!(!s.contains("arch"), "{s}");
        let back: Package = serde_json::from_str(&s).unwrap();
        assert_eq!(back, p);
        assert!(!s.contains("cpe") && !s.contains("cve_status"), "{s}");
    }

    #[test]
    fn package_cpe_and_cve_status_are_additive() {
        // A report written before the fields existed still reads.
        let old = r#"{"name":"openssl","version":"3.0.2-r0","source":"opkg","path":"/var/lib/opkg/status"}"#;
        let p: Package = serde_json::from_str(old).unwrap();
        assert!(p.cpe.is_empty() && p.cve_status.is_empty());
        let mut p = p;
        p.cpe = vec!["cpe:2.3:a:openssl:openssl:3.0.2:*:*:*:*:*:*:*".into()];
        p.cve_status = vec![CveStatus {
            id: "CVE-2023-0464".into(),
            status: "Patched".into(),
            detail: "backported-patch".into(),
            description: "fix in 0001.patch".into(),
        }];
        let v: serde_json::Value = serde_json::to_value(&p).unwrap();
        assert_eq!(v["cpe"][0], "cpe:2.3:a:openssl:openssl:3.0.2:*:*:*:*:*:*:*");
        assert_eq!(v["cve_status"][0]["id"], "CVE-2023-0464");
        assert_eq!(v["cve_status"][0]["detail"], "backported-patch");
        let back: Package = serde_json::from_value(v).unwrap();
        assert_eq!(back, p);
    }
}
