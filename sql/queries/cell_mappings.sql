-- Cell mappings of the API database: where each cell's database and
-- message queue are.

-- name: cell_mappings.by_uuid
-- used by: db sync, libvirt list_unset_machine_type,
-- used by: placement heal_allocations
-- One cell by its uuid (db sync uses it to find cell0).
SELECT uuid, name, database_connection
  FROM cell_mappings
 WHERE uuid = %(uuid)s

-- name: cell_mappings.all
-- used by: db archive_deleted_rows, db purge, db status,
-- used by: libvirt list_unset_machine_type, placement audit,
-- used by: limits migrate_to_unified_limits,
-- used by: placement heal_allocations
-- Every cell, in the order nova-manage walks them (cell0 included).
SELECT uuid, name, database_connection FROM cell_mappings ORDER BY id

-- name: cell_mappings.insert
-- used by: cell_v2 create_cell, cell_v2 map_cell0, cell_v2 map_cell_and_hosts,
-- used by: cell_v2 simple_cell_setup
-- Maps a new cell; the unique key on uuid turns a second cell0 into a
-- duplicate-key error, which map_cell0 reports as "already setup".
INSERT INTO cell_mappings
       (created_at, uuid, name, transport_url, database_connection, disabled)
VALUES (UTC_TIMESTAMP(), %(uuid)s, %(name)s, %(transport_url)s,
        %(database_connection)s, %(disabled)s)

-- name: cell_mappings.full_by_uuid
-- used by: cell_v2 delete_cell, cell_v2 delete_host, cell_v2 discover_hosts,
-- used by: cell_v2 list_hosts, cell_v2 map_cell_and_hosts,
-- used by: cell_v2 map_instances, cell_v2 simple_cell_setup,
-- used by: cell_v2 update_cell
-- One cell with every column the cell_v2 commands show or change.
SELECT id, uuid, name, transport_url, database_connection, disabled
  FROM cell_mappings
 WHERE uuid = %(uuid)s

-- name: cell_mappings.full_all
-- used by: cell_v2 create_cell, cell_v2 discover_hosts, cell_v2 list_cells,
-- used by: cell_v2 update_cell
-- Every cell with every column, in id order (nova's order).
SELECT id, uuid, name, transport_url, database_connection, disabled
  FROM cell_mappings
 ORDER BY id

-- name: cell_mappings.update
-- used by: cell_v2 update_cell
-- create_cell and update_cell write only the columns that change; nova's
-- ORM stamps updated_at whenever it writes a row.
UPDATE cell_mappings
   SET name = %(name)s, transport_url = %(transport_url)s,
       database_connection = %(database_connection)s,
       disabled = %(disabled)s, updated_at = UTC_TIMESTAMP()
 WHERE id = %(id)s

-- name: cell_mappings.delete
-- used by: cell_v2 delete_cell
-- delete_cell, once nothing is mapped to the cell any more.
DELETE FROM cell_mappings WHERE id = %(id)s
