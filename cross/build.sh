#!/usr/bin/env bash
# Release binaries of the agent for ARM devices with plain cargo, Debian's
# cross compilers and rustup targets (installed when missing): static
# aarch64-musl, aarch64-gnu and armv7-gnueabihf. Writes the stripped binaries
# and SHA256SUMS into one folder.
# Usage: cross/build.sh [OUTDIR]      (default target/cross-out)
#        TARGETS="aarch64-unknown-linux-musl" cross/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. cross/env.sh
cross_release_link
OUT=${1:-target/cross-out}
TARGETS=${TARGETS:-"aarch64-unknown-linux-musl aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf"}
# shellcheck disable=SC2086
cross_require $TARGETS
mkdir -p "$OUT"
for t in $TARGETS; do
    cargo build --release --locked -p fieldattest-agent --target "$t"
    # Stripped here for the release folder; the Yocto recipe keeps symbols
    # (its packaging splits them off).
    "$(cross_strip "$t")" -o "$OUT/fieldattest-$t" "target/$t/release/fieldattest"
    case "$t" in
        *-gnu*)
            floor=$(objdump -T "$OUT/fieldattest-$t" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
            echo "$t: needs ${floor:-an unknown} glibc or newer (built against this host's cross libc)" ;;
        *) echo "$t: static, no libc needed on the device" ;;
    esac
done
(cd "$OUT" && sha256sum fieldattest-* >SHA256SUMS && cat SHA256SUMS)
ls -l "$OUT"
