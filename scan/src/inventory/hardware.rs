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

use crate::root::RootFs;
use fieldattest_protocol::report::{HardwareComponent, InventoryError};
use hmac::{Hmac, Mac};
use std::collections::BTreeMap;

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

fn board(c: &mut Ctx) {
    let dt = "/proc/device-tree";
    if let Some(model) = c.attr(&format!("{dt}/model")) {
        let mut b = comp("board", model.clone(), format!("{dt}/model"));
        b.model = Some(model);
        if let Ok(raw) = c.root.read_limited(format!("{dt}/compatible"), MAX_ATTR) {
            let list = split_nul(&raw);
            if let Some(v) = list.first().and_then(|f| f.split(',').next()) {
                b.vendor = Some(v.to_string());
            }
            b.properties.insert("compatible".into(), list.join(" "));
        }
        if let Some(s) = c.attr(&format!("{dt}/serial-number")) {
            b.properties.insert("serial".into(), c.opts.ident(&s));
        }
        b.properties.insert("source".into(), "device-tree".into());
        c.out.push(b);
        return;
    }
    // x86 industrial PCs: DMI.
    let dmi = "/sys/class/dmi/id";
    let product = c.attr(&format!("{dmi}/product_name"));
    let board = c.attr(&format!("{dmi}/board_name"));
    if product.is_none() && board.is_none() {
        return;
    }
    let name = product.clone().or(board.clone()).unwrap_or_default();
    let mut b = comp("board", name, dmi);
    b.vendor = c
        .attr(&format!("{dmi}/sys_vendor"))
        .or_else(|| c.attr(&format!("{dmi}/board_vendor")));
    b.model = board;
    for (attr, key) in [
        ("product_version", "product_version"),
        ("board_vendor", "board_vendor"),
        ("board_version", "board_version"),
        ("bios_vendor", "firmware_vendor"),
        ("bios_version", "firmware_version"),
        ("bios_date", "firmware_date"),
    ] {
        if let Some(v) = c.attr(&format!("{dmi}/{attr}")) {
            b.properties.insert(key.into(), v);
        }
    }
    for attr in ["product_serial", "board_serial"] {
        if let Some(v) = c.attr(&format!("{dmi}/{attr}")) {
            b.properties.insert(attr.into(), c.opts.ident(&v));
        }
    }
    b.properties.insert("source".into(), "dmi".into());
    c.out.push(b);
}

