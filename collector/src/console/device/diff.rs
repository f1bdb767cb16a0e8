//! What changed between two attestations of one device: packages added,
//! removed and upgraded (by name, from the package tags), rules whose
//! result changed, configuration files whose digest changed (the measured
//! components), host keys and the hostname. Total on hostile input: the
//! claims may be missing (the token does not decode) and every string is
//! whatever the device sent.

use crate::store::TokenDetail;
use fieldattest_protocol::eat::{self, Claims};
use std::collections::{BTreeMap, BTreeSet};

/// Most entries one list of a diff holds (the rest are counted).
pub const MAX_LIST: usize = 200;

/// A bounded list: the first [`MAX_LIST`] items and how many there were.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capped<T> {
    pub items: Vec<T>,
    pub total: usize,
}

impl<T> Capped<T> {
    fn push(&mut self, t: T) {
        if self.items.len() < MAX_LIST {
            self.items.push(t);
        }
        self.total += 1;
    }
}

/// A host key that changed: ((kind, path), fingerprint in A, in B).
pub type KeyChange = ((String, String), Option<String>, Option<String>);

/// The changes from attestation A (older) to B.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// (name, version, tag) only in B.
    pub added: Capped<(String, String, String)>,
    /// (name, version, tag) only in A.
    pub removed: Capped<(String, String, String)>,
    /// (name, version in A, version in B).
    pub upgraded: Capped<(String, String, String)>,
    /// (rule, result in A, result in B): result codes, 0 = not reported.
    pub results: Capped<(String, u8, u8)>,
    /// (file, SHA-256 hex in A, in B): `None` where the token lacks it.
    pub files: Capped<(String, Option<String>, Option<String>)>,
    pub keys: Capped<KeyChange>,
    /// (hostname in A, in B) when it changed.
    pub hostname: Option<(Option<String>, Option<String>)>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.added.total
            + self.removed.total
            + self.upgraded.total
            + self.results.total
            + self.files.total
            + self.keys.total
            == 0
            && self.hostname.is_none()
    }
}

/// A rule result code in words.
pub fn result_word(code: u8) -> &'static str {
    match code {
        eat::RESULT_PASS => "pass",
        eat::RESULT_FAIL => "fail",
        eat::RESULT_NOT_RUN => "not run",
        eat::RESULT_ABSENT => "not applicable",
        _ => "not reported",
    }
}

/// Name and digest of a measured component `{1: [name], 2: [alg, digest]}`
/// (the agent's configuration files and the HBOM, `"hardware"`).
pub fn measured_component(b: &[u8]) -> Option<(String, Vec<u8>)> {
    let v = fieldattest_protocol::cbor::from_slice(b, 8).ok()?;
    let m = v.as_map()?;
    let get = |k: i64| {
        m.iter()
            .find(|(x, _)| x.as_integer() == Some(k.into()))
            .map(|(_, v)| v)
    };
    let n = get(1)?.as_array()?.first()?.as_text()?;
    let d = get(2)?.as_array()?.get(1)?.as_bytes()?;
    Some((n.to_string(), d.clone()))
}

/// The measured configuration files of a token: path → SHA-256 hex (the
/// HBOM digest, `hardware`, is not a file and left out).
pub fn config_files(c: &Claims) -> BTreeMap<String, String> {
    c.measurements
        .iter()
        .filter(|(cf, _)| *cf == eat::CF_MEASURED_COMPONENT)
        .filter_map(|(_, b)| measured_component(b))
        .filter(|(n, _)| n != "hardware")
        .map(|(n, d)| (n, crate::hex(&d)))
        .collect()
}

/// Package tags grouped by name: name → {(version, tag)}.
fn by_name(tags: &[String]) -> BTreeMap<String, BTreeSet<(String, String)>> {
    let mut m: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for t in tags {
        let (name, version, _) = crate::vuln::component(t);
        m.entry(name).or_default().insert((version, t.clone()));
    }
    m
}

