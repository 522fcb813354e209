-- Purging shadow tables in chunks: each chunk is its own short
-- transaction, so a purge of a huge table neither builds one giant
-- transaction (Galera's write-set limits) nor loses work when killed.
-- {table} and {column} come from the live schema.

-- Tables with an `id` go by key: each chunk's last id is read first, and
-- the chunk is deleted as an id range after the previous one. A plain
-- "DELETE ... ORDER BY id LIMIT n" starts from the table's first key
-- every time and walks over the rows the chunks before it delete-marked
-- (InnoDB's purge removes them later), which made 540,612 rows take
-- 5x the time of one unbounded DELETE; by key, the chunks cost about
-- what that one statement costs (benchmarks/README.md, db purge).

-- name: purge.chunk_end_all
-- used by: db archive_deleted_rows, db purge
-- The id of the last row of the next chunk (--all): none when fewer
-- than a chunk are left after the previous chunk.
SELECT `id` FROM {table}
 WHERE `id` > %(after)s
 ORDER BY `id` LIMIT 1 OFFSET %(skip)s

-- name: purge.chunk_end_before
-- used by: db archive_deleted_rows, db purge
-- The id of the last row of the next chunk of rows older than the
-- cut-off, by the table's timestamp column.
SELECT `id` FROM {table}
 WHERE {column} < %(before)s AND `id` > %(after)s
 ORDER BY `id` LIMIT 1 OFFSET %(skip)s

-- name: purge.chunk_all
-- used by: db archive_deleted_rows, db purge
-- One chunk (--all): the rows after the previous chunk, up to the id
-- read for this one (the last chunk: up to the largest id there is).
DELETE FROM {table} WHERE `id` > %(after)s AND `id` <= %(last)s

-- name: purge.chunk_before
-- used by: db archive_deleted_rows, db purge
-- One chunk of rows older than the cut-off, by the table's timestamp
-- column, between the previous chunk and the id read for this one.
DELETE FROM {table}
 WHERE {column} < %(before)s AND `id` > %(after)s AND `id` <= %(last)s

-- name: purge.unkeyed_all
-- used by: db archive_deleted_rows, db purge
-- A chunk of a table without an `id` key (none of nova's; a table added
-- to a shadow schema by hand), in the server's order.
DELETE FROM {table} LIMIT %(chunk)s

-- name: purge.unkeyed_before
-- used by: db archive_deleted_rows, db purge
-- The same, for rows older than the cut-off.
DELETE FROM {table} WHERE {column} < %(before)s LIMIT %(chunk)s
