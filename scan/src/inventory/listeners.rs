//! Listening sockets with their owning processes (`inventory.listening`),
//! live mode only: `/proc/net/{tcp,tcp6,udp,udp6}` through
//! [`Ctx::listeners`], owners from `/proc/<pid>/fd`.

use crate::parse::services::Listener;
use crate::rules::Ctx;
use fieldattest_protocol::report::Listening;
use std::collections::HashMap;

/// Maps socket inodes to the owning process name via `/proc/<pid>/fd`.
pub fn socket_owners(ctx: &Ctx) -> HashMap<u64, String> {
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
                    out.entry(inode)
                        .or_insert_with(|| format!("{comm} (pid {pid})"));
                }
            }
        }
    }
    out
}

/// Listeners with owners, for `inventory.listening` (empty in image mode).
pub fn inventory(ctx: &Ctx) -> Vec<Listening> {
    let l = ctx.listeners();
    if l.is_empty() {
        return Vec::new();
    }
    let owners = socket_owners(ctx);
    let mut v: Vec<Listening> = l
        .iter()
        .map(|x: &Listener| Listening {
            proto: x.proto.to_string(),
            addr: x.addr.clone(),
            port: x.port,
            process: owners.get(&x.inode).cloned(),
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

    #[test]
    fn nothing_listed_in_image_mode() {
        let t = fixture();
        let root = t.root();
        let ctx = Ctx::new(&root, false, 2, &[], 20_000);
        assert!(inventory(&ctx).is_empty());
    }
}
