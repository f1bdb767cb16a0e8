//! Device identity: `os-release(5)`, hostname, kernel release and machine,
//! loaded kernel modules (live mode only).

use crate::root::{EntryKind, RootFs};
use fieldattest_protocol::report::{InventoryError, KernelInfo, OsInfo};

pub const OS_RELEASE: [&str; 2] = ["/etc/os-release", "/usr/lib/os-release"];

/// Parses os-release text: `KEY=value` with shell-style quoting. Lines that are
/// not assignments are returned as (line, message) errors; the rest still count.
pub fn parse_os_release(text: &str) -> (OsInfo, Vec<(u64, String)>) {
    let mut os = OsInfo::default();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            errors.push((i as u64 + 1, format!("expected KEY=value, found {line:?}")));
            continue;
        };
        let v = match unquote(v) {
            Ok(v) => v,
            Err(m) => {
                errors.push((i as u64 + 1, m));
                continue;
            }
        };
        let slot = match k {
            "ID" => &mut os.id,
            "NAME" => &mut os.name,
            "VERSION" => &mut os.version,
            "VERSION_ID" => &mut os.version_id,
            "VERSION_CODENAME" => &mut os.version_codename,
            "PRETTY_NAME" => &mut os.pretty_name,
            "BUILD_ID" => &mut os.build_id,
            "VARIANT_ID" => &mut os.variant_id,
            "ID_LIKE" => {
                os.id_like = v.split_whitespace().map(str::to_string).collect();
                continue;
            }
            _ => continue,
        };
        *slot = Some(v).filter(|v| !v.is_empty());
    }
    (os, errors)
}

fn unquote(v: &str) -> Result<String, String> {
    let v = v.trim();
    let Some(q) = v.chars().next().filter(|c| *c == '"' || *c == '\'') else {
        return Ok(v.to_string());
    };
    let inner = &v[1..];
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == q {
            return Ok(out);
        }
        if c == '\\' && q == '"' {
            match chars.next() {
                Some(n @ ('"' | '\\' | '$' | '`')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => break,
            }
        } else {
            out.push(c);
        }
    }
    Err(format!("unterminated {q} quote"))
}

/// Reads os-release from the root (`/etc` first, `/usr/lib` fallback).
pub fn read_os(root: &RootFs, errors: &mut Vec<InventoryError>) -> OsInfo {
    for path in OS_RELEASE {
        match root.read(path) {
            Ok(bytes) => {
                let (mut os, errs) = parse_os_release(&String::from_utf8_lossy(&bytes));
                for (line, message) in errs {
                    errors.push(InventoryError {
                        source: "os-release".into(),
                        path: path.into(),
                        line: Some(line),
                        message,
                    });
                }
                os.path = Some(path.into());
                return os;
            }
            Err(e) if e.is_not_found() => continue,
            Err(e) => errors.push(InventoryError {
                source: "os-release".into(),
                path: path.into(),
                line: None,
                message: e.to_string(),
            }),
        }
    }
    OsInfo::default()
}

/// Hostname: the kernel's in live mode, `/etc/hostname` in an image.
pub fn read_hostname(root: &RootFs, live: bool) -> Option<String> {
    let path = if live {
        "/proc/sys/kernel/hostname"
    } else {
        "/etc/hostname"
    };
    let bytes = root.read_limited(path, 4096).ok()?;
    String::from_utf8_lossy(&bytes)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
}

/// Compares kernel release strings numerically where they are numeric.
fn release_key(r: &str) -> Vec<u64> {
    r.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap_or(0))
        .collect()
}

/// Kernel module trees installed in the image (`lib/modules/<release>`).
pub fn installed_kernels(root: &RootFs) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for dir in ["/lib/modules", "/usr/lib/modules"] {
        if let Ok(ents) = root.read_dir(dir) {
            for e in ents {
                let name = e.name.to_string_lossy().into_owned();
                let is_dir = e.kind == EntryKind::Dir || root.is_dir(format!("{dir}/{name}"));
                if is_dir && name.starts_with(|c: char| c.is_ascii_digit()) && !out.contains(&name)
                {
                    out.push(name);
                }
            }
        }
    }
    out.sort_by_key(|r| release_key(r));
    out
}

