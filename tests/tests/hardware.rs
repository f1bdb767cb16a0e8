//! Hardware inventory (HBOM) and licenses: fixture `/proc` and `/sys` trees
//! modelled on real ARM boards (a Raspberry Pi 4-like device tree and SoC, an
//! i.MX-like eMMC with its CID, a TPM 2.0) give the expected components; the
//! CycloneDX document with hardware and licenses validates against the
//! official 1.6 schema; MAC addresses and serial numbers never appear in
//! clear (report, SBOM, text, attestation token) unless the operator opts in.

use fieldattest_tests::{bin, dpkg_para, fieldattest, python, Tree};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const MAC: &str = "dc:a6:32:01:02:03";
const BOARD_SERIAL: &str = "10000000abcdef01";
const USB_SERIAL: &str = "FT4X9QZ7";

fn board() -> Tree {
    let t = Tree::new();
    t.file("proc/device-tree/model", "Raspberry Pi 4 Model B Rev 1.4\0")
        .file(
            "proc/device-tree/compatible",
            "raspberrypi,4-model-b\0brcm,bcm2711\0",
        )
        .file(
            "proc/device-tree/serial-number",
            format!("{BOARD_SERIAL}\0"),
        );
    let mut cpuinfo = String::new();
    for i in 0..4 {
        cpuinfo.push_str(&format!(
            "processor\t: {i}\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n"
        ));
    }
    cpuinfo.push_str(&format!("Hardware\t: BCM2835\nRevision\t: c03114\nSerial\t\t: {BOARD_SERIAL}\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4\n"));
    t.file("proc/cpuinfo", cpuinfo)
        .file(
            "proc/meminfo",
            "MemTotal:        3884096 kB\nMemFree:          123456 kB\n",
        )
        // Network: a platform Ethernet, a Wi-Fi on SDIO, loopback (virtual).
        .file("sys/class/net/eth0/address", format!("{MAC}\n"))
        .file("sys/class/net/eth0/speed", "1000\n")
        .dir("sys/bus/platform/drivers/bcmgenet")
        .link(
            "sys/class/net/eth0/device/driver",
            "../../../../../bus/platform/drivers/bcmgenet",
        )
        .link(
            "sys/class/net/eth0/device/subsystem",
            "../../../../../bus/platform",
        )
        .file("sys/class/net/wlan0/address", "dc:a6:32:01:02:04\n")
        .dir("sys/class/net/wlan0/wireless")
        .dir("sys/bus/sdio/drivers/brcmfmac")
        .link(
            "sys/class/net/wlan0/device/driver",
            "../../../../../bus/sdio/drivers/brcmfmac",
        )
        .link(
            "sys/class/net/wlan0/device/subsystem",
            "../../../../../bus/sdio",
        )
        .file("sys/class/net/lo/address", "00:00:00:00:00:00\n")
        // USB: a device and one of its interfaces (not a device).
        .file("sys/bus/usb/devices/1-1/idVendor", "0403\n")
        .file("sys/bus/usb/devices/1-1/idProduct", "6001\n")
        .file("sys/bus/usb/devices/1-1/manufacturer", "FTDI\n")
        .file("sys/bus/usb/devices/1-1/product", "FT232R USB UART\n")
        .file("sys/bus/usb/devices/1-1/serial", format!("{USB_SERIAL}\n"))
        .file("sys/bus/usb/devices/1-1:1.0/bInterfaceClass", "ff\n")
        // Serial: a PL011 UART, and an 8250 placeholder with unknown type.
        .dir("sys/bus/amba/drivers/uart-pl011")
        .link(
            "sys/class/tty/ttyAMA0/device/driver",
            "../../../../../bus/amba/drivers/uart-pl011",
        )
        .dir("sys/class/tty/ttyS1/device")
        .file("sys/class/tty/ttyS1/type", "0\n")
        .dir("sys/class/tty/tty1")
        .file(
            "sys/class/watchdog/watchdog0/identity",
            "Broadcom BCM2835 Watchdog timer\n",
        )
        .file("sys/class/watchdog/watchdog0/timeout", "15\n")
        // i.MX-like eMMC (CID of a Samsung 8GTF4R), its boot partition's loop twin skipped.
        .file("sys/block/mmcblk2/size", "30777344\n")
        .file("sys/block/mmcblk2/removable", "0\n")
        .file("sys/block/mmcblk2/device/type", "MMC\n")
        .file("sys/block/mmcblk2/device/name", "8GTF4R\n")
        .file(
            "sys/block/mmcblk2/device/cid",
            "150100384754463452063a1b2c3d5b00\n",
        )
        .file("sys/block/mmcblk2/device/date", "11/2021\n")
        .file("sys/block/mmcblk2/device/serial", "0x3a1b2c3d\n")
        .file("sys/block/loop0/size", "0\n")
        // TPM 2.0 on SPI.
        .file("sys/class/tpm/tpm0/tpm_version_major", "2\n")
        .file("sys/class/tpm/tpm0/device/description", "TPM 2.0 Device\n")
        .dir("sys/bus/spi/drivers/tpm_tis_spi")
        .link(
            "sys/class/tpm/tpm0/device/driver",
            "../../../../../bus/spi/drivers/tpm_tis_spi",
        )
        .file("etc/os-release", "ID=poky\nNAME=\"Poky\"\nVERSION_ID=5.0\n")
        .file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
    t
}