fn split_nul(b: &[u8]) -> Vec<String> {
    b.split(|x| *x == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// ARM CPU implementers and parts (MIDR fields) as named in Linux's
/// `arch/arm64/include/asm/cputype.h` and the Arm TRMs.
fn arm_part(implementer: u32, part: u32) -> (Option<&'static str>, Option<&'static str>) {
    let vendor = match implementer {
        0x41 => Some("ARM"),
        0x42 => Some("Broadcom"),
        0x43 => Some("Cavium"),
        0x48 => Some("HiSilicon"),
        0x4e => Some("NVIDIA"),
        0x51 => Some("Qualcomm"),
        0x53 => Some("Samsung"),
        0x56 => Some("Marvell"),
        0x61 => Some("Apple"),
        0x69 => Some("Intel"),
        0xc0 => Some("Ampere"),
        _ => None,
    };
    let model = match (implementer, part) {
        (0x41, 0xb76) => Some("ARM1176"),
        (0x41, 0xc05) => Some("Cortex-A5"),
        (0x41, 0xc07) => Some("Cortex-A7"),
        (0x41, 0xc08) => Some("Cortex-A8"),
        (0x41, 0xc09) => Some("Cortex-A9"),
        (0x41, 0xc0d) => Some("Cortex-A12"),
        (0x41, 0xc0e) => Some("Cortex-A17"),
        (0x41, 0xc0f) => Some("Cortex-A15"),
        (0x41, 0xd01) => Some("Cortex-A32"),
        (0x41, 0xd03) => Some("Cortex-A53"),
        (0x41, 0xd04) => Some("Cortex-A35"),
        (0x41, 0xd05) => Some("Cortex-A55"),
        (0x41, 0xd07) => Some("Cortex-A57"),
        (0x41, 0xd08) => Some("Cortex-A72"),
        (0x41, 0xd09) => Some("Cortex-A73"),
        (0x41, 0xd0a) => Some("Cortex-A75"),
        (0x41, 0xd0b) => Some("Cortex-A76"),
        (0x41, 0xd0c) => Some("Neoverse-N1"),
        (0x41, 0xd0d) => Some("Cortex-A77"),
        (0x41, 0xd40) => Some("Neoverse-V1"),
        (0x41, 0xd41) => Some("Cortex-A78"),
        (0x41, 0xd46) => Some("Cortex-A510"),
        (0x41, 0xd47) => Some("Cortex-A710"),
        (0x41, 0xd49) => Some("Neoverse-N2"),
        (0x41, 0xd4b) => Some("Cortex-A78C"),
        (0x41, 0xd80) => Some("Cortex-A520"),
        (0x41, 0xd81) => Some("Cortex-A720"),
        _ => None,
    };
    (vendor, model)
}

fn hex_field(v: &str) -> Option<u32> {
    u32::from_str_radix(v.trim().trim_start_matches("0x"), 16).ok()
}

fn cpu(c: &mut Ctx) {
    let path = "/proc/cpuinfo";
    let Some(text) = c.attr(path) else {
        return;
    };
    let mut count = 0u32;
    let mut kv: BTreeMap<String, String> = BTreeMap::new();
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if k == "processor" {
            count += 1;
        }
        // The first core's values describe the SoC (big.LITTLE lists differ
        // per core; the distinct parts are listed below).
        kv.entry(k.to_string()).or_insert_with(|| v.to_string());
    }
    let parts: Vec<u32> = {
        let mut p: Vec<u32> = text
            .lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(k, _)| k.trim() == "CPU part")
            .filter_map(|(_, v)| hex_field(v))
            .collect();
        p.sort_unstable();
        p.dedup();
        p
    };
    let implementer = kv.get("CPU implementer").and_then(|v| hex_field(v));
    let mut cpu = comp("cpu", "cpu", path);
    if let Some(imp) = implementer {
        let (vendor, _) = arm_part(imp, 0);
        cpu.vendor = vendor.map(str::to_string);
        let names: Vec<String> = parts
            .iter()
            .map(|p| {
                arm_part(imp, *p)
                    .1
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("part 0x{p:03x}"))
            })
            .collect();
        if !names.is_empty() {
            cpu.model = Some(names.join(" + "));
        }
        cpu.properties
            .insert("implementer".into(), format!("0x{imp:02x}"));
        if !parts.is_empty() {
            let p: Vec<String> = parts.iter().map(|p| format!("0x{p:03x}")).collect();
            cpu.properties.insert("part".into(), p.join(" "));
        }
        for (k, key) in [
            ("CPU architecture", "architecture"),
            ("CPU variant", "variant"),
            ("CPU revision", "revision"),
            ("Features", "features"),
        ] {
            if let Some(v) = kv.get(k) {
                cpu.properties.insert(key.into(), v.clone());
            }
        }
    }
    if let Some(m) = kv.get("model name").or(kv.get("Processor")) {
        if cpu.model.is_none() {
            cpu.model = Some(m.clone());
        } else {
            cpu.properties.insert("model_name".into(), m.clone());
        }
    }
    if let Some(v) = kv.get("vendor_id") {
        cpu.vendor.get_or_insert_with(|| v.clone());
    }
    // Older ARM kernels name the SoC ("Hardware: BCM2835").
    if let Some(h) = kv.get("Hardware") {
        cpu.properties.insert("soc".into(), h.clone());
    }
    if let Some(r) = kv.get("Revision") {
        cpu.properties.insert("board_revision".into(), r.clone());
    }
    if let Some(s) = kv.get("Serial") {
        cpu.properties.insert("serial".into(), c.opts.ident(s));
    }
    if count == 0 && cpu.model.is_none() {
        c.error(path, None, "no processor entries");
        return;
    }
    cpu.name = cpu.model.clone().unwrap_or_else(|| "cpu".into());
    cpu.properties
        .insert("cores".into(), count.max(1).to_string());
    c.out.push(cpu);
}

