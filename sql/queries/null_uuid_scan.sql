-- db null_instance_uuid_scan: rows whose instance uuid is NULL. The
-- {table} and {column} identifiers come from the live schema
-- (information_schema), never from the command line.

-- name: null_uuid_scan.count
-- used by: db null_instance_uuid_scan
-- How many rows of one table have a NULL instance uuid (the report of a
-- scan without --delete).
SELECT COUNT(*) FROM {table} WHERE {column} IS NULL

-- name: null_uuid_scan.delete
-- used by: db null_instance_uuid_scan
-- Deletes them (--delete); run for every table inside one transaction.
DELETE FROM {table} WHERE {column} IS NULL
