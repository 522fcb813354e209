-- The live schema of the connected database, read from information_schema.
-- Archive and purge take every table and column name from these, never
-- from user input, so a schema that drifted a little still works.

-- name: live_schema.columns
-- used by: db archive_deleted_rows, db null_instance_uuid_scan, db purge,
-- used by: db status
-- Every column of every base table, in table order.
SELECT table_name, column_name
  FROM information_schema.columns
 WHERE table_schema = DATABASE()
 ORDER BY table_name, ordinal_position

-- name: live_schema.tables
-- used by: db archive_deleted_rows, db null_instance_uuid_scan, db purge,
-- used by: db status
-- Base tables only (views are never archived).
SELECT table_name
  FROM information_schema.tables
 WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'
 ORDER BY table_name

-- name: live_schema.foreign_keys
-- used by: db archive_deleted_rows, db null_instance_uuid_scan, db purge,
-- used by: db status
-- Foreign keys, a row per column: child column -> parent column, and what
-- deleting a parent row does to its children (RESTRICT, CASCADE, ...).
SELECT k.table_name, k.column_name, k.referenced_table_name,
       k.referenced_column_name, k.constraint_name, r.delete_rule
  FROM information_schema.key_column_usage k
  LEFT JOIN information_schema.referential_constraints r
    ON r.constraint_schema = k.table_schema
   AND r.table_name = k.table_name
   AND r.constraint_name = k.constraint_name
 WHERE k.table_schema = DATABASE()
   AND k.referenced_table_name IS NOT NULL
 ORDER BY k.table_name, k.constraint_name, k.ordinal_position

-- name: live_schema.primary_keys
-- used by: db archive_deleted_rows, db null_instance_uuid_scan, db purge,
-- used by: db status
-- Primary-key columns, to find the id column archive batches by.
SELECT table_name, column_name
  FROM information_schema.key_column_usage
 WHERE table_schema = DATABASE() AND constraint_name = 'PRIMARY'
 ORDER BY table_name, ordinal_position