fn memory(c: &mut Ctx) {
    let path = "/proc/meminfo";
    let Some(text) = c.attr(path) else {
        return;
    };
    let total = text.lines().enumerate().find_map(|(i, l)| {
        let v = l.strip_prefix("MemTotal:")?;
        Some((i, v.trim().trim_end_matches("kB").trim().parse::<u64>()))
    });
    match total {
        Some((_, Ok(kb))) => {
            let mut m = comp("memory", "memory", path);
            m.properties
                .insert("size_bytes".into(), (kb * 1024).to_string());
            c.out.push(m);
        }
        Some((i, Err(_))) => c.error(path, Some(i as u64 + 1), "MemTotal is not a number of kB"),
        None => c.error(path, None, "no MemTotal line"),
    }
}

/// eMMC/SD CID register (JEDEC JESD84 / SD spec): manufacturer, OEM,
/// product name, revision, serial (sensitive), manufacturing date.
fn parse_cid(hex: &str) -> Option<Vec<(&'static str, String)>> {
    let h = hex.trim();
    if h.len() != 32 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let b: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&h[i * 2..i * 2 + 2], 16).unwrap_or(0))
        .collect();
    let name: String = b[3..9]
        .iter()
        .map(|&x| {
            if x.is_ascii_graphic() || x == b' ' {
                x as char
            } else {
                '.'
            }
        })
        .collect();
    Some(vec![
        ("cid_manufacturer_id", format!("0x{:02x}", b[0])),
        ("cid_oem_id", format!("0x{:02x}", b[2])),
        ("cid_product_name", name.trim().to_string()),
        (
            "cid_product_revision",
            format!("{}.{}", b[9] >> 4, b[9] & 0xf),
        ),
        (
            "cid_serial",
            format!("{:08x}", u32::from_be_bytes([b[10], b[11], b[12], b[13]])),
        ),
    ])
}

fn storage(c: &mut Ctx) {
    for dev in c.names("/sys/block") {
        if ["loop", "ram", "zram", "dm-", "md", "nbd", "sr"]
            .iter()
            .any(|p| dev.starts_with(p))
        {
            continue;
        }
        let base = format!("/sys/block/{dev}");
        let mut s = comp("storage", dev.clone(), base.clone());
        if let Some(sectors) = c.attr(&format!("{base}/size")) {
            match sectors.parse::<u64>() {
                Ok(n) => {
                    s.properties
                        .insert("size_bytes".into(), (n * 512).to_string());
                }
                Err(_) => c.error(&format!("{base}/size"), Some(1), "not a sector count"),
            }
        }
        s.model = c.attr(&format!("{base}/device/model"));
        s.vendor = c.attr(&format!("{base}/device/vendor"));
        let mmc_type = c.attr(&format!("{base}/device/type"));
        let kind = if dev.starts_with("mmcblk") {
            match mmc_type.as_deref() {
                Some("SD") => "sd",
                _ => "emmc",
            }
        } else if dev.starts_with("nvme") {
            "nvme"
        } else if dev.starts_with("mtdblock") {
            "mtd"
        } else if c.attr(&format!("{base}/queue/rotational")).as_deref() == Some("1") {
            "disk"
        } else {
            "block"
        };
        s.properties.insert("type".into(), kind.into());
        if let Some(r) = c.attr(&format!("{base}/removable")) {
            s.properties
                .insert("removable".into(), (r == "1").to_string());
        }
        if dev.starts_with("mmcblk") {
            if let Some(n) = c.attr(&format!("{base}/device/name")) {
                s.model.get_or_insert(n);
            }
            if let Some(cid) = c.attr(&format!("{base}/device/cid")) {
                match parse_cid(&cid) {
                    Some(fields) => {
                        for (k, v) in fields {
                            let v = if k == "cid_serial" {
                                c.opts.ident(&v)
                            } else {
                                v
                            };
                            s.properties.insert(k.into(), v);
                        }
                    }
                    None => c.error(&format!("{base}/device/cid"), Some(1), "not a 128-bit CID"),
                }
            }
            if let Some(d) = c.attr(&format!("{base}/device/date")) {
                s.properties.insert("manufacturing_date".into(), d);
            }
        }
        if let Some(serial) = c.attr(&format!("{base}/device/serial")) {
            s.properties.insert("serial".into(), c.opts.ident(&serial));
        }
        c.out.push(s);
    }
}

