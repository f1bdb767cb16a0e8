//! Listening sockets with their owning processes (`inventory.listening`),
//! live mode only: `/proc/net/{tcp,tcp6,udp,udp6}` through
//! [`Ctx::listeners`], owners from `/proc/<pid>/fd`, and the installed
//! package owning each owner's executable (`/proc/<pid>/exe`) from the
//! package databases' file lists: dpkg `var/lib/dpkg/info/*.list`, opkg
//! `{var,usr}/lib/opkg/info/*.list`, apk `lib/apk/db/installed` (`F:`/`R:`).
//! rpm keeps its file lists inside the database (Berkeley DB or SQLite
//! blobs): its listeners carry no package.

use crate::parse::services::Listener;
use crate::rules::Ctx;
use fieldattest_protocol::report::Listening;
use std::collections::{HashMap, HashSet};

/// The process owning a socket: its display name (`comm (pid N)`) and pid.
struct Owner {
    display: String,
    pid: String,
}

fn socket_pids(ctx: &Ctx) -> HashMap<u64, Owner> {
    let mut out = HashMap::new();
    for e in ctx.root.read_dir("/proc").unwrap_or_default() {
        let pid = e.name.to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let comm = ctx
            .root
            .read_limited(format!("/proc/{pid}/comm"), 256)
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .unwrap_or_default();
        for fd in ctx
            .root
            .read_dir(format!("/proc/{pid}/fd"))
            .unwrap_or_default()
        {
            if let Ok(t) = ctx
                .root
                .read_link(format!("/proc/{pid}/fd/{}", fd.name.to_string_lossy()))
            {
                let t = t.to_string_lossy();
                if let Some(inode) = t
                    .strip_prefix("socket:[")
                    .and_then(|r| r.strip_suffix(']'))
                    .and_then(|n| n.parse().ok())
                {
                    out.entry(inode).or_insert_with(|| Owner {
                        display: format!("{comm} (pid {pid})"),
                        pid: pid.clone(),
                    });
                }
            }
        }
    }
    out
}

/// Maps socket inodes to the owning process name via `/proc/<pid>/fd`.
pub fn socket_owners(ctx: &Ctx) -> HashMap<u64, String> {
    socket_pids(ctx)
        .into_iter()
        .map(|(inode, o)| (inode, o.display))
        .collect()
}

/// Directories of dpkg and opkg file lists (`<package>.list`, one path a line).
pub const LIST_DIRS: [&str; 3] = [
    "/var/lib/dpkg/info",
    "/var/lib/opkg/info",
    "/usr/lib/opkg/info",
];
/// The apk database (packages `P:`, directories `F:`, files `R:`).
pub const APK_INSTALLED: &str = super::apk::INSTALLED;
/// Most file lists read in one scan, and the largest one read.
pub const MAX_LIST_FILES: usize = 20_000;
pub const MAX_LIST_BYTES: u64 = 16 * 1024 * 1024;
/// The largest apk database read.
pub const MAX_APK_BYTES: u64 = 64 * 1024 * 1024;

/// The path an executable is listed under: `/proc/<pid>/exe` without the
/// kernel's ` (deleted)` mark (a binary replaced by an upgrade still belongs
/// to its package).
fn exe_path(ctx: &Ctx, pid: &str) -> Option<String> {
    let t = ctx.root.read_link(format!("/proc/{pid}/exe")).ok()?;
    let t = t.to_string_lossy();
    let t = t.strip_suffix(" (deleted)").unwrap_or(&t);
    t.starts_with('/').then(|| t.to_string())
}

/// The spellings of a path a package database may list: the path itself and,
/// on a merged-/usr system (`/bin` → `/usr/bin`), its other form.
fn spellings(path: &str) -> Vec<String> {
    let mut v = vec![path.to_string()];
    for d in ["/bin/", "/sbin/", "/lib/", "/lib64/"] {
        if let Some(rest) = path.strip_prefix("/usr").filter(|r| r.starts_with(d)) {
            v.push(rest.to_string());
        } else if path.starts_with(d) {
            v.push(format!("/usr{path}"));
        }
    }
    v
}

