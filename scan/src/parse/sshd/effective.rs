//! The effective configuration (`sshd -T [-C …]`): which lines are active in
//! the global and connection passes, and how each keyword's value is resolved
//! from them and the compiled-in defaults.

use super::defaults::algorithm_universe;
use super::matching::eval_criteria;
use super::{
    assemble_names, canonical, default_for, parse_value, Criterion, Setting, Slot, SshdConfig, Val,
    COPIED, KEYS, MULTI,
};
use std::collections::BTreeMap;

impl SshdConfig {
    /// The first value of `key` in the global pass (top-level lines and
    /// `Match all` blocks), overridden by the first in a `Match all` block
    /// for keywords a Match block can set — what plain `sshd -T` shows.
    pub fn get(&self, key: &str) -> Option<&Setting> {
        let k = key.to_ascii_lowercase();
        let k = canonical(&k);
        let act = self.activity(None);
        let first = |pass2: bool| {
            self.order
                .iter()
                .filter(|s| self.slot_active(**s, &act, pass2))
                .map(|s| self.setting(*s))
                .find(|s| canonical(&s.key) == k)
        };
        if COPIED.contains(&k) {
            if let Some(s) = first(true) {
                return Some(s);
            }
        }
        first(false)
    }
    /// All values of a multi-valued keyword in the global pass, in order.
    pub fn all(&self, key: &str) -> Vec<&Setting> {
        let k = key.to_ascii_lowercase();
        let k = canonical(&k);
        let act = self.activity(None);
        self.order
            .iter()
            .filter(|s| self.slot_active(**s, &act, false))
            .map(|s| self.setting(*s))
            .filter(|s| canonical(&s.key) == k)
            .collect()
    }
    pub fn is_multi(key: &str) -> bool {
        MULTI.contains(&key)
    }

    fn setting(&self, s: Slot) -> &Setting {
        match s {
            Slot::Global(i) => &self.global[i],
            Slot::Block(b, i) => &self.matches[b].settings[i],
        }
    }

    /// Whether each block is active in the global pass (`.0`) and in the
    /// connection pass for `conn` (`.1`).
    fn activity(&self, conn: Option<&Conn>) -> (Vec<bool>, Vec<bool>) {
        let blank = Conn::default();
        let conn = conn.unwrap_or(&blank);
        let mut a1 = Vec::with_capacity(self.matches.len());
        let mut a2 = Vec::with_capacity(self.matches.len());
        for m in &self.matches {
            // Parents always come first.
            let (p1, p2) = match m.parent {
                Some(p) => (a1[p], a2[p]),
                None => (true, true),
            };
            a1.push(p1 && eval_criteria(&m.criteria, None));
            a2.push(p2 && eval_criteria(&m.criteria, Some(conn)));
        }
        (a1, a2)
    }

    fn slot_active(&self, s: Slot, act: &(Vec<bool>, Vec<bool>), pass2: bool) -> bool {
        match (s, pass2) {
            (Slot::Global(_), p2) => !p2,
            (Slot::Block(b, _), false) => act.0[b],
            (Slot::Block(b, _), true) => act.1[b],
        }
    }

    /// Settings in processing order with the block they are in.
    pub fn ordered(&self) -> impl Iterator<Item = (Option<usize>, &Setting)> + '_ {
        self.order.iter().map(move |s| match *s {
            Slot::Global(i) => (None, &self.global[i]),
            Slot::Block(b, i) => (Some(b), &self.matches[b].settings[i]),
        })
    }

    /// The chain of non-`all` criteria that must hold for block `b` to be
    /// active in a connection pass (outermost first; empty: always).
    pub fn guard(&self, b: usize) -> Vec<&Criterion> {
        let mut chain = Vec::new();
        let mut cur = Some(b);
        while let Some(i) = cur {
            chain.push(i);
            cur = self.matches[i].parent;
        }
        chain
            .iter()
            .rev()
            .flat_map(|i| self.matches[*i].criteria.iter())
            .filter(|c| **c != Criterion::All)
            .collect()
    }

    /// Whether block `b` can ever be active (its chain never passes through
    /// an invalid block, which matches nothing).
    pub fn reachable(&self, b: usize) -> bool {
        let mut cur = Some(b);
        while let Some(i) = cur {
            if self.matches[i].criteria.is_empty() {
                return false;
            }
            cur = self.matches[i].parent;
        }
        true
    }

    /// The effective configuration for a connection (`sshd -T -C …`), or with
    /// no connection information (`sshd -T`: only `Match all` blocks apply).
    pub fn effective(&self, conn: Option<&Conn>, defaults: &Defaults) -> Effective<'_> {
        let act = self.activity(conn);
        let mut map = BTreeMap::new();
        for &key in KEYS {
            let lines = |pass2: bool| -> Vec<&Setting> {
                self.order
                    .iter()
                    .filter(|s| self.slot_active(**s, &act, pass2))
                    .map(|s| self.setting(*s))
                    .filter(|s| canonical(&s.key) == key)
                    .collect()
            };
            let p1 = lines(false);
            let p2 = if COPIED.contains(&key) || key == "permituserenvironment" {
                lines(true)
            } else {
                Vec::new()
            };
            map.insert(key, resolve(key, &p1, &p2, defaults));
        }
        Effective { map }
    }
}

