//! The report contract (`fieldattest/report/v1`, types in the protocol crate):
//! assembly from scan results, and the `text`, `json` and CycloneDX 1.6 JSON
//! renderers. Pure: the clock and randomness come in as arguments.

use crate::inventory::Collected;
use fieldattest_protocol::report::{
    AgentInfo, Finding, FindingStatus, PackageSource, Report, ScanInfo, ScanMode, Severity,
    Summary, REPORT_SCHEMA,
};
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub const AGENT_NAME: &str = "fieldattest";
pub const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// How a scan was run; everything here comes from the caller (CLI, daemon).
#[derive(Debug, Clone)]
pub struct ScanMeta {
    /// The root as the user named it (`/` on a device).
    pub root: String,
    pub mode: ScanMode,
    /// RFC 3339 UTC start time.
    pub started: String,
    pub duration_ms: u64,
    pub target_sl: u8,
}

/// Output formats of `fieldattest scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    CycloneDx,
    /// SPDX 2.3 JSON and SPDX 3.0.1 JSON-LD, converted from the CycloneDX
    /// SBOM (`fieldattest_protocol::sbom`). Behind the `spdx` feature: the
    /// device build has no flash for them (ISSUE19, README "SBOM formats").
    #[cfg(feature = "spdx")]
    Spdx(fieldattest_protocol::sbom::SpdxVersion),
}

/// The names `Format::parse` takes, for messages.
#[cfg(feature = "spdx")]
pub const FORMATS: &str = "text, json, cyclonedx, spdx-json, spdx3";
#[cfg(not(feature = "spdx"))]
pub const FORMATS: &str = "text, json, cyclonedx";

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        #[cfg(feature = "spdx")]
        use fieldattest_protocol::sbom::SpdxVersion;
        match s {
            "text" => Some(Format::Text),
            "json" => Some(Format::Json),
            "cyclonedx" | "cyclonedx-json" => Some(Format::CycloneDx),
            #[cfg(feature = "spdx")]
            "spdx-json" | "spdx" => Some(Format::Spdx(SpdxVersion::V2_3)),
            #[cfg(feature = "spdx")]
            "spdx3" | "spdx3-json" => Some(Format::Spdx(SpdxVersion::V3_0)),
            _ => None,
        }
    }
}

/// The SBOM of `r` in an SPDX version: its CycloneDX SBOM, converted.
#[cfg(feature = "spdx")]
pub fn render_spdx(
    r: &Report,
    serial: [u8; 16],
    v: fieldattest_protocol::sbom::SpdxVersion,
) -> Result<String, String> {
    fieldattest_protocol::sbom::convert(&render_cyclonedx(r, serial), v)
}

pub fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

/// Computes the summary of design.md from rule results and findings.
///
/// `sl_ceiling[FR]` is the highest SL none of whose evaluated requirements
/// failed: a failed finding mapped to a requirement that applies from SL `n`
/// caps that requirement's FR at `n - 1` (a rule mapped to several CRs counts
/// for each of their FRs). `evaluated_frs` are the FRs of every requirement of
/// every rule that passed or failed; FRs without evidence do not appear, and
/// `meets_target` is false when nothing was evaluated.
pub fn summarize(
    findings: &[Finding],
    target_sl: u8,
    packages: u64,
    evaluated_frs: &[String],
) -> Summary {
    let mut by_severity = BTreeMap::new();
    let mut sl_ceiling: BTreeMap<String, u8> =
        evaluated_frs.iter().map(|f| (f.clone(), 4)).collect();
    for f in findings {
        *by_severity
            .entry(severity_name(f.severity).to_string())
            .or_insert(0) += 1;
        if f.status != FindingStatus::Fail {
            continue;
        }
        for r in &f.iec62443 {
            if let Some(fr) = crate::rules::fr_of(&r.req) {
                let e = sl_ceiling.entry(fr).or_insert(4);
                *e = (*e).min(r.sl.saturating_sub(1));
            }
        }
    }
    let meets_target = !sl_ceiling.is_empty() && sl_ceiling.values().all(|&c| c >= target_sl);
    Summary {
        by_severity,
        sl_ceiling,
        target_sl,
        meets_target,
        packages,
    }
}

