#!/usr/bin/env bash
# Mutation testing of the driver logic with cargo-mutants (issue 17).
#
# Usage: scripts/mutants.sh [--wrappers|--all] [--shard K/N] [--in-diff BASE] [--list]
#                           [--timeout SECONDS] [--re REGEX] [FILE...]
#   FILE...          files to mutate (default: the driver logic, see DEFAULT_FILES below); files
#                    of the wrapper crate (crates/kmdf-safe/src/) are allowed
#   --wrappers       the wrapper crate's files (crates/kmdf-safe/src/*.rs)
#   --all            the driver logic and the wrapper crate: the full run of issue 17
#   --shard K/N      run only shard K of N (0-based), e.g. one per machine or per CI job
#   --in-diff BASE   mutate only the lines this branch changed since it left BASE (e.g.
#                    --in-diff origin/main on a branch: the mutants of the change under review)
#   --list           list the mutants and exit (no build, no tests)
#   --timeout S      per-mutant test timeout in seconds (default 60; the baseline tests take 4-8 s)
#   --re REGEX       only the mutants whose name matches REGEX (cargo mutants -F; repeatable)
#
# Each mutant is built and tested with the driver's package (`cargo test -p edu-dma`; the
# simulator's and harness's own tests cannot see the driver's mutants), and, when wrapper files
# are mutated, the wrapper crate's own tests (`-p kmdf-safe`), one at a time (-j 1:
# the machine has 2 shared cores). The two long tests run with smaller budgets than CI's
# (EDU_SEEDS=300 interleavings, EDU_FUZZ_INPUTS=300 fuzz inputs; set either to override): a
# mutant they alone kill at CI's budget is reported missed here, never the reverse.
# Needs cargo-mutants (`cargo install --locked cargo-mutants`). Results in target/mutants.out/
# ($MUTANTS_OUT/mutants.out/ when set, e.g. to run two shards side by side)
# (caught.txt, missed.txt, timeout.txt, unviable.txt, outcomes.json); the script prints the four
# counts and the missed mutants, each marked explained (listed with its reason in
# docs/mutants-explained.txt) or not. Exit status: 0 when every missed mutant is explained, 1
# otherwise.
# Runs from the repository root, under `nice -n 10` (shared machine).
set -euo pipefail
cd "$(dirname "$0")/.."

out="${MUTANTS_OUT:-target}"
DEFAULT_FILES=(src/*.rs)

shard=""
in_diff=""
list=0
timeout=60
files=()
res=()
while [ $# -gt 0 ]; do
    case "$1" in
        --shard) shard="$2"; shift 2 ;;
        --in-diff) in_diff="$2"; shift 2 ;;
        --list) list=1; shift ;;
        --timeout) timeout="$2"; shift 2 ;;
        --re) res+=(-F "$2"); shift 2 ;;
        --wrappers) files+=(crates/kmdf-safe/src/*.rs); shift ;;
        --all) files+=("${DEFAULT_FILES[@]}" crates/kmdf-safe/src/*.rs); shift ;;
        -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
        -*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
        *) files+=("$1"); shift ;;
    esac
done
[ ${#files[@]} -gt 0 ] || files=("${DEFAULT_FILES[@]}")

if ! cargo mutants --version >/dev/null 2>&1; then
    echo "cargo-mutants is not installed: cargo install --locked cargo-mutants" >&2
    exit 2
fi

args=(-j 1 --timeout "$timeout" --output "$out")
wrappers=0
for file in "${files[@]}"; do
    [ -f "$file" ] || { echo "no such file: $file" >&2; exit 2; }
    case "$file" in crates/kmdf-safe/*) wrappers=1 ;; src/*) ;;
        *) echo "not driver logic or wrapper code: $file" >&2; exit 2 ;;
    esac
    args+=(--file "$file")
done
# Lists, not repeated options: cargo-mutants keeps only the last of a repeated --test-package.
if [ "$wrappers" = 0 ]; then
    args+=(--package edu-dma --test-package edu-dma)
else
    args+=(--package edu-dma --package kmdf-safe --test-package edu-dma,kmdf-safe)
fi
[ -z "$shard" ] || args+=(--shard "$shard")
[ ${#res[@]} -eq 0 ] || args+=("${res[@]}")
diff_file=""
if [ -n "$in_diff" ]; then
    diff_file=$(mktemp)
    trap 'rm -f "$diff_file"' EXIT
    # From the merge base: the branch's own changes (and uncommitted ones), not what BASE
    # gained since the branch started.
    git diff "$(git merge-base "$in_diff" HEAD)" -- "${files[@]}" >"$diff_file"
    if [ ! -s "$diff_file" ]; then
        echo "mutants: no change to ${files[*]} since $in_diff: nothing to test"
        exit 0
    fi
    args+=(--in-diff "$diff_file")
fi

if [ "$list" = 1 ]; then
    exec cargo mutants "${args[@]}" --list
fi

export EDU_SEEDS="${EDU_SEEDS:-300}" EDU_FUZZ_INPUTS="${EDU_FUZZ_INPUTS:-300}"
echo "mutants: ${files[*]} ${shard:+shard $shard }${in_diff:+(changed since $in_diff) }(EDU_SEEDS=$EDU_SEEDS EDU_FUZZ_INPUTS=$EDU_FUZZ_INPUTS, timeout ${timeout}s)"
start=$(date +%s)
status=0
nice -n 10 cargo mutants "${args[@]}" || status=$?
count() { if [ -f "$out/mutants.out/$1" ]; then wc -l <"$out/mutants.out/$1" | tr -d ' '; else echo 0; fi; }
echo "mutants: caught=$(count caught.txt) missed=$(count missed.txt) timeout=$(count timeout.txt) unviable=$(count unviable.txt) in $(( $(date +%s) - start )) s"
# Survivors already explained (docs/mutants-explained.txt: equivalent mutants, Windows-only
# code, behaviour the simulator cannot show, each with its reason) are matched by name without
# their line and column, so that an edit elsewhere in the file does not unexplain them.
explained=docs/mutants-explained.txt
unexplained=()
if [ -s "$out/mutants.out/missed.txt" ]; then
    while IFS= read -r mutant; do
        name=$(printf '%s' "$mutant" | sed -E 's/^([^:]+):[0-9]+:[0-9]+:/\1:/')
        if grep -qxF -- "$name" "$explained" 2>/dev/null; then
            echo "  missed, explained: $mutant"
        else
            unexplained+=("$mutant")
        fi
    done <"$out/mutants.out/missed.txt"
fi
echo "mutants: unexplained survivors: ${#unexplained[@]}"
for mutant in "${unexplained[@]}"; do
    echo "  MISSED, unexplained: $mutant"
done
# cargo-mutants exits 2 when mutants were missed, 3 on timeouts (a timeout is a detection:
# the mutant made a test loop), 4 when the baseline fails.
case "$status" in
    0|2|3) [ ${#unexplained[@]} -eq 0 ] ;;
    *) echo "cargo mutants failed (exit $status)" >&2; exit "$status" ;;
esac
