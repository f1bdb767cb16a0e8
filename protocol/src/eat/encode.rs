//! Encoding a claims set: a CBOR map with integer keys, deterministic order.

use super::*;

fn sw_version(sw: &SwId) -> Value {
    Value::Array(vec![text(&sw.version), int(sw.scheme)])
}

fn measurements_value(m: &[(i64, Vec<u8>)]) -> Value {
    Value::Array(
        m.iter()
            .map(|(cf, b)| Value::Array(vec![int(*cf), bytes(b)]))
            .collect(),
    )
}

/// One `cve-status` entry: `[cve, component, status, detail, description]`.
pub(super) fn cve_status_value(c: &CveStatus) -> Value {
    Value::Array(vec![
        text(&c.cve),
        text(&c.component),
        int(c.status.into()),
        text(&c.detail),
        text(&c.description),
    ])
}

impl Claims {
    /// The claims as a CBOR map with integer keys, in deterministic order.
    pub fn to_value(&self) -> Value {
        let mut m: Vec<(Value, Value)> = vec![
            (int(IAT), int(self.iat)),
            (int(CTI), bytes(&self.cti)),
            (int(UEID), bytes(&self.ueid)),
            (int(EAT_PROFILE), text(PROFILE)),
            (int(INTUSE), int(self.intuse as i64)),
            (int(SEQ), Value::Integer(self.seq.into())),
            (int(KEY_TIER), int(self.key_tier as i64)),
        ];
        if let Some(n) = &self.nonce {
            m.push((int(NONCE), bytes(n)));
        }
        if let Some(k) = self.cnf.as_ref().filter(|k| k.len() == 65) {
            let cose_key = Value::Map(vec![
                (int(1), int(2)),
                (int(-1), int(1)),
                (int(-2), bytes(&k[1..33])),
                (int(-3), bytes(&k[33..65])),
            ]);
            m.push((int(CNF), Value::Map(vec![(int(1), cose_key)])));
        }
        if let Some(u) = self.uptime {
            m.push((int(UPTIME), Value::Integer(u.into())));
        }
        if let Some(b) = self.bootcount {
            m.push((int(BOOTCOUNT), Value::Integer(b.into())));
        }
        if let Some(s) = &self.bootseed {
            m.push((int(BOOTSEED), bytes(s)));
        }
        if let Some(sw) = &self.sw {
            m.push((int(SWNAME), text(&sw.name)));
            m.push((int(SWVERSION), sw_version(sw)));
        }
        if !self.measurements.is_empty() {
            m.push((int(MEASUREMENTS), measurements_value(&self.measurements)));
        }
        if !self.measres.is_empty() {
            let groups = self
                .measres
                .iter()
                .map(|(g, rs)| {
                    Value::Array(vec![
                        text(g),
                        Value::Array(
                            rs.iter()
                                .map(|(id, r)| Value::Array(vec![text(id), int(*r as i64)]))
                                .collect(),
                        ),
                    ])
                })
                .collect();
            m.push((int(MEASRES), Value::Array(groups)));
        }
        if !self.submods.is_empty() {
            let sm = self
                .submods
                .iter()
                .map(|(name, s)| {
                    let mut e = Vec::new();
                    if let Some(sw) = &s.sw {
                        e.push((int(SWNAME), text(&sw.name)));
                        e.push((int(SWVERSION), sw_version(sw)));
                    }
                    if !s.measurements.is_empty() {
                        e.push((int(MEASUREMENTS), measurements_value(&s.measurements)));
                    }
                    (text(name), Value::Map(e))
                })
                .collect();
            m.push((int(SUBMODS), Value::Map(sm)));
        }
        if let Some(e) = &self.epoch {
            m.push((int(EPOCH), bytes(e)));
        }
        if let Some(t) = self.time_source {
            m.push((int(TIME_SOURCE), int(t as i64)));
        }
        if !self.sbom_digests.is_empty() {
            m.push((
                int(SBOM_DIGESTS),
                Value::Array(
                    self.sbom_digests
                        .iter()
                        .map(|(f, d)| Value::Array(vec![text(f), bytes(d)]))
                        .collect(),
                ),
            ));
        }
        if !self.sl_ceiling.is_empty() {
            m.push((
                int(SL_CEILING),
                Value::Map(
                    self.sl_ceiling
                        .iter()
                        .map(|(fr, sl)| (text(fr), int(*sl as i64)))
                        .collect(),
                ),
            ));
        }
        if !self.key_fingerprints.is_empty() {
            m.push((
                int(KEY_FINGERPRINTS),
                Value::Array(
                    self.key_fingerprints
                        .iter()
                        .map(|k| {
                            Value::Array(vec![
                                text(&k.kind),
                                text(&k.path),
                                text(&k.algorithm),
                                text(&k.fingerprint),
                            ])
                        })
                        .collect(),
                ),
            ));
        }
        if !self.findings.is_empty() {
            m.push((
                int(FINDINGS),
                Value::Array(
                    self.findings
                        .iter()
                        .map(|f| {
                            let mut a = vec![text(&f.rule), text(&f.subject), text(&f.path)];
                            if let Some(r) = &f.accepted {
                                a.push(text(r));
                            }
                            Value::Array(a)
                        })
                        .collect(),
                ),
            ));
        }
        if let Some(h) = &self.hostname {
            m.push((int(HOSTNAME), text(h)));
        }
        if !self.listeners.is_empty() {
            m.push((
                int(LISTENERS),
                Value::Array(
                    self.listeners
                        .iter()
                        .map(|l| {
                            let mut a = vec![
                                text(&l.proto),
                                text(&l.addr),
                                int(l.port.into()),
                                l.process.as_deref().map_or(Value::Null, text),
                            ];
                            // Only when known: a listener without one encodes
                            // as older agents wrote it.
                            if let Some(p) = &l.package {
                                a.push(text(p));
                            }
                            Value::Array(a)
                        })
                        .collect(),
                ),
            ));
        }
        if !self.cve_status.is_empty() {
            m.push((
                int(CVE_STATUS),
                Value::Array(self.cve_status.iter().map(cve_status_value).collect()),
            ));
        }
        cbor::canonicalize(Value::Map(m))
    }

    /// Deterministic CBOR bytes of the claims set (the token payload).
    pub fn encode(&self) -> Vec<u8> {
        cbor::to_vec(&self.to_value())
    }
}
