-- revision: cdeec0c85668
-- down_revision: b30f573d3377
-- Drop the sqlalchemy-migrate version table if it exists.
-- Drops the bookkeeping table of sqlalchemy-migrate, which managed the API
-- database before alembic. Only databases that were created by
-- sqlalchemy-migrate have it; elsewhere this is a no-op.

-- migrate_version: legacy sqlalchemy-migrate version table, if present
DROP TABLE IF EXISTS `migrate_version`;
