SUMMARY = "IEC 62443-4-2 checks, SBOM and signed attestations for devices"
DESCRIPTION = "fieldattest inventories the installed software (dpkg, opkg, rpm, apk, \
               binaries), checks accounts, keys and configuration against the \
               least-privilege rules of IEC 62443-4-2 and sends signed attestations \
               (EAT in COSE) to a collector. The native build runs the same rules on \
               an image's rootfs at build time (fieldattest_image_check.bbclass)."
HOMEPAGE = "https://github.com/fieldattest/fieldattest"
BUGTRACKER = "https://github.com/fieldattest/fieldattest/issues"
SECTION = "security"
# The agent's own license and those of the crates linked into it (every
# PACKAGECONFIG feature), generated from the tree at SRCREV by
# yocto-layer/scripts/update-crates-inc.py; the test suite checks it.
LICENSE = "Apache-2.0 & BSD-3-Clause & ISC & MIT & (Apache-2.0 | BSD-2-Clause | MIT) & (Apache-2.0 | ISC | MIT) & (Apache-2.0 | MIT) & (MIT | Unlicense)"
# rpm-sqlite also compiles the SQLite amalgamation (public domain).
LICENSE:append = "${@bb.utils.contains('PACKAGECONFIG', 'rpm-sqlite', ' & PD', '', d)}"
LIC_FILES_CHKSUM = "file://LICENSE;md5=3b83ef96387f14655fc854ddc3c6bd57"
CVE_PRODUCT = "fieldattest"

# Release flow (yocto-layer/README.md): the recipe builds a pinned commit of
# main, never its own (a commit cannot name itself). After a change that
# matters, `yocto-layer/scripts/update-crates-inc.py --bump <commit>` sets
# SRCREV and regenerates the crates include and LICENSE from that commit;
# the test suite fails while the tree at SRCREV lacks what this recipe uses.
# Not ";tag=v${PV}": bitbake 2.8/2.10 (scarthgap, styhead) refuse a tag next to
# a SHA-1 SRCREV ("Conflicting revisions").
PV .= "+git"
SRC_URI = "git://github.com/fieldattest/fieldattest.git;protocol=https;branch=main;destsuffix=${BP}"
SRCREV = "5ab81409aa2d605ac9a4fbdecd1f4b4e91711dca"

inherit cargo cargo-update-recipe-crates systemd update-rc.d useradd

require ${BPN}-crates.inc

# Only the agent: the collector (a server) and the test crates stay out.
CARGO_BUILD_FLAGS += "-p fieldattest-agent"
# cargo.bbclass passes PACKAGECONFIG_CONFARGS to cargo itself from walnascar
# on; on scarthgap and styhead the recipe adds them.
CARGO_BUILD_FLAGS += "${@'' if 'PACKAGECONFIG_CONFARGS' in (d.getVar('oe_cargo_build', False) or '') + (d.getVar('cargo_do_compile', False) or '') else d.getVar('PACKAGECONFIG_CONFARGS')}"

# The workspace's rust-version. Older toolchains (scarthgap 1.75, styhead
# 1.79, walnascar 1.84.1) would fail deep in do_compile: skip the recipe with
# the reason instead. scarthgap: add meta-lts-mixins (branch scarthgap/rust).
FIELDATTEST_RUST_MIN = "1.85"
# nooelint: oelint.task.noanonpython - the check must run at parse time
python () {
    import re
    have = (d.getVar("PREFERRED_VERSION_rust-native") or d.getVar("RUSTVERSION") or "").rstrip("%")
    need = d.getVar("FIELDATTEST_RUST_MIN")
    m = re.match(r"(\d+)\.(\d+)", have)
    if m and (int(m.group(1)), int(m.group(2))) < tuple(int(x) for x in need.split(".")[:2]):
        raise bb.parse.SkipRecipe(
            "fieldattest needs Rust >= %s, this build has %s (RUSTVERSION). On scarthgap add "
            "meta-lts-mixins (branch scarthgap/rust); on styhead or walnascar use newer rust "
            "recipes (RUSTVERSION), or build on whinlatter or later." % (need, have))
}

PACKAGECONFIG ??= ""
# The native image check writes SPDX next to CycloneDX and lists every
# package's files with their digests; the device build leaves both out (flash).
PACKAGECONFIG:class-native ??= "spdx sbom-files"
# Read the sqlite rpm database of package_rpm images (bundles SQLite).
PACKAGECONFIG[rpm-sqlite] = "--features fieldattest-agent/rpm-sqlite,,"
# SPDX 2.3 JSON and SPDX 3.0.1 JSON-LD SBOM formats (scan --format spdx-json|spdx3).
PACKAGECONFIG[spdx] = "--features fieldattest-agent/spdx,,"
# Each package's files with the digest its database records, in the SBOM.
PACKAGECONFIG[sbom-files] = "--features fieldattest-agent/sbom-files,,"

USERADD_PACKAGES = "${PN}"
USERADD_PARAM:${PN} = "--system --no-create-home --home-dir /nonexistent --shell /bin/false --user-group fieldattest"

SYSTEMD_SERVICE:${PN} = "fieldattest.service"

INITSCRIPT_NAME = "fieldattest"
INITSCRIPT_PARAMS = "defaults 90 10"

# The unit, the init script and the configuration come from the source tree.
do_install:append:class-target() {
    install -d ${D}${sysconfdir}/fieldattest
    install -m 0640 -g fieldattest ${S}/agent/dist/agent.toml ${D}${sysconfdir}/fieldattest/agent.toml
    if ${@bb.utils.contains('DISTRO_FEATURES', 'systemd', 'true', 'false', d)}; then
        install -d ${D}${systemd_system_unitdir}
        install -m 0644 ${S}/agent/dist/fieldattest.service ${D}${systemd_system_unitdir}/fieldattest.service
        sed -i -e 's,/usr/bin/,${bindir}/,g' -e 's,/etc/fieldattest/,${sysconfdir}/fieldattest/,g' \
            ${D}${systemd_system_unitdir}/fieldattest.service
    fi
    if ${@bb.utils.contains('DISTRO_FEATURES', 'sysvinit', 'true', 'false', d)}; then
        install -d ${D}${sysconfdir}/init.d
        install -m 0755 ${S}/agent/dist/fieldattest.init ${D}${sysconfdir}/init.d/fieldattest
        sed -i -e 's,/usr/bin/,${bindir}/,g' -e 's,/etc/fieldattest/,${sysconfdir}/fieldattest/,g' \
            ${D}${sysconfdir}/init.d/fieldattest
    fi
}

CONFFILES:${PN} = "${sysconfdir}/fieldattest/agent.toml"

# The SysV script starts the agent through setpriv (only CAP_DAC_READ_SEARCH).
RDEPENDS:${PN} += "${@bb.utils.contains('DISTRO_FEATURES', 'sysvinit', 'util-linux-setpriv', '', d)}"

# fieldattest-native scans image rootfs trees at build time.
BBCLASSEXTEND = "native"
