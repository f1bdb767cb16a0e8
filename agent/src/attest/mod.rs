//! Attestation: assembles the EAT claims of the profile from a scan report and
//! the device, signs them with the device key (protocol crate envelope).
//! Clock, randomness and key storage enter here as arguments / the identity.

pub mod cve_status;
pub mod keystore;

use ciborium::value::Value;
use fieldattest_protocol::eat::{self, Claims, KeyFingerprint, Submod, SwId};
use fieldattest_protocol::report::{FindingStatus, Report, RuleStatus};
use fieldattest_protocol::{cbor, token};
use fieldattest_scan::report;
use fieldattest_scan::root::RootFs;
use keystore::{Identity, Signer};

/// measres group name: our catalog and version.
pub fn catalog_group() -> String {
    format!(
        "tag:fieldattest.org,2026:catalog/ccsc@{}",
        report::AGENT_VERSION
    )
}

/// Configuration files whose SHA-256 goes into `measurements` (when present),
/// so the collector can re-appraise them against reference values.
pub const CONFIG_FILES: &[&str] = &[
    "/etc/passwd",
    "/etc/group",
    "/etc/login.defs",
    "/etc/sudoers",
    "/etc/ssh/sshd_config",
    "/etc/pam.d/common-auth",
    "/etc/pam.d/common-password",
    "/etc/pam.d/system-auth",
    "/etc/pam.d/su",
    "/etc/sysctl.conf",
    "/etc/inittab",
    "/etc/inetd.conf",
    "/etc/default/dropbear",
    "/etc/config/dropbear",
    "/etc/snmp/snmpd.conf",
    "/etc/mosquitto/mosquitto.conf",
    "/etc/security/pwquality.conf",
    "/etc/security/faillock.conf",
    "/etc/systemd/journald.conf",
    "/etc/rsyslog.conf",
];

fn sha256(b: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, b)
        .as_ref()
        .to_vec()
}

fn int(i: i64) -> Value {
    Value::Integer(i.into())
}

/// Evidence CoSWID for an installed package (RFC 9393 integer keys).
fn coswid(tag_id: &str, name: &str, version: &str) -> Vec<u8> {
    let v = Value::Map(vec![
        (int(0), Value::Text(tag_id.to_string())),
        (int(12), int(0)),
        (int(1), Value::Text(name.to_string())),
        (int(13), Value::Text(version.to_string())),
        (
            int(2),
            Value::Map(vec![
                (int(31), Value::Text("fieldattest".into())),
                (int(33), int(1)),
            ]),
        ),
    ]);
    cbor::to_vec(&cbor::canonicalize(v))
}

/// Measured component of a configuration file: `{1: [path], 2: [-16, sha256]}`.
fn measured_file(path: &str, digest: Vec<u8>) -> Vec<u8> {
    let v = Value::Map(vec![
        (int(1), Value::Array(vec![Value::Text(path.to_string())])),
        (int(2), Value::Array(vec![int(-16), Value::Bytes(digest)])),
    ]);
    cbor::to_vec(&cbor::canonicalize(v))
}

/// Most findings a token lists (the rule results themselves are all there).
pub const MAX_FINDINGS: usize = 500;

/// Device facts the token needs that the report does not carry.
#[derive(Debug, Clone, Default)]
pub struct DeviceState {
    pub iat: i64,
    pub uptime: Option<u64>,
    pub bootseed: Option<Vec<u8>>,
    pub bootcount: Option<u64>,
    pub time_source: Option<u8>,
}

/// Reads uptime, boot id and time synchronisation of a live device.
pub fn live_state(root: &RootFs, iat: i64) -> DeviceState {
    let mut s = DeviceState {
        iat,
        ..Default::default()
    };
    if !root.is_host_root() {
        return s;
    }
    s.uptime = root.read_limited("/proc/uptime", 256).ok().and_then(|b| {
        String::from_utf8_lossy(&b)
            .split('.')
            .next()
            .and_then(|x| x.trim().parse().ok())
    });
    s.bootseed = root
        .read_limited("/proc/sys/kernel/random/boot_id", 256)
        .ok()
        .map(|b| {
            let hexs: String = String::from_utf8_lossy(&b)
                .chars()
                .filter(|c| c.is_ascii_hexdigit())
                .collect();
            (0..hexs.len() / 2)
                .filter_map(|i| u8::from_str_radix(&hexs[i * 2..i * 2 + 2], 16).ok())
                .collect()
        });
    s.time_source = Some(if root.exists("/run/systemd/timesync/synchronized") {
        1
    } else {
        0
    });
    s
}

