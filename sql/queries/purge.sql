-- Purging shadow tables in chunks: each chunk is its own short
-- transaction, so a purge of a huge table neither builds one giant
-- transaction (Galera's write-set limits) nor loses work when killed.
-- {table} and {column} come from the live schema.

-- Tables with an `id` go by key: each chunk is a range of ids after the
-- previous one, as wide as the ids' density says a chunk's rows take,
-- and capped at a chunk's rows by LIMIT. A plain
-- "DELETE ... ORDER BY id LIMIT n" starts from the table's first key
-- every time and walks over the rows the chunks before it delete-marked
-- (InnoDB's purge removes them later), which made 540,612 rows take
-- 5x the time of one unbounded DELETE (benchmarks/README.md, db purge).

-- name: purge.id_bounds
-- used by: db archive_deleted_rows, db purge
-- The first and last id of a shadow table: where its chunks start and
-- how far their ranges go (then one range past the last id, for rows
-- archived into it meanwhile).
SELECT MIN(`id`), MAX(`id`) FROM {table}

-- name: purge.next_id
-- used by: db archive_deleted_rows, db purge
-- After an id range that held no row: the next id there is, so that the
-- next range starts there instead of crossing the gap range by range.
SELECT MIN(`id`) FROM {table} WHERE `id` > %(after)s

-- name: purge.chunk_all
-- used by: db archive_deleted_rows, db purge
-- One chunk (--all): the rows of an id range after the previous chunk,
-- at most a chunk of them.
DELETE FROM {table}
 WHERE `id` > %(after)s AND `id` <= %(upto)s
 ORDER BY `id` LIMIT %(chunk)s

-- name: purge.chunk_before
-- used by: db archive_deleted_rows, db purge
-- One chunk of rows older than the cut-off, by the table's timestamp
-- column, in an id range after the previous chunk.
DELETE FROM {table}
 WHERE {column} < %(before)s AND `id` > %(after)s AND `id` <= %(upto)s
 ORDER BY `id` LIMIT %(chunk)s

-- name: purge.unkeyed_all
-- used by: db archive_deleted_rows, db purge
-- A chunk of a table without an `id` key (none of nova's; a table added
-- to a shadow schema by hand), in the server's order.
DELETE FROM {table} LIMIT %(chunk)s

-- name: purge.unkeyed_before
-- used by: db archive_deleted_rows, db purge
-- The same, for rows older than the cut-off.
DELETE FROM {table} WHERE {column} < %(before)s LIMIT %(chunk)s
