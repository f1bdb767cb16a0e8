//! The kernel as a component (Contract 1, ISSUE18) when no package database
//! lists a kernel package (BusyBox/Buildroot systems, images whose package
//! database does not hold the kernel): `Package { name: "linux", version:
//! <upstream release>, source: Binary }`. Its CPE
//! (`cpe:2.3:o:linux:linux_kernel:…`) comes from the maintained table like
//! any binary-detected component.
//!
//! The release: live, the running kernel (`/proc/sys/kernel/osrelease`); in
//! an image, the newest `/lib/modules/<release>` tree, else
//! `/boot/vmlinuz-<release>`, else `/boot/config-<release>`.

use crate::root::RootFs;
use fieldattest_protocol::report::{KernelConfig, KernelInfo, Package, PackageSource};

/// `kernel-<release>` (rpm, opkg): the kernel of one release.
fn versioned(n: &str) -> bool {
    n.strip_prefix("kernel-")
        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
}

/// Whether a package database entry is (part of) the kernel: dpkg
/// `linux-image-*`, apk `linux-<flavour>`, rpm `kernel`/`kernel-core`/…,
/// opkg `kernel` (OpenWrt), `kernel-image*`, `kernel-module*`,
/// `kernel-<release>` or a package of a `linux-*` recipe (Yocto).
pub fn is_kernel_package(p: &Package) -> bool {
    let n = p.name.as_str();
    match p.source {
        PackageSource::Dpkg => n.starts_with("linux-image-"),
        PackageSource::Apk => {
            const NOT: [&str; 6] = [
                "linux-firmware",
                "linux-headers",
                "linux-pam",
                "linux-tools",
                "linux-doc",
                "linux-atm",
            ];
            n.starts_with("linux-")
                && !NOT.iter().any(|x| n.starts_with(x))
                && !n.ends_with("-dev")
                && !n.ends_with("-doc")
        }
        PackageSource::Rpm => {
            const FLAVOURS: [&str; 10] = [
                "kernel-core",
                "kernel-default",
                "kernel-rt",
                "kernel-uek",
                "kernel-image",
                "kernel-module",
                "kernel-lpae",
                "kernel-64k",
                "kernel-azure",
                "kernel-zfcpdump",
            ];
            n == "kernel" || versioned(n) || FLAVOURS.iter().any(|f| n.starts_with(f))
        }
        PackageSource::Opkg => {
            let recipe_is_kernel = p.source_package.as_deref().is_some_and(|r| {
                r.starts_with("linux-")
                    && !r.starts_with("linux-firmware")
                    && !r.starts_with("linux-libc-headers")
            });
            n == "kernel"
                || n.starts_with("kernel-image")
                || n.starts_with("kernel-module")
                || versioned(n)
                || recipe_is_kernel
        }
        PackageSource::Binary => n == "linux",
    }
}

/// The upstream release in a kernel release string: its leading dotted
/// number (`6.1.95-yocto-standard` → `6.1.95`, `5.15.0-105-generic` →
/// `5.15.0`); `None` when it does not start with `major.minor`.
pub fn upstream_release(release: &str) -> Option<String> {
    let end = release
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(release.len());
    let v = release[..end].trim_end_matches('.');
    let mut parts = v.split('.');
    let ok =
        v.len() <= 32 && parts.clone().count() >= 2 && parts.all(|p| !p.is_empty() && p.len() <= 6);
    ok.then(|| v.to_string())
}

/// The newest `/boot/<prefix><release>` file's release (numeric order).
fn boot_release(root: &RootFs, prefix: &str) -> Option<String> {
    let key = |r: &str| -> Vec<u64> {
        r.split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<u64>().unwrap_or(0))
            .collect()
    };
    root.read_dir("/boot")
        .ok()?
        .into_iter()
        .filter_map(|e| {
            let n = e.name.to_string_lossy().into_owned();
            let r = n.strip_prefix(prefix)?.to_string();
            (upstream_release(&r).is_some() && root.is_file(format!("/boot/{n}"))).then_some(r)
        })
        .max_by(|a, b| key(a).cmp(&key(b)))
}

/// The kernel component, unless `packages` already hold the kernel.
/// `kernel` is the device's kernel as `os::read_kernel` found it.
pub fn component(
    root: &RootFs,
    live: bool,
    kernel: &KernelInfo,
    packages: &[Package],
) -> Option<Package> {
    if packages.iter().any(is_kernel_package) {
        return None;
    }
    let (release, path) = match (&kernel.release, live) {
        (Some(r), true) => (r.clone(), "/proc/sys/kernel/osrelease".to_string()),
        (Some(r), false) => (r.clone(), format!("/lib/modules/{r}")),
        (None, true) => return None,
        (None, false) => {
            if let Some(r) = boot_release(root, "vmlinuz-") {
                let p = format!("/boot/vmlinuz-{r}");
                (r, p)
            } else {
                let r = boot_release(root, "config-")?;
                let p = format!("/boot/config-{r}");
                (r, p)
            }
        }
    };
    let version = upstream_release(&release)?;
    let mut k = Package::new("linux", version, PackageSource::Binary, path);
    k.arch = kernel.machine.clone();
    Some(k)
}

