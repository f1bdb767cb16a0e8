#!/usr/bin/env bash
# fieldattest vs Lynis on one planted ARM device, in the same run: a COPY of
# the arm64 Debian chroot (cross/arm-rootfs.sh builds
# target/rootfs/bookworm-arm64-minbase) with /proc mounted, planted the way
# tests/tests/rules_e2e.rs plants its factory-default fixture (accounts with
# default passwords in sha512crypt and yescrypt, an empty password, a strong
# one, a 1024-bit RSA host key, the Vagrant insecure key authorised for root,
# telnet and ftp in inetd, a permissive sshd_config, a world-readable shadow,
# NOPASSWD sudo, ASLR off). Debian's Lynis (host package, copied into the
# chroot; it is shell, so it runs on the chroot's arm64 sh through binfmt and
# qemu-user) runs `lynis audit system --quick` once; the static aarch64
# `fieldattest scan` runs RUNS times with the default-credential check (default
# budget, no memo: every run is a first cycle) and RUNS times with
# --no-cred-check. Prints the wall times, both ratios (target: >= 1000x
# without the check), the credential rule's coverage note and the per-scheme
# candidates/s on this emulated device (examples/cred_throughput in the chroot).
#
# Needs root (chroot, mount). ~5-6 min, most of it Lynis. Every step has a
# timeout; the copy and its /proc mount are removed on exit (also on ^C).
# Usage: bench/lynis_vs_fieldattest.sh     env: RUNS=5 ROOTFS=... LYNIS_TIMEOUT=2400
#        QEMU_CPU=cortex-a72 (qemu-user's CPU model for the chroot; default: qemu's)
set -euo pipefail
cd "$(dirname "$0")/.."
. cross/env.sh
[ "$(id -u)" = 0 ] || { echo "bench/lynis_vs_fieldattest.sh: needs root (chroot, mount)" >&2; exit 1; }
BASE=${ROOTFS:-target/rootfs/bookworm-arm64-minbase}
RUNS=${RUNS:-5}
LYNIS_TIMEOUT=${LYNIS_TIMEOUT:-2400}
FA_TIMEOUT=${FA_TIMEOUT:-120}
T=aarch64-unknown-linux-musl
t_start=$(date +%s)
if [ ! -f "$BASE/var/lib/dpkg/status" ]; then
    echo "no arm64 rootfs at $BASE: building it with cross/arm-rootfs.sh (~10 min the first time)"
    timeout 1800 cross/arm-rootfs.sh "$BASE"
fi
command -v lynis >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lynis >/dev/null
cross_require $T
cross_binfmt
grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64
[ -n "${QEMU_CPU:-}" ] && export QEMU_CPU
timeout 1800 cargo build --release --locked -q -p fieldattest-agent --target $T --bin fieldattest --example cred_throughput