/// Entries of two maps that differ: (key, value in A, value in B).
fn changed<K: Ord + Clone, V: PartialEq + Clone>(
    a: &BTreeMap<K, V>,
    b: &BTreeMap<K, V>,
) -> Vec<(K, Option<V>, Option<V>)> {
    let keys: BTreeSet<&K> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| ((*k).clone(), a.get(k).cloned(), b.get(k).cloned()))
        .collect()
}

/// The changes from `a` (with its decoded claims, when they decode) to `b`.
pub fn diff(a: &TokenDetail, ca: Option<&Claims>, b: &TokenDetail, cb: Option<&Claims>) -> Diff {
    let mut d = Diff::default();
    let (pa, pb) = (by_name(&a.packages), by_name(&b.packages));
    for (name, va, vb) in changed(&pa, &pb) {
        let (va, vb) = (va.unwrap_or_default(), vb.unwrap_or_default());
        if va.len() == 1 && vb.len() == 1 {
            let (old, new) = (&va.iter().next(), &vb.iter().next());
            if let (Some(old), Some(new)) = (old, new) {
                if old.0 != new.0 {
                    d.upgraded.push((name, old.0.clone(), new.0.clone()));
                    continue;
                }
            }
        }
        for (v, t) in va.difference(&vb) {
            d.removed.push((name.clone(), v.clone(), t.clone()));
        }
        for (v, t) in vb.difference(&va) {
            d.added.push((name.clone(), v.clone(), t.clone()));
        }
    }
    let ra: BTreeMap<String, u8> = a.results.iter().cloned().collect();
    let rb: BTreeMap<String, u8> = b.results.iter().cloned().collect();
    for (rule, x, y) in changed(&ra, &rb) {
        d.results.push((rule, x.unwrap_or(0), y.unwrap_or(0)));
    }
    let files = |c: Option<&Claims>| c.map(config_files).unwrap_or_default();
    for (f, x, y) in changed(&files(ca), &files(cb)) {
        d.files.push((f, x, y));
    }
    let keys = |t: &TokenDetail| -> BTreeMap<(String, String), String> {
        t.keys
            .iter()
            .map(|(k, p, f)| ((k.clone(), p.clone()), f.clone()))
            .collect()
    };
    for (k, x, y) in changed(&keys(a), &keys(b)) {
        d.keys.push((k, x, y));
    }
    let host = |c: Option<&Claims>| c.and_then(|c| c.hostname.clone());
    if host(ca) != host(cb) {
        d.hostname = Some((host(ca), host(cb)));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(
        id: i64,
        packages: &[&str],
        results: &[(&str, u8)],
        keys: &[(&str, &str)],
    ) -> TokenDetail {
        TokenDetail {
            id,
            received_at: id,
            seq: id,
            raw: Vec::new(),
            packages: packages.iter().map(|s| s.to_string()).collect(),
            results: results.iter().map(|(r, c)| (r.to_string(), *c)).collect(),
            keys: keys
                .iter()
                .map(|(p, f)| ("ssh-host".to_string(), p.to_string(), f.to_string()))
                .collect(),
        }
    }

    /// A measured component as the agent encodes it (`measured_file`).
    fn file(name: &str, digest: &[u8]) -> (i64, Vec<u8>) {
        use ciborium::value::Value;
        let v = Value::Map(vec![
            (
                Value::Integer(1.into()),
                Value::Array(vec![Value::Text(name.into())]),
            ),
            (
                Value::Integer(2.into()),
                Value::Array(vec![
                    Value::Integer((-16).into()),
                    Value::Bytes(digest.to_vec()),
                ]),
            ),
        ]);
        let mut b = Vec::new();
        ciborium::ser::into_writer(&v, &mut b).unwrap();
        (eat::CF_MEASURED_COMPONENT, b)
    }

    fn claims(files: &[(&str, &[u8])], hostname: Option<&str>) -> Claims {
        Claims {
            measurements: files.iter().map(|(n, d)| file(n, d)).collect(),
            hostname: hostname.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn packages_results_files_keys_and_hostname_changes_are_found() {
        let a = detail(
            1,
            &[
                "pkg:deb/debian/openssl@3.0.11-1?arch=amd64",
                "pkg:deb/debian/curl@7.88.1-10?arch=amd64",
                "pkg:deb/debian/telnet@0.17-44?arch=amd64",
                "pkg:deb/debian/bash@5.2.15-2?arch=amd64",
            ],
            &[("ssh.root-login", 2), ("kernel.aslr", 1), ("fs.tmp", 3)],
            &[
                ("/etc/ssh/ssh_host_ed25519_key.pub", "SHA256:aaa"),
                ("/etc/ssh/ssh_host_rsa_key.pub", "SHA256:r"),
            ],
        );
        let b = detail(
            2,
            &[
                "pkg:deb/debian/openssl@3.0.13-1?arch=amd64",
                "pkg:deb/debian/curl@7.88.1-10?arch=amd64",
                "pkg:deb/debian/nginx@1.22.1-9?arch=amd64",
                "pkg:deb/debian/bash@5.2.15-2?arch=amd64",
            ],
            &[("ssh.root-login", 1), ("kernel.aslr", 1), ("fs.new", 2)],
            &[
                ("/etc/ssh/ssh_host_ed25519_key.pub", "SHA256:bbb"),
                ("/etc/ssh/ssh_host_rsa_key.pub", "SHA256:r"),
            ],
        );
        let ca = claims(
            &[
                ("/etc/ssh/sshd_config", &[1; 32]),
                ("/etc/sudoers", &[2; 32]),
                ("hardware", &[9; 32]),
            ],
            Some("plc-1"),
        );
        let cb = claims(
            &[
                ("/etc/ssh/sshd_config", &[3; 32]),
                ("/etc/fstab", &[4; 32]),
                ("hardware", &[8; 32]),
            ],
            Some("plc-2"),
        );
        let d = diff(&a, Some(&ca), &b, Some(&cb));
        let names = |c: &Capped<(String, String, String)>| -> Vec<String> {
            c.items
                .iter()
                .map(|x| format!("{} {} {}", x.0, x.1, x.2))
                .collect()
        };
        assert_eq!(names(&d.upgraded), ["openssl 3.0.11-1 3.0.13-1"]);
        assert_eq!(
            names(&d.added),
            ["nginx 1.22.1-9 pkg:deb/debian/nginx@1.22.1-9?arch=amd64"]
        );
        assert_eq!(
            names(&d.removed),
            ["telnet 0.17-44 pkg:deb/debian/telnet@0.17-44?arch=amd64"]
        );
        assert_eq!(
            d.results.items,
            [
                ("fs.new".to_string(), 0, 2),
                ("fs.tmp".to_string(), 3, 0),
                ("ssh.root-login".to_string(), 2, 1)
            ]
        );
        assert_eq!(result_word(0), "not reported");
        assert_eq!(result_word(3), "not run");
        let h = |b: u8| Some(crate::hex(&[b; 32]));
        assert_eq!(
            d.files.items,
            [
                ("/etc/fstab".to_string(), None, h(4)),
                ("/etc/ssh/sshd_config".to_string(), h(1), h(3)),
                ("/etc/sudoers".to_string(), h(2), None),
            ],
            "the HBOM digest is not a configuration file"
        );
        assert_eq!(d.keys.total, 1);
        assert_eq!(d.keys.items[0].1.as_deref(), Some("SHA256:aaa"));
        assert_eq!(
            d.hostname,
            Some((Some("plc-1".into()), Some("plc-2".into())))
        );
        assert!(!d.is_empty());
        // The same attestation twice, and undecodable claims: nothing changed.
        assert!(diff(&a, Some(&ca), &a, Some(&ca)).is_empty());
        assert!(diff(&a, None, &a, None).is_empty());
    }

    #[test]
    fn big_changes_are_capped_but_counted() {
        let many: Vec<String> = (0..2000)
            .map(|i| format!("pkg:deb/debian/p{i}@1"))
            .collect();
        let a = detail(1, &[], &[], &[]);
        let mut b = a.clone();
        b.packages = many;
        let d = diff(&a, None, &b, None);
        assert_eq!((d.added.items.len(), d.added.total), (MAX_LIST, 2000));
        assert!(measured_component(b"\xff\x00garbage").is_none());
    }
}
