-- Throttles between the batches of archive and purge (pt-archiver's
-- --max-flow-ctl and --max-lag): read between batches, never inside one.

-- name: throttle.flow_control
-- used by: db archive_deleted_rows, db purge
-- --max-flow-ctl: how long this Galera node has been paused by flow
-- control since it started (nanoseconds; the cluster pauses as a whole, so
-- every node counts the same pauses), and whether it is in a cluster at
-- all. A server without Galera has neither counter nor connection: the
-- option is then a no-op.
SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_connected', 'wsrep_flow_control_paused_ns')

-- name: throttle.replica_status
-- used by: db archive_deleted_rows, db purge
-- --max-lag: Seconds_Behind_Master of an asynchronous replica (--check-
-- replica); no row when the server is not a replica, NULL while its
-- replication is stopped. Read once before the first batch too, so that an
-- account without SLAVE MONITOR (REPLICATION CLIENT before MariaDB 10.5) is
-- refused before anything is archived.
SHOW SLAVE STATUS