/// The `submods["agent"]` entry: fieldattest's own name and version.
fn agent_submod() -> (String, Submod) {
    let sw = SwId {
        name: report::AGENT_NAME.into(),
        version: report::AGENT_VERSION.into(),
        scheme: 16384,
    };
    (
        "agent".into(),
        Submod {
            sw: Some(sw),
            measurements: Vec::new(),
        },
    )
}

/// Builds the claims set for a report.
pub fn claims(
    rep: &Report,
    root: &RootFs,
    id: &Identity,
    dev: &DeviceState,
    nonce: Option<Vec<u8>>,
    sbom_sha256: Option<Vec<u8>>,
    seq: u64,
) -> Result<Claims, String> {
    let mut measurements: Vec<(i64, Vec<u8>)> = rep
        .inventory
        .packages
        .iter()
        .map(|p| {
            let tag = p
                .purl
                .clone()
                .unwrap_or_else(|| format!("{}:{}@{}", p.source.as_str(), p.name, p.version));
            (eat::CF_COSWID, coswid(&tag, &p.name, &p.version))
        })
        .collect();
    for f in CONFIG_FILES {
        if let Ok(b) = root.read(f) {
            measurements.push((eat::CF_MEASURED_COMPONENT, measured_file(f, sha256(&b))));
        }
    }
    // The hardware list (HBOM) as one digest; the detail travels in the SBOM.
    if !rep.inventory.hardware.is_empty() {
        let hw = serde_json::to_vec(&rep.inventory.hardware).unwrap_or_default();
        measurements.push((
            eat::CF_MEASURED_COMPONENT,
            measured_file("hardware", sha256(&hw)),
        ));
    }
    let results: Vec<(String, u8)> = rep
        .rules
        .iter()
        .map(|r| {
            let code = match r.status {
                RuleStatus::Pass | RuleStatus::Accepted => eat::RESULT_PASS,
                RuleStatus::Fail => eat::RESULT_FAIL,
                RuleStatus::Error => eat::RESULT_NOT_RUN,
                RuleStatus::NotApplicable => eat::RESULT_ABSENT,
            };
            (r.id.clone(), code)
        })
        .collect();
    let os = &rep.device.os;
    let sw = os.name.clone().or(os.id.clone()).map(|name| SwId {
        name,
        version: os
            .version_id
            .clone()
            .or(os.build_id.clone())
            .unwrap_or_default(),
        scheme: 1,
    });
    let key_fingerprints = rep
        .inventory
        .keys
        .iter()
        .filter(|k| {
            matches!(
                k.kind.as_str(),
                "ssh-host" | "dropbear-host" | "tls" | "tls-cert"
            )
        })
        .map(|k| KeyFingerprint {
            kind: k.kind.clone(),
            path: k.path.clone(),
            algorithm: k.algorithm.clone(),
            fingerprint: k.fingerprint.clone(),
        })
        .collect();
    let mut c = Claims {
        iat: dev.iat,
        cti: id.random(16)?,
        nonce,
        ueid: id.ueid.clone(),
        uptime: dev.uptime,
        bootcount: dev.bootcount,
        bootseed: dev.bootseed.clone(),
        intuse: 1,
        sw,
        measurements,
        measres: vec![(catalog_group(), results)],
        submods: vec![agent_submod()],
        seq,
        epoch: None,
        time_source: dev.time_source,
        key_tier: id.key.tier() as u8,
        sbom_digests: sbom_sha256
            .map(|d| vec![("cyclonedx+json".to_string(), d)])
            .unwrap_or_default(),
        sl_ceiling: rep
            .summary
            .sl_ceiling
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect(),
        key_fingerprints,
        // Which account, key or file failed (or was accepted, with the
        // documented countermeasure): bounded, no evidence text.
        findings: rep
            .findings
            .iter()
            .filter(|f| matches!(f.status, FindingStatus::Fail | FindingStatus::Accepted))
            .take(MAX_FINDINGS)
            .map(|f| eat::FindingRef {
                rule: f.rule.clone(),
                subject: f.subject.clone().unwrap_or_default(),
                path: f.path.clone().unwrap_or_default(),
                accepted: (f.status == FindingStatus::Accepted)
                    .then(|| f.accepted_reason.clone().unwrap_or_default()),
            })
            .collect(),
        // For the operator console: which device, listening where.
        hostname: rep
            .device
            .hostname
            .as_deref()
            .map(|h| eat::clip(h, eat::MAX_HOSTNAME).into()),
        listeners: rep
            .inventory
            .listening
            .iter()
            .take(eat::MAX_LISTENERS)
            .map(|l| {
                eat::Listener::bounded(&l.proto, &l.addr, l.port, l.process.as_deref())
                    .with_package(l.package.as_deref())
            })
            .collect(),
        cve_status: Vec::new(),
        cnf: None,
    };
    // The image's CVE_STATUS in what room the token has left.
    let entries = cve_status::entries(rep);
    if !entries.is_empty() {
        let budget = token::MAX_TOKEN.saturating_sub(c.encode().len() + SIGN1_OVERHEAD);
        let (kept, cut) = cve_status::fit(entries, budget);
        if cut != cve_status::Cut::default() {
            tracing::warn!(
                descriptions = cut.descriptions,
                left_out = cut.entries,
                "the image's CVE_STATUS does not fit the token: descriptions emptied, entries left out"
            );
        }
        c.cve_status = kept;
    }
    Ok(c)
}

