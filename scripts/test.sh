#!/usr/bin/env bash
# Set everything up on a fresh machine and run the tests:
# - the tests' own MariaDB on 127.0.0.1:3316 (scripts/test-mariadb.sh; a
#   server on 127.0.0.1:3306 is left as it is, and checked to be so);
# - nmtool installed from a wheel built from this tree into a fresh
#   virtualenv (scripts/dev-venv.sh);
# - the reference nova-manage 34.0.0 and the real Placement, Neutron and
#   Keystone, each in its own virtualenv under ~/.cache/nmtool (about
#   1.15 GB, installed once);
# then pytest twice: the whole suite on the installed nmtool (its Cython
# kernel), and every test that reaches a kernel function (archive, purge,
# map_instances) again on the pure-Python twin.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

# The settings of a server this script did not start, before and after.
system_settings() {
    mariadb --no-defaults -uroot -h127.0.0.1 -P3306 -N -B -e \
        "SHOW GLOBAL VARIABLES WHERE Variable_name IN (
           'innodb_file_per_table', 'innodb_flush_log_at_trx_commit',
           'innodb_buffer_pool_size', 'innodb_log_file_size',
           'max_connections', 'sql_mode', 'wsrep_on')" 2>/dev/null || true
}
before=$(system_settings)

echo "setup: the tests' MariaDB on 127.0.0.1:3316, data in /var/tmp/nmtool-test-mariadb" >&2
bash scripts/test-mariadb.sh start >/dev/null
venv=$(bash scripts/dev-venv.sh)
# The reference nova-manage; its absence (PyPI unreachable) makes the
# comparison tests skip with that reason rather than fail.
echo "setup: nova 34.0.0 (the reference nova-manage, about 350 MB) in ~/.cache/nmtool/nova-34.0.0, once" >&2
bash scripts/nova-venv.sh || echo "note: nova 34.0.0 not available; comparison tests will skip" >&2
# The real Placement, Neutron and Keystone the placement tests run against.
echo "setup: Placement, Neutron and Keystone (about 800 MB) in ~/.cache/nmtool, once" >&2
bash scripts/services-venv.sh all || echo "note: Placement/Neutron/Keystone not installed; their tests will skip" >&2

jobs=${NMTOOL_TEST_JOBS:-2}
status=0
# -P: the tree's own nmtool/ must not shadow the installed one.
"$venv/bin/python" -P -m pytest -n "$jobs" --durations=15 "$@" || status=$?
echo "== the kernel-reaching tests again, on the pure-Python kernel" >&2
# (Exit 5 there: nothing selected reaches a kernel.)
NMTOOL_PURE_PYTHON=1 "$venv/bin/python" -P -m pytest -n "$jobs" \
    -m "kernel and not galera" \
    "$@" || { rc=$?; [ $rc -eq 5 ] || [ $status -ne 0 ] || status=$rc; }

after=$(system_settings)
if [ "$before" != "$after" ]; then
    echo "FAILED: the settings of the server on 127.0.0.1:3306 changed during the tests:" >&2
    diff <(echo "$before") <(echo "$after") >&2 || true
    status=1
fi
exit $status
