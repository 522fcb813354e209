#!/usr/bin/env bash
# The tests' own MariaDB: a mariadbd of the installed server with its own
# data directory, socket and port (127.0.0.1:3316), and the settings a
# throw-away test server wants (new tables in the shared tablespace,
# commits flushed once a second: schema clones take half the time). A
# server on 127.0.0.1:3306 is never touched.
#
#   bash scripts/test-mariadb.sh start   # idempotent; prints the port
#   bash scripts/test-mariadb.sh stop
#
# Installs mariadb-server with apt-get when it is missing. Several test
# workers may start it at once: a lock makes one of them do it.
set -euo pipefail

action=${1:-start}
# Not under $HOME: the server runs as the mysql user, who cannot enter
# root's home.
base=${NMTOOL_TEST_DB_BASE:-/var/tmp/nmtool-test-mariadb}
port=${NMTOOL_TEST_DB_PORT:-3316}

say() { echo "test-mariadb: $*" >&2; }

answers() {
    mariadb --no-defaults -uroot -h127.0.0.1 -P"$port" -N -e "SELECT 1" \
        >/dev/null 2>&1
}

stop() {
    local pid
    pid=$(cat "$base/mysql.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 1 120); do
            kill -0 "$pid" 2>/dev/null || return 0
            sleep 0.5
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
}

start() {
    answers && { echo "$port"; return 0; }
    if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
        say "installing mariadb-server with apt-get (about 200 MB)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq mariadb-server >/dev/null
    fi
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
character-set-server=utf8mb4
collation-server=utf8mb4_general_ci
max_connections=300
max_allowed_packet=16M
innodb_buffer_pool_size=512M
innodb_log_file_size=256M
innodb_file_per_table=OFF
innodb_flush_log_at_trx_commit=2
CNF
    if [ ! -d "$base/data/mysql" ]; then
        say "new data directory in $base/data"
        mkdir -p "$base/data"
        chown -R mysql:mysql "$base"
        chmod 755 "$base"
        if ! mariadb-install-db --defaults-file="$base/my.cnf" --user=mysql \
                --auth-root-authentication-method=normal \
                >"$base/install.log" 2>&1; then
            say "mariadb-install-db failed; see $base/install.log"
            exit 1
        fi
    fi
    chown -R mysql:mysql "$base"
    say "starting the tests' MariaDB on 127.0.0.1:$port ($base)"
    # 9>&-: the server must not inherit (and hold for ever) the lock.
    setsid /usr/sbin/mariadbd --defaults-file="$base/my.cnf" --user=mysql \
        </dev/null >/dev/null 2>&1 9>&- &
    for _ in $(seq 1 120); do
        if answers; then
            # Root from 127.0.0.1 without a password, as the tests connect.
            mariadb --no-defaults -uroot -h127.0.0.1 -P"$port" -e \
                "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
                 GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION" \
                >/dev/null 2>&1 || true
            echo "$port"
            return 0
        fi
        sleep 0.5
    done
    say "the tests' MariaDB did not start; see $base/error.log"
    exit 1
}

mkdir -p "$(dirname "$base")"
exec 9>"$base.start-lock"
flock 9
case "$action" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
