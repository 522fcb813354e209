-- Instance mappings of the API database: which cell each instance is in,
-- and the marker row map_instances leaves between runs.

-- name: instance_mappings.for_instance
-- used by: cell_v2 verify_instance
-- verify_instance: an instance's mapping and its cell (NULL when the
-- instance is not scheduled to a cell yet).
SELECT m.cell_id, c.uuid, c.name, c.database_connection
  FROM instance_mappings m LEFT JOIN cell_mappings c ON c.id = m.cell_id
 WHERE m.instance_uuid = %(uuid)s
 LIMIT 1

-- name: instance_mappings.count_by_cell
-- used by: cell_v2 delete_cell, cell_v2 map_instances
-- delete_cell: whether any instance is mapped to the cell.
SELECT COUNT(*) FROM instance_mappings WHERE cell_id = %(cell_id)s

-- name: instance_mappings.delete_by_cell
-- used by: cell_v2 delete_cell
-- delete_cell --force: mappings of the cell's (all deleted) instances.
DELETE FROM instance_mappings WHERE cell_id = %(cell_id)s

-- name: instance_mappings.markers
-- used by: cell_v2 map_instances, cell_v2 simple_cell_setup
-- map_instances: the marker rows of earlier runs. nova stores the last
-- mapped instance's uuid with its dashes turned into spaces, under this
-- special project id; nova uses the first one it finds.
SELECT id, instance_uuid
  FROM instance_mappings
 WHERE project_id = 'INSTANCE_MIGRATION_MARKER'
 ORDER BY id

-- name: instance_mappings.delete_marker
-- used by: cell_v2 map_instances, cell_v2 simple_cell_setup
-- map_instances: a consumed marker row.
DELETE FROM instance_mappings WHERE id = %(id)s

-- name: instance_mappings.insert_marker
-- used by: cell_v2 map_instances, cell_v2 simple_cell_setup
-- map_instances: where the next run starts (uuid with spaces for dashes,
-- so it cannot collide with the real mapping of that instance).
INSERT INTO instance_mappings
       (created_at, instance_uuid, cell_id, project_id, user_id,
        queued_for_delete)
VALUES (UTC_TIMESTAMP(), %(marker)s, NULL, 'INSTANCE_MIGRATION_MARKER',
        'INSTANCE_MIGRATION_MARKER', 0)

-- name: instance_mappings.mapped_among
-- used by: cell_v2 map_instances, cell_v2 simple_cell_setup
-- map_instances: which of a batch of instance uuids are mapped already.
SELECT instance_uuid FROM instance_mappings WHERE instance_uuid IN %(uuids)s

-- name: instance_mappings.insert
-- used by: cell_v2 map_instances, cell_v2 simple_cell_setup
-- map_instances: new mappings, many rows in one statement (pymysql joins
-- the rows into one multi-row INSERT only when VALUES holds nothing but
-- placeholders, so created_at and queued_for_delete come as values). An
-- instance mapped meanwhile by someone else is skipped, as nova skips it.
-- The one statement bound by position: its rows come from the kernel
-- (mapping_rows) as tuples, a million of them on a big cell.
INSERT INTO instance_mappings
       (created_at, instance_uuid, cell_id, project_id, user_id,
        queued_for_delete)
VALUES (%s, %s, %s, %s, %s, %s)
    ON DUPLICATE KEY UPDATE instance_uuid = instance_uuid
