//! The evidence of one attestation: packages (evidence CoSWIDs encoded as
//! the agent encodes them), configuration digests, rule results and
//! findings, key fingerprints and the SL ceiling claim.

use super::rules::{self, Facts, Verdict};
use super::*;
use fieldattest_protocol::eat::{FindingRef, KeyFingerprint, Listener, Submod, SwId};

/// A release's packages, encoded once: purls and their evidence CoSWIDs.
pub(super) struct Image {
    pub purls: Vec<String>,
    pub coswids: Vec<Vec<u8>>,
}

pub(super) fn image(f: &Family, k: usize, hotfix: Option<&str>) -> Image {
    let mut purls = Vec::new();
    let mut coswids = Vec::new();
    for s in f.sources(k, hotfix) {
        for (u, name) in f.purls(k, &s).into_iter().zip(s.binaries.iter()) {
            let name = if f.kind == Kind::Yocto { &s.name } else { name };
            coswids.push(coswid(&u, name, &s.version));
            purls.push(u);
        }
    }
    Image { purls, coswids }
}

/// Evidence CoSWID of a package (RFC 9393 integer keys), as the agent encodes it.
fn coswid(tag_id: &str, name: &str, version: &str) -> Vec<u8> {
    use ciborium::value::Value as V;
    let i = |n: i64| V::Integer(n.into());
    cbor::to_vec(&cbor::canonicalize(V::Map(vec![
        (i(0), V::Text(tag_id.into())),
        (i(12), i(0)),
        (i(1), V::Text(name.into())),
        (i(13), V::Text(version.into())),
        (
            i(2),
            V::Map(vec![(i(31), V::Text("fieldattest".into())), (i(33), i(1))]),
        ),
    ])))
}

/// Measured component of a configuration file: `{1: [path], 2: [-16, sha256]}`.
fn measured_file(path: &str, digest: &[u8]) -> Vec<u8> {
    use ciborium::value::Value as V;
    let i = |n: i64| V::Integer(n.into());
    cbor::to_vec(&cbor::canonicalize(V::Map(vec![
        (i(1), V::Array(vec![V::Text(path.into())])),
        (i(2), V::Array(vec![i(-16), V::Bytes(digest.to_vec())])),
    ])))
}

pub(super) fn sha256(b: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, b)
        .as_ref()
        .to_vec()
}