/// The image record of the kernel's build configuration (the Yocto class
/// installs the kernel's `.config` there).
pub const CONFIG_RECORD: &str = "/usr/share/fieldattest/kernel.config";

/// Largest kernel configuration read (a full x86 `.config` is ~300 KB).
const CONFIG_MAX: u64 = 4 << 20;

/// The kernel's build configuration: the image record, else (live) the
/// running kernel's `/proc/config.gz`, else `/boot/config-<release>`;
/// its path and the SHA-256 of its bytes as read. `None` when none is
/// there or it is unreadable or larger than 4 MiB.
pub fn config(root: &RootFs, live: bool, kernel: &KernelInfo) -> Option<KernelConfig> {
    let mut paths = vec![CONFIG_RECORD.to_string()];
    if live {
        paths.push("/proc/config.gz".into());
    }
    if let Some(r) = &kernel.release {
        paths.push(format!("/boot/config-{r}"));
    }
    paths.into_iter().find_map(|path| {
        let b = root.read_limited(&path, CONFIG_MAX).ok()?;
        (!b.is_empty()).then(|| KernelConfig {
            sha256: fieldattest_protocol::hex::hex(
                ring::digest::digest(&ring::digest::SHA256, &b).as_ref(),
            ),
            path,
        })
    })
}

