#!/usr/bin/env bash
# The scanning library's, the agent's and the protocol crate's test suites built for ARM and run under
# qemu-user (CARGO_TARGET_<TRIPLE>_RUNNER), then an end-to-end scan of an ARM
# rootfs tree with the ARM release binary.
# Usage: cross/test-qemu.sh [ARM64-ROOTFS]
#   ARM64-ROOTFS: a Debian arm64 tree (cross/arm-rootfs.sh makes one);
#   without it a fixture tree with an arm64 dpkg database is scanned.
set -euo pipefail
cd "$(dirname "$0")/.."
. cross/env.sh
TARGETS=${TARGETS:-"aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf"}
# shellcheck disable=SC2086
cross_require $TARGETS
cross_binfmt
for t in $TARGETS; do
    echo "== $t: scan + agent + protocol tests under $(cross_runner "$t")"
    # Tests that spawn the ARM binary run it through binfmt + qemu. One test
    # thread: qemu-user can deadlock a child forked while other guest threads
    # hold its locks (several tests spawn ssh-keygen, python3, mkfifo).
    QEMU_LD_PREFIX=$(cross_ld_prefix "$t") \
        cargo test --locked -p fieldattest-scan -p fieldattest-agent -p fieldattest-protocol --target "$t" -- --test-threads=1
done

ROOTFS=${1:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$ROOTFS" ]; then
    ROOTFS=$tmp/rootfs
    mkdir -p "$ROOTFS/var/lib/dpkg" "$ROOTFS/etc"
    printf 'ID=debian\nVERSION_ID="12"\nNAME="Debian GNU/Linux"\n' >"$ROOTFS/etc/os-release"
    for p in base-files:12.4 libc6:2.36-9 openssh-server:1:9.2p1-2 busybox:1:1.35.0-4; do
        printf 'Package: %s\nStatus: install ok installed\nArchitecture: arm64\nVersion: %s\n\n' \
            "${p%%:*}" "${p#*:}" >>"$ROOTFS/var/lib/dpkg/status"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ROOTFS/etc/passwd"
fi
want=$(grep -c '^Status: install ok installed' "$ROOTFS/var/lib/dpkg/status")
for t in $TARGETS; do
    cargo build --release --locked -p fieldattest-agent --target "$t"
    # shellcheck disable=SC2046
    $(cross_runner "$t") "target/$t/release/fieldattest" scan --root "$ROOTFS" --format json \
        --output "$tmp/$t.json" || [ $? = 1 ]
    python3 - "$tmp/$t.json" "$want" "$t" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
pk = r["inventory"]["packages"]
errors = [x["id"] for x in r["rules"] if x["status"] == "error"]
print(f"{sys.argv[3]}: {len(pk)} packages (dpkg status: {sys.argv[2]}), {len(r['rules'])} rules, machine {r['device']['kernel'].get('machine')}")
assert len(pk) == int(sys.argv[2]), "package count differs"
assert not errors, f"rules could not run: {errors}"
PY
done
echo "cross/test-qemu.sh: OK"
