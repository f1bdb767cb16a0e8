//! Peripherals: network interfaces (driver, bus), USB devices, the TPM
//! (version), serial ports and watchdogs.

use super::{comp, Ctx};

pub(super) fn network(c: &mut Ctx) {
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

pub(super) fn usb(c: &mut Ctx) {
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

pub(super) fn tpm(c: &mut Ctx) {
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

pub(super) fn serial(c: &mut Ctx) {
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

pub(super) fn watchdog(c: &mut Ctx) {
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