/// Whether `p` is the kernel image itself (not one of its modules): the
/// kernel component, opkg `kernel`, `kernel-image*`, `kernel-<release>`.
/// Its purl carries the configuration's digest (`kconfig` qualifier).
/// Distribution kernels (dpkg, rpm, apk) are matched by their
/// distributions' advisories and do not.
pub fn is_kernel_image(p: &Package) -> bool {
    let n = p.name.as_str();
    match p.source {
        PackageSource::Binary => n == "linux",
        PackageSource::Opkg => n == "kernel" || n.starts_with("kernel-image") || versioned(n),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(source: PackageSource, name: &str) -> Package {
        Package::new(name, "1", source, "/x")
    }

    #[test]
    fn kernel_packages_are_recognised() {
        use PackageSource::*;
        for (s, n) in [
            (Dpkg, "linux-image-6.1.0-21-amd64"),
            (Apk, "linux-lts"),
            (Apk, "linux-rpi"),
            (Rpm, "kernel"),
            (Rpm, "kernel-core"),
            (Rpm, "kernel-6.1.95-yocto-standard"),
            (Opkg, "kernel"),
            (Opkg, "kernel-image-bzimage-6.1.95-yocto-standard"),
            (Opkg, "kernel-module-e1000"),
            (Opkg, "kernel-6.1.95-yocto-standard"),
        ] {
            assert!(is_kernel_package(&p(s, n)), "{s:?} {n}");
        }
        for (s, n) in [
            (Dpkg, "linux-libc-dev"),
            (Dpkg, "linux-base"),
            (Apk, "linux-firmware-other"),
            (Apk, "linux-pam"),
            (Apk, "linux-headers"),
            (Apk, "linux-lts-dev"),
            (Rpm, "kernel-headers"),
            (Rpm, "kernel-tools"),
            (Opkg, "kmod-usb-core"),
            (Opkg, "kernel-devsrc"),
            (Opkg, "busybox"),
        ] {
            assert!(!is_kernel_package(&p(s, n)), "{s:?} {n}");
        }
        let mut m = p(Opkg, "linux-yocto-dev-src");
        m.source_package = Some("linux-yocto".into());
        assert!(is_kernel_package(&m));
        m.source_package = Some("linux-firmware".into());
        m.name = "linux-firmware-bcm43430".into();
        assert!(!is_kernel_package(&m));
    }

    fn tree(files: &[&str], dirs: &[&str]) -> (tempfile::TempDir, RootFs) {
        let d = tempfile::tempdir().unwrap();
        for f in files {
            let p = d.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x").unwrap();
        }
        for dir in dirs {
            std::fs::create_dir_all(d.path().join(dir)).unwrap();
        }
        let r = RootFs::new(d.path()).unwrap();
        (d, r)
    }

    #[test]
    fn component_from_modules_boot_or_proc_unless_a_package_is_the_kernel() {
        // Image: /lib/modules wins (os::read_kernel found it).
        let (_d, r) = tree(
            &["boot/vmlinuz-6.1.90"],
            &["lib/modules/6.1.95-yocto-standard"],
        );
        let k = KernelInfo {
            release: Some("6.1.95-yocto-standard".into()),
            machine: Some("aarch64".into()),
            ..Default::default()
        };
        let c = component(&r, false, &k, &[]).unwrap();
        assert_eq!((c.name.as_str(), c.version.as_str()), ("linux", "6.1.95"));
        assert_eq!(c.path, "/lib/modules/6.1.95-yocto-standard");
        assert_eq!(c.arch.as_deref(), Some("aarch64"));
        assert_eq!(c.source, PackageSource::Binary);
        // No module tree: the newest /boot/vmlinuz-*, else /boot/config-*.
        let (_d, r) = tree(
            &[
                "boot/vmlinuz-5.10.9",
                "boot/vmlinuz-5.10.10-rt",
                "boot/vmlinuz-old",
                "boot/config-4.0.1",
            ],
            &[],
        );
        let c = component(&r, false, &KernelInfo::default(), &[]).unwrap();
        assert_eq!(
            (c.version.as_str(), c.path.as_str()),
            ("5.10.10", "/boot/vmlinuz-5.10.10-rt")
        );
        let (_d, r) = tree(&["boot/config-6.6.30-v8"], &["boot/vmlinuz-7.0.0"]);
        let c = component(&r, false, &KernelInfo::default(), &[]).unwrap();
        assert_eq!(
            (c.version.as_str(), c.path.as_str()),
            ("6.6.30", "/boot/config-6.6.30-v8")
        );
        // Nothing names a kernel: no component.
        let (_d, r) = tree(&["boot/grub.cfg"], &[]);
        assert!(component(&r, false, &KernelInfo::default(), &[]).is_none());
        // Live: the running kernel, from /proc.
        let live = KernelInfo {
            release: Some("6.12.1-arch1-1".into()),
            ..Default::default()
        };
        let c = component(&r, true, &live, &[]).unwrap();
        assert_eq!(
            (c.version.as_str(), c.path.as_str()),
            ("6.12.1", "/proc/sys/kernel/osrelease")
        );
        assert!(component(&r, true, &KernelInfo::default(), &[]).is_none());
        // A package database that lists the kernel: no extra component.
        let img = p(PackageSource::Dpkg, "linux-image-6.1.0-21-amd64");
        assert!(component(&r, true, &live, &[img]).is_none());
        let other = p(PackageSource::Dpkg, "linux-libc-dev");
        assert!(component(&r, true, &live, &[other]).is_some());
    }

    #[test]
    fn upstream_release_is_the_leading_number() {
        for (r, want) in [
            ("6.1.95-yocto-standard", Some("6.1.95")),
            ("5.15.0-105-generic", Some("5.15.0")),
            ("6.6.30", Some("6.6.30")),
            ("4.9.253-tegra", Some("4.9.253")),
            ("6.12.0-rc1+", Some("6.12.0")),
            ("6.1.", Some("6.1")),
            ("6", None),
            ("", None),
            ("vmlinuz", None),
            ("1..2", None),
        ] {
            assert_eq!(upstream_release(r).as_deref(), want, "{r:?}");
        }
    }

    #[test]
    fn config_from_the_image_record_proc_or_boot_by_digest() {
        let sha = |b: &[u8]| {
            fieldattest_protocol::hex::hex(ring::digest::digest(&ring::digest::SHA256, b).as_ref())
        };
        let d = tempfile::tempdir().unwrap();
        let w = |f: &str, b: &[u8]| {
            let p = d.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b).unwrap();
        };
        let r = RootFs::new(d.path()).unwrap();
        let k = KernelInfo {
            release: Some("6.1.95-yocto-standard".into()),
            ..Default::default()
        };
        // Nothing there: no configuration (and no guess).
        assert_eq!(config(&r, true, &k), None);
        w("boot/config-6.1.90", b"CONFIG_A=y\n");
        assert_eq!(config(&r, true, &k), None, "another release's config");
        w("boot/config-6.1.95-yocto-standard", b"CONFIG_B=y\n");
        let c = config(&r, false, &k).unwrap();
        assert_eq!(c.path, "/boot/config-6.1.95-yocto-standard");
        assert_eq!(c.sha256, sha(b"CONFIG_B=y\n"));
        // Live, /proc/config.gz (digest of the compressed bytes) comes first.
        w("proc/config.gz", b"\x1f\x8b compressed");
        assert_eq!(config(&r, true, &k).unwrap().path, "/proc/config.gz");
        assert_eq!(
            config(&r, false, &k).unwrap().path,
            "/boot/config-6.1.95-yocto-standard"
        );
        // The image record wins over both.
        w("usr/share/fieldattest/kernel.config", b"CONFIG_C=m\n");
        let c = config(&r, true, &k).unwrap();
        assert_eq!(
            (c.path.as_str(), c.sha256),
            (CONFIG_RECORD, sha(b"CONFIG_C=m\n"))
        );
        // An empty file is no configuration.
        w("usr/share/fieldattest/kernel.config", b"");
        assert_eq!(config(&r, true, &k).unwrap().path, "/proc/config.gz");
    }

    #[test]
    fn only_the_kernel_image_carries_the_configuration() {
        use PackageSource::*;
        for (s, n, want) in [
            (Binary, "linux", true),
            (Opkg, "kernel", true),
            (Opkg, "kernel-image-zimage", true),
            (Opkg, "kernel-6.1.95-yocto-standard", true),
            (Opkg, "kernel-module-ext4", false),
            (Opkg, "kernel-modules", false),
            (Dpkg, "linux-image-6.1.0-21-amd64", false),
            (Rpm, "kernel-core", false),
            (Binary, "busybox", false),
        ] {
            assert_eq!(is_kernel_image(&p(s, n)), want, "{s:?} {n}");
        }
    }
}
