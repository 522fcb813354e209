#!/usr/bin/env bash
# Set everything up on a fresh machine and run the tests:
# MariaDB, nmtool's virtualenv, the reference nova-manage 34.0.0, pytest.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/ensure-mariadb.sh
venv=$(bash scripts/dev-venv.sh)
# The tests create and drop thousands of tables: on this throw-away test
# server, new tables go to the shared tablespace and commits are flushed
# once a second, which halves the time of each schema clone. (Both hold
# until the server restarts; a production server is never pointed at.)
"$venv/bin/python" - <<'PY'
import pymysql
conn = pymysql.connect(host="127.0.0.1", user="root", password="")
conn.cursor().execute("SET GLOBAL innodb_file_per_table = OFF")
conn.cursor().execute("SET GLOBAL innodb_flush_log_at_trx_commit = 2")
PY
# The reference nova-manage; its absence (PyPI unreachable) makes the
# comparison tests skip with that reason rather than fail.
bash scripts/nova-venv.sh || echo "note: nova 34.0.0 not available; comparison tests will skip" >&2
# The real Placement, Neutron and Keystone the placement tests run against.
bash scripts/services-venv.sh all || echo "note: Placement/Neutron/Keystone not installed; their tests will skip" >&2
exec "$venv/bin/python" -m pytest -n "${NMTOOL_TEST_JOBS:-2}" "$@"
