use super::*;

fn set(s: &[&str]) -> HashSet<String> {
    s.iter().map(|x| x.to_string()).collect()
}

fn tree() -> Map {
    let mk = |d: &str, t: &str| (d.to_string(), t.to_string());
    build(&[
        mk("", "obj-y += init/ kernel/\nobj-y += fs/ drivers/\nobj-y += arch/$(SRCARCH)/\n"),
        mk("kernel", "obj-y = fork.o exit.o\nobj-$(CONFIG_KEXEC) += kexec.o\n"),
        mk(
            "fs",
            "obj-y := open.o\nobj-$(CONFIG_EXT4_FS)\t+= ext4/\nobj-$(CONFIG_NFS_FS) += nfs/ # network\n",
        ),
        mk(
            "fs/ext4",
            "obj-$(CONFIG_EXT4_FS) += ext4.o\n\next4-y := balloc.o \\\n\t\tsuper.o\next4-$(CONFIG_EXT4_FS_POSIX_ACL) += acl.o\n",
        ),
        mk("drivers", "obj-$(CONFIG_NFC) += nfc/\nobj-$(CONFIG_WEIRD) += $(weird-dirs)\n"),
        mk(
            "drivers/nfc",
            "obj-$(CONFIG_NFC_PN533) += pn533.o\nifdef CONFIG_NFC_DEBUG\nobj-y += debug.o\nelse\nobj-y += quiet.o\nendif\nifeq ($(CONFIG_X86),y)\nobj-y += x86.o\nendif\nifeq ($(ARCH),arm)\nobj-y += armonly.o\nendif\nobj-$(subst m,y,$(CONFIG_NFC_SUBST)) += subst.o\n",
        ),
        mk("lost", "obj-y += orphan.o\n"),
    ])
}

#[test]
fn files_get_the_symbols_of_their_whole_chain() {
    let m = tree();
    let c = |f: &str| m.files.get(f).cloned();
    let alt = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(c("kernel/fork"), Some(vec![alt(&[])]));
    assert_eq!(c("kernel/kexec"), Some(vec![alt(&["CONFIG_KEXEC"])]));
    assert_eq!(c("fs/ext4/super"), Some(vec![alt(&["CONFIG_EXT4_FS"])]));
    assert_eq!(
        c("fs/ext4/acl"),
        Some(vec![alt(&["CONFIG_EXT4_FS", "CONFIG_EXT4_FS_POSIX_ACL"])])
    );
    assert_eq!(c("fs/ext4/ext4"), None, "a composite is not a file");
    assert_eq!(
        c("drivers/nfc/debug"),
        Some(vec![alt(&["CONFIG_NFC", "CONFIG_NFC_DEBUG"])])
    );
    assert_eq!(
        c("drivers/nfc/x86"),
        Some(vec![alt(&["CONFIG_NFC", "CONFIG_X86"])])
    );
    // Not understood: an else branch, a condition on something else, a
    // function on the left, a directory nobody references.
    for f in [
        "drivers/nfc/quiet",
        "drivers/nfc/armonly",
        "drivers/nfc/subst",
        "lost/orphan",
    ] {
        assert!(c(f).is_none(), "{f}");
        assert_eq!(built(&m, &format!("{f}.c"), &set(&[])), None, "{f}");
    }
}

#[test]
fn built_not_built_or_unknown() {
    let m = tree();
    let on = set(&["CONFIG_EXT4_FS"]);
    assert_eq!(built(&m, "fs/ext4/super.c", &on), Some(true));
    assert_eq!(built(&m, "fs/ext4/acl.c", &on), Some(false));
    assert_eq!(built(&m, "drivers/nfc/pn533.c", &on), Some(false));
    assert_eq!(built(&m, "kernel/fork.c", &set(&[])), Some(true));
    // Headers, files no makefile names, other trees: unknown.
    assert_eq!(built(&m, "fs/ext4/ext4.h", &on), None);
    assert_eq!(built(&m, "mm/mmap.c", &on), None);
    assert_eq!(built(&m, "arch/arm64/kernel/setup.c", &on), None);
}

#[test]
fn configurations_are_read_and_recognised() {
    let cfg = "#\n# Automatically generated file; DO NOT EDIT.\n# Linux/arm64 6.6.52 Kernel Configuration\n#\nCONFIG_EXT4_FS=y\nCONFIG_NFC=m\n# CONFIG_KEXEC is not set\nCONFIG_LOCALVERSION=\"-v8\"\nCONFIG_HZ=250\n";
    assert_eq!(enabled_symbols(cfg), set(&["CONFIG_EXT4_FS", "CONFIG_NFC"]));
    assert!(looks_like_config(cfg.as_bytes()));
    assert!(looks_like_config(b"# CONFIG_A is not set\n"));
    for not in [
        &b"{\"id\": 1}"[..],
        b"cve,epss,percentile\n",
        b"",
        b"# only a comment\n",
        b"CONFIG_A=y\nrm -rf /\n",
    ] {
        assert!(!looks_like_config(not), "{}", String::from_utf8_lossy(not));
    }
}

