//! The scan context rules read: the root-confined view plus lazily parsed,
//! shared inputs (each file is read and parsed at most once per scan).

use super::Skip;
use crate::inventory::services::Started;
use crate::parse::accounts::{self, GroupEntry, LoginDefs, PasswdEntry, ShadowEntry};
use crate::parse::{pam, services, sshd, sysctl, LineError};
use crate::root::{display_path, RootFs};
use fieldattest_protocol::report::Package;
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Instant;

/// A parsed input: `Ok(None)` when the file does not exist.
type Input<T> = Result<Option<T>, Skip>;

/// A persisted sysctl value and where it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysctlSetting {
    pub value: String,
    pub path: String,
    pub line: u64,
}

/// Options of the default-credential check (CCSC 1 budget and memo).
#[derive(Debug, Clone, Default)]
pub struct CredOptions {
    /// Stop verifying candidates at this instant (set by the caller's clock).
    pub deadline: Option<Instant>,
    /// Device-local key for the memo digests (from the state directory).
    pub memo_key: Option<Vec<u8>>,
    /// Digests of hashes already fully checked against the current list.
    pub memo: HashSet<[u8; 32]>,
    /// The check is off; the option that turned it off, for the report.
    pub skip: Option<String>,
}

/// A PAM service file and its lines.
#[derive(Debug, Clone)]
pub struct PamFile {
    pub path: String,
    pub lines: Vec<pam::PamLine>,
}

pub struct Ctx<'a> {
    pub root: &'a RootFs,
    /// Live mode: `/proc` and `/sys` describe this very system.
    pub live: bool,
    pub target_sl: u8,
    pub packages: &'a [Package],
    /// Today, as days since 1970-01-01 (from the caller's clock).
    pub today: i64,
    passwd: OnceCell<Input<Vec<PasswdEntry>>>,
    shadow: OnceCell<Input<Vec<ShadowEntry>>>,
    group: OnceCell<Input<Vec<GroupEntry>>>,
    login_defs: OnceCell<Input<LoginDefs>>,
    pam: OnceCell<Result<Vec<PamFile>, Skip>>,
    sysctl: OnceCell<Result<BTreeMap<String, SysctlSetting>, Skip>>,
    sshd: OnceCell<Input<sshd::SshdConfig>>,
    started: OnceCell<Result<Vec<Started>, Skip>>,
    keys: OnceCell<(
        Vec<crate::inventory::keys::FoundKey>,
        Vec<crate::inventory::keys::KeyError>,
    )>,
    walk: OnceCell<super::walk::WalkResult>,
    cred: CredOptions,
    cred_new: RefCell<Vec<[u8; 32]>>,
    cred_skipped: Cell<usize>,
    notes: RefCell<BTreeMap<String, String>>,
}

/// `Include` access for the sshd parser, through the root-confined view.
struct RootFiles<'r>(&'r RootFs);

