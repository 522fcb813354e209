-- db status: how much there is to archive and purge in a cell database,
-- read cheaply enough for tables with tens of millions of rows. Exact
-- counts run only where the rows they visit are few (a small table, or an
-- index leading with the column counted); other figures are InnoDB's
-- estimates or come from a sample of primary-key ranges. {table} and
-- {column} come from the live schema (information_schema).

-- name: db_status.table_rows
-- used by: db archive_deleted_rows, db purge, db status
-- InnoDB's row estimate of every base table (no scan; refreshed by
-- ANALYZE TABLE and by the server's automatic statistics).
SELECT table_name, table_rows
  FROM information_schema.tables
 WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'

-- name: db_status.leading_index_columns
-- used by: db archive_deleted_rows, db purge, db status
-- Columns that lead an index: counting or taking the minimum of such a
-- column reads only the index entries concerned.
SELECT DISTINCT table_name, column_name
  FROM information_schema.statistics
 WHERE table_schema = DATABASE() AND seq_in_index = 1

-- name: db_status.id_range
-- used by: db archive_deleted_rows, db purge, db status
-- Lowest and highest id: two primary-key lookups. The difference bounds
-- the row count when the statistics are stale.
SELECT MIN(`id`), MAX(`id`) FROM {table}

-- name: db_status.main_counts
-- used by: db archive_deleted_rows, db purge, db status
-- Rows, soft-deleted rows and those deleted before the cut-off (NULL
-- cut-off: 0), over the whole table or one id range of a sample.
SELECT COUNT(*),
       COALESCE(SUM(`deleted` <> 0), 0),
       COALESCE(SUM(`deleted` <> 0 AND `deleted_at` < %(before)s), 0)
  FROM {table} {id_range}

-- name: db_status.main_counts_no_deleted_at
-- used by: db archive_deleted_rows, db purge, db status
-- The same for a table without a deleted_at column.
SELECT COUNT(*), COALESCE(SUM(`deleted` <> 0), 0), NULL
  FROM {table} {id_range}

-- name: db_status.in_id_range
-- used by: db archive_deleted_rows, db purge, db status
-- One range of the sample of a large table.
WHERE `id` >= %(low)s AND `id` < %(high)s

-- name: db_status.explain_deleted
-- used by: db archive_deleted_rows, db purge, db status
-- The optimizer's estimate (from index dives) of the soft-deleted rows of
-- a table whose deleted column leads an index.
EXPLAIN SELECT COUNT(*) FROM {table} WHERE `deleted` <> 0

-- name: db_status.deleted_by_index
-- used by: db archive_deleted_rows, db purge, db status
-- Soft-deleted rows, through the index on deleted, and those deleted
-- before the cut-off (NULL cut-off: 0).
SELECT COUNT(*), COALESCE(SUM(`deleted_at` < %(before)s), 0)
  FROM {table}
 WHERE `deleted` <> 0

-- name: db_status.shadow_counts
-- used by: db archive_deleted_rows, db purge, db status
-- Rows of a shadow table, its oldest timestamp (the column purge --before
-- compares) and the rows without one (NULL: purge --before never deletes
-- them), over the table or one id range of a sample.
SELECT COUNT(*), MIN({column}), COALESCE(SUM({column} IS NULL), 0)
  FROM {table} {id_range}

-- name: db_status.shadow_count_only
-- used by: db archive_deleted_rows, db purge, db status
-- Rows of a shadow table without a timestamp column.
SELECT COUNT(*), NULL, NULL FROM {table} {id_range}

-- name: db_status.oldest_by_index
-- used by: db archive_deleted_rows, db purge, db status
-- The oldest timestamp where the column leads an index.
SELECT MIN({column}) FROM {table}

-- name: db_status.explain_null_stamps
-- used by: db archive_deleted_rows, db purge, db status
-- The optimizer's estimate of the shadow rows without a timestamp, where
-- the timestamp column leads an index.
EXPLAIN SELECT COUNT(*) FROM {table} WHERE {column} IS NULL

-- name: db_status.null_stamps_by_index
-- used by: db archive_deleted_rows, db purge, db status
-- The shadow rows without a timestamp, through the index on it.
SELECT COUNT(*) FROM {table} WHERE {column} IS NULL

-- name: db_status.explain_moving_children
-- used by: db archive_deleted_rows, db status
-- The optimizer's estimate of what archive.count_moving_children visits
-- (the parents taken, then the children of each through the index on the
-- foreign key): counted exactly only where that is few rows.
EXPLAIN SELECT COUNT(*)
  FROM {table} t0 {joins}
 WHERE {qualifier} AND {child_stays}

-- fragment: db_status.parent_in_id_range
-- The parents of one id range of a sample, for the child rows moving
-- with them (archive.count_moving_children of an estimated parent).
t0.`id` >= %(low)s AND t0.`id` < %(high)s

-- fragment: db_status.moving_child_ids
-- The child rows along one chain that move with the parents an archive
-- takes (the joins and conditions of archive.count_moving_children).
SELECT t{child}.`id`
  FROM {table} t0 {joins}
 WHERE {qualifier} AND {child_stays}

-- name: db_status.count_moving_union
-- used by: db archive_deleted_rows, db status
-- The child rows of a table that several chains reach (a security group
-- rule through both of its groups, an action event through its instance
-- and its action): each row moves once, so it is counted once. {chains}
-- is one db_status.moving_child_ids per chain, joined by UNION.
SELECT COUNT(*) FROM ({chains}) AS moving