/// Bytes a signed token adds to its claims: the COSE_Sign1 and CWT tags,
/// the protected header with the kid, the signature, array and map headers
/// (a generous bound; the map header may grow by a byte with the claim).
pub const SIGN1_OVERHEAD: usize = 256;

/// Signs claims with the identity's key.
pub fn sign(claims: &Claims, id: &Identity) -> Result<Vec<u8>, String> {
    token::sign(claims, &id.kid(), |tbs| id.key.sign(tbs))
}

/// SHA-256 of bytes (for the SBOM digest).
pub fn digest(b: &[u8]) -> Vec<u8> {
    sha256(b)
}

/// The enrollment token of the profile (§11.3): `intuse = 2`, the collector's
/// nonce, the device's public key in `cnf`, signed by that key (proof of
/// possession). The operator's enrollment secret travels in the HTTP
/// `Authorization` header, never in the token.
pub fn enrollment_claims(
    id: &Identity,
    iat: i64,
    nonce: Vec<u8>,
    seq: u64,
) -> Result<Claims, String> {
    Ok(Claims {
        iat,
        cti: id.random(16)?,
        nonce: Some(nonce),
        ueid: id.ueid.clone(),
        intuse: 2,
        submods: vec![agent_submod()],
        seq,
        key_tier: id.key.tier() as u8,
        cnf: Some(id.key.public_key().0),
        ..Default::default()
    })
}

/// An export bundle (profile §9.3) ready to write: the three files' bytes.
pub struct Bundle {
    pub tokens: Vec<u8>,
    pub manifest: Vec<u8>,
    pub manifest_cose: Vec<u8>,
    pub count: usize,
}

/// Builds the signed export bundle of spooled tokens (in any order): the
/// manifest lists `[seq, cti, sha256]` of each and is signed by the device
/// key as a detached COSE_Sign1.
pub fn export_bundle(tokens: &[Vec<u8>], id: &Identity, now: i64) -> Result<Bundle, String> {
    use fieldattest_protocol::bundle;
    let mut list = Vec::with_capacity(tokens.len());
    for (i, t) in tokens.iter().enumerate() {
        let (sign1, _) = token::parse(t).map_err(|e| format!("spooled token {i}: {e}"))?;
        let c = eat::decode(sign1.payload.as_deref().unwrap_or_default())
            .map_err(|e| format!("spooled token {i}: {e}"))?;
        list.push((c.seq, c.cti, t.as_slice()));
    }
    list.sort_by_key(|(seq, _, _)| *seq);
    let m = bundle::Manifest::of(&id.ueid, &id.kid(), now, &list).encode();
    let cose = bundle::sign_manifest(&m, &id.kid(), |tbs| id.key.sign(tbs))?;
    Ok(Bundle {
        tokens: list
            .iter()
            .flat_map(|(_, _, t)| t.iter().copied())
            .collect(),
        manifest: m,
        manifest_cose: cose,
        count: list.len(),
    })
}

