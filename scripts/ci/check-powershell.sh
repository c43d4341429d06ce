#!/usr/bin/env bash
# CI: syntax check of the PowerShell kit (scripts/*.ps1, scripts/*.psm1) with the tree-sitter
# PowerShell grammar from PyPI, installed into a virtual environment under target/.
# First proves the check can fail (a broken snippet must be rejected), then checks the kit.
# Exit codes: 0 clean, 1 syntax errors (or the check accepted broken code); when the parser
# cannot be installed (no python3 venv, PyPI unreachable) it prints why and exits 0 unchecked.
# Time limits: pip is stopped after 300 s, each check after 60 s.
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=target/ps-syntax-venv
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import tree_sitter, tree_sitter_powershell' 2>/dev/null; then
    python3 -m venv "$VENV" 2>/dev/null || { echo "SKIPPED: PowerShell syntax check: python3 -m venv unavailable"; exit 0; }
    timeout 300 "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "tree-sitter==0.25.2" "tree-sitter-powershell==0.26.4" ||
        { echo "SKIPPED: PowerShell syntax check: pip could not install tree-sitter-powershell"; exit 0; }
fi

broken=$(mktemp --suffix=.ps1)
trap 'rm -f "$broken"' EXIT
printf 'function Test-Broken {\n    if ($true) { "x"\n}\n' >"$broken"
if timeout 60 "$VENV/bin/python" scripts/ci/check_powershell.py "$broken" >/dev/null; then
    echo "the PowerShell syntax check accepted a broken script"
    exit 1
fi
timeout 60 "$VENV/bin/python" scripts/ci/check_powershell.py scripts/*.ps1 scripts/*.psm1