/// Assembles the report from the inventory and the rule evaluation.
pub fn build(collected: Collected, eval: crate::rules::Evaluation, meta: ScanMeta) -> Report {
    let summary = summarize(
        &eval.findings,
        meta.target_sl,
        collected.inventory.packages.len() as u64,
        &eval.evaluated_frs,
    );
    Report {
        schema: REPORT_SCHEMA.into(),
        agent: AgentInfo {
            name: AGENT_NAME.into(),
            version: AGENT_VERSION.into(),
        },
        scan: ScanInfo {
            root: meta.root,
            mode: meta.mode,
            started: meta.started,
            duration_ms: meta.duration_ms,
            target_sl: meta.target_sl,
        },
        device: collected.device,
        inventory: collected.inventory,
        rules: eval.rules,
        findings: eval.findings,
        summary,
    }
}

pub fn render_json(r: &Report) -> String {
    let mut s =
        serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

struct Paint(bool);

impl Paint {
    fn sev(&self, s: Severity) -> String {
        let name = severity_name(s).to_uppercase();
        if !self.0 {
            return name;
        }
        let code = match s {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
            Severity::Info => "2",
        };
        format!("\x1b[{code}m{name}\x1b[0m")
    }
    fn bold(&self, s: &str) -> String {
        if self.0 {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// Text for people: identity, findings grouped by FR (worst first), inventory,
/// errors, and the summary with SL ceilings.
pub fn render_text(r: &Report, color: bool) -> String {
    let p = Paint(color);
    let mut o = String::new();
    let os = &r.device.os;
    let _ = writeln!(
        o,
        "{} {} — {} scan of {}",
        p.bold(&r.agent.name),
        r.agent.version,
        match r.scan.mode {
            ScanMode::Live => "live",
            ScanMode::Image => "image",
        },
        r.scan.root
    );
    let _ = writeln!(
        o,
        "device: {}  os: {}  kernel: {} ({})",
        r.device.hostname.as_deref().unwrap_or("-"),
        os.pretty_name
            .as_deref()
            .or(os.id.as_deref())
            .unwrap_or("unknown"),
        r.device.kernel.release.as_deref().unwrap_or("unknown"),
        r.device.kernel.machine.as_deref().unwrap_or("unknown"),
    );
    if let Some(b) = &os.build_id {
        let _ = writeln!(o, "build: {b}");
    }

    let _ = writeln!(o, "\n{}", p.bold("Findings"));
    if r.findings.is_empty() {
        let _ = writeln!(o, "  none ({} rules evaluated)", r.rules.len());
    } else {
        let mut fs: Vec<&Finding> = r.findings.iter().collect();
        fs.sort_by(|a, b| {
            a.fr.cmp(&b.fr)
                .then(b.severity.cmp(&a.severity))
                .then(a.rule.cmp(&b.rule))
        });
        let mut cur = "";
        for f in fs {
            if f.fr != cur {
                cur = &f.fr;
                let _ = writeln!(o, "  {}", p.bold(cur));
            }
            let status = if f.status == FindingStatus::Accepted {
                " [accepted]"
            } else {
                ""
            };
            let _ = writeln!(
                o,
                "    {:<8} {} {}{}{}{}",
                p.sev(f.severity),
                f.rule,
                f.subject.as_deref().unwrap_or(""),
                f.path
                    .as_deref()
                    .map(|x| format!(
                        " ({x}{})",
                        f.line.map(|l| format!(":{l}")).unwrap_or_default()
                    ))
                    .unwrap_or_default(),
                status,
                format_args!(" — {}", f.title),
            );
        }
    }

    let inv = &r.inventory;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for pk in &inv.packages {
        *counts.entry(pk.source.as_str()).or_default() += 1;
    }
    let per: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let _ = writeln!(
        o,
        "\n{} ({} packages{})",
        p.bold("Inventory"),
        inv.packages.len(),
        if per.is_empty() {
            String::new()
        } else {
            format!(": {}", per.join(", "))
        }
    );
    if !inv.databases.is_empty() {
        let _ = writeln!(o, "  databases: {}", inv.databases.join(", "));
    }
    let w = inv
        .packages
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0)
        .min(40);
    let vw = inv
        .packages
        .iter()
        .map(|p| p.version.len())
        .max()
        .unwrap_or(0)
        .min(40);
    for pk in &inv.packages {
        let _ = writeln!(
            o,
            "  {:<w$}  {:<vw$}  {:<8} {}",
            pk.name,
            pk.version,
            pk.arch.as_deref().unwrap_or("-"),
            if pk.source == PackageSource::Binary {
                format!("binary {}", pk.path)
            } else {
                pk.source.as_str().to_string()
            },
        );
    }
    if !inv.kernel_modules.is_empty() {
        let _ = writeln!(o, "  kernel modules loaded: {}", inv.kernel_modules.len());
    }
    if !inv.hardware.is_empty() {
        let _ = writeln!(
            o,
            "\n{} ({} components)",
            p.bold("Hardware"),
            inv.hardware.len()
        );
        for h in &inv.hardware {
            let detail: Vec<String> = h
                .vendor
                .iter()
                .chain(h.model.iter().filter(|m| **m != h.name))
                .cloned()
                .collect();
            let _ = writeln!(
                o,
                "  {:<9} {}{}",
                h.kind,
                h.name,
                if detail.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", detail.join(", "))
                }
            );
        }
    }
    if !inv.errors.is_empty() {
        let _ = writeln!(o, "\n{} ({})", p.bold("Could not read"), inv.errors.len());
        for e in &inv.errors {
            let line = e.line.map(|l| format!(":{l}")).unwrap_or_default();
            let _ = writeln!(o, "  [{}] {}{}: {}", e.source, e.path, line, e.message);
        }
    }

    let s = &r.summary;
    let _ = writeln!(o, "\n{}", p.bold("Summary"));
    let sev: Vec<String> = s
        .by_severity
        .iter()
        .rev()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    let _ = writeln!(
        o,
        "  findings: {}",
        if sev.is_empty() {
            "none".into()
        } else {
            sev.join(", ")
        }
    );
    if s.sl_ceiling.is_empty() {
        let _ = writeln!(
            o,
            "  SL ceilings: no rules evaluated; target SL {} not shown to be met",
            s.target_sl
        );
    } else {
        let c: Vec<String> = s
            .sl_ceiling
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(
            o,
            "  SL ceilings: {}  target SL {}: {}",
            c.join(" "),
            s.target_sl,
            if s.meets_target { "met" } else { "not met" }
        );
    }
    let _ = writeln!(
        o,
        "  (SL ceilings are evidence toward IEC 62443-4-2 SL-A, not a certification)"
    );
    let _ = writeln!(o, "  scanned in {} ms", r.scan.duration_ms);
    o
}

pub use fieldattest_protocol::hex::uuid_v4;

mod cyclonedx;
pub use cyclonedx::render_cyclonedx;

#[cfg(test)]
mod tests {
    use super::*;
    use fieldattest_protocol::report::RequirementRef;

    fn finding(fr: &str, sev: Severity, min_sl: u8, status: FindingStatus) -> Finding {
        Finding {
            rule: "account.uid0-unique".into(),
            title: "t".into(),
            severity: sev,
            status,
            subject: Some("toor".into()),
            path: Some("/etc/passwd".into()),
            line: Some(3),
            evidence: "e".into(),
            remediation: "r".into(),
            fr: fr.into(),
            iec62443: vec![RequirementRef {
                req: "CR 1.1".into(),
                sl: min_sl,
            }],
            accepted_reason: None,
        }
    }

    #[test]
    fn summary_ceilings_follow_failed_requirements() {
        let frs: Vec<String> = ["FR1", "FR2", "FR3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut two_frs = finding("FR1", Severity::High, 2, FindingStatus::Fail);
        two_frs.iec62443.push(RequirementRef {
            req: "CR 2.1".into(),
            sl: 1,
        });
        let f = vec![
            two_frs,
            finding("FR3", Severity::Low, 1, FindingStatus::Accepted),
        ];
        let s = summarize(&f, 2, 0, &frs);
        assert_eq!(s.sl_ceiling.get("FR1"), Some(&1));
        assert_eq!(
            s.sl_ceiling.get("FR2"),
            Some(&0),
            "a rule counts for each mapped FR"
        );
        assert_eq!(
            s.sl_ceiling.get("FR3"),
            Some(&4),
            "accepted findings do not cap"
        );
        assert!(!s.meets_target);
        assert_eq!(s.by_severity.get("high"), Some(&1));
        let s = summarize(&[], 2, 0, &frs);
        assert!(s.meets_target);
        let s = summarize(&[], 1, 0, &[]);
        assert!(!s.meets_target, "no evidence is not compliance");
    }

    #[test]
    fn uuid_is_v4() {
        let u = uuid_v4([0xff; 16]);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
    }
}
