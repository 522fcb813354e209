#!/usr/bin/env bash
# Set everything up on a fresh machine and show nmtool's main job on a
# local MariaDB: sync the API and cell schemas, map cell0, fill the cell
# with generated Nova data, then archive its soft-deleted rows into the
# shadow tables (status before and after, a dry run, the SQL it runs, the
# real run, JSON output) and purge the shadow tables by date.
# The demo databases (nmtool_demo_api, nmtool_demo, nmtool_demo_cell0) are
# recreated on every run; `bash scripts/demo.sh --drop` removes them.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/ensure-mariadb.sh
venv=$(bash scripts/dev-venv.sh)
nmtool="$venv/bin/nmtool"
sqlc() { mariadb -uroot -h127.0.0.1 -N -e "$1"; }

sqlc "DROP DATABASE IF EXISTS nmtool_demo_api; DROP DATABASE IF EXISTS nmtool_demo; DROP DATABASE IF EXISTS nmtool_demo_cell0"
if [ "${1:-}" = "--drop" ]; then echo "demo databases dropped"; exit 0; fi
sqlc "CREATE DATABASE nmtool_demo_api; CREATE DATABASE nmtool_demo; CREATE DATABASE nmtool_demo_cell0"

# Kept after the demo, so its commands can be tried again by hand.
conf=${NMTOOL_DEMO_CONF:-$HOME/.cache/nmtool/demo/nova.conf}
mkdir -p "$(dirname "$conf")"
cat > "$conf" <<CONF
[DEFAULT]
transport_url = rabbit://guest:guest@127.0.0.1:5672/
[api_database]
connection = mysql+pymysql://root@127.0.0.1/nmtool_demo_api?charset=utf8
[database]
connection = mysql+pymysql://root@127.0.0.1/nmtool_demo?charset=utf8
CONF

step() { printf '\n$ nmtool %s\n' "$*"; "$nmtool" --config-file "$conf" "$@"; }
TIMEFORMAT='  (took %R s)'
time_step() { time step "$@"; }

echo "nova.conf used by the demo: $conf"
step --version
time_step api_db sync
step api_db version
step cell_v2 map_cell0
time_step db sync
step db version
printf '\ncell0 (nmtool_demo_cell0) is at revision: %s\n' "$(sqlc 'SELECT version_num FROM nmtool_demo_cell0.alembic_version')"
printf 'tables: API %s, main %s, cell0 %s\n' \
    "$(sqlc "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='nmtool_demo_api'")" \
    "$(sqlc "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='nmtool_demo'")" \
    "$(sqlc "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='nmtool_demo_cell0'")"
printf '\nThe SQL each revision runs is in %s/sql/{api,main}/.\n' "$here"

# The main job: archive. 3,000 generated instances (60 % deleted, each with
# the child rows a real one has), then nmtool's view of them.
echo
echo "Generating 3,000 instances with benchmarks/novadata.py..."
"$venv/bin/python" benchmarks/novadata.py --api nmtool_demo_api \
    --main nmtool_demo --instances 3000 --seed 2026 >/dev/null
# The generator maps its cell without a database; the demo's is
# nmtool_demo, so that --all-cells reaches it.
sqlc "UPDATE nmtool_demo_api.cell_mappings
      SET database_connection = 'mysql+pymysql://root@127.0.0.1/nmtool_demo?charset=utf8',
          transport_url = 'rabbit://guest:guest@127.0.0.1:5672/'
      WHERE database_connection = 'none:///'"
step db status
step sql show --reindent archive.candidates
step db archive_deleted_rows --max_rows 1000 --dry-run --verbose 2>/dev/null \
    || printf '(exit %s: rows would be archived; nothing changed)\n' "$?"
time_step db archive_deleted_rows --until-complete --verbose \
    || printf '(exit %s: rows were archived)\n' "$?"
step db archive_deleted_rows --format json \
    || printf '(exit %s: nothing left to archive)\n' "$?"
step db status
step db purge --before 2025-01-01 --verbose \
    || printf '(exit %s)\n' "$?"
step cell_v2 list_cells
step db purge --all-cells --all --verbose || printf '(exit %s)\n' "$?"
printf '\nThe demo'"'"'s nova.conf stays in %s: try the commands again with\n  %s --config-file %s db status\n' "$conf" "$nmtool" "$conf"
printf '\nEvery statement those commands ran: add --sql-log FILE (JSON lines) or --print-sql.\n'
