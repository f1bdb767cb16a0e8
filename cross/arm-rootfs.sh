#!/usr/bin/env bash
# A real ARM device tree: debootstraps an arm64 Debian (bookworm, minbase)
# with qemu-user-static + binfmt_misc, then runs the static aarch64 agent
# *inside* it with chroot (the binary sees / as a live device would, /proc
# mounted) and checks the report: the dpkg packages equal dpkg-query's in
# that chroot; the one other component is the kernel (minbase installs no
# linux-image, so a live scan reports the running kernel's upstream release,
# that of `uname -r`); no rule has status error. Needs root.
# Usage: cross/arm-rootfs.sh [ROOTFS]    (default target/rootfs/bookworm-arm64-minbase)
set -euo pipefail
cd "$(dirname "$0")/.."
. cross/env.sh
[ "$(id -u)" = 0 ] || { echo "cross/arm-rootfs.sh: needs root (debootstrap, chroot, mount)" >&2; exit 1; }
ROOTFS=${1:-target/rootfs/bookworm-arm64-minbase}
T=aarch64-unknown-linux-musl
cross_require $T
command -v debootstrap >/dev/null || apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
# binfmt_misc lets the kernel run arm64 executables through qemu (also in the chroot).
cross_binfmt
grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64

if [ ! -f "$ROOTFS/var/lib/dpkg/status" ]; then
    echo "cross/arm-rootfs.sh: debootstrap --arch=arm64 into $ROOTFS (a few minutes)"
    rm -rf "$ROOTFS.partial"
    mkdir -p "$(dirname "$ROOTFS")"
    debootstrap --arch=arm64 --variant=minbase bookworm "$ROOTFS.partial" http://deb.debian.org/debian \
        >"$ROOTFS.log" 2>&1 || { tail -20 "$ROOTFS.log"; exit 1; }
    mv "$ROOTFS.partial" "$ROOTFS"
fi
cargo build --release --locked -p fieldattest-agent --target $T
install -m 0755 "target/$T/release/fieldattest" "$ROOTFS/usr/local/bin/fieldattest"
mkdir -p "$ROOTFS/proc"
mountpoint -q "$ROOTFS/proc" || mount -t proc proc "$ROOTFS/proc"
trap 'umount "$ROOTFS/proc" 2>/dev/null || true; rm -f "$ROOTFS/usr/local/bin/fieldattest" "$ROOTFS/tmp/report.json"' EXIT
chroot "$ROOTFS" /usr/local/bin/fieldattest scan --format json --output /tmp/report.json || [ $? = 1 ]
chroot "$ROOTFS" dpkg-query -W -f '${binary:Package} ${Version}\n' | sort >"$ROOTFS/tmp/dpkg.txt"
python3 - "$ROOTFS/tmp/report.json" "$ROOTFS/tmp/dpkg.txt" "$(uname -r)" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))
pkgs = r["inventory"]["packages"]
ours = sorted(f"{p.get('binary_name') or p['name']} {p['version']}" for p in pkgs if p["source"] == "dpkg")
others = sorted(f"{p['source']}:{p['name']} {p['version']}" for p in pkgs if p["source"] != "dpkg")
kernel = re.match(r"[0-9]+(\.[0-9]+)+", sys.argv[3]).group(0)
assert others == [f"binary:linux {kernel}"], f"components besides dpkg's: {others}, expected the running kernel {kernel}"
theirs = [l.strip() for l in open(sys.argv[2]) if l.strip()]
errors = [(x["id"], x.get("message")) for x in r["rules"] if x["status"] == "error"]
print(f"arm64 chroot: {len(ours)} dpkg packages (dpkg-query: {len(theirs)}), kernel {kernel}, {len(r['rules'])} rules, "
      f"mode {r['scan']['mode']}, machine {r['device'].get('kernel', {}).get('machine')}")
missing = sorted(set(theirs) - set(ours)); extra = sorted(set(ours) - set(theirs))
assert not missing and not extra, f"differs from dpkg-query: missing {missing[:5]} extra {extra[:5]}"
assert not errors, f"rules with status error: {errors}"
PY
rm -f "$ROOTFS/tmp/dpkg.txt"
echo "cross/arm-rootfs.sh: OK"