fn network(c: &mut Ctx) {
    for ifc in c.names("/sys/class/net") {
        let base = format!("/sys/class/net/{ifc}");
        // Virtual interfaces (lo, bridges, veth, tunnels) have no device link.
        if !c.root.exists(format!("{base}/device")) {
            continue;
        }
        let mut n = comp("network", ifc.clone(), base.clone());
        if let Some(d) = c.link_name(&format!("{base}/device/driver")) {
            n.properties.insert("driver".into(), d);
        }
        if let Some(b) = c.link_name(&format!("{base}/device/subsystem")) {
            n.properties.insert("bus".into(), b);
        }
        let wireless =
            c.root.exists(format!("{base}/wireless")) || c.root.exists(format!("{base}/phy80211"));
        n.properties.insert(
            "type".into(),
            if wireless { "wireless" } else { "ethernet" }.into(),
        );
        if let Some(mac) = c.attr(&format!("{base}/address")) {
            n.properties.insert("mac".into(), c.opts.ident(&mac));
        }
        if let Some(s) = c
            .attr(&format!("{base}/speed"))
            .filter(|s| !s.starts_with('-'))
        {
            n.properties.insert("speed_mbps".into(), s);
        }
        if let Some(v) = c.attr(&format!("{base}/device/vendor")) {
            n.vendor = Some(v);
        }
        c.out.push(n);
    }
}

fn usb(c: &mut Ctx) {
    for dev in c.names("/sys/bus/usb/devices") {
        // Interfaces (`1-1:1.0`) are not devices; root hubs are `usbN`.
        if dev.contains(':') {
            continue;
        }
        let base = format!("/sys/bus/usb/devices/{dev}");
        let (Some(vid), Some(pid)) = (
            c.attr(&format!("{base}/idVendor")),
            c.attr(&format!("{base}/idProduct")),
        ) else {
            continue;
        };
        let product = c.attr(&format!("{base}/product"));
        let mut u = comp(
            "usb",
            product.clone().unwrap_or_else(|| format!("{vid}:{pid}")),
            base.clone(),
        );
        u.vendor = c.attr(&format!("{base}/manufacturer"));
        u.model = product;
        u.properties.insert("usb_id".into(), format!("{vid}:{pid}"));
        if let Some(cl) = c.attr(&format!("{base}/bDeviceClass")) {
            u.properties.insert("class".into(), cl);
        }
        if let Some(s) = c.attr(&format!("{base}/serial")) {
            u.properties.insert("serial".into(), c.opts.ident(&s));
        }
        c.out.push(u);
    }
}

fn tpm(c: &mut Ctx) {
    for t in c.names("/sys/class/tpm") {
        let base = format!("/sys/class/tpm/{t}");
        let major = c.attr(&format!("{base}/tpm_version_major"));
        // TPM 1.2 drivers expose `caps` with "TCG version: 1.2".
        let caps = c
            .attr(&format!("{base}/device/caps"))
            .or_else(|| c.attr(&format!("{base}/caps")));
        let version = match (&major, &caps) {
            (Some(m), _) => format!("{m}.0"),
            (None, Some(caps)) => caps
                .lines()
                .find_map(|l| l.strip_prefix("TCG version:"))
                .map(|v| v.trim().to_string())
                .unwrap_or_else(|| "unknown".into()),
            _ => "unknown".into(),
        };
        let mut p = comp("tpm", format!("TPM {version}"), base.clone());
        p.properties.insert("tpm_version".into(), version);
        if let Some(caps) = caps {
            if let Some(m) = caps.lines().find_map(|l| l.strip_prefix("Manufacturer:")) {
                p.vendor = Some(m.trim().to_string());
            }
        }
        if let Some(d) = c.attr(&format!("{base}/device/description")) {
            p.model = Some(d);
        }
        if let Some(d) = c.link_name(&format!("{base}/device/driver")) {
            p.properties.insert("driver".into(), d);
        }
        c.out.push(p);
    }
}

fn serial(c: &mut Ctx) {
    for t in c.names("/sys/class/tty") {
        let base = format!("/sys/class/tty/{t}");
        // Only ports backed by hardware (a device link); 8250 placeholders
        // with an unknown UART type (0) are not real ports.
        if !c.root.exists(format!("{base}/device")) {
            continue;
        }
        if c.attr(&format!("{base}/type")).as_deref() == Some("0") {
            continue;
        }
        let mut s = comp("serial", t.clone(), base.clone());
        if let Some(d) = c.link_name(&format!("{base}/device/driver")) {
            s.properties.insert("driver".into(), d);
        }
        c.out.push(s);
    }
}

