//! Outputs never destroy what they point at, and a closed or full stdout or
//! stderr never panics (issue 14).
//!
//! 1. Every output option of both binaries (`scan --output`, `attest --out`,
//!    `attest --sbom-out`, `attest --enrollment --out`, the files `export --out
//!    DIR` writes, `rotate --out`, collector `report --output` as json, html
//!    and pdf) is written to a character device made with `mknod`, a FIFO
//!    (a reader thread must receive the content), a symlink to a regular file
//!    (the link stays, the target gets the content) and an existing 0640 file
//!    of another owner (owner, group and mode kept). Needs root (mknod,
//!    chown): `#[ignore]`d, run as root by `scripts/test`.
//! 2. Every subcommand of both binaries — the list is checked against their
//!    usage text, so a new one cannot be missed — runs with enough state to
//!    print, then with stdout = /dev/full (exit 3, "cannot write to stdout: No
//!    space left on device"), stdout = a closed pipe (exit 141, no message)
//!    and stderr = /dev/full (the same status as a normal run); never a panic.

use fieldattest_tests::collector::*;
use fieldattest_tests::{bin, fieldattest, require_root, require_tool};
use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const NONCE: &str = "00112233445566778899aabbccddeeff";
/// Owner and group given to the pre-existing output file (not ours).
const OWNER: (u32, u32) = (4321, 4322);

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

// ---------------------------------------------------------------- part 1

#[derive(Clone, Copy, Debug)]
enum Kind {
    CharDevice,
    Fifo,
    Symlink,
    Regular,
}

const KINDS: [Kind; 4] = [Kind::CharDevice, Kind::Fifo, Kind::Symlink, Kind::Regular];

/// What an output path was made into before the run.
struct Prepared {
    path: PathBuf,
    kind: Kind,
    reader: Option<mpsc::Receiver<Vec<u8>>>,
}

fn prepare(path: &Path, kind: Kind) -> Prepared {
    let mut reader = None;
    match kind {
        Kind::CharDevice => {
            // Same major/minor as /dev/null.
            sh(Command::new("mknod").arg(path).args(["c", "1", "3"]));
        }
        Kind::Fifo => {
            sh(Command::new("mkfifo").arg(path));
            let (tx, rx) = mpsc::channel();
            let p = path.to_path_buf();
            std::thread::spawn(move || {
                let _ = tx.send(fs::read(&p).unwrap_or_default());
            });
            reader = Some(rx);
        }
        Kind::Symlink => {
            fs::write(path.with_file_name("target.real"), b"old content").unwrap();
            std::os::unix::fs::symlink("target.real", path).unwrap();
        }
        Kind::Regular => {
            fs::write(path, b"old content").unwrap();
            fs::set_permissions(path, fs::Permissions::from_mode(0o640)).unwrap();
            std::os::unix::fs::chown(path, Some(OWNER.0), Some(OWNER.1)).unwrap();
        }
    }
    Prepared {
        path: path.to_path_buf(),
        kind,
        reader,
    }
}

