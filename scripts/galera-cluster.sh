#!/usr/bin/env bash
# A 3-node MariaDB Galera cluster on loopback for the Galera tests and
# benchmarks: three mariadbd processes of the installed server, each with
# its own data directory, socket and ports under BASE. The server on
# 127.0.0.1:3306 is left alone.
#
#   bash scripts/galera-cluster.sh start [BASE]   # prints the client ports
#   bash scripts/galera-cluster.sh stop [BASE]
#   bash scripts/galera-cluster.sh status [BASE]
#
# Installs galera-4 and rsync (the state transfer) with apt-get when they
# are missing. Starting wipes BASE and builds the cluster afresh (about a
# minute): node 1 bootstraps it, nodes 2 and 3 join by state transfer.
# Exit 3 when the packages cannot be installed (the tests then skip).
set -euo pipefail

action=${1:-start}
# Not under $HOME: the servers run as the mysql user, who cannot enter
# root's home.
base=${2:-${NMTOOL_GALERA_BASE:-/var/tmp/nmtool-galera}}
# Client, group, incremental-transfer and state-transfer ports per node;
# NMTOOL_GALERA_PORT_OFFSET moves them all, for a second cluster beside
# the first (with its own BASE).
o=${NMTOOL_GALERA_PORT_OFFSET:-0}
CLIENT=($((4306 + o)) $((4307 + o)) $((4308 + o)))
GROUP=($((4576 + o)) $((4586 + o)) $((4596 + o)))
IST=($((4578 + o)) $((4588 + o)) $((4598 + o)))
SST=($((4454 + o)) $((4464 + o)) $((4474 + o)))
PROVIDER=/usr/lib/galera/libgalera_smm.so

say() { echo "galera: $*" >&2; }

pid_of() { cat "$base/n$1/mysql.pid" 2>/dev/null || true; }

stop_all() {
    for n in 3 2 1; do
        local pid
        pid=$(pid_of "$n")
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 60); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.5
            done
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
}

query() {  # node, SQL
    mariadb --no-defaults -uroot -h127.0.0.1 -P"${CLIENT[$(($1 - 1))]}" \
        -N -B -e "$2" 2>/dev/null
}

synced() {
    [ "$(query "$1" "SHOW STATUS LIKE 'wsrep_local_state_comment'" \
        | cut -f2)" = "Synced" ] || return 1
    [ "$(query "$1" "SHOW STATUS LIKE 'wsrep_cluster_size'" | cut -f2)" \
        -ge "$2" ] 2>/dev/null
}

wait_synced() {  # node, cluster size
    for _ in $(seq 1 240); do
        synced "$1" "$2" && return 0
        sleep 0.5
    done
    say "node $1 did not reach Synced; see $base/n$1/error.log"
    return 1
}

write_config() {  # node
    local n=$1 i=$(($1 - 1))
    cat > "$base/n$n.cnf" <<CNF
[mariadbd]
datadir=$base/n$n/data
socket=$base/n$n/mysql.sock
pid-file=$base/n$n/mysql.pid
log-error=$base/n$n/error.log
port=${CLIENT[$i]}
bind-address=127.0.0.1
skip-name-resolve
innodb_buffer_pool_size=256M
innodb_log_file_size=128M
innodb_flush_log_at_trx_commit=2
innodb_file_per_table=OFF
innodb_autoinc_lock_mode=2
binlog_format=ROW
default_storage_engine=InnoDB
character-set-server=utf8mb3
wsrep_on=ON
wsrep_provider=$PROVIDER
wsrep_cluster_name=nmtool_test
wsrep_cluster_address=gcomm://127.0.0.1:${GROUP[0]},127.0.0.1:${GROUP[1]},127.0.0.1:${GROUP[2]}
wsrep_node_name=n$n
wsrep_node_address=127.0.0.1:${GROUP[$i]}
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:${GROUP[$i]};ist.recv_addr=127.0.0.1:${IST[$i]};gcache.size=128M"
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:${SST[$i]}
wsrep_slave_threads=2
CNF
}

start_node() {  # node [--wsrep-new-cluster]
    local n=$1
    shift
    # mariadbd daemonises nothing: run it in the background, detached
    # from this script's terminal and stdin.
    setsid /usr/sbin/mariadbd --defaults-file="$base/n$n.cnf" --user=mysql \
        "$@" </dev/null >/dev/null 2>&1 &
}

install_packages() {
    if [ -e "$PROVIDER" ] && command -v rsync >/dev/null 2>&1; then
        return 0
    fi
    say "installing galera-4 and rsync with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -qq galera-4 rsync; } \
            >/dev/null 2>&1; then
        say "could not install galera-4 and rsync"
        exit 3
    fi
}

case "$action" in
    stop)
        stop_all
        ;;
    status)
        for n in 1 2 3; do
            synced "$n" 3 && echo "n$n ${CLIENT[$((n - 1))]} Synced" \
                || echo "n$n ${CLIENT[$((n - 1))]} down"
        done
        ;;
    start)
        install_packages
        command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || {
            say "mariadb-server is not installed (scripts/ensure-mariadb.sh)"
            exit 3
        }
        stop_all
        rm -rf "$base"
        mkdir -p "$base"/n1/data "$base"/n2/data "$base"/n3/data
        for n in 1 2 3; do write_config "$n"; done
        chown -R mysql:mysql "$base"
        chmod 755 "$base"
        say "3-node cluster in $base, client ports ${CLIENT[*]}"
        if ! mariadb-install-db --defaults-file="$base/n1.cnf" --user=mysql \
                --auth-root-authentication-method=normal \
                >"$base/install.log" 2>&1; then
            say "mariadb-install-db failed; see $base/install.log"
            exit 1
        fi
        start_node 1 --wsrep-new-cluster
        wait_synced 1 1
        # Root from 127.0.0.1 without a password, as the tests connect.
        query 1 "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
                 GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION"
        start_node 2
        wait_synced 2 2
        start_node 3
        wait_synced 3 3
        say "cluster synced"
        echo "${CLIENT[*]}"
        ;;
    *)
        echo "usage: $0 start|stop|status [BASE]" >&2
        exit 2
        ;;
esac