fn watchdog(c: &mut Ctx) {
    for w in c.names("/sys/class/watchdog") {
        let base = format!("/sys/class/watchdog/{w}");
        let mut d = comp("watchdog", w.clone(), base.clone());
        d.model = c.attr(&format!("{base}/identity"));
        for k in ["timeout", "state", "nowayout"] {
            if let Some(v) = c.attr(&format!("{base}/{k}")) {
                d.properties.insert(k.into(), v);
            }
        }
        c.out.push(d);
    }
}

/// Device-tree blobs the image ships (`/boot`, `/boot/dtb`, `/boot/dtbs`):
/// the root node's `model` and `compatible` of each, as candidate boards.
fn boot_dtbs(c: &mut Ctx) {
    let mut files = Vec::new();
    for dir in ["/boot", "/boot/dtb", "/boot/dtbs"] {
        for n in c.names(dir) {
            if n.ends_with(".dtb") {
                files.push(format!("{dir}/{n}"));
            }
        }
    }
    for f in files.into_iter().take(64) {
        let b = match c.root.read_limited(&f, MAX_DTB) {
            Ok(b) => b,
            Err(e) => {
                c.error(&f, None, e.to_string());
                continue;
            }
        };
        match fdt_root(&b) {
            Ok((model, compatible)) => {
                let name = model
                    .clone()
                    .or(compatible.first().cloned())
                    .unwrap_or_else(|| f.clone());
                let mut h = comp("board", name, f.clone());
                h.model = model;
                h.vendor = compatible
                    .first()
                    .and_then(|x| x.split(',').next())
                    .map(str::to_string);
                h.properties
                    .insert("compatible".into(), compatible.join(" "));
                h.properties
                    .insert("source".into(), "device-tree blob".into());
                c.out.push(h);
            }
            Err(m) => c.error(&f, None, format!("device-tree blob: {m}")),
        }
    }
}

fn be32(b: &[u8], at: usize) -> Result<u32, String> {
    b.get(at..at + 4)
        .map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]))
        .ok_or_else(|| format!("truncated at offset {at}"))
}

