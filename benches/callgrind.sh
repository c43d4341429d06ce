#!/usr/bin/env bash
# Instructions executed in the driver's own code per request, counted by callgrind (exact and
# repeatable for the same binary and inputs). Runs the hot_path benchmark's fixed workload
# (edu writes of 16 fragments) twice, with N and 2N requests, and divides the difference of the
# self cost of the driver's functions (`edu_dma::` and its wrapper crate `kmdf_safe::`) by N, so
# set-up and warm-up cancel out.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
cargo bench --bench hot_path --no-run >/dev/null 2>&1
bin=$(ls -t target/release/deps/hot_path-* | grep -v '\.d$' | head -n 1)
out=$(mktemp -d)
count() {
    valgrind --tool=callgrind --callgrind-out-file="$out/cg.$1" "$bin" callgrind "$1" >/dev/null 2>&1
    callgrind_annotate --inclusive=no --auto=no --threshold=100 "$out/cg.$1" 2>/dev/null \
        | awk '/(edu_dma|kmdf_safe)::/ && !/=>/ { gsub(",", "", $1); sum += $1 } END { print sum + 0 }'
}
a=$(count "$n")
b=$(count "$((2 * n))")
echo "driver instructions: $(( (b - a) / n )) per request of 16 fragments ($(( (b - a) / n / 16 )) per fragment), from $n vs $((2 * n)) requests"
# The row scripts/evidence.sh records in docs/evidence-counts.txt.
echo "counts: callgrind edu write16 requests=$n instructions_per_request=$(( (b - a) / n )) per_fragment=$(( (b - a) / n / 16 ))"
rm -rf "$out"
