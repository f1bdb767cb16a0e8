//! Hardware inventory (HBOM) from the root's `/proc` and `/sys` (present on a
//! live device, empty mount points in an image) and, for images, the
//! device-tree blobs the image carries under `/boot`.
//!
//! Board (device tree model/compatible, or DMI on x86 industrial PCs),
//! SoC/CPU (`/proc/cpuinfo`: ARM implementer/part, or model name), memory
//! (`/proc/meminfo`), storage (`/sys/block`, eMMC CID fields), network
//! interfaces (driver, bus), USB devices, TPM (version), serial ports,
//! watchdogs. Identifying values (MAC addresses, serial numbers, the eMMC
//! product serial) are replaced by a salted HMAC unless the operator opts in.
//! Unreadable or malformed files become inventory errors, never panics.

mod board;
mod cpu;
mod fdt;
mod peripherals;
mod storage;

pub use fdt::fdt_root;

use crate::root::RootFs;
use board::{board, boot_dtbs};
use cpu::{cpu, memory};
use fieldattest_protocol::report::{HardwareComponent, InventoryError};
use hmac::{Hmac, Mac};
use peripherals::{network, serial, tpm, usb, watchdog};
use std::collections::BTreeMap;
use storage::storage;

/// How identifying values are reported.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Report MAC addresses and serial numbers in clear.
    pub reveal_ids: bool,
    /// Device-local salt of the HMAC that stands in for them otherwise.
    pub salt: Vec<u8>,
}

impl Options {
    /// A MAC address or serial number as reported.
    pub fn ident(&self, value: &str) -> String {
        if self.reveal_ids {
            return value.to_string();
        }
        let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.salt)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        m.update(value.as_bytes());
        let d = m.finalize().into_bytes();
        format!("hmac-sha256:{}", &fieldattest_protocol::hex::hex(&d)[..32])
    }
}

/// At most this many entries per directory are looked at.
const MAX_ENTRIES: usize = 256;
/// Size limit of one sysfs/procfs attribute or device-tree blob.
const MAX_ATTR: u64 = 64 * 1024;
const MAX_DTB: u64 = 2 * 1024 * 1024;

struct Ctx<'a> {
    root: &'a RootFs,
    opts: &'a Options,
    out: Vec<HardwareComponent>,
    errors: Vec<InventoryError>,
}

fn comp(kind: &str, name: impl Into<String>, path: impl Into<String>) -> HardwareComponent {
    HardwareComponent {
        kind: kind.into(),
        name: name.into(),
        vendor: None,
        model: None,
        properties: BTreeMap::new(),
        path: path.into(),
    }
}

impl Ctx<'_> {
    /// A text attribute, trimmed (NULs of device-tree strings too); `None`
    /// when absent or empty. Other read failures are recorded.
    fn attr(&mut self, path: &str) -> Option<String> {
        match self.root.read_limited(path, MAX_ATTR) {
            Ok(b) => {
                let s = String::from_utf8_lossy(&b)
                    .trim_matches(|c: char| c.is_whitespace() || c == '\0')
                    .to_string();
                (!s.is_empty()).then_some(s)
            }
            Err(e) if e.is_not_found() => None,
            Err(e) => {
                // Some sysfs attributes are root-only or refuse reads (EIO,
                // EINVAL) by design; only a broken file is an error.
                use crate::root::FsErrorKind as K;
                if !matches!(e.kind, K::PermissionDenied | K::Io(_) | K::NotADirectory) {
                    self.error(path, None, e.to_string());
                }
                None
            }
        }
    }

    fn error(&mut self, path: &str, line: Option<u64>, message: impl Into<String>) {
        self.errors.push(InventoryError {
            source: "hardware".into(),
            path: path.into(),
            line,
            message: message.into(),
        });
    }

    /// Names in a directory (sorted, bounded); empty when absent.
    fn names(&self, dir: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .root
            .read_dir(dir)
            .map(|es| {
                es.into_iter()
                    .map(|e| e.name.to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.'))
                    .take(MAX_ENTRIES)
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Last path element of a symlink's target (driver and subsystem links).
    fn link_name(&self, path: &str) -> Option<String> {
        self.root
            .read_link(path)
            .ok()
            .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
    }
}

/// Collects the hardware components.
pub fn collect(root: &RootFs, opts: &Options) -> (Vec<HardwareComponent>, Vec<InventoryError>) {
    let mut c = Ctx {
        root,
        opts,
        out: Vec::new(),
        errors: Vec::new(),
    };
    board(&mut c);
    cpu(&mut c);
    memory(&mut c);
    storage(&mut c);
    network(&mut c);
    usb(&mut c);
    tpm(&mut c);
    serial(&mut c);
    watchdog(&mut c);
    if c.out.iter().all(|h| h.kind != "board") {
        boot_dtbs(&mut c);
    }
    (c.out, c.errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ident_is_salted_unless_revealed() {
        let a = Options {
            reveal_ids: false,
            salt: b"device-a".to_vec(),
        };
        let b = Options {
            reveal_ids: false,
            salt: b"device-b".to_vec(),
        };
        let mac = "dc:a6:32:01:02:03";
        assert!(a.ident(mac).starts_with("hmac-sha256:"));
        assert!(!a.ident(mac).contains("dc:a6"));
        assert_ne!(a.ident(mac), b.ident(mac), "salted per device");
        assert_eq!(a.ident(mac), a.ident(mac));
        let r = Options {
            reveal_ids: true,
            salt: Vec::new(),
        };
        assert_eq!(r.ident(mac), mac);
    }
}