#[test]
fn cycles_and_hostile_makefiles_end() {
    let mk = |d: &str, t: &str| (d.to_string(), t.to_string());
    let m = build(&[
        mk("", "obj-y += a/\n"),
        mk("a", "x-y += y.o\ny-y += x.o\nobj-y += x.o\n"),
        mk(
            "b",
            "\\\n\\\n=\n-=\nobj-$( += z.o\nifeq\nelse\nendif\nendif\n",
        ),
    ]);
    assert_eq!(built(&m, "a/x.c", &set(&[])), None);
    assert_eq!(built(&m, "b/z.c", &set(&[])), None);
    // Too many alternatives: unknown, not a guess.
    let mut text = String::new();
    for i in 0..(MAX_ALTERNATIVES + 2) {
        text += &format!("obj-$(CONFIG_S{i}) += many.o\n");
    }
    let m = build(&[mk("", "obj-y += d/\n"), mk("d", &text)]);
    assert_eq!(built(&m, "d/many.c", &set(&[])), None);
}

#[test]
fn rows_round_trip_and_a_tree_is_read_from_disk() {
    let d = tempfile::tempdir().unwrap();
    let w = |p: &str, t: &str| {
        let p = d.path().join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, t).unwrap();
    };
    w(
        "Makefile",
        "VERSION = 6\nPATCHLEVEL = 6\nSUBLEVEL = 52\nEXTRAVERSION =\n",
    );
    w("Kbuild", "obj-y += fs/ kernel/\n");
    w("fs/Makefile", "obj-$(CONFIG_EXT4_FS) += ext4/\n");
    w(
        "fs/ext4/Makefile",
        "obj-$(CONFIG_EXT4_FS) += ext4.o\next4-y := super.o\next4-$(CONFIG_X) += acl.o\n",
    );
    w("fs/ext4/Kbuild", "obj-y += preferred.o\n");
    w("kernel/Makefile", "obj-y += fork.o\n");
    w("tools/Makefile", "obj-y += tool.o\n");
    let t = read_tree(d.path()).unwrap();
    assert_eq!(t.version.as_deref(), Some("6.6.52"));
    let dirs: Vec<&str> = t.makefiles.iter().map(|(d, _)| d.as_str()).collect();
    assert_eq!(dirs, ["", "fs", "fs/ext4", "kernel"]);
    let m = build(&t.makefiles);
    // fs/ext4's Kbuild is read, not its Makefile.
    assert_eq!(
        built(&m, "fs/ext4/preferred.c", &set(&["CONFIG_EXT4_FS"])),
        Some(true)
    );
    assert_eq!(
        built(&m, "fs/ext4/super.c", &set(&["CONFIG_EXT4_FS"])),
        None
    );
    assert_eq!(built(&m, "kernel/fork.c", &set(&[])), Some(true));
    assert_eq!(
        from_rows(to_rows(&m)),
        Map {
            unknown: m
                .unknown
                .iter()
                .filter(|u| !u.ends_with('/'))
                .cloned()
                .collect(),
            ..m.clone()
        }
    );
    assert!(read_tree(&d.path().join("fs/ext4/missing")).is_err());
}

#[test]
fn generated_makefiles_never_panic_and_round_trip() {
    // Makefiles assembled from Kbuild's own tokens and hostile ones.
    const TOKENS: [&str; 24] = [
        "obj-y",
        "obj-m",
        "obj-$(CONFIG_A)",
        "obj-$(CONFIG_",
        "x-y",
        "x-objs",
        "x-$(CONFIG_B)",
        " += ",
        " := ",
        "=",
        "a.o",
        "x.o",
        "sub/",
        "../up/",
        "$(dirs)/",
        "\\\n",
        "\n",
        "#",
        "ifdef CONFIG_A\n",
        "ifeq ($(CONFIG_B),y)\n",
        "else\n",
        "endif\n",
        "é",
        "\t",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut tokens = 0;
    for i in 0..2_000u64 {
        let mut text = String::new();
        for _ in 0..(i % 40) {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            text.push_str(TOKENS[(seed >> 33) as usize % TOKENS.len()]);
            tokens += 1;
        }
        let m = build(&[
            (String::new(), format!("obj-y += sub/\n{text}")),
            ("sub".into(), text.clone()),
            ("sub/sub".into(), text.clone()),
        ]);
        assert_eq!(from_rows(to_rows(&m)).files, m.files, "{text:?}");
        for f in ["sub/a.c", "sub/x.c", "sub/sub/a.c", "a.c", "up/a.c"] {
            let _ = built(&m, f, &set(&["CONFIG_A", "CONFIG_B"]));
        }
        let _ = looks_like_config(text.as_bytes());
    }
    assert!(tokens > 30_000, "{tokens}");
}
