#!/usr/bin/env bash
# Builds a qtest-capable qemu-system-x86_64 from Debian's qemu source package and caches it.
#
# Debian's binary qemu package is configured without the qtest accelerator, so the differential
# test needs its own build. This script fetches the source package of the running Debian release
# through a scratch apt configuration (the system's sources list is not touched), configures a
# minimal x86_64 system emulator (q35 + edu, nothing else of note) and installs the binary to
#   ${EDU_QTEST_CACHE:-$HOME/.cache/edu-qtest}/<version>-<variant>/qemu-system-x86_64,
# the upstream version string to .../VERSION
#
# and the model mode it corresponds to to .../<version>/MODE.
#
# Variants (EDU_QTEST_VARIANT), each the same build with only hw/misc/edu.c changed:
#   debian        (default) the source as Debian ships it (7.2 on Debian 12): QEMU <= 8.2.0
#   fixed-bound   the range check of QEMU 8.2.1 and 9.0 (rangefix.py)
#   log-and-skip  the range check of current upstream (rangefix.py)
#
# Needs: apt-get, dpkg-source, a C compiler, ninja, python3, glib-2.0 and pixman-1 headers.
# The first build takes 2.5 minutes on 2 cores (measured); a variant after it a few seconds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
variant="${EDU_QTEST_VARIANT:-debian}"
cache="${EDU_QTEST_CACHE:-$HOME/.cache/edu-qtest}"
work="$cache/src"
mkdir -p "$work"

missing=()
for tool in apt-get dpkg-source cc ninja meson python3 pkg-config; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
for pc in glib-2.0 pixman-1; do
    pkg-config --exists "$pc" 2>/dev/null || missing+=("$pc (pkg-config)")
done
[[ -f /usr/include/libfdt.h ]] || missing+=("libfdt.h")
if ((${#missing[@]})); then
    echo "build-qemu: missing: ${missing[*]}" >&2
    echo "build-qemu: on Debian: apt-get install ninja-build meson libglib2.0-dev libpixman-1-dev libfdt-dev dpkg-dev" >&2
    exit 2
fi

# Scratch apt configuration with deb-src lines for the running release.
. /etc/os-release
codename="${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}"
apt_dir="$work/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
cat >"$apt_dir/sources.list" <<LIST
deb-src http://deb.debian.org/debian $codename main
deb-src http://deb.debian.org/debian $codename-updates main
deb-src http://deb.debian.org/debian-security $codename-security main
LIST
apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache::Archives=$apt_dir/archives"
    -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
)

src_dir="$(find "$work" -maxdepth 1 -type d -name 'qemu-[0-9]*' | sort | tail -n1)"
if [[ -z "$src_dir" ]]; then
    echo "build-qemu: fetching Debian's qemu source package ($codename)"
    apt-get "${apt_opts[@]}" -qq update
    (cd "$work" && apt-get "${apt_opts[@]}" -qq source qemu)
    src_dir="$(find "$work" -maxdepth 1 -type d -name 'qemu-[0-9]*' | sort | tail -n1)"
fi
[[ -n "$src_dir" ]] || { echo "build-qemu: no source directory after apt-get source" >&2; exit 1; }
version="$(cat "$src_dir/VERSION")"

# One build tree; a variant only swaps hw/misc/edu.c, so ninja rebuilds one file and relinks.
tree="$work/tree"
if [[ ! -d "$tree" ]]; then
    cp -a "$src_dir" "$tree"
    cp "$tree/hw/misc/edu.c" "$tree/hw/misc/edu.c.orig"
    # Only the q35 board and the edu device: a small fraction of the default device set.
    printf 'CONFIG_Q35=y\nCONFIG_EDU=y\n' >"$tree/configs/devices/x86_64-softmmu/edu-qtest.mak"
fi
cp "$tree/hw/misc/edu.c.orig" "$tree/hw/misc/edu.c.new"
case "$variant" in
    debian) mode=abort-off-by-one ;;
    fixed-bound) mode=abort-fixed-bound; python3 "$here/rangefix.py" "$tree/hw/misc/edu.c.new" fixed-bound ;;
    log-and-skip) mode=log-and-skip; python3 "$here/rangefix.py" "$tree/hw/misc/edu.c.new" log-and-skip ;;
    *) echo "build-qemu: unknown EDU_QTEST_VARIANT=$variant" >&2; exit 2 ;;
esac
cmp -s "$tree/hw/misc/edu.c.new" "$tree/hw/misc/edu.c" || mv "$tree/hw/misc/edu.c.new" "$tree/hw/misc/edu.c"
rm -f "$tree/hw/misc/edu.c.new"

out="$cache/$version-$variant"
mkdir -p "$tree/build-edu"
cd "$tree/build-edu"
if [[ ! -f build.ninja ]]; then
    ../configure --target-list=x86_64-softmmu --without-default-features --without-default-devices \
        --with-devices-x86_64=edu-qtest --meson=meson --disable-docs --disable-werror \
        --disable-user --disable-tools --disable-guest-agent --disable-slirp --disable-kvm \
        --enable-tcg >configure.log 2>&1 ||
        { tail -n 30 configure.log >&2; exit 1; }
fi
ninja qemu-system-x86_64 >ninja.log 2>&1 || { tail -n 40 ninja.log >&2; exit 1; }
mkdir -p "$out"
install -m 0755 qemu-system-x86_64 "$out/qemu-system-x86_64"
echo "$version" >"$out/VERSION"
echo "$mode" >"$out/MODE"
echo "$out/qemu-system-x86_64"
