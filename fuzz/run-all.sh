#!/usr/bin/env bash
# Builds and runs the fuzz targets, each for a fixed time, and prints per target
# the runs executed, exec/s, corpus entries and findings (crash-, timeout-,
# oom-, leak- files libFuzzer wrote). Long: not run by CI.
#
#   fuzz/run-all.sh [-t SECONDS] [-j PARALLEL] [TARGET...]
#
#   -t  seconds per target (-max_total_time), default 600
#   -j  targets run at the same time, default 1 (one libFuzzer process each)
#   TARGET  default: every target in fuzz/Cargo.toml
#
# Corpus: fuzz/corpus/<target>/ (kept between runs, gitignored), seeded from
# fuzz/seeds/<target>/ (or, for targets without one, the files directly in
# fuzz/seeds/). Findings: fuzz/artifacts/<target>/; the libFuzzer log of the
# last run: fuzz/artifacts/<target>/run.log. Each libFuzzer process gets
# -rss_limit_mb=2048 and -timeout=10 (a hang is a finding; the per-call time
# and memory budget of the image_* targets is in fuzz_targets/budget.rs).
# Exit status: 0 if no target found anything, 1 otherwise, 2 on usage/build
# errors. Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); runs on a
# stable toolchain through RUSTC_BOOTSTRAP=1.
set -euo pipefail

secs=600
par=1
while getopts "t:j:h" o; do
    case $o in
    t) secs=$OPTARG ;;
    j) par=$OPTARG ;;
    *)
        sed -n '2,20p' "$0"
        exit 2
        ;;
    esac
done
shift $((OPTIND - 1))
[[ $secs =~ ^[0-9]+$ && $par =~ ^[1-9][0-9]*$ ]] || {
    echo "run-all.sh: -t and -j take positive integers" >&2
    exit 2
}

fuzz=$(cd "$(dirname "$0")" && pwd)
cd "$fuzz/.."
command -v cargo-fuzz >/dev/null || {
    echo "run-all.sh: cargo-fuzz missing: cargo install cargo-fuzz --locked" >&2
    exit 2
}
if (($# > 0)); then
    targets=("$@")
else
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' "$fuzz/Cargo.toml" | grep -vx fieldattest-fuzz)
fi

export RUSTC_BOOTSTRAP=1
echo "building: ${targets[*]}" >&2
for t in "${targets[@]}"; do
    cargo fuzz build "$t" >&2 || exit 2
done
triple=$(rustc -vV | sed -n 's/^host: //p')
bindir=${CARGO_TARGET_DIR:-$fuzz/target}/$triple/release

run_one() {
    local t=$1 corpus=$fuzz/corpus/$1 art=$fuzz/artifacts/$1 seeds=()
    mkdir -p "$corpus" "$art"
    if [[ -d $fuzz/seeds/$t ]]; then
        seeds=("$fuzz/seeds/$t")
    else
        find "$fuzz/seeds" -maxdepth 1 -type f -exec cp -n {} "$corpus/" \;
    fi
    "$bindir/$t" "$corpus" "${seeds[@]}" \
        -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="$art/" -print_final_stats=1 >"$art/run.log" 2>&1 || true
}

start=$(date +%s)
running=0
for t in "${targets[@]}"; do
    if ((running >= par)); then
        wait -n || true
        running=$((running - 1))
    fi
    echo "$(date -u +%H:%M:%S) start $t (${secs}s)" >&2
    run_one "$t" &
    running=$((running + 1))
done
wait || true

found=0
printf '%-18s %8s %12s %8s %8s %8s\n' target seconds runs exec/s corpus findings
for t in "${targets[@]}"; do
    log=$fuzz/artifacts/$t/run.log
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    el=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1 | awk '{print $5}')
    n=$(find "$fuzz/corpus/$t" -type f | wc -l)
    f=$(find "$fuzz/artifacts/$t" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) -newermt "@$start" | wc -l)
    ((f == 0)) || found=1
    printf '%-18s %8s %12s %8s %8s %8s\n' "$t" "${el:-?}" "${runs:-?}" "${eps:-?}" "$n" "$f"
    if ((f > 0)); then
        grep -m3 -E '^(budget:|thread .* panicked|==[0-9]+== ERROR)' "$log" | sed 's/^/    /'
        find "$fuzz/artifacts/$t" -type f -newermt "@$start" ! -name run.log | sed 's/^/    /'
    fi
done
exit $found
