#!/usr/bin/env bash
# Set everything up on a fresh machine and run the tests: MariaDB, nmtool
# installed from a wheel built from this tree into a fresh virtualenv, the
# reference nova-manage 34.0.0, the real Placement, Neutron and Keystone,
# then pytest twice: the whole suite on the installed nmtool (its Cython
# kernel), and every test that reaches a kernel function (archive, purge,
# map_instances) again on the pure-Python twin.
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
echo "setup: nova 34.0.0 (the reference nova-manage) in ~/.cache/nmtool, once" >&2
bash scripts/nova-venv.sh || echo "note: nova 34.0.0 not available; comparison tests will skip" >&2
# The real Placement, Neutron and Keystone the placement tests run against.
echo "setup: Placement, Neutron and Keystone in ~/.cache/nmtool, once" >&2
bash scripts/services-venv.sh all || echo "note: Placement/Neutron/Keystone not installed; their tests will skip" >&2
# (Exit 5 there: nothing selected reaches a kernel.)
# -P: the tree's own nmtool/ must not shadow the installed one.
jobs=${NMTOOL_TEST_JOBS:-2}
status=0
"$venv/bin/python" -P -m pytest -n "$jobs" "$@" || status=$?
echo "== the kernel-reaching tests again, on the pure-Python kernel" >&2
NMTOOL_PURE_PYTHON=1 "$venv/bin/python" -P -m pytest -n "$jobs" -m kernel \
    "$@" || { rc=$?; [ $rc -eq 5 ] || [ $status -ne 0 ] || status=$rc; }
exit $status
