#!/usr/bin/env bash
# Set everything up on a fresh machine and run the tests:
# MariaDB, nmtool's virtualenv, the reference nova-manage 34.0.0, pytest.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/ensure-mariadb.sh
venv=$(bash scripts/dev-venv.sh)
# The reference nova-manage; its absence (PyPI unreachable) makes the
# comparison tests skip with that reason rather than fail.
bash scripts/nova-venv.sh || echo "note: nova 34.0.0 not available; comparison tests will skip" >&2
# The real Placement, Neutron and Keystone the placement tests run against.
bash scripts/services-venv.sh all || echo "note: Placement/Neutron/Keystone not installed; their tests will skip" >&2
exec "$venv/bin/python" -m pytest -n "${NMTOOL_TEST_JOBS:-2}" "$@"
