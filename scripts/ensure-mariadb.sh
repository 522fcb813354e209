#!/usr/bin/env bash
# Make sure a MariaDB server answers on 127.0.0.1:3306 (root, no password):
# start the installed one, or install it from Debian's packages first.
set -euo pipefail

answers() {
    python3 - <<'PY' 2>/dev/null
import socket, sys
s = socket.socket()
s.settimeout(1)
try:
    s.connect(("127.0.0.1", 3306))
except OSError:
    sys.exit(1)
PY
}

wait_for_server() {
    for _ in $(seq 1 60); do
        answers && return 0
        sleep 1
    done
    echo "MariaDB did not start listening on 127.0.0.1:3306" >&2
    return 1
}

answers && exit 0

if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
    echo "Installing mariadb-server with apt-get..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq mariadb-server >/dev/null
fi

mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld 2>/dev/null || true
if [ ! -d /var/lib/mysql/mysql ]; then
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
fi
start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd \
    -- --user=mysql --bind-address=127.0.0.1
wait_for_server

# A fresh Debian install lets root in through the unix socket only.
mariadb -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket" 2>/dev/null || true
mariadb -uroot -h127.0.0.1 -e 'SELECT 1' >/dev/null