fn scan_json(t: &Tree, extra: &[&str]) -> Value {
    let mut args = vec![
        "scan",
        "--root",
        &*Box::leak(t.root_str().into_boxed_str()),
        "--format",
        "json",
    ];
    args.extend(extra);
    let o = fieldattest(&args);
    assert!(
        o.status.code().unwrap_or(9) <= 1,
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn find<'a>(hw: &'a [Value], kind: &str, name: &str) -> &'a Value {
    hw.iter()
        .find(|h| h["kind"] == kind && h["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {hw:#?}"))
}

#[test]
fn arm_board_fixture_gives_the_expected_components() {
    let t = board();
    let r = scan_json(&t, &[]);
    let hw = r["inventory"]["hardware"].as_array().unwrap().clone();
    let board = find(&hw, "board", "Raspberry Pi 4 Model B Rev 1.4");
    assert_eq!(board["vendor"], "raspberrypi");
    assert_eq!(
        board["properties"]["compatible"],
        "raspberrypi,4-model-b brcm,bcm2711"
    );
    let cpu = find(&hw, "cpu", "Cortex-A72");
    assert_eq!(cpu["vendor"], "ARM");
    assert_eq!(cpu["properties"]["cores"], "4");
    assert_eq!(cpu["properties"]["part"], "0xd08");
    assert_eq!(cpu["properties"]["soc"], "BCM2835");
    assert_eq!(
        find(&hw, "memory", "memory")["properties"]["size_bytes"],
        (3884096u64 * 1024).to_string()
    );
    let emmc = find(&hw, "storage", "mmcblk2");
    assert_eq!(emmc["model"], "8GTF4R");
    assert_eq!(emmc["properties"]["type"], "emmc");
    assert_eq!(
        emmc["properties"]["size_bytes"],
        (30777344u64 * 512).to_string()
    );
    assert_eq!(emmc["properties"]["cid_manufacturer_id"], "0x15");
    assert_eq!(emmc["properties"]["cid_product_name"], "8GTF4R");
    assert_eq!(emmc["properties"]["manufacturing_date"], "11/2021");
    assert!(hw.iter().all(|h| h["name"] != "loop0"));
    let eth = find(&hw, "network", "eth0");
    assert_eq!(
        (
            eth["properties"]["driver"].as_str(),
            eth["properties"]["bus"].as_str()
        ),
        (Some("bcmgenet"), Some("platform"))
    );
    let wlan = find(&hw, "network", "wlan0");
    assert_eq!(
        (
            wlan["properties"]["type"].as_str(),
            wlan["properties"]["bus"].as_str()
        ),
        (Some("wireless"), Some("sdio"))
    );
    assert!(
        hw.iter().all(|h| h["name"] != "lo"),
        "virtual interfaces are not hardware"
    );
    let usb = find(&hw, "usb", "FT232R USB UART");
    assert_eq!(
        (usb["vendor"].as_str(), usb["properties"]["usb_id"].as_str()),
        (Some("FTDI"), Some("0403:6001"))
    );
    assert_eq!(
        hw.iter().filter(|h| h["kind"] == "usb").count(),
        1,
        "interfaces are not devices"
    );
    let tpm = find(&hw, "tpm", "TPM 2.0");
    assert_eq!(tpm["properties"]["tpm_version"], "2.0");
    assert_eq!(tpm["properties"]["driver"], "tpm_tis_spi");
    assert_eq!(
        find(&hw, "serial", "ttyAMA0")["properties"]["driver"],
        "uart-pl011"
    );
    assert!(hw
        .iter()
        .all(|h| h["name"] != "ttyS1" && h["name"] != "tty1"));
    assert_eq!(
        find(&hw, "watchdog", "watchdog0")["model"],
        "Broadcom BCM2835 Watchdog timer"
    );
    let hw_errors: Vec<&Value> = r["inventory"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == "hardware")
        .collect();
    assert!(hw_errors.is_empty(), "{hw_errors:?}");
}

