use super::*;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;

struct Fixture {
    _outer: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
}

/// An outer dir holding `root/` and a secret file next to it.
fn fixture() -> Fixture {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("root");
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::write(root.join("etc/passwd"), b"root:x:0:0::/root:/bin/sh\n").unwrap();
    let outside = outer.path().join("secret");
    fs::write(&outside, b"HOST SECRET").unwrap();
    Fixture {
        root,
        outside,
        _outer: outer,
    }
}

#[test]
fn absolute_symlink_resolves_inside_root() {
    let f = fixture();
    fs::write(f.root.join("etc/shadow.real"), b"inside").unwrap();
    // Points at the host's /etc/shadow; inside the root it must mean root/etc/shadow.real.
    symlink("/etc/shadow.real", f.root.join("etc/shadow")).unwrap();
    let r = RootFs::new(&f.root).unwrap();
    assert_eq!(r.read("/etc/shadow").unwrap(), b"inside");
}

#[test]
fn absolute_symlink_to_host_file_is_not_followed_to_host() {
    let f = fixture();
    // The host path exists on the host but not inside the root.
    symlink(&f.outside, f.root.join("etc/shadow")).unwrap();
    let r = RootFs::new(&f.root).unwrap();
    let err = r.read("etc/shadow").unwrap_err();
    assert_eq!(err.kind, FsErrorKind::NotFound, "{err}");
    // And the host's real /etc/shadow is never reachable either.
    symlink("/etc/shadow", f.root.join("etc/shadow2")).unwrap();
    assert!(r.read("etc/shadow2").unwrap_err().is_not_found());
}

#[test]
fn dotdot_symlink_cannot_climb_above_root() {
    let f = fixture();
    symlink("../../../../etc", f.root.join("etc/x")).unwrap();
    symlink("../secret", f.root.join("up")).unwrap();
    let r = RootFs::new(&f.root).unwrap();
    // etc/x -> ../../../../etc clamps at the root: it is the root's etc.
    assert_eq!(
        r.read("etc/x/passwd").unwrap(),
        b"root:x:0:0::/root:/bin/sh\n"
    );
    // up -> ../secret would be the outer secret; clamped it is root/secret (absent).
    assert!(r.read("up").unwrap_err().is_not_found());
    // Plain `..` in the requested path clamps too.
    assert_eq!(
        r.read("../../../etc/passwd").unwrap(),
        b"root:x:0:0::/root:/bin/sh\n"
    );
    assert!(r.read("../secret").unwrap_err().is_not_found());
}

#[test]
fn symlinked_directory_to_host_root_is_confined() {
    let f = fixture();
    symlink("/", f.root.join("hostroot")).unwrap();
    let r = RootFs::new(&f.root).unwrap();
    assert_eq!(
        r.read("hostroot/etc/passwd").unwrap(),
        b"root:x:0:0::/root:/bin/sh\n"
    );
    let names: Vec<_> = r
        .read_dir("hostroot")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(
        names,
        vec![OsString::from("etc"), OsString::from("hostroot")]
    );
}

#[test]
fn link_loops_end_in_an_error() {
    let f = fixture();
    symlink("b", f.root.join("a")).unwrap();
    symlink("a", f.root.join("b")).unwrap();
    symlink("self", f.root.join("self")).unwrap();
    let r = RootFs::new(&f.root).unwrap();
    assert_eq!(r.read("a").unwrap_err().kind, FsErrorKind::SymlinkLoop);
    assert_eq!(r.read("self/x").unwrap_err().kind, FsErrorKind::SymlinkLoop);
    assert!(r
        .read("a")
        .unwrap_err()
        .to_string()
        .contains("symbolic links"));
}

#[test]
fn chain_of_forty_links_resolves_and_forty_one_fails() {
    let f = fixture();
    fs::write(f.root.join("target"), b"t").unwrap();
    let mut prev = "target".to_string();
    for i in 0..41 {
        let name = format!("l{i}");
        symlink(&prev, f.root.join(&name)).unwrap();
        prev = name;
    }
    let r = RootFs::new(&f.root).unwrap();
    assert_eq!(r.read("l39").unwrap(), b"t");
    assert_eq!(r.read("l40").unwrap_err().kind, FsErrorKind::SymlinkLoop);
}

