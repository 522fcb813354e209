-- Bookkeeping of schema revisions, kept in alembic's own table so that
-- nova-manage and nmtool can each continue the other's migrations.

-- name: schema_version.table_exists
-- used by: api_db sync, api_db version, cell_v2 simple_cell_setup, db sync,
-- used by: db version
-- Whether the database has been versioned at all (alembic creates
-- alembic_version on its first upgrade).
SELECT COUNT(*) FROM information_schema.tables
 WHERE table_schema = DATABASE() AND table_name = 'alembic_version'

-- name: schema_version.current
-- used by: api_db sync, api_db version, cell_v2 simple_cell_setup, db sync,
-- used by: db version
-- The revision the database is at; alembic keeps exactly one row.
SELECT version_num FROM alembic_version

-- name: schema_version.create
-- used by: api_db sync, cell_v2 simple_cell_setup, db sync
-- Created exactly as alembic creates it: no engine or charset of its own.
CREATE TABLE IF NOT EXISTS alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
)

-- name: schema_version.insert
-- used by: api_db sync, cell_v2 simple_cell_setup, db sync
-- Stamps the first revision applied to an empty database.
INSERT INTO alembic_version (version_num) VALUES (%(revision)s)

-- name: schema_version.update
-- used by: api_db sync, cell_v2 simple_cell_setup, db sync
-- Moves the stamp from one revision to the next, as alembic does after
-- each migration.
UPDATE alembic_version SET version_num = %(revision)s
 WHERE version_num = %(previous)s

-- name: schema_version.user_tables
-- used by: api_db sync, cell_v2 simple_cell_setup, db sync
-- Tables other than alembic_version: a database with tables but no
-- revision was not created by nova's or nmtool's migrations.
SELECT COUNT(*) FROM information_schema.tables
 WHERE table_schema = DATABASE() AND table_name <> 'alembic_version'
