#!/usr/bin/env bash
# Runs the harness's Windows-side tests (the overlapped I/O core in src/windows.rs, against a
# named-pipe stand-in device) under Wine: builds for x86_64-pc-windows-gnu with mingw-w64 and
# uses Wine as cargo's runner for that target.
#
# Installs what it needs (apt-get: wine64, mingw-w64; rustup: the GNU target). If that is
# impossible (no apt-get, not root, no package source) it prints why and exits 0 without
# testing; every other failure exits non-zero.
#
# Wine 8 (Debian 12) lacks ProcessPrng in bcryptprimitives.dll, which Rust's standard library
# imports, so every Rust program fails to load; processprng.c builds a one-function
# bcryptprimitives.dll that is put next to the test executables (the application directory
# comes first in the DLL search order). Wine 8's Configuration Manager device-interface calls
# are stubs, so the interface lookup is only checked for reporting its result properly.
#
# Time limits: each test bounds its own waits (the longest is a 2 s harness limit); the whole
# test run is stopped after 300 s.
set -euo pipefail
cd "$(dirname "$0")/../../.."

TARGET=x86_64-pc-windows-gnu
OUT=target/wine

skip() {
    echo "SKIPPED: Windows-side harness tests under Wine: $*"
    exit 0
}

wine_binary() {
    command -v wine64 2>/dev/null || { [ -x /usr/lib/wine/wine64 ] && echo /usr/lib/wine/wine64; } || true
}

if [ -z "$(wine_binary)" ] || ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
    command -v apt-get >/dev/null || skip "wine64 and mingw-w64 are missing and there is no apt-get"
    [ "$(id -u)" = 0 ] || skip "wine64 and mingw-w64 are missing and installing them needs root"
    echo "installing wine64 and mingw-w64 (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --no-install-recommends wine64 mingw-w64 >"$OUT.apt.log" 2>&1; then
        apt-get update -qq >>"$OUT.apt.log" 2>&1 || skip "apt-get update failed (see $OUT.apt.log)"
        apt-get install -y -qq --no-install-recommends wine64 mingw-w64 >>"$OUT.apt.log" 2>&1 ||
            skip "apt-get install wine64 mingw-w64 failed (see $OUT.apt.log)"
    fi
fi
WINE=$(wine_binary)
[ -n "$WINE" ] || skip "wine64 was installed but its binary is not found"
rustup target add "$TARGET" >/dev/null 2>&1 || rustup target list --installed | grep -qx "$TARGET" ||
    skip "rustup cannot add the $TARGET target"

mkdir -p "$OUT"
x86_64-w64-mingw32-gcc -shared -O2 -s -o "$OUT/bcryptprimitives.dll" \
    tools/edu-harness/wine/processprng.c -ladvapi32

# Build first, then put the DLL next to every test executable.
cargo test --locked --quiet --target "$TARGET" -p edu-harness --no-run
cp "$OUT/bcryptprimitives.dll" "target/$TARGET/debug/deps/"

export WINEPREFIX="$PWD/$OUT/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$WINE"
WINESERVER=$(dirname "$WINE")/wineserver
[ -x "$WINESERVER" ] || WINESERVER=$(command -v wineserver || echo true)
trap '"$WINESERVER" -k >/dev/null 2>&1 || true' EXIT
timeout 300 cargo test --locked --target "$TARGET" -p edu-harness