/// Asserts the node is still what it was and the content arrived; `check`
/// validates the content.
fn verify(p: Prepared, what: &str, check: &dyn Fn(&[u8]) -> Result<(), String>) {
    let m = fs::symlink_metadata(&p.path)
        .unwrap_or_else(|e| panic!("{what}: {} gone: {e}", p.path.display()));
    let ctx = format!("{what} to a {:?} ({})", p.kind, p.path.display());
    let content = match p.kind {
        Kind::CharDevice => {
            let null = fs::metadata("/dev/null").unwrap();
            assert!(m.file_type().is_char_device(), "{ctx}: no longer a device");
            assert_eq!(m.rdev(), null.rdev(), "{ctx}: device number changed");
            None
        }
        Kind::Fifo => {
            assert!(m.file_type().is_fifo(), "{ctx}: no longer a FIFO");
            let rx = p.reader.unwrap();
            let got = match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(b) => b,
                Err(_) => {
                    // The program never opened the FIFO: unblock the reader
                    // (non-blocking open, fails harmlessly without a reader).
                    let _ = fs::OpenOptions::new()
                        .write(true)
                        .custom_flags(0o4000) // O_NONBLOCK
                        .open(&p.path);
                    rx.recv_timeout(Duration::from_secs(20))
                        .unwrap_or_else(|_| panic!("{ctx}: reader thread stuck"))
                }
            };
            Some(got)
        }
        Kind::Symlink => {
            assert!(m.file_type().is_symlink(), "{ctx}: no longer a symlink");
            assert_eq!(
                fs::read_link(&p.path).unwrap(),
                PathBuf::from("target.real"),
                "{ctx}: link target changed"
            );
            let t = p.path.with_file_name("target.real");
            assert!(fs::symlink_metadata(&t).unwrap().file_type().is_file());
            Some(fs::read(t).unwrap())
        }
        Kind::Regular => {
            assert!(m.file_type().is_file(), "{ctx}: not a regular file");
            assert_eq!(m.mode() & 0o7777, 0o640, "{ctx}: mode not kept");
            assert_eq!((m.uid(), m.gid()), OWNER, "{ctx}: owner/group not kept");
            Some(fs::read(&p.path).unwrap())
        }
    };
    if let Some(c) = content {
        assert_ne!(c, b"old content", "{ctx}: content not written");
        if let Err(e) = check(&c) {
            panic!("{ctx}: wrong content ({} bytes): {e}", c.len());
        }
    }
    let dir = p.path.parent().unwrap();
    let tmp: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(tmp.is_empty(), "{ctx}: temporary files left: {tmp:?}");
}

/// Validates an output's content.
type Check = Box<dyn Fn(&[u8]) -> Result<(), String>>;

/// An output option: the file name it writes in its directory, how to run
/// it with that path, and what its content must be.
struct OutCase {
    what: &'static str,
    file: &'static str,
    run: Box<dyn Fn(&Path) -> Output>,
    check: Check,
}

fn json_with(key: &'static str) -> Check {
    Box::new(move |b| {
        let v: serde_json::Value = serde_json::from_slice(b).map_err(|e| e.to_string())?;
        if v.get(key).is_some() {
            Ok(())
        } else {
            Err(format!("no {key:?}"))
        }
    })
}

