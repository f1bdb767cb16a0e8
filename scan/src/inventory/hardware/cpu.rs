//! Processor and memory: SoC/CPU from `/proc/cpuinfo` (ARM implementer and
//! part, or the model name) and the memory size from `/proc/meminfo`.

use super::{comp, Ctx};
use std::collections::BTreeMap;

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

pub(super) fn cpu(c: &mut Ctx) {
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

pub(super) fn memory(c: &mut Ctx) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_parts() {
        assert_eq!(arm_part(0x41, 0xd08), (Some("ARM"), Some("Cortex-A72")));
        assert_eq!(arm_part(0x41, 0xd03).1, Some("Cortex-A53"));
        assert_eq!(arm_part(0x99, 0x1), (None, None));
    }
}
