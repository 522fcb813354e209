#!/usr/bin/env bash
# Install the reference nova-manage (nova 34.0.0) into its own virtualenv,
# cached outside the repository. Exit 3 when PyPI cannot be reached, so
# the tests that need it can skip with that reason.
set -uo pipefail
venv=${1:-${NMTOOL_NOVA_VENV:-$HOME/.cache/nmtool/nova-34.0.0}}
marker="$venv/.nmtool-ready"
[ -f "$marker" ] && exit 0

mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
[ -f "$marker" ] && exit 0

if ! pip download --no-deps -q -d "$(mktemp -d)" nova==34.0.0 >/dev/null 2>&1; then
    echo "PyPI cannot be reached: nova 34.0.0 not installed" >&2
    exit 3
fi
rm -rf "$venv"
python3 -m venv "$venv" || exit 1
"$venv/bin/pip" install -q nova==34.0.0 pymysql 2>&1 | grep -v "^WARNING: Location" || true
"$venv/bin/nova-manage" --version >/dev/null 2>&1 || { echo "nova-manage does not run" >&2; exit 1; }
touch "$marker"