/// `uname -m`-style machine from an ELF header's `e_machine` and class.
pub fn elf_machine(header: &[u8]) -> Option<&'static str> {
    if header.len() < 20 || &header[..4] != b"\x7fELF" {
        return None;
    }
    let class64 = header[4] == 2;
    let m = match header[5] {
        1 => u16::from_le_bytes([header[18], header[19]]),
        2 => u16::from_be_bytes([header[18], header[19]]),
        _ => return None,
    };
    Some(match (m, class64) {
        (3, _) => "i686",
        (8, false) => "mips",
        (8, true) => "mips64",
        (20, _) => "ppc",
        (21, _) => "ppc64",
        (40, _) => "arm",
        (62, _) => "x86_64",
        (183, _) => "aarch64",
        (243, true) => "riscv64",
        (243, false) => "riscv32",
        _ => return None,
    })
}

/// Kernel release and machine. Live: the running kernel. Image: the newest
/// module tree, and the machine from the ELF header of the image's shell.
pub fn read_kernel(root: &RootFs, live: bool) -> KernelInfo {
    let installed = installed_kernels(root);
    let mut k = KernelInfo::default();
    if live {
        if let Ok(b) = root.read_limited("/proc/sys/kernel/osrelease", 4096) {
            k.release = Some(String::from_utf8_lossy(&b).trim().to_string());
        }
        k.machine = root
            .read_limited("/proc/sys/kernel/arch", 4096)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .or_else(|| Some(std::env::consts::ARCH.to_string()));
        k.source = Some("proc".into());
    } else {
        k.release = installed.last().cloned();
        for bin in [
            "/bin/sh",
            "/bin/busybox",
            "/sbin/init",
            "/usr/bin/env",
            "/bin/ls",
        ] {
            if let Ok((mut f, _)) = root.open(bin) {
                let mut h = [0u8; 20];
                if std::io::Read::read_exact(&mut f, &mut h).is_ok() {
                    if let Some(m) = elf_machine(&h) {
                        k.machine = Some(m.into());
                        break;
                    }
                }
            }
        }
        k.source = Some(
            if k.release.is_some() {
                "lib/modules"
            } else {
                "elf-header"
            }
            .into(),
        );
    }
    k.releases_installed = installed;
    k
}

/// Names of loaded modules from `/proc/modules` text.
pub fn parse_proc_modules(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_debian_and_yocto_os_release() {
        let (os, e) = parse_os_release(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n",
        );
        assert!(e.is_empty());
        assert_eq!(os.id.as_deref(), Some("debian"));
        assert_eq!(os.version_id.as_deref(), Some("12"));
        assert_eq!(
            os.pretty_name.as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        let (os, _) = parse_os_release(
            "ID=poky\nNAME=\"Poky (Yocto Project Reference Distro)\"\nVERSION=\"5.0.4 (scarthgap)\"\nVERSION_ID=5.0.4\nBUILD_ID='20241010 build'\nID_LIKE=\"oe openembedded\"\nPRETTY_NAME=\"a \\\"q\\\" b\"\n",
        );
        assert_eq!(os.build_id.as_deref(), Some("20241010 build"));
        assert_eq!(os.id_like, ["oe", "openembedded"]);
        assert_eq!(os.pretty_name.as_deref(), Some("a \"q\" b"));
    }

    #[test]
    fn bad_lines_are_named() {
        let (os, e) = parse_os_release("ID=x\ngarbage\nNAME=\"open\n");
        assert_eq!(os.id.as_deref(), Some("x"));
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].0, 2);
        assert_eq!(e[1].0, 3);
        assert!(e[1].1.contains("unterminated"));
    }

    #[test]
    fn elf_machines() {
        let mut h = [0u8; 20];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 2;
        h[5] = 1;
        h[18] = 183;
        assert_eq!(elf_machine(&h), Some("aarch64"));
        h[4] = 1;
        h[18] = 40;
        assert_eq!(elf_machine(&h), Some("arm"));
        assert_eq!(elf_machine(b"#!/bin/sh\n0123456789"), None);
    }

    #[test]
    fn proc_modules() {
        let m = parse_proc_modules("nf_tables 376832 0 - Live 0x0\next4 1064960 1 - Live 0x0\n");
        assert_eq!(m, ["ext4", "nf_tables"]);
    }

    #[test]
    fn release_ordering_is_numeric() {
        let mut v = vec![
            "6.1.0-9-arm64".to_string(),
            "6.1.0-10-arm64".to_string(),
            "5.15.0".to_string(),
        ];
        v.sort_by_key(|r| release_key(r));
        assert_eq!(v, ["5.15.0", "6.1.0-9-arm64", "6.1.0-10-arm64"]);
    }
}
