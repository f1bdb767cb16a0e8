#!/usr/bin/env bash
# The collector's throughput and fleet query on both backends, in one run
# (figures printed; nothing is asserted on time):
# 1. `examples/load.rs`: 100 devices posting signed 10 KB tokens over 32
#    TLS 1.3 connections — into SQLite, 30,000 tokens three times (a steady
#    state of several seconds, not a one-second burst; the median is the
#    figure), then 4,000 into PostgreSQL served by one and by two replicas
#    (a cluster of the benchmark's own: initdb in a temporary directory, a
#    private port, stopped at the end);
# 2. `examples/fleet_query.rs`: the `fleet` view over 100,000 devices on
#    SQLite and on PostgreSQL (FLEET_DEVICES to change; 1000000 for the
#    README's million-device figure).
# Needs Debian's postgresql (scripts/test installs it) and runs as root
# (the cluster runs as the `postgres` account).
# Usage: bench/collector_load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
FLEET_DEVICES=${FLEET_DEVICES:-100000}
cargo build --profile server --locked -p fieldattest-collector --bin fieldattest-collector \
    --example load --example fleet_query
L=target/server/examples/load
F=target/server/examples/fleet_query
echo "== load: SQLite, PostgreSQL with 1 and 2 replicas (same tokens, same client)"
rates=()
for run in 1 2 3; do
    out=$("$L" 100 300 32)
    echo "$out"
    rates+=("$(sed -nE 's/.* -> ([0-9]+) attestations\/s/\1/p' <<<"$out")")
done
echo "SQLite: median of 3 runs: $(printf '%s\n' "${rates[@]}" | sort -n | sed -n 2p) attestations/s (runs: ${rates[*]})"
"$L" 100 40 32 1
"$L" 100 40 32 2
echo "== fleet view over $FLEET_DEVICES devices"
"$F" "$FLEET_DEVICES"
"$F" "$FLEET_DEVICES" postgres
