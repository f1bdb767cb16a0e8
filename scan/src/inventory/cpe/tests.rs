use super::table::{MAX_TABLE_LINES, YOCTO_TSV};
use super::*;

#[test]
fn binding_quotes_what_nistir_7695_quotes() {
    // §6.2.2.2: letters, digits, `-`, `.`, `_` pass; other printables are quoted.
    assert_eq!(bind_value("sdbus-c++").as_deref(), Some(r"sdbus-c\+\+"));
    assert_eq!(bind_value("1.0+x").as_deref(), Some(r"1.0\+x"));
    assert_eq!(bind_value("foo\\bar").as_deref(), Some(r"foo\\bar"));
    assert_eq!(
        bind_value("big$money_2010").as_deref(),
        Some(r"big\$money_2010")
    );
    assert_eq!(bind_value("a:b").as_deref(), Some(r"a\:b"));
    assert_eq!(bind_value("*").as_deref(), Some(r"\*"));
    assert_eq!(bind_value("1.?").as_deref(), Some(r"1.\?"));
    assert_eq!(
        bind_value("!\"#%&'(),/;<=>@[]^`{|}~").as_deref(),
        Some(r##"\!\"\#\%\&\'\(\)\,\/\;\<\=\>\@\[\]\^\`\{\|\}\~"##)
    );
    assert_eq!(bind_value("1.1.1w").as_deref(), Some("1.1.1w"));
    assert_eq!(bind_value("a-b.c_d").as_deref(), Some("a-b.c_d"));
    assert_eq!(bind_value("OpenSSL").as_deref(), Some("openssl"));
    assert_eq!(bind_value("1.0 beta").as_deref(), Some("1.0_beta"));
    // What a CPE cannot hold.
    assert_eq!(bind_value(""), None);
    assert_eq!(bind_value("-"), None, "a lone hyphen reads back as NA");
    assert_eq!(bind_value("caf\u{e9}"), None);
    assert_eq!(bind_value("a\nb"), None);
    assert_eq!(bind_value("a\u{0}b"), None);
    assert_eq!(bind_value(&"x".repeat(MAX_VALUE + 1)), None);
    assert!(bind_value(&"x".repeat(MAX_VALUE)).is_some());
}

#[test]
fn format_builds_the_thirteen_components() {
    assert_eq!(
        format("a", "openssl", "openssl", "3.0.2").as_deref(),
        Some("cpe:2.3:a:openssl:openssl:3.0.2:*:*:*:*:*:*:*")
    );
    assert_eq!(
        format("o", "linux", "linux_kernel", "6.1.95").as_deref(),
        Some("cpe:2.3:o:linux:linux_kernel:6.1.95:*:*:*:*:*:*:*")
    );
    // CVE_PRODUCT without vendor: vendor ANY, part ANY as OE-core writes it.
    assert_eq!(
        format("*", "*", "busybox", "1.36.1").as_deref(),
        Some("cpe:2.3:*:*:busybox:1.36.1:*:*:*:*:*:*:*")
    );
    assert_eq!(
        format("*", "*", "sdbus-c++", "2.2.1").as_deref(),
        Some(r"cpe:2.3:*:*:sdbus-c\+\+:2.2.1:*:*:*:*:*:*:*")
    );
    assert_eq!(format("x", "a", "b", "1"), None);
    assert_eq!(format("a", "", "b", "1"), None);
    assert_eq!(
        format("a", "v", "*", "1").as_deref(),
        Some(r"cpe:2.3:a:v:\*:1:*:*:*:*:*:*:*")
    );
    assert_eq!(format("a", "v", "p", ""), None, "no version, no CPE");
    assert_eq!(format("a", "v", "p", "1\u{7f}"), None);
}

#[test]
fn openssh_versions_carry_the_update_as_nvd_writes_them() {
    assert_eq!(
        format("a", "openbsd", "openssh", "9.6p1").as_deref(),
        Some("cpe:2.3:a:openbsd:openssh:9.6:p1:*:*:*:*:*:*")
    );
    assert_eq!(
        format("a", "openbsd", "openssh", "9.6_p1").as_deref(),
        Some("cpe:2.3:a:openbsd:openssh:9.6:p1:*:*:*:*:*:*")
    );
    assert_eq!(
        format("*", "*", "openssh", "8.9p1").as_deref(),
        Some("cpe:2.3:*:*:openssh:8.9:p1:*:*:*:*:*:*")
    );
    // Not a portable release suffix: kept as the version.
    assert_eq!(
        format("a", "openbsd", "openssh", "9.6").as_deref(),
        Some("cpe:2.3:a:openbsd:openssh:9.6:*:*:*:*:*:*:*")
    );
    assert_eq!(
        format("a", "openbsd", "openssh", "9.6pre").as_deref(),
        Some("cpe:2.3:a:openbsd:openssh:9.6pre:*:*:*:*:*:*:*")
    );
    // Other products never split.
    assert_eq!(
        format("a", "x", "y", "9.6p1").as_deref(),
        Some("cpe:2.3:a:x:y:9.6p1:*:*:*:*:*:*:*")
    );
}

#[test]
fn parse_reads_the_specification_examples_and_round_trips() {
    // NISTIR 7695 §6.2.2.3 examples 1, 3 and 4.
    let c = parse("cpe:2.3:a:microsoft:internet_explorer:8.0.6001:beta:*:*:*:*:*:*").unwrap();
    assert_eq!(c.part, Value::Literal("a".into()));
    assert_eq!(c.product(), &Value::Literal("internet_explorer".into()));
    assert_eq!(c.version(), &Value::Literal("8.0.6001".into()));
    assert_eq!(c.update(), &Value::Literal("beta".into()));
    assert_eq!(c.attrs[4], Value::Any);
    let c =
        parse("cpe:2.3:a:hp:insight_diagnostics:7.4.0.1570:-:*:*:online:win2003:x64:*").unwrap();
    assert_eq!(c.update(), &Value::Na);
    assert_eq!(c.attrs[8], Value::Literal("x64".into()));
    let c = parse(r"cpe:2.3:a:foo\\bar:big\$money_2010:*:*:*:*:special:ipod_touch:80gb:*").unwrap();
    assert_eq!(c.vendor(), &Value::Literal("foo\\bar".into()));
    assert_eq!(c.product(), &Value::Literal("big$money_2010".into()));
    for lang in ["en", "eng", "en-us", "es-419"] {
        let s = format!("cpe:2.3:a:v:p:1:*:*:{lang}:*:*:*:*");
        assert_eq!(parse(&s).unwrap().attrs[5], Value::Literal(lang.into()));
    }
    // Example 2 is a match pattern (`8.*`, `sp?`): not a name.
    assert!(parse("cpe:2.3:a:microsoft:internet_explorer:8.*:sp?:*:*:*:*:*:*").is_err());
    // What format writes, parse reads back to the same values.
    for (v, p, ver) in [
        ("openssl", "openssl", "3.0.2"),
        ("*", "sdbus-c++", "1.0+x"),
        ("foo\\bar", "a:b", "1 2"),
        ("x", "y", "!\"#$%&'()*+,/:;<=>?@[]^`{|}~"),
    ] {
        let s = format("a", v, p, ver).unwrap();
        let c = parse(&s).unwrap_or_else(|e| panic!("{s}: {e}"));
        let want_vendor = if v == "*" {
            Value::Any
        } else {
            Value::Literal(v.into())
        };
        assert_eq!(c.vendor(), &want_vendor, "{s}");
        assert_eq!(c.product(), &Value::Literal(p.into()), "{s}");
        assert_eq!(c.version(), &Value::Literal(ver.replace(' ', "_")), "{s}");
    }
}

#[test]
fn parse_refuses_malformed_strings() {
    for bad in [
        "",
        "cpe:/a:openssl:openssl:3.0.2",
        "cpe:2.3:a:openssl:openssl:3.0.2:*:*:*:*:*:*",
        "cpe:2.3:a:openssl:openssl:3.0.2:*:*:*:*:*:*:*:*",
        "cpe:2.3:x:openssl:openssl:3.0.2:*:*:*:*:*:*:*",
        "cpe:2.3:a:open ssl:openssl:3.0.2:*:*:*:*:*:*:*",
        "cpe:2.3:a:open!ssl:openssl:3.0.2:*:*:*:*:*:*:*",
        "cpe:2.3:a::openssl:3.0.2:*:*:*:*:*:*:*",
        "cpe:2.3:a:openssl:openssl:3.0.2:*:*:*:*:*:*:\\",
        "cpe:2.3:a:open\\ssl:openssl:3.0.2:*:*:*:*:*:*:*",
        "cpe:2.3:a:open\\-ssl:openssl:3.0.2:*:*:*:*:*:*:*",
        "cpe:2.3:a:openssl:openssl:3.*:*:*:*:*:*:*:*",
        "cpe:2.3:a:openssl:openssl:caf\u{e9}:*:*:*:*:*:*:*",
        "cpe:2.3:a:v:p:1:*:*:english:*:*:*:*",
        "cpe:2.3:a:v:p:1:*:*:en-u:*:*:*:*",
        "cpe:2.3:a:v:p:1:*:*:en-:*:*:*:*",
    ] {
        assert!(parse(bad).is_err(), "{bad:?} accepted");
    }
    let long = format!("cpe:2.3:a:{}:p:1:*:*:*:*:*:*:*", "v".repeat(MAX_VALUE + 1));
    assert!(parse(&long).is_err());
}

#[test]
fn shipped_tables_parse_cleanly_and_are_bounded() {
    let (errors, n) = MAINTAINED.check();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(n > 100 && n < MAX_TABLE_LINES);
    let (errors, n) = YOCTO.check();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(n > 500 && n < MAX_TABLE_LINES);
    assert!(YOCTO_TSV
        .lines()
        .next()
        .unwrap()
        .contains("openembedded-core "));
    // Every recipe of the table is found by the binary search, with the
    // products its line names.
    for line in YOCTO_TSV.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split('\t').next().unwrap();
        let words = line
            .split('\t')
            .nth(1)
            .unwrap_or(name)
            .split_whitespace()
            .count();
        assert_eq!(YOCTO.get(name).map(|p| p.len()), Some(words), "{name}");
    }
}