/// The owners of `wanted` paths, from the package databases' file lists:
/// one bounded pass over them per scan, keeping only the paths asked for.
pub fn package_owners(ctx: &Ctx, wanted: &HashSet<String>) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::new();
    if wanted.is_empty() {
        return out;
    }
    let mut files = 0usize;
    for dir in LIST_DIRS {
        let mut ents = ctx.root.read_dir(dir).unwrap_or_default();
        ents.sort_by(|a, b| a.name.cmp(&b.name));
        for e in ents {
            let name = e.name.to_string_lossy();
            let Some(pkg) = name.strip_suffix(".list") else {
                continue;
            };
            files += 1;
            if files > MAX_LIST_FILES {
                return out;
            }
            // dpkg names Multi-Arch: same packages' lists `name:arch.list`.
            let pkg = pkg.split(':').next().unwrap_or(pkg);
            let Ok(b) = ctx
                .root
                .read_limited(format!("{dir}/{name}"), MAX_LIST_BYTES)
            else {
                continue;
            };
            for line in String::from_utf8_lossy(&b).lines() {
                // opkg lists may carry a tab and the file's mode after the path.
                let path = line.split('\t').next().unwrap_or(line).trim_end();
                if wanted.contains(path) && !out.contains_key(path) {
                    out.insert(path.to_string(), pkg.to_string());
                }
            }
        }
    }
    if let Ok(b) = ctx.root.read_limited(APK_INSTALLED, MAX_APK_BYTES) {
        let (mut pkg, mut dir) = (String::new(), String::new());
        for line in String::from_utf8_lossy(&b).lines() {
            if line.is_empty() {
                (pkg, dir) = (String::new(), String::new());
            } else if let Some(p) = line.strip_prefix("P:") {
                pkg = p.to_string();
            } else if let Some(d) = line.strip_prefix("F:") {
                dir = d.to_string();
            } else if let Some(f) = line.strip_prefix("R:") {
                let path = format!("/{dir}/{f}");
                if !pkg.is_empty() && wanted.contains(&path) && !out.contains_key(&path) {
                    out.insert(path, pkg.clone());
                }
            }
        }
    }
    out
}