/// The root node's `model` and `compatible` of a flattened device tree
/// (devicetree specification v0.4, chapter 5).
pub fn fdt_root(b: &[u8]) -> Result<(Option<String>, Vec<String>), String> {
    if be32(b, 0)? != 0xd00d_feed {
        return Err("bad magic".into());
    }
    let total = be32(b, 4)? as usize;
    if total > b.len() {
        return Err("truncated".into());
    }
    let off_struct = be32(b, 8)? as usize;
    let off_strings = be32(b, 12)? as usize;
    let size_strings = be32(b, 32).unwrap_or(0) as usize;
    let strings = b
        .get(off_strings..off_strings.saturating_add(size_strings).min(total))
        .ok_or("strings block out of range")?;
    let mut p = off_struct;
    let (mut depth, mut model, mut compatible) = (0u32, None, Vec::new());
    for _ in 0..100_000 {
        let tok = be32(b, p)?;
        p += 4;
        match tok {
            1 => {
                // FDT_BEGIN_NODE: NUL-terminated name, padded to 4.
                let end = b[p..]
                    .iter()
                    .position(|&x| x == 0)
                    .ok_or("unterminated node name")?;
                p = (p + end + 1 + 3) & !3;
                depth += 1;
            }
            2 => {
                depth = depth.checked_sub(1).ok_or("unbalanced nodes")?;
                if depth == 0 {
                    break;
                }
            }
            3 => {
                let len = be32(b, p)? as usize;
                let nameoff = be32(b, p + 4)? as usize;
                let val = b.get(p + 8..p + 8 + len).ok_or("property out of range")?;
                p = (p + 8 + len + 3) & !3;
                if depth == 1 {
                    let name = strings
                        .get(nameoff..)
                        .and_then(|s| s.split(|&x| x == 0).next())
                        .ok_or("bad property name offset")?;
                    match name {
                        b"model" => model = split_nul(val).into_iter().next(),
                        b"compatible" => compatible = split_nul(val),
                        _ => {}
                    }
                }
            }
            4 => {}
            9 => break,
            t => return Err(format!("unknown token {t} at offset {}", p - 4)),
        }
    }
    Ok((model, compatible))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cid_fields() {
        // Samsung-like eMMC: MID 0x15, OID 0x01, PNM "8GTF4R", PRV 0.6.
        let f = parse_cid("150100384754463452063a1b2c3d5b00").unwrap();
        let m: BTreeMap<_, _> = f.into_iter().collect();
        assert_eq!(m["cid_manufacturer_id"], "0x15");
        assert_eq!(m["cid_product_name"], "8GTF4R");
        assert_eq!(m["cid_product_revision"], "0.6");
        assert_eq!(m["cid_serial"], "3a1b2c3d");
        assert!(parse_cid("15010038").is_none());
    }

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

    /// A minimal flattened device tree: root node with model and compatible.
    fn dtb(model: &str, compatible: &[&str]) -> Vec<u8> {
        let mut strings = b"model\0compatible\0".to_vec();
        let mut st = Vec::new();
        let push = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_be_bytes());
        let pad = |v: &mut Vec<u8>| {
            while v.len() % 4 != 0 {
                v.push(0)
            }
        };
        push(&mut st, 1);
        st.push(0);
        pad(&mut st);
        let m = format!("{model}\0").into_bytes();
        push(&mut st, 3);
        push(&mut st, m.len() as u32);
        push(&mut st, 0);
        st.extend_from_slice(&m);
        pad(&mut st);
        let c: Vec<u8> = compatible
            .iter()
            .flat_map(|x| format!("{x}\0").into_bytes())
            .collect();
        push(&mut st, 3);
        push(&mut st, c.len() as u32);
        push(&mut st, 6);
        st.extend_from_slice(&c);
        pad(&mut st);
        // A child node with its own (ignored) model.
        push(&mut st, 1);
        st.extend_from_slice(b"soc\0");
        pad(&mut st);
        push(&mut st, 3);
        push(&mut st, 4);
        push(&mut st, 0);
        st.extend_from_slice(b"xyz\0");
        push(&mut st, 2);
        push(&mut st, 2);
        push(&mut st, 9);
        let off_struct = 40u32;
        let off_strings = off_struct + st.len() as u32;
        let total = off_strings + strings.len() as u32;
        let mut h = Vec::new();
        for x in [
            0xd00d_feed,
            total,
            off_struct,
            off_strings,
            28,
            17,
            16,
            0,
            strings.len() as u32,
            st.len() as u32,
        ] {
            push(&mut h, x);
        }
        h.extend_from_slice(&st);
        h.append(&mut strings);
        h
    }

    #[test]
    fn device_tree_blob_root_model_and_compatible() {
        let b = dtb(
            "NXP i.MX8MPlus EVK board",
            &["fsl,imx8mp-evk", "fsl,imx8mp"],
        );
        let (model, compat) = fdt_root(&b).unwrap();
        assert_eq!(model.as_deref(), Some("NXP i.MX8MPlus EVK board"));
        assert_eq!(compat, ["fsl,imx8mp-evk", "fsl,imx8mp"]);
        assert!(fdt_root(&b[..20]).is_err());
        assert!(fdt_root(b"not a dtb at all").unwrap_err().contains("magic"));
        let mut bad = b.clone();
        bad[43] = 7; // first structure token → unknown
        assert!(fdt_root(&bad).unwrap_err().contains("unknown token"));
        // An image carrying it: a board component from /boot.
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("boot")).unwrap();
        std::fs::write(d.path().join("boot/imx8mp-evk.dtb"), &b).unwrap();
        std::fs::write(d.path().join("boot/broken.dtb"), b"junk").unwrap();
        let root = RootFs::new(d.path()).unwrap();
        let (hw, errors) = collect(&root, &Options::default());
        assert_eq!(hw.len(), 1);
        assert_eq!(hw[0].kind, "board");
        assert_eq!(hw[0].vendor.as_deref(), Some("fsl"));
        assert_eq!(hw[0].properties["source"], "device-tree blob");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].path.ends_with("broken.dtb"), "{errors:?}");
    }

    #[test]
    fn arm_parts() {
        assert_eq!(arm_part(0x41, 0xd08), (Some("ARM"), Some("Cortex-A72")));
        assert_eq!(arm_part(0x41, 0xd03).1, Some("Cortex-A53"));
        assert_eq!(arm_part(0x99, 0x1), (None, None));
    }
}
