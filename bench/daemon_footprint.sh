#!/usr/bin/env bash
# Footprint of the daemon on this machine (native, release build):
# 1. peak heap of one full cycle (session, scan + sign of ROOTFS, spool,
#    delivery, SBOM upload) with a counting allocator (examples/cycle_heap.rs);
# 2. the idle daemon: RSS and CPU time over a quiet window after its first
#    cycle (IDLE_SECS, default 60).
# Starts a real collector on loopback with an openssl test CA and enrolls.
# Usage: bench/daemon_footprint.sh [ROOTFS]   (default target/rootfs/bookworm-minbase, else /)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOTFS=${1:-target/rootfs/bookworm-minbase}
[ -d "$ROOTFS" ] || ROOTFS=/
ROOTFS=$(cd "$ROOTFS" && pwd)
IDLE_SECS=${IDLE_SECS:-60}
cargo build --release --locked -p fieldattest-agent -p fieldattest-collector
cargo build --release --locked -p fieldattest-agent --example cycle_heap
A=target/release/fieldattest
C=target/release/fieldattest-collector
H=target/release/examples/cycle_heap
W=$(mktemp -d)
cleanup() { kill "$CPID" "$DPID" 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
CPID=; DPID=

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj "/CN=bench CA" \
    -keyout "$W/ca.key" -out "$W/ca.pem" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$W/srv.cnf"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$W/srv.key" -out "$W/srv.csr" 2>/dev/null
openssl x509 -req -days 1 -in "$W/srv.csr" -CA "$W/ca.pem" -CAkey "$W/ca.key" -CAcreateserial \
    -extfile "$W/srv.cnf" -out "$W/srv.pem" 2>/dev/null
"$C" serve --db "$W/c.db" --listen 127.0.0.1:0 --cert "$W/srv.pem" --key "$W/srv.key" 2>"$W/c.log" &
CPID=$!
for _ in $(seq 50); do grep -q listening "$W/c.log" && break; sleep 0.1; done
PORT=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$W/c.log" | head -1)
cat >"$W/agent.toml" <<TOML
[collector]
url = "https://127.0.0.1:$PORT"
ca_file = "$W/ca.pem"
[schedule]
interval = "1h"
jitter = "0s"
[scan]
root = "$ROOTFS"
[state]
dir = "$W/state"
TOML
SECRET=$("$C" enroll-token --db "$W/c.db" --site bench 2>/dev/null)
"$A" enroll --config "$W/agent.toml" --token "$SECRET" >/dev/null
"$C" approve 1 --db "$W/c.db" >/dev/null

echo "rootfs: $ROOTFS ($(grep -c '^Package:' "$ROOTFS/var/lib/dpkg/status" 2>/dev/null || echo '?') dpkg packages)"
echo "binary: $(stat -c %s "$A") bytes (release, unstripped)"
for i in 1 2 3; do "$H" "$W/agent.toml" 2>/dev/null; done

"$A" run --config "$W/agent.toml" 2>"$W/d.log" &
DPID=$!
for _ in $(seq 300); do grep -q 'delivered' "$W/d.log" && break; sleep 0.1; done
sleep 1
ticks() { awk '{print $14 + $15}' "/proc/$DPID/stat"; }
t0=$(ticks)
sleep "$IDLE_SECS"
t1=$(ticks)
hz=$(getconf CLK_TCK)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$DPID/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$DPID/status")
echo "idle daemon over ${IDLE_SECS} s: RSS ${rss} kB (peak ${hwm} kB incl. its first cycle), CPU $(( (t1 - t0) * 1000 / hz )) ms"
kill -TERM "$DPID"; wait "$DPID" 2>/dev/null || true; DPID=
