-- Galera's limits on what one transaction may write, read by every
-- command that writes in large transactions.

-- name: galera.write_set_limit
-- used by: db archive_deleted_rows, db purge, cell_v2 map_instances
-- On Galera every transaction is one write set, and the cluster refuses
-- one of more rows than wsrep_max_ws_rows (0: no limit). Read once per
-- database at the start, so that archive batches, purge chunks and
-- map_instances chunks are sized to fit instead of failing with error
-- 1180. No rows without Galera.
SHOW GLOBAL VARIABLES WHERE Variable_name IN ('wsrep_on', 'wsrep_max_ws_rows')