/// SHA-256 over what the collector appraises (packages, configuration
/// digests, rule results, key fingerprints): equal digests mean a routine
/// token, a new digest a token the spool keeps when full.
pub fn evidence_digest(c: &Claims) -> Vec<u8> {
    let mut v = c.to_value();
    if let Value::Map(m) = &mut v {
        m.retain(|(k, _)| {
            k.as_integer().is_some_and(|k| {
                [eat::MEASUREMENTS, eat::MEASRES, eat::KEY_FINGERPRINTS]
                    .iter()
                    .any(|x| i128::from(*x) == i128::from(k))
            })
        });
    }
    sha256(&cbor::to_vec(&v))
}

/// Whether `digest` differs from the one recorded at the previous token
/// (recorded atomically in the state directory).
pub fn evidence_changed(id: &Identity, digest: &[u8]) -> Result<bool, String> {
    let p = id.dir.join("last-evidence");
    let changed = std::fs::read(&p).map(|b| b != digest).unwrap_or(true);
    if changed {
        fieldattest_scan::state::write_atomic(&p, digest, 0o600)
            .map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(changed)
}

/// The rotation request of the profile (§11.4), a CBOR sequence of two
/// tokens over the collector's nonce: the current key signs the new key's
/// `cnf` (`intuse` 3, its `seq` is the rotation point), and the new key signs
/// the same `cnf`, nonce and UEID (`intuse` 5) as proof of possession.
pub fn rotation_body(id: &Identity, iat: i64, nonce: Vec<u8>) -> Result<Vec<u8>, String> {
    let next = id.next_key()?;
    let seq = id.next_seq()?;
    let base = Claims {
        iat,
        nonce: Some(nonce),
        ueid: id.ueid.clone(),
        submods: vec![agent_submod()],
        seq,
        key_tier: next.tier() as u8,
        cnf: Some(next.public_key().0),
        ..Default::default()
    };
    let old = Claims {
        cti: id.random(16)?,
        intuse: 3,
        ..base.clone()
    };
    let pop = Claims {
        cti: id.random(16)?,
        intuse: 5,
        ..base
    };
    let mut body = sign(&old, id)?;
    body.extend(token::sign(&pop, &next.public_key().kid(), |tbs| {
        next.sign(tbs)
    })?);
    Ok(body)
}

/// A signed token made from a scan report, with the SBOM it attests.
pub struct Made {
    pub claims: Claims,
    pub token: Vec<u8>,
    /// CycloneDX 1.6 JSON whose SHA-256 is in the token.
    pub sbom: String,
}

/// Renders the SBOM (or takes `sbom`, an earlier rendering of the same
/// inventory, so its digest stays the same), reads the live device state (boot counter advanced on a
/// new boot id), reserves the next sequence number and signs the claims.
pub fn make(
    rep: &Report,
    root: &RootFs,
    id: &Identity,
    nonce: Option<Vec<u8>>,
    iat: i64,
    sbom: Option<String>,
) -> Result<Made, String> {
    let sbom = match sbom {
        Some(s) => s,
        None => {
            let mut serial = [0u8; 16];
            getrandom::getrandom(&mut serial).map_err(|e| format!("no randomness: {e}"))?;
            report::render_cyclonedx(rep, serial)
        }
    };
    let mut dev = live_state(root, iat);
    if let Some(seed) = dev.bootseed.clone() {
        dev.bootcount = Some(id.bootcount(&seed)?);
    }
    let seq = id.next_seq()?;
    let claims = claims(
        rep,
        root,
        id,
        &dev,
        nonce,
        Some(digest(sbom.as_bytes())),
        seq,
    )?;
    let token = sign(&claims, id)?;
    Ok(Made {
        claims,
        token,
        sbom,
    })
}

/// Spools a made token, classed as changed (kept when the spool is full) or
/// routine; returns the tokens dropped to make room.
pub fn spool(
    made: &Made,
    id: &Identity,
    sp: &crate::spool::Spool,
) -> Result<Vec<crate::spool::Item>, String> {
    let keep = evidence_changed(id, &evidence_digest(&made.claims))?;
    sp.put(made.claims.seq, &made.claims.cti, &made.token, keep)
}

#[cfg(test)]
mod tests;
