//! Storage from `/sys/block`, with the eMMC/SD CID register decoded.

use super::{comp, Ctx};

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

pub(super) fn storage(c: &mut Ctx) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

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
}
