SUMMARY = "IEC 62443-4-2 checks, SBOM and signed attestations for devices"
DESCRIPTION = "fieldattest inventories the installed software (dpkg, opkg, rpm, apk, \
               binaries), checks accounts, keys and configuration against the \
               least-privilege rules of IEC 62443-4-2 and sends signed attestations \
               (EAT in COSE) to a collector. The native build runs the same rules on \
               an image's rootfs at build time (fieldattest_image_check.bbclass)."
HOMEPAGE = "https://github.com/fieldattest/fieldattest"
BUGTRACKER = "https://github.com/fieldattest/fieldattest/issues"
SECTION = "security"
LICENSE = "Apache-2.0"
LIC_FILES_CHKSUM = "file://LICENSE;md5=3b83ef96387f14655fc854ddc3c6bd57"
CVE_PRODUCT = "fieldattest"

SRC_URI = "git://github.com/fieldattest/fieldattest.git;protocol=https;branch=main;destsuffix=${BP}"
SRCREV = "db7ac74b94a6a34dc0b23abd36b1def110e680ba"

inherit cargo cargo-update-recipe-crates systemd update-rc.d useradd

require ${BPN}-crates.inc

# Only the agent: the collector (a server) and the test crates stay out.
CARGO_BUILD_FLAGS += "-p fieldattest-agent"
# walnascar and later append PACKAGECONFIG_CONFARGS themselves; scarthgap and
# styhead do not (a repeated --features is harmless).
CARGO_BUILD_FLAGS += "${PACKAGECONFIG_CONFARGS}"

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
SYSTEMD_AUTO_ENABLE:${PN} = "enable"

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
