//! The board: device-tree `model`/`compatible` of the running system, DMI on
//! x86 industrial PCs, or, for an image, the device-tree blobs it ships.

use super::fdt::split_nul;
use super::{comp, fdt_root, Ctx, MAX_ATTR, MAX_DTB};

pub(super) fn board(c: &mut Ctx) {
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

/// Device-tree blobs the image ships (`/boot`, `/boot/dtb`, `/boot/dtbs`):
/// the root node's `model` and `compatible` of each, as candidate boards.
pub(super) fn boot_dtbs(c: &mut Ctx) {
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