#[test]
fn identifiers_never_in_clear_unless_asked_for() {
    let t = board();
    let secrets = [MAC, BOARD_SERIAL, USB_SERIAL, "3a1b2c3d"];
    let state = t.outside().join("state");
    let outputs: Vec<Vec<u8>> = vec![
        fieldattest(&["scan", "--root", &t.root_str(), "--format", "json"]).stdout,
        fieldattest(&["scan", "--root", &t.root_str(), "--format", "cyclonedx"]).stdout,
        fieldattest(&["scan", "--root", &t.root_str()]).stdout,
        {
            let tok = t.outside().join("t.cwt");
            let o = fieldattest(&[
                "attest",
                "--root",
                &t.root_str(),
                "--state-dir",
                state.to_str().unwrap(),
                "--out",
                tok.to_str().unwrap(),
            ]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            std::fs::read(tok).unwrap()
        },
    ];
    for (i, out) in outputs.iter().enumerate() {
        let text = String::from_utf8_lossy(out);
        assert!(!text.is_empty());
        for s in secrets {
            assert!(!text.contains(s), "output {i} contains {s}");
        }
    }
    // The hashes are stable for one device (state directory) and differ between devices.
    let a = scan_json(&t, &["--state-dir", state.to_str().unwrap()]);
    let b = scan_json(&t, &["--state-dir", state.to_str().unwrap()]);
    let other = scan_json(
        &t,
        &["--state-dir", t.outside().join("other").to_str().unwrap()],
    );
    let mac = |r: &Value| {
        find(
            r["inventory"]["hardware"].as_array().unwrap(),
            "network",
            "eth0",
        )["properties"]["mac"]
            .clone()
    };
    assert!(mac(&a).as_str().unwrap().starts_with("hmac-sha256:"));
    assert_eq!(mac(&a), mac(&b));
    assert_ne!(mac(&a), mac(&other));
    // Opt-in: in clear.
    let r = scan_json(&t, &["--hardware-ids"]);
    assert_eq!(mac(&r), MAC);
    assert_eq!(
        find(
            r["inventory"]["hardware"].as_array().unwrap(),
            "usb",
            "FT232R USB UART"
        )["properties"]["serial"],
        USB_SERIAL
    );
}

#[test]
fn sbom_with_hardware_and_licenses_validates_against_cyclonedx_1_6() {
    let t = board();
    t.file(
        "var/lib/opkg/status",
        "Package: busybox\nVersion: 1.36.1-r0\nStatus: install ok installed\nArchitecture: cortexa72\nLicense: GPL-2.0-only & bzip2-1.0.6\n\n\
Package: libfoo\nVersion: 1.0-r0\nStatus: install ok installed\nArchitecture: cortexa72\nLicense: CLOSED\n\n\
Package: libbar\nVersion: 2.1-r0\nStatus: install ok installed\nArchitecture: cortexa72\n\n",
    )
    // Yocto writes the license into each package's control file.
    .file("var/lib/opkg/info/libbar.control", "Package: libbar\nVersion: 2.1-r0\nLicense: LGPLv2.1+ | MIT\nOE: bar\n");
    let path = t.outside().join("sbom.cdx.json");
    let o = fieldattest(&[
        "scan",
        "--root",
        &t.root_str(),
        "--format",
        "cyclonedx",
        "--output",
        path.to_str().unwrap(),
    ]);
    assert!(
        o.status.code().unwrap_or(9) <= 1,
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let comps = v["components"].as_array().unwrap();
    let lic = |name: &str| comps.iter().find(|c| c["name"] == name).unwrap()["licenses"].clone();
    assert_eq!(
        lic("busybox")[0]["expression"],
        "GPL-2.0-only AND bzip2-1.0.6"
    );
    assert_eq!(lic("libbar")[0]["expression"], "LGPL-2.1-or-later OR MIT");
    assert_eq!(lic("libfoo")[0]["license"]["name"], "CLOSED");
    let devices: Vec<&Value> = comps.iter().filter(|c| c["type"] == "device").collect();
    assert!(devices.len() >= 9, "{devices:#?}");
    assert!(devices
        .iter()
        .any(|d| d["name"] == "Raspberry Pi 4 Model B Rev 1.4"
            && d["manufacturer"]["name"] == "raspberrypi"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/validate_cyclonedx.py");
    let out = Command::new(python())
        .arg(script)
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn dpkg_licenses_from_machine_readable_copyright_files() {
    let t = Tree::new();
    t.file("var/lib/dpkg/status", format!("{}{}", dpkg_para("zlib1g", "1:1.2.13.dfsg-1", "arm64"), dpkg_para("tzdata", "2024a-0+deb12u1", "all")))
        .file("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n")
        .file("usr/share/doc/zlib1g/copyright", "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: zlib\n\nFiles: *\nCopyright: 1995-2013 Jean-loup Gailly and Mark Adler\nLicense: Zlib\n\nFiles: debian/*\nCopyright: Mark Brown\nLicense: Zlib\n")
        .file("usr/share/doc/tzdata/copyright", "This is the Debian prepackaged version of the Time Zone database.\n");
    let r = scan_json(&t, &[]);
    let pk = |n: &str| {
        r["inventory"]["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(pk("zlib1g")["license_expression"], "Zlib");
    assert!(
        pk("tzdata").get("license").is_none(),
        "free-form copyright: no guess"
    );
}

#[test]
fn live_machine_hardware_list_has_no_errors() {
    let o = Command::new(bin("fieldattest"))
        .args(["scan", "--format", "json", "--cred-budget-ms", "100"])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    let hw = r["inventory"]["hardware"].as_array().unwrap();
    assert!(hw.iter().any(|h| h["kind"] == "cpu"), "{hw:#?}");
    assert!(hw.iter().any(|h| h["kind"] == "memory"), "{hw:#?}");
    let errors: Vec<&Value> = r["inventory"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == "hardware")
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}