#[test]
fn table_check_finds_bad_lines() {
    let t = Table {
        text: "# c\nfoo\ta:v:foo\nfoo*\ta:v:foo-any\nbad\tq:v:p\nnone\n*\ta:v:all\nfoo\ta:v:x\n",
        kind: Kind::Maintained,
    };
    let (errors, _) = t.check();
    let lines: Vec<usize> = errors.iter().map(|e| e.0).collect();
    assert_eq!(lines, [4, 5, 6, 0], "{errors:?}");
    let y = Table {
        text: "# h\nb\nb\na\tx:y\nc*\n",
        kind: Kind::Yocto,
    };
    let (errors, _) = y.check();
    let lines: Vec<usize> = errors.iter().map(|e| e.0).collect();
    assert_eq!(lines, [3, 4, 5], "{errors:?}");
}

#[test]
fn sorted_table_binary_search() {
    let text = "# header\n# more\napple\nbanana\tv:banana\ncherry\tw:cherry x\ndate\n";
    let t = Table {
        text,
        kind: Kind::Yocto,
    };
    for (name, want) in [
        ("apple", Some("apple")),
        ("banana", Some("banana")),
        ("cherry", Some("cherry")),
        ("date", Some("date")),
        ("aardvark", None),
        ("blueberry", None),
        ("zebra", None),
        ("", None),
        ("# header", None),
    ] {
        assert_eq!(
            t.get(name).map(|p| p[0].product.clone()).as_deref(),
            want,
            "{name:?}"
        );
    }
    assert_eq!(t.get("cherry").unwrap().len(), 2);
    let only_comments = Table {
        text: "# x\n",
        kind: Kind::Yocto,
    };
    assert!(only_comments.get("x").is_none());
}