/// Listeners with owners and their packages, for `inventory.listening`
/// (empty in image mode).
pub fn inventory(ctx: &Ctx) -> Vec<Listening> {
    let l = ctx.listeners();
    if l.is_empty() {
        return Vec::new();
    }
    let owners = socket_pids(ctx);
    // The executables of the owning processes, then their packages: one
    // pass over the file lists for all of them.
    let exes: HashMap<&str, Vec<String>> = owners
        .values()
        .filter_map(|o| Some((o.pid.as_str(), spellings(&exe_path(ctx, &o.pid)?))))
        .collect();
    let wanted: HashSet<String> = exes.values().flatten().cloned().collect();
    let packages = package_owners(ctx, &wanted);
    let package_of = |pid: &str| exes.get(pid)?.iter().find_map(|p| packages.get(p)).cloned();
    let mut v: Vec<Listening> = l
        .iter()
        .map(|x: &Listener| {
            let owner = owners.get(&x.inode);
            Listening {
                proto: x.proto.to_string(),
                addr: x.addr.clone(),
                port: x.port,
                process: owner.map(|o| o.display.clone()),
                package: owner.and_then(|o| package_of(&o.pid)),
            }
        })
        .collect();
    v.sort_by(|a, b| (a.port, &a.proto, &a.addr).cmp(&(b.port, &b.proto, &b.addr)));
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::inventory;
    use crate::rules::testutil::T;
    use crate::rules::Ctx;

    /// `/proc/net/tcp` with a listener on 0.0.0.0:502 (inode 4242) and an
    /// established connection, which is not a listener.
    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:01F6 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:01F6 0100007F:A000 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 100 0 0 10 0\n";

    fn fixture() -> T {
        let t = T::new();
        t.file("proc/net/tcp", TCP)
            .file("proc/77/comm", "modbusd\n");
        std::fs::create_dir_all(t.dir.path().join("proc/77/fd")).unwrap();
        std::os::unix::fs::symlink("socket:[4242]", t.dir.path().join("proc/77/fd/3")).unwrap();
        t
    }

    #[test]
    fn listeners_with_their_owners_in_live_mode() {
        let t = fixture();
        let root = t.root();
        let ctx = Ctx::new(&root, true, 2, &[], 20_000);
        let inv = inventory(&ctx);
        assert_eq!(inv.len(), 1, "{inv:?}");
        assert_eq!(
            (inv[0].proto.as_str(), inv[0].addr.as_str(), inv[0].port),
            ("tcp", "0.0.0.0", 502)
        );
        assert_eq!(inv[0].process.as_deref(), Some("modbusd (pid 77)"));
    }

    /// The fixture with modbusd's executable at `exe` (a `/proc/77/exe` link).
    fn with_exe(exe: &str) -> T {
        let t = fixture();
        std::os::unix::fs::symlink(exe, t.dir.path().join("proc/77/exe")).unwrap();
        t
    }

    fn package_of(t: &T) -> Option<String> {
        let root = t.root();
        let ctx = Ctx::new(&root, true, 2, &[], 20_000);
        let inv = inventory(&ctx);
        assert_eq!(inv.len(), 1, "{inv:?}");
        inv[0].package.clone()
    }

    #[test]
    fn a_listener_carries_the_package_owning_its_executable() {
        // dpkg: `name:arch.list` for Multi-Arch: same packages; a merged-/usr
        // system runs /usr/sbin/modbusd that the list names /sbin/modbusd.
        let t = with_exe("/usr/sbin/modbusd");
        t.file(
            "var/lib/dpkg/info/libmodbus5:arm64.list",
            "/.\n/usr/lib/libmodbus.so.5\n",
        )
        .file(
            "var/lib/dpkg/info/modbus-server.list",
            "/.\n/sbin\n/sbin/modbusd\n",
        );
        assert_eq!(package_of(&t).as_deref(), Some("modbus-server"));
        let t = with_exe("/usr/sbin/modbusd");
        t.file(
            "var/lib/dpkg/info/modbus-server:armhf.list",
            "/usr/sbin/modbusd\n",
        );
        assert_eq!(package_of(&t).as_deref(), Some("modbus-server"));
        // opkg (Yocto, OpenWrt): usr/lib or var/lib, a tab and mode after the path.
        let t = with_exe("/usr/bin/modbusd (deleted)");
        t.file(
            "usr/lib/opkg/info/plc-runtime.list",
            "/usr/bin/modbusd\t0755\n/etc/plc.conf\n",
        );
        assert_eq!(package_of(&t).as_deref(), Some("plc-runtime"));
        let t = with_exe("/usr/bin/modbusd");
        t.file("var/lib/opkg/info/plc-runtime.list", "/usr/bin/modbusd\n");
        assert_eq!(package_of(&t).as_deref(), Some("plc-runtime"));
        // apk: directory `F:` then its files `R:`, per package `P:`.
        let t = with_exe("/usr/sbin/modbusd");
        t.file(
            "lib/apk/db/installed",
            "P:musl\nV:1.2.4-r2\nF:usr/sbin\nR:other\n\nP:modbusd\nV:1.0-r0\nF:etc\nR:modbusd\nF:usr/sbin\nR:modbusd\n",
        );
        assert_eq!(package_of(&t).as_deref(), Some("modbusd"));
    }

    #[test]
    fn no_package_when_no_list_names_the_executable() {
        // No package database, an executable no list names, a relative or
        // missing exe link, an unreadable (too large) list.
        let t = with_exe("/usr/sbin/modbusd");
        assert_eq!(package_of(&t), None);
        t.file(
            "var/lib/dpkg/info/other.list",
            "/usr/sbin/modbusd2\n/usr/sbin\n",
        )
        .file("lib/apk/db/installed", "P:x\nF:usr/sbin\nR:modbusd2\n");
        assert_eq!(package_of(&t), None);
        let t = with_exe("modbusd");
        t.file("var/lib/dpkg/info/m.list", "modbusd\n");
        assert_eq!(package_of(&t), None);
        let t = fixture();
        t.file("var/lib/dpkg/info/m.list", "/usr/sbin/modbusd\n");
        assert_eq!(package_of(&t), None);
        let t = with_exe("/usr/sbin/modbusd");
        let big = format!(
            "/usr/sbin/modbusd\n{}",
            "x".repeat(super::MAX_LIST_BYTES as usize)
        );
        t.file("var/lib/dpkg/info/m.list", &big);
        assert_eq!(package_of(&t), None);
    }

    #[test]
    fn merged_usr_spellings() {
        assert_eq!(super::spellings("/usr/sbin/x"), ["/usr/sbin/x", "/sbin/x"]);
        assert_eq!(super::spellings("/bin/x"), ["/bin/x", "/usr/bin/x"]);
        assert_eq!(super::spellings("/opt/x"), ["/opt/x"]);
        assert_eq!(super::spellings("/usr/libexec/x"), ["/usr/libexec/x"]);
    }

    #[test]
    fn nothing_listed_in_image_mode() {
        let t = fixture();
        let root = t.root();
        let ctx = Ctx::new(&root, false, 2, &[], 20_000);
        assert!(inventory(&ctx).is_empty());
    }
}
