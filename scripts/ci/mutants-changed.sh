#!/usr/bin/env bash
# CI: mutation testing of the driver-logic and wrapper code the last change touched (issue 17),
# within what is left of CI's time budget.
#
# Usage: scripts/ci/mutants-changed.sh
#   MUTANTS_BASE      the change is BASE..HEAD (default HEAD~1: the commit CI runs on; a merge
#                     commit's first parent, so a merged branch counts as one change)
#   CI_STARTED        epoch seconds when the CI run began (default: now)
#   CI_BUDGET_S       CI's whole time budget in seconds (default 1020: 17 of the 20 minutes,
#                     leaving room for the steps after this one)
#   MUTANT_COST_S     estimated seconds per mutant (default 15: build plus the driver's tests
#                     at the reduced budgets, measured at 3 to 12 s on 2 cores)
#
# Runs `scripts/mutants.sh --in-diff BASE` over the touched files of src/ and
# crates/kmdf-safe/src/. When every mutant fits the remaining budget it runs them all; when not,
# it runs the first shard that fits and prints the mutants it skipped, with the command that
# runs them. Installs cargo-mutants (pinned) when it is missing and the budget allows. Fails when
# a mutant it ran survives unexplained (docs/mutants-explained.txt).
set -euo pipefail
cd "$(dirname "$0")/../.."

base="${MUTANTS_BASE:-HEAD~1}"
started="${CI_STARTED:-$(date +%s)}"
budget="${CI_BUDGET_S:-1020}"
cost="${MUTANT_COST_S:-15}"
version=27.1.0
left() { echo $((budget - ($(date +%s) - started))); }

if ! git rev-parse --verify -q "$base^{commit}" >/dev/null; then
    echo "mutants: skipped: no commit $base in this clone (shallow?); set MUTANTS_BASE"
    exit 0
fi
mapfile -t files < <(git diff --name-only "$(git merge-base "$base" HEAD)" -- 'src/*.rs' \
    'crates/kmdf-safe/src/*.rs' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
if [ ${#files[@]} -eq 0 ]; then
    echo "mutants: nothing to do: the change since $base touches no driver-logic or wrapper code"
    exit 0
fi
echo "mutants: the change since $base touches ${files[*]}"

if ! cargo mutants --version >/dev/null 2>&1; then
    # About 3 minutes on 2 cores.
    if [ "$(left)" -lt 300 ]; then
        echo "mutants: skipped: cargo-mutants is not installed and $(left) s are left"
        exit 0
    fi
    echo "mutants: installing cargo-mutants $version"
    cargo install --locked --quiet cargo-mutants --version "$version"
fi

mapfile -t all < <(bash scripts/mutants.sh --list --in-diff "$base" "${files[@]}" |
    grep -v '^mutants: ')
total=${#all[@]}
if [ "$total" -eq 0 ]; then
    echo "mutants: the changed lines have no mutants"
    exit 0
fi
# One baseline build and test run, then the mutants.
room=$(( ($(left) - 60) / cost ))
if [ "$room" -lt 1 ]; then
    echo "mutants: skipped all $total: $(left) s are left of the budget"
    printf '  %s\n' "${all[@]}"
    echo "run them with: scripts/mutants.sh --in-diff $base ${files[*]}"
    exit 0
fi
if [ "$total" -le "$room" ]; then
    echo "mutants: running all $total (budget: $(left) s left)"
    exec bash scripts/mutants.sh --in-diff "$base" "${files[@]}"
fi
shards=$(( (total + room - 1) / room ))
echo "mutants: $total mutants, room for about $room: running shard 0 of $shards"
mapfile -t ran < <(bash scripts/mutants.sh --list --in-diff "$base" --shard "0/$shards" \
    "${files[@]}" | grep -v '^mutants: ')
echo "mutants: skipped $((total - ${#ran[@]})) (time budget):"
comm -23 <(printf '%s\n' "${all[@]}" | sort) <(printf '%s\n' "${ran[@]}" | sort) | sed 's/^/  /'
echo "run them with: scripts/mutants.sh --in-diff $base --shard K/$shards ${files[*]} (K = 1..$((shards - 1)))"
exec bash scripts/mutants.sh --in-diff "$base" --shard "0/$shards" "${files[@]}"