#[test]
#[ignore = "needs root: mknod and chown of the output targets"]
fn every_output_writes_through_device_nodes_fifos_and_symlinks_and_keeps_owner_and_mode() {
    require_root("mknod of a device node, chown of an existing output to another owner");
    require_tool("mknod", "coreutils");
    require_tool("mkfifo", "coreutils");
    require_tool("chromium", "chromium");
    let c = start();
    let d = Device::new(None, 3);
    let id = d.enroll(&c);
    let (code, v) = d.attest_online(&c);
    assert_eq!(code, 200, "{v}");
    d.spool();
    let root = d.tree.root_str();
    let state = s(&d.state);
    let pem = d.tree.outside().join("device.pem");
    {
        let o = fieldattest(&["identity", "--state-dir", &state]);
        assert!(o.status.success(), "{}", stderr_of(&o));
        let t = String::from_utf8(o.stdout).unwrap();
        fs::write(&pem, &t[t.find("-----BEGIN").unwrap()..]).unwrap();
    }
    let verifies = {
        let pem = pem.clone();
        let scratch = d.tree.outside().join("check.cwt");
        move |b: &[u8]| -> Result<(), String> {
            fs::write(&scratch, b).unwrap();
            let o = fieldattest(&["verify", "--key", &s(&pem), &s(&scratch)]);
            if o.status.success() {
                Ok(())
            } else {
                Err(stderr_of(&o))
            }
        }
    };
    let agent = |args: Vec<String>| -> Output {
        Command::new(bin("fieldattest"))
            .args(args)
            .output()
            .unwrap()
    };
    let db = s(&c.db());
    let collector = move |args: Vec<String>| -> Output {
        Command::new(bin("fieldattest-collector"))
            .args(args)
            .args(["--db", &db])
            .output()
            .unwrap()
    };
    let sbom_scratch = d.tree.outside().join("token-beside-sbom.cwt");
    let cases: Vec<OutCase> = vec![
        OutCase {
            what: "scan --output",
            file: "out",
            run: Box::new({
                let root = root.clone();
                move |p| {
                    agent(vec![
                        "scan".into(),
                        "--root".into(),
                        root.clone(),
                        "--format".into(),
                        "json".into(),
                        "--output".into(),
                        s(p),
                    ])
                }
            }),
            check: json_with("schema"),
        },
        OutCase {
            what: "attest --out",
            file: "out",
            run: Box::new({
                let (root, state) = (root.clone(), state.clone());
                move |p| {
                    agent(vec![
                        "attest".into(),
                        "--root".into(),
                        root.clone(),
                        "--state-dir".into(),
                        state.clone(),
                        "--out".into(),
                        s(p),
                    ])
                }
            }),
            check: Box::new(verifies.clone()),
        },
        OutCase {
            what: "attest --sbom-out",
            file: "out",
            run: Box::new({
                let (root, state) = (root.clone(), state.clone());
                move |p| {
                    agent(vec![
                        "attest".into(),
                        "--root".into(),
                        root.clone(),
                        "--state-dir".into(),
                        state.clone(),
                        "--out".into(),
                        s(&sbom_scratch),
                        "--sbom-out".into(),
                        s(p),
                    ])
                }
            }),
            check: json_with("bomFormat"),
        },
        OutCase {
            what: "attest --enrollment --out",
            file: "out",
            run: Box::new({
                let state = state.clone();
                move |p| {
                    agent(vec![
                        "attest".into(),
                        "--enrollment".into(),
                        "--nonce".into(),
                        NONCE.into(),
                        "--state-dir".into(),
                        state.clone(),
                        "--out".into(),
                        s(p),
                    ])
                }
            }),
            check: Box::new(verifies.clone()),
        },
        OutCase {
            what: "export --out DIR (tokens.cborseq inside)",
            file: "tokens.cborseq",
            run: Box::new({
                let state = state.clone();
                move |p| {
                    agent(vec![
                        "export".into(),
                        "--state-dir".into(),
                        state.clone(),
                        "--out".into(),
                        s(p.parent().unwrap()),
                    ])
                }
            }),
            check: Box::new(|b| {
                if b.is_empty() {
                    Err("empty".into())
                } else {
                    Ok(())
                }
            }),
        },
        OutCase {
            what: "rotate --nonce --out",
            file: "out",
            run: Box::new({
                let state = state.clone();
                move |p| {
                    agent(vec![
                        "rotate".into(),
                        "--nonce".into(),
                        NONCE.into(),
                        "--state-dir".into(),
                        state.clone(),
                        "--out".into(),
                        s(p),
                    ])
                }
            }),
            check: Box::new(|b| {
                if b.len() < 64 {
                    Err("too short".into())
                } else {
                    Ok(())
                }
            }),
        },
        OutCase {
            what: "collector report --format json --output",
            file: "out",
            run: Box::new({
                let col = collector.clone();
                move |p| {
                    col(vec![
                        "report".into(),
                        id.to_string(),
                        "--format".into(),
                        "json".into(),
                        "--output".into(),
                        s(p),
                    ])
                }
            }),
            check: json_with("devices"),
        },
        OutCase {
            what: "collector report --format html --output",
            file: "out",
            run: Box::new({
                let col = collector.clone();
                move |p| {
                    col(vec![
                        "report".into(),
                        "--fleet".into(),
                        "--format".into(),
                        "html".into(),
                        "--output".into(),
                        s(p),
                    ])
                }
            }),
            check: Box::new(|b| {
                if String::from_utf8_lossy(b).contains("IEC 62443-4-2 evidence report") {
                    Ok(())
                } else {
                    Err("not the evidence report".into())
                }
            }),
        },
        OutCase {
            what: "collector report --format pdf --output",
            file: "out",
            run: Box::new({
                let col = collector.clone();
                move |p| {
                    col(vec![
                        "report".into(),
                        id.to_string(),
                        "--format".into(),
                        "pdf".into(),
                        "--output".into(),
                        s(p),
                    ])
                }
            }),
            check: Box::new(|b| {
                if b.starts_with(b"%PDF") {
                    Ok(())
                } else {
                    Err("not a PDF".into())
                }
            }),
        },
    ];
    let work = tempfile::tempdir().unwrap();
    let mut n = 0;
    for (i, case) in cases.iter().enumerate() {
        for kind in KINDS {
            let dir = work.path().join(format!("{i}-{kind:?}"));
            fs::create_dir(&dir).unwrap();
            let prepared = prepare(&dir.join(case.file), kind);
            let o = (case.run)(&prepared.path);
            assert_eq!(
                o.status.code(),
                Some(0),
                "{} to a {kind:?}: {}",
                case.what,
                stderr_of(&o)
            );
            verify(prepared, case.what, &*case.check);
            n += 1;
        }
    }
    assert_eq!(n, 36, "9 output options x 4 kinds of target");
    // The real /dev/null survives too (what the issue saw destroyed).
    let o = agent(vec![
        "scan".into(),
        "--root".into(),
        root,
        "--output".into(),
        "/dev/null".into(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr_of(&o));
    assert!(fs::symlink_metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
}

// ---------------------------------------------------------------- part 2

/// The command words of a usage text: the word after `prog` on each
/// `Usage:` line (`a|b|c` split), and `--help`/`--version`.
fn usage_commands(prog: &str, usage: &str) -> BTreeSet<String> {
    let body = &usage[usage.find("Usage:").expect("Usage: section")..];
    let mut set = BTreeSet::new();
    for l in body.lines().skip(1) {
        if l.trim().is_empty() {
            break;
        }
        let mut w = l.split_whitespace();
        if w.next() != Some(prog) {
            continue;
        }
        for c in w.next().unwrap_or("").split('|') {
            set.insert(c.to_string());
        }
    }
    set
}

#[derive(Clone, Copy)]
enum Sink {
    Full,
    ClosedPipe,
}

fn dev_full() -> Stdio {
    Stdio::from(
        fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap(),
    )
}

/// The write end of a pipe whose reader has already exited.
fn closed_pipe() -> Stdio {
    let mut t = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
    let w = t.stdin.take().unwrap();
    t.wait().unwrap();
    Stdio::from(w)
}

/// One walked invocation: the usage word it covers, whether it prints to
/// stdout, and a factory making a fresh command (with any setup it needs).
struct Walk {
    word: &'static str,
    label: String,
    prints: bool,
    make: Box<dyn Fn() -> Command>,
}

/// Runs every case four times; returns the number of runs.
fn walk(prog: &str, cases: &[Walk]) -> usize {
    let mut runs = 0;
    let no_panic = |o: &Output, ctx: &str| {
        let e = stderr_of(o);
        assert!(!e.contains("panicked"), "{ctx}: panicked: {e}");
        assert!(
            !matches!(o.status.code(), Some(101) | Some(134) | None),
            "{ctx}: status {:?}: {e}",
            o.status
        );
    };
    for w in cases {
        // A normal run, stdout into a file: what it prints, its status.
        let out = tempfile::NamedTempFile::new().unwrap();
        let base = (w.make)()
            .stdout(Stdio::from(out.reopen().unwrap()))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let ctx = format!("{prog} {}", w.label);
        no_panic(&base, &ctx);
        let printed = fs::metadata(out.path()).unwrap().len() > 0;
        assert_eq!(
            printed,
            w.prints,
            "{ctx}: expected it to {}print (status {:?}): {}",
            if w.prints { "" } else { "not " },
            base.status,
            stderr_of(&base)
        );
        for sink in [Sink::Full, Sink::ClosedPipe] {
            let (stdout, name) = match sink {
                Sink::Full => (dev_full(), "stdout=/dev/full"),
                Sink::ClosedPipe => (closed_pipe(), "stdout=closed pipe"),
            };
            let o = (w.make)()
                .stdout(stdout)
                .stderr(Stdio::piped())
                .output()
                .unwrap();
            let ctx = format!("{ctx} [{name}]");
            no_panic(&o, &ctx);
            let e = stderr_of(&o);
            match (sink, printed) {
                (Sink::Full, true) => {
                    assert_eq!(o.status.code(), Some(3), "{ctx}: {e}");
                    assert!(
                        e.contains(&format!(
                            "{prog}: cannot write to stdout: No space left on device"
                        )),
                        "{ctx}: {e}"
                    );
                }
                (Sink::ClosedPipe, true) => {
                    assert_eq!(o.status.code(), Some(141), "{ctx}: {e}");
                    assert!(!e.contains("stdout"), "{ctx}: a message: {e}");
                }
                (_, false) => assert_eq!(o.status.code(), base.status.code(), "{ctx}: {e}"),
            }
        }
        // stderr full: the status of the normal run, no panic.
        let o = (w.make)()
            .stdout(Stdio::null())
            .stderr(dev_full())
            .output()
            .unwrap();
        let ctx = format!("{ctx} [stderr=/dev/full]");
        assert!(
            !matches!(o.status.code(), Some(101) | Some(134) | None),
            "{ctx}: status {:?}",
            o.status
        );
        assert_eq!(o.status.code(), base.status.code(), "{ctx}");
        runs += 4;
    }
    runs
}

fn cmd(prog: &str, args: &[String]) -> Command {
    let mut c = Command::new(bin(prog));
    c.args(args);
    c
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn every_subcommand_survives_a_full_or_closed_stdout_and_a_full_stderr() {
    let c = start();
    let d = Device::new(None, 3);
    let id = d.enroll(&c);
    let (code, v) = d.attest_online(&c);
    assert_eq!(code, 200, "{v}");
    d.spool();
    let bundle = d.export(false);
    let victim = Device::new(None, 1).enroll(&c);
    let root = d.tree.root_str();
    let state = s(&d.state);
    let work = tempfile::tempdir().unwrap();
    let wp = work.path().to_path_buf();
    let pem = wp.join("device.pem");
    let token = d.token(None, false);
    {
        let o = fieldattest(&["identity", "--state-dir", &state]);
        let t = String::from_utf8(o.stdout).unwrap();
        fs::write(&pem, &t[t.find("-----BEGIN").unwrap()..]).unwrap();
    }
    let cfg = wp.join("agent.toml");
    fs::write(
        &cfg,
        format!(
            "[scan]\nroot = {root:?}\ncred_budget_ms = 100\n[state]\ndir = {:?}\n",
            s(&wp.join("run-state"))
        ),
    )
    .unwrap();
    let catalog = wp.join("catalog.json");
    fs::write(&catalog, fieldattest(&["rules", "--format", "json"]).stdout).unwrap();
    let osv = wp.join("osv.json");
    fs::write(
        &osv,
        serde_json::json!({
            "id": "DEBIAN-CVE-2099-0001", "modified": "2024-05-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "pkg0"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]}],
        })
        .to_string(),
    )
    .unwrap();

    // ---- the agent
    let a = |word: &'static str, prints: bool, args: Vec<String>| Walk {
        word,
        label: args.join(" "),
        prints,
        make: Box::new(move || cmd("fieldattest", &args)),
    };
    let url = c.url("");
    let ca = s(&c.dir.path().join("ca.pem"));
    let enroll = {
        let (db, wp) = (c.db(), wp.clone());
        Walk {
            word: "enroll",
            label: "enroll --collector URL --ca CA --token SECRET --state-dir FRESH".into(),
            prints: true,
            make: Box::new(move || {
                // A fresh secret and state directory each time (single use).
                let o = Command::new(bin("fieldattest-collector"))
                    .args(["enroll-token", "--site", "walk", "--db"])
                    .arg(&db)
                    .output()
                    .unwrap();
                let secret = String::from_utf8(o.stdout).unwrap().trim().to_string();
                let st = wp.join(format!("enroll-{}", counter()));
                cmd(
                    "fieldattest",
                    &strs(&[
                        "enroll",
                        "--collector",
                        &url,
                        "--ca",
                        &ca,
                        "--token",
                        &secret,
                        "--state-dir",
                        &s(&st),
                    ]),
                )
            }),
        }
    };
    let commit = {
        let state = state.clone();
        Walk {
            word: "rotate",
            label: "rotate --commit (after rotate --nonce)".into(),
            prints: false,
            make: Box::new(move || {
                let o = fieldattest(&["rotate", "--nonce", NONCE, "--state-dir", &state]);
                assert!(o.status.success(), "{}", stderr_of(&o));
                cmd(
                    "fieldattest",
                    &strs(&["rotate", "--commit", "--state-dir", &state]),
                )
            }),
        }
    };
    let agent_cases = vec![
        a("scan", true, strs(&["scan", "--root", &root])),
        a(
            "scan",
            true,
            strs(&["scan", "--root", &root, "--format", "json"]),
        ),
        a(
            "scan",
            true,
            strs(&["scan", "--root", &root, "--format", "cyclonedx"]),
        ),
        a("scan", true, strs(&["scan", "--help"])),
        a(
            "attest",
            true,
            strs(&["attest", "--root", &root, "--state-dir", &state]),
        ),
        a(
            "attest",
            true,
            strs(&[
                "attest",
                "--enrollment",
                "--nonce",
                NONCE,
                "--state-dir",
                &state,
            ]),
        ),
        a(
            "attest",
            false,
            strs(&["attest", "--spool", "--root", &root, "--state-dir", &state]),
        ),
        a(
            "export",
            false,
            strs(&[
                "export",
                "--out",
                &s(&wp.join("export")),
                "--state-dir",
                &state,
            ]),
        ),
        a(
            "rotate",
            true,
            strs(&["rotate", "--nonce", NONCE, "--state-dir", &state]),
        ),
        a("identity", true, strs(&["identity", "--state-dir", &state])),
        a(
            "run",
            true,
            strs(&["run", "--check-config", "--config", &s(&cfg)]),
        ),
        a("run", false, strs(&["run", "--once", "--config", &s(&cfg)])),
        enroll,
        a(
            "verify",
            true,
            strs(&["verify", "--key", &s(&pem), &s(&token)]),
        ),
        a("rules", true, strs(&["rules"])),
        a("rules", true, strs(&["rules", "--format", "json"])),
        a("rules", true, strs(&["rules", "--help"])),
        a("--help", true, strs(&["--help"])),
        a("--version", true, strs(&["--version"])),
        a("(usage error)", false, strs(&[])),
        a("(usage error)", false, strs(&["no-such-command"])),
        // Last: it changes the device key the verify case above uses.
        commit,
    ];
    let help = String::from_utf8(fieldattest(&["--help"]).stdout).unwrap();
    let mut want = usage_commands("fieldattest", &help);
    want.insert("--version".into());
    let walked: BTreeSet<String> = agent_cases.iter().map(|w| w.word.to_string()).collect();
    let missing: Vec<&String> = want.difference(&walked).collect();
    assert!(
        missing.is_empty(),
        "fieldattest subcommands not walked: {missing:?}"
    );
    assert!(want.len() >= 11, "usage parsed: {want:?}");
    let n = walk("fieldattest", &agent_cases);
    println!("fieldattest: {} cases, {n} runs", agent_cases.len());

    // ---- the collector
    let db = s(&c.db());
    let k = |word: &'static str, prints: bool, args: Vec<String>| {
        let mut full = args.clone();
        full.extend(["--db".to_string(), db.clone()]);
        Walk {
            word,
            label: args.join(" "),
            prints,
            make: Box::new(move || cmd("fieldattest-collector", &full)),
        }
    };
    let id_s = id.to_string();
    let mut col_cases = vec![
        k(
            "enroll-token",
            true,
            strs(&["enroll-token", "--site", "walk"]),
        ),
        k("approve", true, strs(&["approve", &id_s])),
        k("revoke", true, strs(&["revoke", &victim.to_string()])),
        k("devices", true, strs(&["devices"])),
        k("devices", true, strs(&["devices", "--format", "json"])),
        k("devices", true, strs(&["devices", "--format", "csv"])),
        k("fleet", true, strs(&["fleet"])),
        k("fleet", true, strs(&["fleet", "--format", "json"])),
        k("audit", true, strs(&["audit"])),
        k("audit", true, strs(&["audit", "--format", "csv"])),
        k("device", true, strs(&["device", &id_s])),
        k("findings", true, strs(&["findings"])),
        k("findings", true, strs(&["findings", "--format", "csv"])),
        k("import", true, strs(&["import", &s(&bundle)])),
        k(
            "import",
            true,
            strs(&["import", &s(&bundle), "--format", "json"]),
        ),
        k("vulndb", true, strs(&["vulndb", "import", &s(&osv)])),
        k("vulns", true, strs(&["vulns"])),
        k("vulns", true, strs(&["vulns", "--format", "json"])),
        k("vulns", true, strs(&["vulns", "--format", "csv"])),
        k(
            "vex",
            true,
            strs(&[
                "vex",
                "set",
                "DEBIAN-CVE-2099-0001",
                "--status",
                "under_investigation",
            ]),
        ),
        k("vex", true, strs(&["vex", "export"])),
        k("report", true, strs(&["report", &id_s, "--format", "json"])),
        k(
            "report",
            true,
            strs(&["report", "--fleet", "--format", "html"]),
        ),
        k("catalog", true, strs(&["catalog", "import", &s(&catalog)])),
        k("catalog", true, strs(&["catalog", "list"])),
        k("--help", true, strs(&["--help"])),
        k("--version", true, strs(&["--version"])),
        k("(usage error)", false, strs(&["no-such-command"])),
        k(
            "(usage error)",
            false,
            strs(&["devices", "--no-such-option"]),
        ),
    ];
    // Every subcommand's own --help prints too.
    for w in usage_commands(
        "fieldattest-collector",
        &String::from_utf8(
            Command::new(bin("fieldattest-collector"))
                .arg("--help")
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap(),
    ) {
        let w: &'static str = Box::leak(w.into_boxed_str());
        col_cases.push(k(w, true, strs(&[w, "--help"])));
    }
    // vulns must print something: import the advisory first.
    let o = Command::new(bin("fieldattest-collector"))
        .args(["vulndb", "import", &s(&osv), "--db", &db])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr_of(&o));
    col_cases.push(Walk {
        word: "(no arguments)",
        label: "(no arguments)".into(),
        prints: false,
        make: Box::new(|| cmd("fieldattest-collector", &[])),
    });
    let help = String::from_utf8(
        Command::new(bin("fieldattest-collector"))
            .arg("--help")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let mut want = usage_commands("fieldattest-collector", &help);
    want.insert("--help".into());
    want.insert("--version".into());
    let mut walked: BTreeSet<String> = col_cases.iter().map(|w| w.word.to_string()).collect();
    walked.insert("serve".into()); // below
    let missing: Vec<&String> = want.difference(&walked).collect();
    assert!(
        missing.is_empty(),
        "collector subcommands not walked: {missing:?}"
    );
    assert!(want.len() >= 16, "usage parsed: {want:?}");
    let n = walk("fieldattest-collector", &col_cases);
    println!(
        "fieldattest-collector: {} cases, {n} runs (+ serve x3)",
        col_cases.len()
    );

    // `--output /dev/stdout` with stdout a pipe (a /proc link whose text is
    // `pipe:[N]`, no path): written through the pipe, for every option.
    let through_stdout: Vec<(&str, Command)> = vec![
        (
            "scan --output",
            cmd(
                "fieldattest",
                &strs(&[
                    "scan",
                    "--root",
                    &root,
                    "--format",
                    "json",
                    "--output",
                    "/dev/stdout",
                ]),
            ),
        ),
        (
            "attest --sbom-out",
            cmd(
                "fieldattest",
                &strs(&[
                    "attest",
                    "--root",
                    &root,
                    "--state-dir",
                    &state,
                    "--out",
                    &s(&wp.join("t.cwt")),
                    "--sbom-out",
                    "/dev/stdout",
                ]),
            ),
        ),
        (
            "report --output",
            cmd(
                "fieldattest-collector",
                &strs(&[
                    "report",
                    &id_s,
                    "--format",
                    "json",
                    "--db",
                    &db,
                    "--output",
                    "/dev/stdout",
                ]),
            ),
        ),
    ];
    for (what, mut c) in through_stdout {
        let o = c.output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{what} /dev/stdout: {}",
            stderr_of(&o)
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{what} /dev/stdout: not JSON ({e}): {}", stderr_of(&o)));
        assert!(v.is_object(), "{what}");
    }

    // serve prints only to stderr and runs until stopped: it must come up
    // with stdout full or closed, and keep running with stderr full.
    let serve = |stdout: Stdio, stderr: Stdio| {
        Command::new(bin("fieldattest-collector"))
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(wp.join("serve.db"))
            .arg("--cert")
            .arg(c.dir.path().join("srv.pem"))
            .arg("--key")
            .arg(c.dir.path().join("srv.key"))
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap()
    };
    for (stdout, name) in [(dev_full(), "/dev/full"), (closed_pipe(), "closed pipe")] {
        let mut child = serve(stdout, Stdio::piped());
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stderr.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert!(
            line.contains("listening on https://127.0.0.1:"),
            "serve, stdout {name}: {line}"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "serve, stdout {name}: exited"
        );
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let mut child = serve(Stdio::null(), dev_full());
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "serve with stderr=/dev/full exited: {:?}",
        child.try_wait()
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
