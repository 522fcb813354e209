#!/usr/bin/env bash
# Build a wheel from the tree and install it, as a user's `pip install`
# would, into a fresh virtualenv cached outside the repository (with the
# test tools); prints the virtualenv's path. The tests then run what
# users get, not an editable tree: a module left out of the wheel fails
# them. NMTOOL_KEEP_VENV=1 reuses the virtualenv (only nmtool is
# reinstalled), for quick local reruns.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${NMTOOL_VENV:-$HOME/.cache/nmtool/venv}
if [ -z "${NMTOOL_KEEP_VENV:-}" ] || [ ! -x "$venv/bin/python" ]; then
    echo "setup: fresh virtualenv for nmtool and its tests in $venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
fi
dist=$(mktemp -d)
trap 'rm -rf "$dist"' EXIT
# Built from a copy without build/ and *.egg-info, as from a clean clone:
# files left there by an earlier build must not reach the wheel.
mkdir "$dist/src"
tar -C "$here" --exclude=./.git --exclude=./build --exclude=./dist \
    --exclude='*.egg-info' --exclude=__pycache__ --exclude='*.so' \
    --exclude='nmtool/kernel/*.c' -cf - . | tar -C "$dist/src" -xf -
echo "setup: building nmtool's wheel from $here (compiles the Cython kernel)" >&2
"$venv/bin/pip" wheel -q --no-deps -w "$dist" "$dist/src" 2>&1 \
    | grep -v "^WARNING: Location" >&2 || true
wheel=$(ls "$dist"/nmtool-*.whl)
echo "setup: installing $(basename "$wheel") with the test tools (pytest, jsonschema, Cython)" >&2
"$venv/bin/pip" install -q "$wheel[test]" 2>&1 | grep -v "^WARNING: Location" >&2 || true
# The same version may be installed already: this build replaces it.
"$venv/bin/pip" install -q --force-reinstall --no-deps "$wheel" 2>&1 \
    | grep -v "^WARNING: Location" >&2 || true
(cd / && "$venv/bin/python" -c "import nmtool.cli") >&2
echo "$venv"
