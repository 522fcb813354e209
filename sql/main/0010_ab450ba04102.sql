-- revision: ab450ba04102
-- down_revision: 2903cd72dc14
-- Add migrations indexes by source and by destination host.
-- Adds two indexes on migrations for looking up in-progress migrations by
-- source host/node or by destination host/node alone (the existing
-- combined index needs both). Full-length columns, no prefix.

-- migrations: lookups by destination host/node and status
CREATE INDEX `migrations_by_dest_host_nodes_and_status_idx`
  ON `migrations` (`deleted`, `dest_compute`, `dest_node`, `status`);

-- migrations: lookups by source host/node and status
CREATE INDEX `migrations_by_src_host_nodes_and_status_idx`
  ON `migrations` (`deleted`, `source_compute`, `source_node`, `status`);