#[test]
fn files_above_the_limit_are_refused() {
    let f = fixture();
    fs::write(f.root.join("big"), vec![b'x'; 4097]).unwrap();
    let r = RootFs::new(&f.root).unwrap().with_max_file(4096);
    let err = r.read("big").unwrap_err();
    assert_eq!(
        err.kind,
        FsErrorKind::TooLarge {
            size: 4097,
            limit: 4096
        }
    );
    assert!(err.to_string().starts_with("/big: 4097 bytes"));
    assert_eq!(r.read_limited("big", 5000).unwrap().len(), 4097);
}

#[test]
fn fifo_and_directories_are_not_read() {
    let f = fixture();
    let fifo = f.root.join("fifo");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(st.success());
    let r = RootFs::new(&f.root).unwrap();
    assert_eq!(
        r.read("fifo").unwrap_err().kind,
        FsErrorKind::NotRegularFile
    );
    assert_eq!(r.read("etc").unwrap_err().kind, FsErrorKind::NotRegularFile);
}

#[test]
fn non_utf8_names_and_contents_do_not_panic() {
    let f = fixture();
    let name = OsStr::from_bytes(b"bad\xff\xfename");
    fs::write(f.root.join("etc").join(name), b"\xff\x00\xfe").unwrap();
    let r = RootFs::new(&f.root).unwrap();
    let ents = r.read_dir("/etc").unwrap();
    assert!(ents.iter().any(|e| e.name == name));
    assert_eq!(
        r.read(Path::new("etc").join(name)).unwrap(),
        b"\xff\x00\xfe"
    );
    let err = r.read(Path::new("etc").join(name).join("x")).unwrap_err();
    assert_eq!(err.kind, FsErrorKind::NotADirectory);
    assert!(
        err.path.starts_with("/etc/bad\u{fffd}\u{fffd}name"),
        "{}",
        err.path
    );
}

#[test]
fn missing_root_and_file_root_are_clear_errors() {
    let f = fixture();
    let e = RootFs::new(&f.root.join("nope")).unwrap_err();
    assert!(e.contains("nope"), "{e}");
    let e = RootFs::new(&f.root.join("etc/passwd")).unwrap_err();
    assert!(e.contains("not a directory"), "{e}");
}

#[test]
fn symlink_metadata_and_read_link_see_the_link_itself() {
    let f = fixture();
    symlink("/etc/passwd", f.root.join("etc/pw")).unwrap();
    let r = RootFs::new(&f.root).unwrap();
    assert_eq!(
        r.symlink_metadata("etc/pw").unwrap().kind,
        EntryKind::Symlink
    );
    assert_eq!(r.metadata("etc/pw").unwrap().kind, EntryKind::File);
    assert_eq!(r.read_link("etc/pw").unwrap(), PathBuf::from("/etc/passwd"));
}

#[test]
fn walk_never_follows_links_out_and_is_bounded() {
    let f = fixture();
    std::fs::create_dir_all(f.outside.parent().unwrap().join("hostdir")).unwrap();
    std::fs::write(f.outside.parent().unwrap().join("hostdir/leak"), b"x").unwrap();
    symlink(
        f.outside.parent().unwrap().join("hostdir"),
        f.root.join("etc/out"),
    )
    .unwrap();
    fs::create_dir_all(f.root.join("proc/1")).unwrap();
    let r = RootFs::new(&f.root).unwrap();
    let mut seen = Vec::new();
    let cut = r.walk("/", &["/proc"], 100, 10, |p, m| {
        seen.push((p.to_string(), m.kind))
    });
    assert!(!cut);
    assert!(seen.contains(&("/etc/out".to_string(), EntryKind::Symlink)));
    assert!(
        !seen
            .iter()
            .any(|(p, _)| p.contains("leak") || p.starts_with("/proc/")),
        "{seen:?}"
    );
    let mut n = 0;
    assert!(r.walk("/", &[], 2, 10, |_, _| n += 1));
    assert_eq!(n, 2);
}

#[test]
fn display_path_is_in_root_absolute() {
    assert_eq!(display_path(Path::new("etc/shadow")), "/etc/shadow");
    assert_eq!(
        display_path(Path::new("/var/lib/dpkg/status")),
        "/var/lib/dpkg/status"
    );
    assert_eq!(display_path(Path::new("")), "/");
}