#[test]
fn table_lookup_exact_then_longest_prefix() {
    let t = Table {
        text:
            "# c\nfoo\ta:v:foo\nfoo*\ta:v:foo-any\nfoo-bar*\ta:v:foo-bar\nbad\tq:v:p\n*\ta:v:all\n",
        kind: Kind::Maintained,
    };
    let name = |n: &str| t.get(n).map(|p| p[0].product.clone());
    assert_eq!(name("foo").as_deref(), Some("foo"));
    assert_eq!(name("foox").as_deref(), Some("foo-any"));
    assert_eq!(name("foo-bar-baz").as_deref(), Some("foo-bar"));
    assert_eq!(name("fo"), None);
    assert_eq!(
        name("bad"),
        None,
        "a line without a valid product names nothing"
    );
    assert_eq!(name("zzz"), None, "an empty prefix matches nothing");
    let m = MAINTAINED;
    let products = |n: &str| {
        m.get(n)
            .map(|ps| {
                ps.iter()
                    .map(|p| format!("{}:{}:{}", p.part, p.vendor, p.product))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    assert_eq!(products("libopenssl3"), ["a:openssl:openssl"]);
    assert_eq!(
        products("wpad-basic-mbedtls"),
        ["a:w1.fi:hostapd", "a:w1.fi:wpa_supplicant"]
    );
    assert_eq!(products("libmbedtls12"), ["a:arm:mbed_tls"]);
    assert_eq!(products("dnsmasq-full"), ["a:thekelleys:dnsmasq"]);
    assert_eq!(products("libcurl4"), ["a:haxx:libcurl"]);
    assert_eq!(products("linux"), ["o:linux:linux_kernel"]);
    assert!(
        products("kmod-usb-core").is_empty(),
        "modules are not the kernel"
    );
    assert!(products("libluajit").is_empty());
    assert!(products("plc-runtime").is_empty());
    let y = YOCTO;
    assert_eq!(y.get("openssl").unwrap()[0].vendor, "openssl");
    let bb = &y.get("busybox").unwrap()[0];
    assert_eq!((bb.vendor.as_str(), bb.product.as_str()), ("*", "busybox"));
    assert!(y.get("plc-runtime").is_none());
    assert!(y.get("busybox-").is_none());
}

#[test]
fn upstream_versions() {
    use PackageSource::*;
    for (src, v, want) in [
        (Opkg, "2022.82-5", "2022.82"),
        (Opkg, "3.0.15-r1", "3.0.15"),
        (Opkg, "6.6.73~8f2c2b2d0c1e-r1", "6.6.73"),
        (Dpkg, "1:2.36-9+deb12u7", "2.36"),
        (Dpkg, "3.0.15-1~deb12u1", "3.0.15"),
        (Dpkg, "1:1.2.13.dfsg-1", "1.2.13"),
        (Dpkg, "1:9.2p1-2+deb12u3", "9.2p1"),
        (Apk, "9.6_p1-r0", "9.6_p1"),
        (Apk, "3.1.4-r5", "3.1.4"),
        (Rpm, "1:3.0.7-27.el9", "3.0.7"),
        (Binary, "1.36.1", "1.36.1"),
        (Binary, "2.0-beta", "2.0-beta"),
    ] {
        assert_eq!(upstream_version(src, v), want, "{src:?} {v}");
    }
    assert_eq!(yocto_version("2.39+git0+abc"), "2.39");
    for (v, snap) in [
        ("2024.03.09", true),
        ("2023-06-05", true),
        ("2022.82", false),
        ("2024.13.09", false),
        ("1.36.1", false),
        ("2024.03.9", false),
        ("12024.03.09", false),
    ] {
        assert_eq!(is_snapshot_date(v), snap, "{v}");
    }
    assert_eq!(yocto_version("3.0.2"), "3.0.2");
    assert_eq!(srpm_name("openssl-3.0.7-27.el9.src.rpm"), Some("openssl"));
    assert_eq!(
        srpm_name("kernel-rt-5.14.0-1.el9.src.rpm"),
        Some("kernel-rt")
    );
    assert_eq!(srpm_name("openssl"), None);
}

fn pkg(source: PackageSource, name: &str, version: &str) -> Package {
    Package::new(name, version, source, "/x")
}

#[test]
fn packages_get_cpes_from_the_right_table_or_none() {
    use PackageSource::*;
    // OpenWrt opkg package names.
    let p = pkg(Opkg, "libopenssl3", "3.0.15-1");
    assert_eq!(
        for_package(&p),
        ["cpe:2.3:a:openssl:openssl:3.0.15:*:*:*:*:*:*:*"]
    );
    let p = pkg(Opkg, "dropbear", "2022.82-5");
    assert_eq!(
        for_package(&p),
        ["cpe:2.3:a:dropbear_ssh_project:dropbear_ssh:2022.82:*:*:*:*:*:*:*"]
    );
    let p = pkg(Opkg, "kernel", "6.6.73~8f2c2b2d0c1e-r1");
    assert_eq!(
        for_package(&p),
        ["cpe:2.3:o:linux:linux_kernel:6.6.73:*:*:*:*:*:*:*"]
    );
    assert!(for_package(&pkg(Opkg, "luci-app-firewall", "24.1-r1")).is_empty());
    // A snapshot of hostapd has no release number advisories could compare.
    assert!(for_package(&pkg(Opkg, "wpad-basic-mbedtls", "2024.03.09~695277a5-6")).is_empty());
    assert_eq!(
        for_package(&pkg(Opkg, "hostapd-common", "2.10-1")),
        ["cpe:2.3:a:w1.fi:hostapd:2.10:*:*:*:*:*:*:*"]
    );
    // Yocto: OE-core table first (vendor ANY when CVE_PRODUCT has none).
    let mut p = pkg(Opkg, "libc6", "2.39+git0-r0");
    p.source_package = Some("glibc".into());
    p.source_version = Some("2.39+git0".into());
    assert_eq!(for_package(&p), ["cpe:2.3:*:*:glibc:2.39:*:*:*:*:*:*:*"]);
    let mut p = pkg(Opkg, "libssl3", "3.0.2-r0");
    p.source_package = Some("openssl".into());
    p.source_version = Some("3.0.2".into());
    assert_eq!(
        for_package(&p),
        ["cpe:2.3:*:openssl:openssl:3.0.2:*:*:*:*:*:*:*"]
    );
    // A meta-oe recipe OE-core does not know: the maintained table.
    let mut p = pkg(Opkg, "mosquitto", "2.0.18-r0");
    p.source_package = Some("mosquitto".into());
    p.source_version = Some("2.0.18".into());
    assert_eq!(
        for_package(&p),
        ["cpe:2.3:a:eclipse:mosquitto:2.0.18:*:*:*:*:*:*:*"]
    );
    // Nobody knows the vendor's own recipe: no CPE.
    let mut p = pkg(Opkg, "plc-runtime", "1.0-r0");
    p.source_package = Some("plc-runtime".into());
    p.source_version = Some("1.0".into());
    assert!(for_package(&p).is_empty());
    // Binary-detected.
    let p = pkg(Binary, "openssh", "9.6p1");
    assert_eq!(
        for_package(&p),
        ["cpe:2.3:a:openbsd:openssh:9.6:p1:*:*:*:*:*:*"]
    );
    let p = pkg(Binary, "busybox", "1.36.1");
    assert_eq!(
        for_package(&p),
        ["cpe:2.3:a:busybox:busybox:1.36.1:*:*:*:*:*:*:*"]
    );
    // Distributions: binary name first, then the source package.
    let mut p = pkg(Dpkg, "libcurl4", "7.88.1-10+deb12u8");
    p.source_package = Some("curl".into());
    assert_eq!(
        for_package(&p),
        ["cpe:2.3:a:haxx:libcurl:7.88.1:*:*:*:*:*:*:*"]
    );
    let mut p = pkg(Dpkg, "libc6", "2.36-9+deb12u7");
    p.source_package = Some("glibc".into());
    assert_eq!(for_package(&p), ["cpe:2.3:a:gnu:glibc:2.36:*:*:*:*:*:*:*"]);
    let mut p = pkg(Dpkg, "zlib1g", "1:1.2.13.dfsg-1");
    p.source_package = Some("zlib".into());
    assert_eq!(
        for_package(&p),
        ["cpe:2.3:a:zlib:zlib:1.2.13:*:*:*:*:*:*:*"]
    );
    let mut p = pkg(Apk, "openssh-server", "9.6_p1-r0");
    p.source_package = Some("openssh".into());
    assert_eq!(
        for_package(&p),
        ["cpe:2.3:a:openbsd:openssh:9.6:p1:*:*:*:*:*:*"]
    );
    let mut p = pkg(Rpm, "kernel-core", "5.14.0-427.el9");
    p.source_package = Some("kernel-5.14.0-427.el9.src.rpm".into());
    assert_eq!(
        for_package(&p),
        ["cpe:2.3:o:linux:linux_kernel:5.14.0:*:*:*:*:*:*:*"]
    );
    let mut p = pkg(Dpkg, "libfoo1", "1.0-1");
    p.source_package = Some("foo".into());
    assert!(for_package(&p).is_empty());
}

#[test]
fn openwrt_libc_is_named_by_its_file_list() {
    let p = pkg(PackageSource::Opkg, "libc", "1.2.4-4");
    assert!(for_package(&p).is_empty(), "the name alone says nothing");
    assert_eq!(
        for_libc(&p, "/lib/ld-musl-aarch64.so.1\n/lib/libc.so\n"),
        ["cpe:2.3:a:musl-libc:musl:1.2.4:*:*:*:*:*:*:*"]
    );
    let g = pkg(PackageSource::Opkg, "libc", "2.38-1");
    assert_eq!(
        for_libc(&g, "/lib/libc.so.6\n/lib/ld-linux-aarch64.so.1\n"),
        ["cpe:2.3:a:gnu:glibc:2.38:*:*:*:*:*:*:*"]
    );
    let u = pkg(PackageSource::Opkg, "libc", "1.0.45-1");
    assert_eq!(
        for_libc(&u, "/lib/ld-uClibc.so.0\n"),
        ["cpe:2.3:a:uclibc-ng_project:uclibc-ng:1.0.45:*:*:*:*:*:*:*"]
    );
    assert!(for_libc(&p, "/lib/libc.so\n/etc/x\n").is_empty());
    assert!(
        for_libc(&p, "/lib/ld-musl-arm.so.1\n/lib/libc.so.6\n").is_empty(),
        "two C libraries: no guess"
    );
}
