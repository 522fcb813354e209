-- revision: 1b91788ec3a6
-- down_revision: 960aac0e09ea
-- Drop the sqlalchemy-migrate version table if it exists.
-- Drops the bookkeeping table of sqlalchemy-migrate, which managed the cell
-- databases before alembic. Only databases that were created by
-- sqlalchemy-migrate have it; elsewhere this is a no-op.

-- migrate_version: legacy sqlalchemy-migrate version table, if present
DROP TABLE IF EXISTS `migrate_version`;
