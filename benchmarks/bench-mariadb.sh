#!/usr/bin/env bash
# The benchmarks' own MariaDB (127.0.0.1:3326 by default): a mariadbd of the
# installed server with its own data directory, sized as a large cloud's
# database server would be (4 GiB buffer pool, 1 GiB redo log, one log
# flush a second), so that archive_bench.py and purge_bench.py may change
# its global settings without touching the tests' server (3316) or the
# one on 3306.
#
#   bash benchmarks/bench-mariadb.sh start   # idempotent; prints the port
#   bash benchmarks/bench-mariadb.sh stop
set -euo pipefail

action=${1:-start}
base=${NMTOOL_BENCH_DB_BASE:-/var/tmp/nmtool-bench-mariadb}
port=${NMTOOL_BENCH_DB_PORT:-3326}
pool=${NMTOOL_BENCH_DB_POOL:-4096M}

answers() {
    mariadb --no-defaults -uroot -h127.0.0.1 -P"$port" -N -e "SELECT 1" \
        >/dev/null 2>&1
}

stop() {
    local pid
    pid=$(cat "$base/mysql.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 1 600); do
            kill -0 "$pid" 2>/dev/null || return 0
            sleep 0.5
        done
    fi
}

start() {
    answers && { echo "$port"; return 0; }
    mkdir -p "$base"
    cat > "$base/my.cnf" <<CNF
[mariadbd]
datadir=$base/data
socket=$base/mysql.sock
pid-file=$base/mysql.pid
log-error=$base/error.log
port=$port
bind-address=127.0.0.1
skip-name-resolve
max_connections=100
max_allowed_packet=64M
innodb_buffer_pool_size=$pool
innodb_log_file_size=1G
innodb_flush_log_at_trx_commit=2
CNF
    if [ ! -d "$base/data/mysql" ]; then
        mkdir -p "$base/data"
        chown -R mysql:mysql "$base"
        chmod 755 "$base"
        mariadb-install-db --defaults-file="$base/my.cnf" --user=mysql \
            --auth-root-authentication-method=normal >"$base/install.log" 2>&1
    fi
    chown -R mysql:mysql "$base"
    setsid /usr/sbin/mariadbd --defaults-file="$base/my.cnf" --user=mysql \
        </dev/null >/dev/null 2>&1 &
    for _ in $(seq 1 240); do
        if answers; then
            mariadb --no-defaults -uroot -h127.0.0.1 -P"$port" -e \
                "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
                 GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION" \
                >/dev/null 2>&1 || true
            echo "$port"
            return 0
        fi
        sleep 0.5
    done
    echo "bench MariaDB did not start; see $base/error.log" >&2
    exit 1
}

case "$action" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
