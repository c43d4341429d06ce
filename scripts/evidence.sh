#!/usr/bin/env bash
# Re-measures the exact counts behind docs/evidence.md and compares them with (or writes them to)
# docs/evidence-counts.txt; prints each run's wall time for the doc's timing figures.
#
# Usage: scripts/evidence.sh [--update] [--long]
#   (default)  measure, then compare with docs/evidence-counts.txt; exit 1 on any difference
#   --update   write the measured rows to docs/evidence-counts.txt (then update the figures in
#              docs/evidence.md: tests/evidence_doc.rs checks the doc quotes every row)
#   --long     also the 1,000,000-input fuzz run (about 6 minutes on 2 cores)
# Rows: interleavings (CI budget, 100k and 400k seeds), the IOCTL fuzzer (CI budget; 1M with
# --long), the hot-path bench, and callgrind's driver instructions per request when valgrind is
# installed.
#
# The counts are exact and deterministic (seeded); only the wall times vary. The CI-budget rows
# are also compared by the tests themselves on every `cargo test` (tests/common/mod.rs,
# check_recorded_counts), so a change that moves them fails CI until they are re-recorded.
# Runs from the repository root; uses `nice -n 10` (shared machine).
set -euo pipefail
cd "$(dirname "$0")/.."

update=0
long=0
for arg in "$@"; do
    case "$arg" in
        --update) update=1 ;;
        --long) long=1 ;;
        *) echo "usage: $0 [--update] [--long]" >&2; exit 2 ;;
    esac
done

counts=docs/evidence-counts.txt
measured=$(mktemp)
log=$(mktemp)
trap 'rm -f "$measured" "$log"' EXIT

# Runs a command, keeps its `counts:` rows and prints its summary lines and wall time.
run() {
    local what=$1
    shift
    echo "== $what: $*" >&2
    local start end
    start=$(date +%s.%N)
    local mode=()
    if [ "$update" = 1 ]; then mode=(EDU_EVIDENCE_UPDATE=1); fi
    if ! env "${mode[@]}" "$@" >"$log" 2>&1; then
        tail -40 "$log" >&2
        echo "FAILED: $what" >&2
        exit 1
    fi
    end=$(date +%s.%N)
    grep -E '^(interleavings|fuzz_ioctl): |^(edu|system) |^driver instructions' "$log" >&2 || true
    awk -v s="$start" -v e="$end" 'BEGIN { printf "   wall time of the command: %.1f s\n", e - s }' >&2
    sed -n 's/^counts: //p' "$log" >>"$measured"
}

# Build first so the timed runs do not include compilation.
nice -n 10 cargo test --release --no-run --test interleavings --test fuzz_ioctl >/dev/null 2>&1
nice -n 10 cargo test --no-run --test interleavings --test fuzz_ioctl >/dev/null 2>&1
nice -n 10 cargo bench --no-run --bench hot_path >/dev/null 2>&1

run "interleavings, CI budget (debug)" \
    nice -n 10 cargo test --test interleavings random_interleavings -- --nocapture
run "interleavings, long run" EDU_SEEDS=100000 \
    nice -n 10 cargo test --release --test interleavings random_interleavings -- --nocapture
run "interleavings, longer run" EDU_SEED_START=100000 EDU_SEEDS=400000 \
    nice -n 10 cargo test --release --test interleavings random_interleavings -- --nocapture
run "IOCTL fuzzer, CI budget (debug)" \
    nice -n 10 cargo test --test fuzz_ioctl -- --nocapture
if [ "$long" = 1 ]; then
    run "IOCTL fuzzer, long run" EDU_FUZZ_INPUTS=1000000 \
        nice -n 10 cargo test --release --test fuzz_ioctl -- --nocapture
fi
run "hot path" nice -n 10 cargo bench --bench hot_path
if command -v valgrind >/dev/null; then
    run "driver instructions (callgrind)" nice -n 10 bash benches/callgrind.sh 50
else
    echo "== callgrind row skipped: valgrind is not installed" >&2
fi

if [ "$update" = 1 ]; then
    {
        echo "# Exact counts behind docs/evidence.md, one row per measured run (scripts/evidence.sh)."
        echo "# Tests compare the rows of the runs they make (same key) on every cargo test."
        if [ "$long" = 0 ] && [ -f "$counts" ]; then
            # Keep the rows of runs not made this time.
            grep -v '^#' "$counts" | while read -r row; do
                key=$(echo "$row" | awk '{print $1, $2, $3}')
                grep -q "^$key " "$measured" || echo "$row"
            done
        fi
        cat "$measured"
    } >"$counts.new"
    { grep '^#' "$counts.new"; grep -v '^#' "$counts.new" | sort; } >"$counts"
    rm -f "$counts.new"
    echo "wrote $counts; now update the figures in docs/evidence.md and run cargo test --test evidence_doc"
    exit 0
fi

status=0
while read -r row; do
    key=$(echo "$row" | awk '{print $1, $2, $3}')
    recorded=$(grep "^$key " "$counts" || true)
    if [ -z "$recorded" ]; then
        echo "NOT RECORDED  $row"
        status=1
    elif [ "$recorded" != "$row" ]; then
        echo "CHANGED       $row"
        echo "   recorded:  $recorded"
        status=1
    else
        echo "same          $row"
    fi
done <"$measured"
exit "$status"