/// One resolved keyword: its value and the lines it came from (none: the
/// compiled-in default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved<'a> {
    pub value: Val,
    pub from: Vec<&'a Setting>,
}

/// The effective values of [`KEYS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective<'a> {
    map: BTreeMap<&'static str, Resolved<'a>>,
}

impl<'a> Effective<'a> {
    pub fn get(&self, key: &str) -> Option<&Resolved<'a>> {
        self.map.get(key)
    }
    pub fn value(&self, key: &str) -> Option<&Val> {
        self.map.get(key).map(|r| &r.value)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Resolved<'a>)> {
        self.map.iter().map(|(k, v)| (*k, v))
    }
}

/// Connection attributes for `Match` (`sshd -T -C user=…,host=…,addr=…`).
/// An absent attribute never matches (sshd's test mode).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conn {
    pub user: Option<String>,
    /// The user's groups (primary included); empty when the user does not exist.
    pub groups: Vec<String>,
    pub host: Option<String>,
    pub addr: Option<String>,
    pub laddr: Option<String>,
    pub lport: Option<u16>,
    pub rdomain: Option<String>,
}

/// Compiled-in defaults the resolver needs (per OpenSSH version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    pub version: Option<(u32, u32)>,
    pub ciphers: String,
    pub macs: String,
    pub kex: String,
}

impl Defaults {
    pub fn openssh(version: Option<(u32, u32)>) -> Self {
        let d = |k| default_for(k, version).unwrap_or("").to_string();
        Defaults {
            version,
            ciphers: d("ciphers"),
            macs: d("macs"),
            kex: d("kexalgorithms"),
        }
    }
}

fn resolve<'a>(
    key: &'static str,
    p1: &[&'a Setting],
    p2: &[&'a Setting],
    d: &Defaults,
) -> Resolved<'a> {
    let parse = |s: &Setting| parse_value(key, &s.args).ok();
    match key {
        "maxstartups" => {
            // Every line writes (last wins), a single number keeps the rate.
            let (mut b, mut r, mut f) = (-1i64, -1i64, -1i64);
            let mut from = Vec::new();
            for s in p1 {
                if let Some(Val::Startups { begin, rate, full }) = parse(s) {
                    b = begin;
                    f = full;
                    if rate != -1 {
                        r = rate;
                    }
                    from = vec![*s];
                }
            }
            let or = |v: i64, dflt| if v == -1 { dflt } else { v };
            Resolved {
                value: Val::Startups {
                    begin: or(b, 10),
                    rate: or(r, 30),
                    full: or(f, 100),
                },
                from,
            }
        }
        "allowusers" | "denyusers" | "allowgroups" | "denygroups" => {
            let collect = |lines: &[&'a Setting]| {
                let mut v = Vec::new();
                let mut from = Vec::new();
                for s in lines {
                    if let Some(Val::List(l)) = parse(s) {
                        v.extend(l);
                        from.push(*s);
                    }
                }
                (v, from)
            };
            let (v2, f2) = collect(p2);
            let (v, from) = if v2.is_empty() { collect(p1) } else { (v2, f2) };
            Resolved {
                value: Val::List(v),
                from,
            }
        }
        "ciphers" | "macs" | "kexalgorithms" => {
            let def = match key {
                "ciphers" => &d.ciphers,
                "macs" => &d.macs,
                _ => &d.kex,
            };
            let all = algorithm_universe(key);
            let first = p1.iter().find_map(|s| parse(s).map(|v| (v, *s)));
            match first {
                Some((Val::List(v), s)) => {
                    let mut list = assemble_names(&v[0], def, all, true).unwrap_or_default();
                    if list.is_empty() {
                        // A `-` list removing everything leaves "", which sshd
                        // assembles again (copy_set_server_options) into the
                        // default.
                        list = assemble_names("", def, all, true).unwrap_or_default();
                    }
                    Resolved {
                        value: Val::List(list),
                        from: vec![s],
                    }
                }
                _ => Resolved {
                    value: Val::List(assemble_names("", def, all, true).unwrap_or_default()),
                    from: vec![],
                },
            }
        }
        "permituserenvironment" => {
            let first1 = p1.iter().find_map(|s| parse(s).map(|v| (v, *s)));
            let (mut value, mut from) = match first1 {
                Some((v, s)) => (v, vec![s]),
                None => (
                    Val::UserEnv {
                        on: false,
                        allow: None,
                    },
                    vec![],
                ),
            };
            // The connection pass copies only the pattern list.
            if let Some((Val::UserEnv { allow: Some(a), .. }, s)) =
                p2.iter().find_map(|s| parse(s).map(|v| (v, *s)))
            {
                if let Val::UserEnv { allow, .. } = &mut value {
                    *allow = Some(a);
                }
                from = vec![s];
            }
            Resolved { value, from }
        }
        _ => {
            let first =
                |lines: &[&'a Setting]| lines.iter().find_map(|s| parse(s).map(|v| (v, *s)));
            match first(p2).or_else(|| first(p1)) {
                Some((value, s)) => Resolved {
                    value,
                    from: vec![s],
                },
                None => {
                    let dflt = default_for(key, d.version).unwrap_or("");
                    let value = parse_value(key, &[dflt.to_string()]).unwrap_or(Val::Flag(false));
                    Resolved {
                        value,
                        from: vec![],
                    }
                }
            }
        }
    }
}