work=$(mktemp -d /var/tmp/fa-lynis.XXXXXX)
DEV=$work/rootfs
cleanup() {
    if mountpoint -q "$DEV/proc" 2>/dev/null; then umount "$DEV/proc" || umount -l "$DEV/proc"; fi
    # Never remove a tree that still has something mounted in it.
    if ! grep -q " $work/" /proc/mounts; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
timeout 600 cp -a "$BASE" "$DEV"

# --- plant the device -------------------------------------------------------
python3 -W ignore - "$DEV" <<'PY'
import crypt, ctypes, os, secrets, string, sys
d = sys.argv[1]
a64 = "./" + string.digits + string.ascii_uppercase + string.ascii_lowercase
def salt(n): return "".join(secrets.choice(a64) for _ in range(n))
# libxcrypt's own settings (a yescrypt salt's last character is not free).
lib = ctypes.CDLL("libcrypt.so.1")
lib.crypt_gensalt.restype = ctypes.c_char_p
lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
def setting(prefix): return lib.crypt_gensalt(prefix, 0, None, 0).decode()
def checked(h):
    assert h and not h.startswith("*"), h
    return h
def sha512(pw): return checked(crypt.crypt(pw, "$6$" + salt(16)))
def yescrypt(pw): return checked(crypt.crypt(pw, setting(b"$y$")))  # $y$j9T$, Debian's default
strong = secrets.token_urlsafe(18)
accounts = [  # name, uid, hash
    ("pi", 1000, yescrypt("raspberry")),      # per-account default
    ("admin", 1001, sha512("admin")),         # the account name
    ("plc", 1002, sha512("changeme")),        # a common default
    ("operator2", 1003, yescrypt(strong)),    # strong: the whole list is tried
    ("service", 1004, sha512(strong + "x")),  # strong: the whole list is tried
    ("guest", 1005, ""),                      # empty password
]
def rewrite(path, fn):
    p = os.path.join(d, path)
    with open(p) as f: lines = f.read().splitlines()
    with open(p, "w") as f: f.write("\n".join(fn(lines)) + "\n")
rewrite("etc/shadow", lambda ls: [("root:%s:19000:0:99999:7:::" % sha512("root")) if l.startswith("root:") else l for l in ls]
        + ["%s:%s:19000:0:99999:7:::" % (n, h) for n, _, h in accounts])
rewrite("etc/passwd", lambda ls: ls + ["%s:x:%d:%d::/home/%s:/bin/sh" % (n, u, u, n) for n, u, _ in accounts])
rewrite("etc/group", lambda ls: ls + ["%s:x:%d:" % (n, u) for n, u, _ in accounts])
for n, _, _ in accounts: os.makedirs(os.path.join(d, "home", n), exist_ok=True)
os.chmod(os.path.join(d, "etc/shadow"), 0o644)
def put(path, text, mode=0o644):
    p = os.path.join(d, path); os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f: f.write(text)
    os.chmod(p, mode)
put("etc/inetd.conf", "telnet stream tcp nowait root /usr/sbin/telnetd telnetd\n"
    "ftp stream tcp nowait root /usr/sbin/ftpd ftpd\n")
put("etc/ssh/sshd_config", "PermitRootLogin yes\nPermitEmptyPasswords yes\nPasswordAuthentication yes\n"
    "Ciphers +3des-cbc\nHostbasedAuthentication yes\nX11Forwarding yes\nHostKey /etc/ssh/ssh_host_rsa_key\n")
put("etc/sudoers", "root ALL=(ALL) ALL\nadmin ALL=(ALL) NOPASSWD: ALL\n", 0o440)
put("etc/sysctl.conf", "kernel.randomize_va_space = 0\n")
put("root/.ssh/authorized_keys", "ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ== vagrant insecure public key\n", 0o600)
PY
ssh-keygen -q -N "" -C fixture -t rsa -b 1024 -f "$DEV/etc/ssh/ssh_host_rsa_key"
install -m 0755 "target/$T/release/fieldattest" "$DEV/usr/local/bin/fieldattest"
install -m 0755 "target/$T/release/examples/cred_throughput" "$DEV/usr/local/bin/cred_throughput"
# Lynis: the script, its include/plugins/db and its profile.
install -m 0755 /usr/sbin/lynis "$DEV/usr/sbin/lynis"
mkdir -p "$DEV/usr/share" "$DEV/etc"
cp -a /usr/share/lynis "$DEV/usr/share/lynis"
cp -a /etc/lynis "$DEV/etc/lynis"
mount -t proc proc "$DEV/proc"

# "wall cpu" seconds of a command (GNU time: user + sys of it and its children).
timed() {  # timed OUTFILE CMD...
    local tf=$1; shift
    /usr/bin/time -f "%e %U %S" -o "$tf" "$@"
}
wallcpu() { awk '{printf "%.3f %.3f\n", $1, $2 + $3}' "$1"; }

# --- fieldattest: RUNS with the check, RUNS without -----------------------
fa() {  # fa OUT ARGS... -> prints seconds; exit 0 (clean) or 1 (findings) expected
    local out=$1; shift
    local rc=0
    timed "$work/t" timeout "$FA_TIMEOUT" chroot "$DEV" /usr/local/bin/fieldattest scan --format json --output "/tmp/$out" "$@" || rc=$?
    [ "$rc" = 0 ] || [ "$rc" = 1 ] || { echo "fieldattest scan $* failed (exit $rc)" >&2; exit 1; }
    wallcpu "$work/t"
}
with=(); without=()
for _ in $(seq "$RUNS"); do
    with+=("$(fa with.json)")
    without+=("$(fa without.json --no-cred-check)")
done

# --- Lynis, once ------------------------------------------------------------
lrc=0
timed "$work/tl" timeout "$LYNIS_TIMEOUT" chroot "$DEV" /usr/sbin/lynis audit system --quick --no-colors \
    --logfile /tmp/lynis.log --report-file /tmp/lynis-report.dat >"$work/lynis.out" 2>&1 || lrc=$?
lynis_s=$(wallcpu "$work/tl")
[ "$lrc" = 0 ] || { echo "lynis exited $lrc (124 = timeout after ${LYNIS_TIMEOUT}s); last lines:" >&2; tail -5 "$work/lynis.out" >&2; exit 1; }

# --- per-scheme rate on this device (first cycle, no memo) -----------------
rates=$(timeout 300 chroot "$DEV" /usr/local/bin/cred_throughput)

python3 - "$DEV" "$lynis_s" "${with[*]}" "${without[*]}" "$rates" "${QEMU_CPU:-qemu default (max)}" "$(lynis --version 2>/dev/null)" <<'PY'
import json, statistics, sys, re
dev, lynis_s, w, wo, rates, cpu, lver = sys.argv[1:]
def pairs(x):
    v = [float(y) for y in x.split()]
    return list(zip(v[::2], v[1::2]))  # (wall, cpu)
(lynis_s, lynis_cpu), = pairs(lynis_s); w = pairs(w); wo = pairs(wo)
def rule(path):
    r = json.load(open(path))
    x = next(x for x in r["rules"] if x["id"] == "cred.known-default-password")
    f = sorted({f["rule"] for f in r["findings"]})
    return x, f, sum(1 for y in r["findings"] if y["rule"] == "cred.known-default-password")
cw, fw, nw = rule(dev + "/tmp/with.json")
cwo, fwo, nwo = rule(dev + "/tmp/without.json")
rep = open(dev + "/tmp/lynis-report.dat", errors="replace").read()
warn = len(re.findall(r"^warning\[\]=", rep, re.M)); sugg = len(re.findall(r"^suggestion\[\]=", rep, re.M))
tests = re.search(r"^tests_executed=(.*)$", rep, re.M)
mw, mwo = statistics.median(x for x, _ in w), statistics.median(x for x, _ in wo)
cw_, cwo_ = statistics.median(c for _, c in w), statistics.median(c for _, c in wo)
print(f"arm64 chroot under qemu-user ({cpu}), /proc mounted, planted device")
print(f"Lynis {lver} audit system --quick: {lynis_s:.1f} s wall, {lynis_cpu:.1f} s CPU "
      f"({warn} warnings, {sugg} suggestions, {len(tests.group(1).split('|')) if tests else '?'} tests)")
print(f"fieldattest scan, default credential check: median {mw:.3f} s wall, {cw_:.3f} s CPU of {len(w)} runs (wall {', '.join(f'{x:.3f}' for x, _ in w)})")
print(f"    {cw['status']}: {cw.get('message')}; {len(fw)} rules with findings, {nw} default-password findings")
print(f"fieldattest scan --no-cred-check:           median {mwo:.3f} s wall, {cwo_:.3f} s CPU of {len(wo)} runs (wall {', '.join(f'{x:.3f}' for x, _ in wo)})")
print(f"    {cwo['status']}: {cwo.get('message')}; {len(fwo)} rules with findings")
print(f"ratio Lynis / fieldattest with the check:    {lynis_s / mw:,.0f}x wall, {lynis_cpu / cw_:,.0f}x CPU")
print(f"ratio Lynis / fieldattest without the check: {lynis_s / mwo:,.0f}x wall, {lynis_cpu / cwo_:,.0f}x CPU (target >= 1000x)")
print("candidates verified per second on this device (examples/cred_throughput, first cycle):")
for l in rates.splitlines(): print("    " + l)
PY
echo "total bench duration: $(( $(date +%s) - t_start )) s"