impl sshd::Files for RootFiles<'_> {
    fn list(&self, dir: &str) -> Vec<String> {
        self.0
            .read_dir(dir)
            .map(|v| {
                v.into_iter()
                    .map(|e| e.name.to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
    fn read(&self, path: &str) -> Option<Result<String, String>> {
        match self.0.read(path) {
            Ok(b) => Some(Ok(String::from_utf8_lossy(&b).into_owned())),
            Err(e) if e.is_not_found() => None,
            Err(e) => Some(Err(e.to_string())),
        }
    }
}

/// The first of `errs` as a rule error on `path`.
pub(crate) fn first_error(path: &str, errs: &[LineError]) -> Option<Skip> {
    errs.first().map(|e| Skip::Error {
        path: path.into(),
        line: Some(e.line),
        message: e.message.clone(),
    })
}

impl<'a> Ctx<'a> {
    pub fn new(
        root: &'a RootFs,
        live: bool,
        target_sl: u8,
        packages: &'a [Package],
        today: i64,
    ) -> Self {
        Ctx {
            root,
            live,
            target_sl,
            packages,
            today,
            passwd: OnceCell::new(),
            shadow: OnceCell::new(),
            group: OnceCell::new(),
            login_defs: OnceCell::new(),
            pam: OnceCell::new(),
            sysctl: OnceCell::new(),
            sshd: OnceCell::new(),
            started: OnceCell::new(),
            keys: OnceCell::new(),
            walk: OnceCell::new(),
            cred: CredOptions::default(),
            cred_new: RefCell::new(Vec::new()),
            cred_skipped: Cell::new(0),
            notes: RefCell::new(BTreeMap::new()),
        }
    }

    /// Reads a text file: `Ok(None)` when absent, `Skip::Error` when unreadable.
    pub fn text(&self, path: impl AsRef<Path>) -> Result<Option<String>, Skip> {
        let path = path.as_ref();
        match self.root.read(path) {
            Ok(b) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(Skip::Error {
                path: display_path(path),
                line: None,
                message: e.to_string(),
            }),
        }
    }

    fn load<T>(&self, path: &str, parse: fn(&str) -> (T, Vec<LineError>)) -> Input<T> {
        match self.text(path)? {
            None => Ok(None),
            Some(t) => {
                let (v, errs) = parse(&t);
                match first_error(path, &errs) {
                    Some(e) => Err(e),
                    None => Ok(Some(v)),
                }
            }
        }
    }

    fn required<'s, T>(
        cell: &'s OnceCell<Input<T>>,
        init: impl FnOnce() -> Input<T>,
        path: &str,
    ) -> Result<&'s T, Skip> {
        match cell.get_or_init(init) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(Skip::na(format!("{path} not present"))),
            Err(e) => Err(e.clone()),
        }
    }

    pub fn passwd(&self) -> Result<&[PasswdEntry], Skip> {
        Self::required(
            &self.passwd,
            || self.load("/etc/passwd", accounts::parse_passwd),
            "/etc/passwd",
        )
        .map(|v| v.as_slice())
    }

    pub fn shadow(&self) -> Result<&[ShadowEntry], Skip> {
        Self::required(
            &self.shadow,
            || self.load("/etc/shadow", accounts::parse_shadow),
            "/etc/shadow",
        )
        .map(|v| v.as_slice())
    }

    /// Shadow entries, or none when the device has no shadow file.
    pub fn shadow_opt(&self) -> Result<&[ShadowEntry], Skip> {
        match self.shadow() {
            Ok(s) => Ok(s),
            Err(Skip::NotApplicable(_)) => Ok(&[]),
            Err(e) => Err(e),
        }
    }

    pub fn group(&self) -> Result<&[GroupEntry], Skip> {
        Self::required(
            &self.group,
            || self.load("/etc/group", accounts::parse_group),
            "/etc/group",
        )
        .map(|v| v.as_slice())
    }

    /// `login.defs`; an absent file reads as empty (every key at its default).
    pub fn login_defs(&self) -> Result<&LoginDefs, Skip> {
        static EMPTY: LoginDefs = LoginDefs {
            entries: Vec::new(),
        };
        match self.login_defs.get_or_init(|| {
            self.load("/etc/login.defs", |t| {
                (accounts::parse_login_defs(t), Vec::new())
            })
        }) {
            Ok(Some(d)) => Ok(d),
            Ok(None) => Ok(&EMPTY),
            Err(e) => Err(e.clone()),
        }
    }

    /// `UID_MIN` from login.defs (1000 when unset).
    pub fn uid_min(&self) -> Result<u32, Skip> {
        Ok(self
            .login_defs()?
            .get_num("UID_MIN")
            .map(|(_, n)| n as u32)
            .unwrap_or(1000))
    }

    /// Shadow hash for `name` when a shadow file exists, else passwd field 2.
    pub fn password_field<'s>(
        &'s self,
        p: &'s PasswdEntry,
    ) -> Result<(&'s str, &'static str, u64), Skip> {
        if p.password == "x" {
            if let Some(s) = self.shadow_opt()?.iter().find(|s| s.name == p.name) {
                return Ok((s.hash.as_str(), "/etc/shadow", s.line));
            }
            return Ok(("*", "/etc/shadow", 0));
        }
        Ok((p.password.as_str(), "/etc/passwd", p.line))
    }

    /// All PAM service files (`/etc/pam.d/*`, and `/etc/pam.conf`).
    pub fn pam(&self) -> Result<&[PamFile], Skip> {
        self.pam
            .get_or_init(|| {
                let mut files = Vec::new();
                let mut paths: Vec<String> = Vec::new();
                if let Ok(ents) = self.root.read_dir("/etc/pam.d") {
                    for e in ents {
                        paths.push(display_path(&Path::new("/etc/pam.d").join(&e.name)));
                    }
                }
                for path in paths {
                    if let Some(t) = self.text(&path)? {
                        let (lines, errs) = pam::parse(&t);
                        if let Some(e) = first_error(&path, &errs) {
                            return Err(e);
                        }
                        files.push(PamFile { path, lines });
                    }
                }
                Ok(files)
            })
            .as_ref()
            .map(|v| v.as_slice())
            .map_err(Clone::clone)
    }

    /// The lines of a PAM service with `@include`s expanded (depth-bounded).
    pub fn pam_stack(&self, service: &str) -> Result<Vec<(String, pam::PamLine)>, Skip> {
        let files = self.pam()?;
        let mut out = Vec::new();
        fn expand(files: &[PamFile], name: &str, depth: u8, out: &mut Vec<(String, pam::PamLine)>) {
            if depth > 8 {
                return;
            }
            let path = format!("/etc/pam.d/{name}");
            let Some(f) = files.iter().find(|f| f.path == path) else {
                return;
            };
            for l in &f.lines {
                if l.kind == "@include" || l.control == "include" || l.control == "substack" {
                    expand(files, &l.module, depth + 1, out);
                } else {
                    out.push((f.path.clone(), l.clone()));
                }
            }
        }
        expand(files, service, 0, &mut out);
        Ok(out)
    }

    /// Persisted sysctl settings after precedence (see `parse::sysctl`).
    pub fn sysctl_persisted(&self) -> Result<&BTreeMap<String, SysctlSetting>, Skip> {
        self.sysctl
            .get_or_init(|| {
                let mut by_name: BTreeMap<String, String> = BTreeMap::new();
                for dir in sysctl::SYSCTL_DIRS {
                    if let Ok(ents) = self.root.read_dir(dir) {
                        for e in ents {
                            let n = e.name.to_string_lossy().into_owned();
                            if n.ends_with(".conf") && !by_name.contains_key(&n) {
                                by_name.insert(n.clone(), format!("{dir}/{n}"));
                            }
                        }
                    }
                }
                let mut files: Vec<String> = by_name.into_values().collect();
                files.push("/etc/sysctl.conf".into());
                let mut map = BTreeMap::new();
                for path in files {
                    // /etc/sysctl.d/99-sysctl.conf is usually a link to /etc/sysctl.conf.
                    if let Some(t) = self.text(&path)? {
                        let (asg, errs) = sysctl::parse(&t);
                        if let Some(e) = first_error(&path, &errs) {
                            return Err(e);
                        }
                        for a in asg {
                            map.insert(
                                a.key,
                                SysctlSetting {
                                    value: a.value,
                                    path: path.clone(),
                                    line: a.line,
                                },
                            );
                        }
                    }
                }
                Ok(map)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The value of a sysctl as this scan can know it: live mode reads
    /// `/proc/sys` (the effective value); image mode the persisted setting.
    /// Returns (value, where it came from).
    pub fn sysctl(&self, key: &str) -> Result<Option<(String, String, Option<u64>)>, Skip> {
        if self.live {
            let p = format!("/proc/sys/{}", key.replace('.', "/"));
            if let Ok(b) = self.root.read_limited(&p, 4096) {
                return Ok(Some((
                    String::from_utf8_lossy(&b)
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" "),
                    p,
                    None,
                )));
            }
        }
        Ok(self
            .sysctl_persisted()?
            .get(key)
            .map(|s| (s.value.clone(), s.path.clone(), Some(s.line))))
    }

    /// The OpenSSH server configuration with includes; not applicable when
    /// the device has no `/etc/ssh/sshd_config`.
    pub fn sshd(&self) -> Result<&sshd::SshdConfig, Skip> {
        const MAIN: &str = "/etc/ssh/sshd_config";
        Self::required(
            &self.sshd,
            || match self.text(MAIN)? {
                None => Ok(None),
                Some(t) => {
                    let (cfg, errs) = sshd::parse(&RootFiles(self.root), MAIN, &t);
                    match errs.first() {
                        Some((path, e)) => Err(Skip::Error {
                            path: path.clone(),
                            line: Some(e.line),
                            message: e.message.clone(),
                        }),
                        None => Ok(Some(cfg)),
                    }
                }
            },
            MAIN,
        )
    }

    /// OpenSSH version from the inventory (package or binary), as (major, minor).
    pub fn openssh_version(&self) -> Option<(u32, u32)> {
        ["openssh-server", "openssh-sshd", "openssh"]
            .iter()
            .find_map(|n| self.package_version(n))
            .and_then(sshd::openssh_version)
    }

    /// Everything configured to start: enabled systemd units (not masked),
    /// SysV `S` links, inittab processes, inetd and xinetd services.
    pub fn started(&self) -> Result<&[Started], Skip> {
        self.started
            .get_or_init(|| crate::inventory::services::started(self))
            .as_ref()
            .map(|v| v.as_slice())
            .map_err(Clone::clone)
    }

    /// Listening sockets (live mode only; empty in image mode).
    pub fn listeners(&self) -> Vec<services::Listener> {
        if !self.live {
            return Vec::new();
        }
        let mut out = Vec::new();
        for proto in ["tcp", "tcp6", "udp", "udp6"] {
            if let Ok(b) = self.root.read(format!("/proc/net/{proto}")) {
                out.extend(services::parse_proc_net(
                    &String::from_utf8_lossy(&b),
                    proto,
                ));
            }
        }
        out
    }

    /// Sets the default-credential budget and memo.
    pub fn with_cred(mut self, cred: CredOptions) -> Self {
        self.cred = cred;
        self
    }

    /// Why the default-credential check is off (None: it runs).
    pub fn cred_skip(&self) -> Option<&str> {
        self.cred.skip.as_deref()
    }

    /// The instant the default-credential check must stop (None: unlimited).
    pub fn cred_deadline(&self) -> Option<Instant> {
        self.cred.deadline
    }

    /// True while the default-credential check may spend more CPU.
    pub fn cred_budget_left(&self) -> bool {
        self.cred
            .deadline
            .map(|d| Instant::now() < d)
            .unwrap_or(true)
    }

    /// Whether `hash` was fully checked against the current list before.
    pub fn cred_memo_contains(&self, hash: &str) -> bool {
        match &self.cred.memo_key {
            Some(k) => self.cred.memo.contains(&super::cred::memo_key(k, hash)),
            None => false,
        }
    }

    /// Records that `hash` was fully checked without a match.
    pub fn cred_memo_record(&self, hash: &str) {
        if let Some(k) = &self.cred.memo_key {
            self.cred_new
                .borrow_mut()
                .push(super::cred::memo_key(k, hash));
        }
    }

    pub fn cred_note_skipped(&self) {
        self.cred_skipped.set(self.cred_skipped.get() + 1);
    }

    pub fn cred_skipped(&self) -> usize {
        self.cred_skipped.get()
    }

    /// Memo digests to persist after the scan (previous ones still valid plus new).
    pub fn cred_memo_out(&self) -> Vec<[u8; 32]> {
        let mut v: Vec<[u8; 32]> = self.cred_new.borrow().clone();
        v.sort();
        v.dedup();
        v
    }

    /// Attaches a note (coverage, limits) to a rule's result.
    pub fn note(&self, rule: &str, text: String) {
        self.notes.borrow_mut().insert(rule.to_string(), text);
    }

    pub fn note_for(&self, rule: &str) -> Option<String> {
        self.notes.borrow().get(rule).cloned()
    }

    /// The bounded filesystem walk of the permission rules (once per scan).
    pub fn walk(&self) -> &super::walk::WalkResult {
        self.walk.get_or_init(|| super::walk::walk(self))
    }

    /// Every key found on the device (walked once per scan).
    pub fn keys(
        &self,
    ) -> &(
        Vec<crate::inventory::keys::FoundKey>,
        Vec<crate::inventory::keys::KeyError>,
    ) {
        self.keys
            .get_or_init(|| crate::inventory::keys::collect(self))
    }

    /// Version of an installed package by name.
    pub fn package_version(&self, name: &str) -> Option<&str> {
        self.packages
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.version.as_str())
    }
}
