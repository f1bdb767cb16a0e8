//! How services get started on embedded Linux, as data: systemd unit
//! enablement (`*.wants/` links), SysV rc links, `/etc/inittab` (SysV and
//! BusyBox syntax), inetd and xinetd; and `/proc/net/{tcp,udp}` listeners.

use super::{content_lines, LineError};

/// `/etc/inittab` entry: `id:runlevels:action:process` (BusyBox: `tty::action:process`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InittabEntry {
    pub line: u64,
    pub id: String,
    pub runlevels: String,
    pub action: String,
    pub process: String,
}

pub fn parse_inittab(text: &str) -> (Vec<InittabEntry>, Vec<LineError>) {
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for (line, l) in content_lines(text) {
        let f: Vec<&str> = l.splitn(4, ':').collect();
        if f.len() != 4 {
            errs.push(LineError::new(
                line,
                "expected 'id:runlevels:action:process'",
            ));
            continue;
        }
        out.push(InittabEntry {
            line,
            id: f[0].trim().to_string(),
            runlevels: f[1].trim().to_string(),
            action: f[2].trim().to_string(),
            process: f[3].trim().to_string(),
        });
    }
    (out, errs)
}

/// An active `inetd.conf` service line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InetdService {
    pub line: u64,
    pub service: String,
    pub proto: String,
    pub server: String,
}

pub fn parse_inetd(text: &str) -> (Vec<InetdService>, Vec<LineError>) {
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for (line, l) in content_lines(text) {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 6 {
            errs.push(LineError::new(
                line,
                "expected 'service socktype proto wait user server [args]'",
            ));
            continue;
        }
        let server = if f[5] == "internal" {
            "internal".to_string()
        } else {
            f[5..].join(" ")
        };
        out.push(InetdService {
            line,
            service: f[0].to_string(),
            proto: f[2].to_string(),
            server,
        });
    }
    (out, errs)
}

/// xinetd `service NAME { ... }` blocks: (name, enabled, line).
pub fn parse_xinetd(text: &str) -> Vec<(String, bool, u64)> {
    let mut out = Vec::new();
    let mut cur: Option<(String, bool, u64)> = None;
    for (line, l) in content_lines(text) {
        let t = l.trim();
        if let Some(name) = t.strip_prefix("service ") {
            cur = Some((
                name.trim().trim_end_matches('{').trim().to_string(),
                true,
                line,
            ));
        } else if t.starts_with('}') {
            if let Some(c) = cur.take() {
                out.push(c);
            }
        } else if let Some(c) = cur.as_mut() {
            if let Some((k, v)) = t.split_once('=') {
                if k.trim() == "disable" {
                    c.1 = v.trim() != "yes";
                }
            }
        }
    }
    out
}

/// A listening socket from `/proc/net/*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub proto: &'static str,
    pub addr: String,
    pub port: u16,
    pub inode: u64,
}

/// Parses `/proc/net/{tcp,tcp6,udp,udp6}`: TCP sockets in LISTEN (0A), UDP
/// sockets that are unconnected (07).
pub fn parse_proc_net(text: &str, proto: &'static str) -> Vec<Listener> {
    let v6 = proto.ends_with('6');
    let tcp = proto.starts_with("tcp");
    let mut out = Vec::new();
    for l in text.lines().skip(1) {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 10 {
            continue;
        }
        let st = f[3];
        if (tcp && st != "0A") || (!tcp && st != "07") {
            continue;
        }
        let Some((a, p)) = f[1].split_once(':') else {
            continue;
        };
        let Ok(port) = u16::from_str_radix(p, 16) else {
            continue;
        };
        let addr = if v6 { hex_v6(a) } else { hex_v4(a) };
        out.push(Listener {
            proto,
            addr: addr.unwrap_or_else(|| a.to_string()),
            port,
            inode: f[9].parse().unwrap_or(0),
        });
    }
    out
}

fn hex_v4(a: &str) -> Option<String> {
    let n = u32::from_str_radix(a, 16).ok()?;
    let b = n.to_le_bytes();
    Some(format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]))
}

fn hex_v6(a: &str) -> Option<String> {
    if a.len() != 32 {
        return None;
    }
    let mut bytes = [0u8; 16];
    for i in 0..4 {
        let w = u32::from_str_radix(&a[i * 8..i * 8 + 8], 16).ok()?;
        bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    Some(std::net::Ipv6Addr::from(bytes).to_string())
}

/// True for loopback addresses.
pub fn is_loopback(addr: &str) -> bool {
    addr.starts_with("127.") || addr == "::1" || addr.starts_with("::ffff:127.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inittab_sysv_and_busybox() {
        let (e, errs) = parse_inittab("id:2:initdefault:\n::sysinit:/etc/init.d/rcS\nttyS0::respawn:/sbin/getty -L ttyS0 115200 vt100\n::askfirst:-/bin/sh\nbad\n");
        assert_eq!(e.len(), 4);
        assert_eq!(e[2].id, "ttyS0");
        assert_eq!(e[3].process, "-/bin/sh");
        assert_eq!(errs[0].line, 5);
    }

    #[test]
    fn inetd_and_xinetd() {
        let (s, _) = parse_inetd("telnet stream tcp nowait root /usr/sbin/telnetd telnetd\n#ftp stream tcp nowait root /usr/sbin/ftpd ftpd\necho stream tcp nowait root internal\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].service, "telnet");
        let x = parse_xinetd("service tftp\n{\n  disable = no\n  server = /usr/sbin/in.tftpd\n}\nservice rsh\n{\n  disable = yes\n}\n");
        assert_eq!(
            x,
            [("tftp".to_string(), true, 1), ("rsh".to_string(), false, 6)]
        );
    }

    #[test]
    fn proc_net() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:01F6 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000 100 0 0 10 0\n   1: 0100007F:0017 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12346 1\n   2: 0100007F:0017 0100007F:9999 01 00000000:00000000 00:00000000 00000000     0        0 12347 1\n";
        let l = parse_proc_net(tcp, "tcp");
        assert_eq!(l.len(), 2);
        assert_eq!(
            (l[0].addr.as_str(), l[0].port, l[0].inode),
            ("0.0.0.0", 502, 12345)
        );
        assert!(is_loopback(&l[1].addr));
        let tcp6 = "header\n   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 999 1\n";
        let l = parse_proc_net(tcp6, "tcp6");
        assert_eq!(l[0].addr, "::1");
        assert_eq!(l[0].port, 22);
    }
}