/// What the generator shares with its worker threads.
pub(super) struct World {
    pub plans: Vec<Plan>,
    pub images: HashMap<(usize, usize, Option<&'static str>), Image>,
    pub catalogs: Catalogs,
    pub version: String,
    pub rules: Vec<String>,
    /// Per rule: a seed for its stream of device draws.
    pub rule_seeds: Vec<u64>,
    pub verdicts: HashMap<(usize, usize, Facts), Vec<Verdict>>,
}

impl World {
    /// The evidence of device `d`'s `n`-th attestation at `t`.
    pub fn claims(&self, d: usize, n: usize, t: i64) -> Claims {
        let p = &self.plans[d];
        let f = &FAMILIES[p.family];
        // The change shows from the second attestation on.
        let change = p.change.filter(|_| n >= 1);
        let mut release = p.release;
        let mut hotfix = p.hotfix;
        match change {
            Some(Change::Upgrade) if release + 1 < f.releases.len() => release += 1,
            Some(Change::Upgrade | Change::Hotfix) => {
                hotfix = f
                    .hotfix
                    .iter()
                    .copied()
                    .find(|h| Some(*h) != hotfix)
                    .or(hotfix)
            }
            _ => {}
        }
        let img = &self.images[&(p.family, release, hotfix)];
        let mut rng = Rng::new(p.seed);
        let mut purls = img.purls.clone();
        let mut measurements: Vec<(i64, Vec<u8>)> = img
            .coswids
            .iter()
            .map(|c| (eat::CF_COSWID, c.clone()))
            .collect();
        match change {
            Some(Change::Added) => {
                let v = match f.kind {
                    Kind::Debian => "4.99.3-1",
                    Kind::Alpine => "4.99.4-r1",
                    _ => "4.99.4",
                };
                let s = images::Source {
                    name: "tcpdump".into(),
                    version: v.into(),
                    binaries: vec!["tcpdump".into()],
                };
                for u in f.purls(release, &s) {
                    measurements.push((eat::CF_COSWID, coswid(&u, "tcpdump", v)));
                    purls.push(u);
                }
            }
            // The image's last package removed (an optional tool), the same
            // on every device: the fleet keeps a handful of package sets.
            Some(Change::Removed) => {
                if let Some(at) = purls.len().checked_sub(1) {
                    purls.remove(at);
                    measurements.remove(at);
                }
            }
            _ => {}
        }
        // The SSH daemon configuration: the image's, the device's own (3%),
        // or edited in the change.
        let sshd = match (p.sshd_own, change == Some(Change::Config)) {
            (_, true) => Some("edited"),
            (true, false) => Some("own"),
            _ => None,
        };
        for path in f.config_paths() {
            let digest = match sshd.filter(|_| path.ends_with("sshd_config")) {
                Some(how) => sha256(format!("{}{path}{how}", p.seed).as_bytes()),
                None => sha256(format!("{}/{}/{path}", f.key, f.release(release)).as_bytes()),
            };
            measurements.push((eat::CF_MEASURED_COMPONENT, measured_file(&path, &digest)));
        }
        // Rule results and findings, each rule from its own stream (stable
        // across attestations: only the change differs).
        let mut results = Vec::with_capacity(self.rules.len());
        let mut findings = Vec::new();
        let flip = (change == Some(Change::Rule)).then(|| rng.below(self.rules.len() as u64));
        let verdicts = &self.verdicts[&(p.family, release, Facts::of(&purls))];
        for (i, (rule, v)) in self.rules.iter().zip(verdicts).enumerate() {
            let mut r = Rng::new(p.seed ^ self.rule_seeds[i]);
            let mut code = rules::device_result(*v, &mut r);
            if flip == Some(i as u64) && code <= eat::RESULT_FAIL {
                code = eat::RESULT_PASS + eat::RESULT_FAIL - code;
            }
            if code == eat::RESULT_FAIL {
                let (subject, path) = rules::finding(f, rule, &mut r);
                let accept = p.accepts && findings.is_empty();
                if accept {
                    code = eat::RESULT_PASS;
                }
                findings.push(FindingRef {
                    rule: rule.clone(),
                    subject,
                    path,
                    accepted: accept.then(|| ACCEPTED[r.below(3) as usize].to_string()),
                });
            }
            results.push((rule.clone(), code));
        }
        let time_sync_fails = results
            .iter()
            .any(|(r, c)| r == "time.sync" && *c == eat::RESULT_FAIL);
        let mut c = Claims {
            iat: t,
            cti: Rng::new(p.seed ^ (n as u64 + 1)).bytes(16),
            nonce: None,
            ueid: self.ueid(d),
            uptime: Some(3_600 + rng.below(90 * 86_400)),
            bootcount: Some(1 + rng.below(400) + n as u64),
            bootseed: Some(rng.bytes(16)),
            intuse: 1,
            sw: Some(SwId {
                name: f.os_name.into(),
                version: f.release(release).into(),
                scheme: 1,
            }),
            measurements,
            measres: vec![(
                format!("tag:fieldattest.org,2026:catalog/ccsc@{}", self.version),
                results,
            )],
            submods: vec![(
                "agent".into(),
                Submod {
                    sw: Some(SwId {
                        name: "fieldattest".into(),
                        version: self.version.clone(),
                        scheme: 16384,
                    }),
                    measurements: Vec::new(),
                },
            )],
            seq: n as u64 + 1,
            time_source: Some(if time_sync_fails { 2 } else { 1 }),
            key_tier: p.key_tier,
            sbom_digests: Vec::new(),
            sl_ceiling: Vec::new(),
            key_fingerprints: self.keys(d),
            findings,
            hostname: Some(hostname(p, d)),
            listeners: listeners(f),
            ..Default::default()
        };
        let mut sl: Vec<(String, u8)> = crate::ceiling::ceilings(&c, &self.catalogs)
            .computed
            .into_iter()
            .collect();
        if p.overclaims {
            if let Some(low) = sl.iter_mut().min_by_key(|(_, v)| *v) {
                low.1 = 4;
            }
        }
        c.sl_ceiling = sl;
        c
    }

