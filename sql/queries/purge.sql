-- Purging shadow tables in chunks: each chunk is its own short
-- transaction, so a purge of a huge table neither builds one giant
-- transaction (Galera's write-set limits) nor loses work when killed.
-- {table} and {column} come from the live schema.

-- name: purge.chunk_before
-- used by: db archive_deleted_rows, db purge
-- Rows older than the cut-off, by the table's timestamp column.
DELETE FROM {table} WHERE {column} < %(before)s {order} LIMIT %(chunk)s

-- name: purge.chunk_all
-- used by: db archive_deleted_rows, db purge
-- Any rows (--all).
DELETE FROM {table} {order} LIMIT %(chunk)s

-- fragment: purge.order_by_id
-- Chunks follow the primary key where the table has an id.
ORDER BY `id`
