#!/usr/bin/env bash
# Parses the layer with real bitbake + openembedded-core checkouts, no build
# and no network: `bitbake -p` over all recipes, then the recipe's and an
# image's environment with the image-check class (the task order and the
# native dependency). Run as a non-root user (bitbake refuses root); needs
# chrpath, diffstat, gawk, cpio and an en_US.UTF-8 locale.
# Usage: yocto-layer/scripts/bitbake-parse.sh OE_CORE_DIR BITBAKE_DIR [BUILD_DIR]
#   e.g. openembedded-core on wrynose with bitbake 2.18, or scarthgap with 2.8.
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
bitbake -e fieldattest >env.txt
grep -E '^(S|PV|CARGO_BUILD_FLAGS)=' env.txt | cut -c1-200
grep -q -- '-p fieldattest-agent' env.txt
bitbake -e fieldattest-native | grep -E '^S=' | cut -c1-200
bitbake -e core-image-minimal >img.txt
grep -o '^ROOTFS_POSTUNINSTALL_COMMAND=.*' img.txt | grep -q 'fieldattest_image_check"$' \
    || { echo "fieldattest_image_check is not the last rootfs post-uninstall command"; exit 1; }
grep -q "fieldattest-native:do_populate_sysroot" img.txt
echo "bitbake-parse: OK ($(basename "$OE"), bitbake $(git -C "$BB" describe --always 2>/dev/null || echo ?))"