    /// The device's UEID: type 0x01 (random) and 32 bytes, as the agent's.
    pub fn ueid(&self, d: usize) -> Vec<u8> {
        let mut u = vec![1u8];
        u.extend(Rng::new(self.plans[d].seed ^ 0x5eed).bytes(32));
        u
    }

    /// Host key fingerprints (a clone's are its origin's) and the TLS key.
    fn keys(&self, d: usize) -> Vec<KeyFingerprint> {
        use base64::Engine;
        let p = &self.plans[d];
        let f = &FAMILIES[p.family];
        let fp = |seed: u64, what: &str| {
            let b = sha256(format!("{seed}/{what}").as_bytes());
            format!(
                "SHA256:{}",
                base64::engine::general_purpose::STANDARD_NO_PAD.encode(b)
            )
        };
        let host = p.clone_of.map_or(p.seed, |j| self.plans[j].seed);
        let key = |kind: &str, path: &str, alg: &str, seed: u64| KeyFingerprint {
            kind: kind.into(),
            path: path.into(),
            algorithm: alg.into(),
            fingerprint: fp(seed, path),
        };
        let mut v = if f.dropbear {
            vec![key(
                "dropbear-host",
                "/etc/dropbear/dropbear_ed25519_host_key",
                "ed25519",
                host,
            )]
        } else {
            vec![
                key("ssh-host", "/etc/ssh/ssh_host_ed25519_key", "ed25519", host),
                key(
                    "ssh-host",
                    "/etc/ssh/ssh_host_ecdsa_key",
                    "ecdsa-p256",
                    host,
                ),
            ]
        };
        if p.tls {
            v.push(key(
                "tls",
                "/etc/ssl/private/device.key",
                "ecdsa-p256",
                p.seed,
            ));
        }
        v
    }
}

const ACCEPTED: &[&str] = &[
    "reachable from the isolated maintenance VLAN only (SEC-9)",
    "vendor firmware; compensated by the cell firewall (risk RA-2024-17)",
    "jump host enforces MFA (SEC-42)",
];

/// A device's hostname claim: site, role (the image family's last word) and
/// a number (`hamburg-line3-gateway-00042`).
fn hostname(p: &Plan, d: usize) -> String {
    let site = super::tables::SITES.get(p.site).copied().unwrap_or("site");
    let role = FAMILIES[p.family]
        .key
        .rsplit('-')
        .next()
        .unwrap_or("device");
    format!("{site}-{role}-{:05}", d + 1)
}

/// The listening sockets an image family's devices claim: the SSH server,
/// and the family's industrial and management services.
fn listeners(f: &Family) -> Vec<Listener> {
    let l = |proto: &str, addr: &str, port: u16, process: &str| Listener {
        proto: proto.into(),
        addr: addr.into(),
        port,
        process: Some(process.into()),
        package: None,
    };
    let ssh = if f.dropbear { "dropbear" } else { "sshd" };
    let mut v = vec![l("tcp", "0.0.0.0", 22, ssh)];
    match f.kind {
        Kind::Debian => {
            v.push(l("tcp", "0.0.0.0", 1883, "mosquitto"));
            v.push(l("tcp", "0.0.0.0", 443, "nginx"));
        }
        Kind::Yocto => {
            v.push(l("tcp", "0.0.0.0", 502, "modbus-server"));
            v.push(l("tcp", "0.0.0.0", 4840, "opcua-server"));
        }
        Kind::OpenWrt => {
            v.push(l("tcp", "0.0.0.0", 80, "uhttpd"));
            v.push(l("udp", "0.0.0.0", 53, "dnsmasq"));
        }
        Kind::Alpine => v.push(l("tcp", "127.0.0.1", 8080, "node-red")),
        Kind::Buildroot => v.push(l("udp", "0.0.0.0", 161, "snmpd")),
    }
    v
}
