#!/usr/bin/env bash
# Differential test of the kmdf-sim edu model against QEMU's edu device, for every cached
# QEMU build (see build-qemu.sh), each in the model mode of its range check.
#
#   tools/edu-qtest/run.sh            run against the cached builds; build them first only when
#                                     EDU_QTEST_BUILD=1 (about 2.5 minutes on 2 cores)
#   tools/edu-qtest/run.sh --markdown print the comparison table for docs/evidence.md
#
# Exit status: 0 all matched (or skipped, with the reason printed), 1 a mismatch, 2 an error.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${EDU_QTEST_CACHE:-$HOME/.cache/edu-qtest}"
variants=(debian fixed-bound log-and-skip)

have_all=1
for variant in "${variants[@]}"; do
    compgen -G "$cache/*-$variant/qemu-system-x86_64" >/dev/null || have_all=0
done
if ((!have_all)); then
    if [[ "${EDU_QTEST_BUILD:-0}" != 1 ]]; then
        echo "edu-qtest: SKIPPED: no cached qtest-capable QEMU under $cache" \
            "(set EDU_QTEST_BUILD=1 to build it from Debian's source package, about 2.5 min)"
        exit 0
    fi
    for variant in "${variants[@]}"; do
        EDU_QTEST_VARIANT="$variant" nice -n 15 "$here/build-qemu.sh" >/dev/null ||
            { echo "edu-qtest: building QEMU ($variant) failed" >&2; exit 2; }
    done
fi

# QEMU aborts (hw_error) in some cases on purpose: no core files.
ulimit -c 0
cargo build --quiet --locked -p edu-qtest
bin="$here/../../target/debug/edu-qtest"
status=0
for variant in "${variants[@]}"; do
    dir="$(compgen -G "$cache/*-$variant" | sort | tail -n1)"
    echo "== edu-qtest: QEMU $(cat "$dir/VERSION") ($variant), model mode $(cat "$dir/MODE")"
    "$bin" --qemu "$dir/qemu-system-x86_64" --mode "$(cat "$dir/MODE")" "$@" || status=$?
done
exit "$status"
