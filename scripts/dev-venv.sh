#!/usr/bin/env bash
# Create (once) the virtualenv nmtool is installed and tested in, cached
# outside the repository, and (re)install nmtool into it. Prints its path.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${NMTOOL_VENV:-$HOME/.cache/nmtool/venv}
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
fi
"$venv/bin/pip" install -q -e "$here[test]" 2>&1 | grep -v "^WARNING: Location" >&2 || true
"$venv/bin/python" -c "import nmtool.cli" >&2
echo "$venv"
