#!/usr/bin/env bash
# Parses the layer with real bitbake + openembedded-core checkouts, no build
# and no network: `bitbake -p` over all recipes, then the recipe's and an
# image's environment with the image-check class (the task order and the
# native dependency). Run as a non-root user (bitbake refuses root); needs
# chrpath, diffstat, gawk, cpio and an en_US.UTF-8 locale.
# Usage: yocto-layer/scripts/bitbake-parse.sh OE_CORE_DIR BITBAKE_DIR [BUILD_DIR]
#   e.g. openembedded-core on wrynose with bitbake 2.18, or scarthgap with 2.8.
# On a release whose Rust is too old the recipe is skipped: the script prints
# bitbake's reason and stops there (exit 0).
# FIELDATTEST_POPULATE_LIC=1 also runs `bitbake -c populate_lic fieldattest`
# (network on): the recipe's git from this repository as a local premirror,
# the crates from crates.io. FIELDATTEST_CRATES_ONLY_NETWORK=1 is for machines
# that reach crates.io but not the GNU and Yocto download sites: no uninative
# tarball, and do_patch without its quilt/patch native tools (the recipe
# carries no patches).
set -euo pipefail
LAYER=$(cd "$(dirname "$0")/.." && pwd)
OE=$(cd "$1" && pwd)
BB=$(cd "$2" && pwd)
BUILD=${3:-$(mktemp -d)/build}
export LANG=en_US.UTF-8 LC_ALL=en_US.UTF-8
# oe-init-build-env is not written for `set -u`.
set +u
# shellcheck disable=SC1091
BITBAKEDIR=$BB . "$OE/oe-init-build-env" "$BUILD" >/dev/null
set -u
bitbake-layers add-layer "$LAYER" >/dev/null
grep -q BB_NO_NETWORK conf/local.conf || echo 'BB_NO_NETWORK = "1"' >>conf/local.conf
grep -q fieldattest_image_check conf/local.conf || echo 'IMAGE_CLASSES += "fieldattest_image_check"' >>conf/local.conf
bitbake -p 2>&1 | tail -1
if ! bitbake -e fieldattest >env.txt 2>&1; then
    reason=$(bitbake fieldattest 2>&1 | grep -E 'was skipped: ' || true)
    [ -n "$reason" ] || { tail -20 env.txt; exit 1; }
    echo "$reason"
    echo "bitbake-parse: OK, recipe skipped ($(basename "$OE"), bitbake $(git -C "$BB" describe --always 2>/dev/null || echo ?))"
    exit 0
fi
grep -E '^(S|PV|CARGO_BUILD_FLAGS)=' env.txt | cut -c1-200
grep -q -- '-p fieldattest-agent' env.txt
bitbake -e fieldattest-native | grep -E '^S=' | cut -c1-200
bitbake -e core-image-minimal >img.txt
grep -o '^ROOTFS_POSTUNINSTALL_COMMAND=.*' img.txt | grep -q 'fieldattest_image_check"$' \
    || { echo "fieldattest_image_check is not the last rootfs post-uninstall command"; exit 1; }
grep -q "fieldattest-native:do_populate_sysroot" img.txt
if [ "${FIELDATTEST_POPULATE_LIC:-}" = 1 ]; then
    repo=$(git -C "$LAYER" rev-parse --show-toplevel)
    mirror=$BUILD/fieldattest.git
    rm -rf "$mirror" && git clone -q --bare "$repo" "$mirror"
    {
        echo 'BB_NO_NETWORK = "0"'
        echo "PREMIRRORS:prepend = \"git://github.com/fieldattest/fieldattest.git git://$mirror;protocol=file \""
        if [ "${FIELDATTEST_CRATES_ONLY_NETWORK:-}" = 1 ]; then
            echo 'INHERIT:remove = "uninative"'
            echo 'PATCHTOOL:pn-fieldattest = "patch"'
            echo 'PATCHDEPENDENCY:pn-fieldattest = ""'
            echo 'PATCHDEPENDENCY:remove:pn-fieldattest = "patch-replacement-native:do_populate_sysroot"'
        fi
    } >>conf/local.conf
    bitbake -c populate_lic fieldattest 2>&1 | tail -3
    ls "$BUILD"/tmp/deploy/licenses/*/fieldattest/
fi
echo "bitbake-parse: OK ($(basename "$OE"), bitbake $(git -C "$BB" describe --always 2>/dev/null || echo ?))"
