-- What placement heal_allocations reads and writes in the API and cell
-- databases.

-- name: placement_heal.instance_cell
-- used by: placement heal_allocations
-- --instance: the cell of one instance (its instance mapping); a mapping
-- without a cell comes back with NULLs.
SELECT c.uuid, c.name, c.database_connection
  FROM instance_mappings m
  LEFT JOIN cell_mappings c ON c.id = m.cell_id
 WHERE m.instance_uuid = %(uuid)s

-- name: placement_heal.first_page
-- used by: placement heal_allocations
-- The first page of candidate instances of a cell, oldest first, as
-- nova's InstanceList.get_by_filters({'deleted': False}) sorts and
-- filters them: not deleted, not soft-deleted, not hidden; created_at
-- then id. With the flavor (instance_extra) in the same read.
SELECT i.id, i.uuid, i.created_at, i.host, i.node, i.project_id,
       i.user_id, i.task_state, i.image_ref, e.flavor
  FROM instances i
  LEFT JOIN instance_extra e ON e.instance_uuid = i.uuid
 WHERE i.deleted = 0
   AND (i.vm_state <> 'soft-delete' OR i.vm_state IS NULL)
   AND (i.hidden = 0 OR i.hidden IS NULL)
 ORDER BY i.created_at, i.id
 LIMIT %(limit)s

-- name: placement_heal.count_candidates
-- used by: placement heal_allocations
-- At a terminal: how many candidate instances a cell has (the filters of
-- first_page, without the join), counted once at the start as the total
-- of the progress line.
SELECT COUNT(*)
  FROM instances i
 WHERE i.deleted = 0
   AND (i.vm_state <> 'soft-delete' OR i.vm_state IS NULL)
   AND (i.hidden = 0 OR i.hidden IS NULL)

-- name: placement_heal.next_page
-- used by: placement heal_allocations
-- The page after a marker instance (created_at, id), same order.
SELECT i.id, i.uuid, i.created_at, i.host, i.node, i.project_id,
       i.user_id, i.task_state, i.image_ref, e.flavor
  FROM instances i
  LEFT JOIN instance_extra e ON e.instance_uuid = i.uuid
 WHERE i.deleted = 0
   AND (i.vm_state <> 'soft-delete' OR i.vm_state IS NULL)
   AND (i.hidden = 0 OR i.hidden IS NULL)
   AND (i.created_at > %(created_at)s
        OR (i.created_at = %(created_at)s AND i.id > %(id)s))
 ORDER BY i.created_at, i.id
 LIMIT %(limit)s

-- name: placement_heal.next_page_after_null
-- used by: placement heal_allocations
-- The page after a marker whose created_at is NULL (NULLs sort first).
SELECT i.id, i.uuid, i.created_at, i.host, i.node, i.project_id,
       i.user_id, i.task_state, i.image_ref, e.flavor
  FROM instances i
  LEFT JOIN instance_extra e ON e.instance_uuid = i.uuid
 WHERE i.deleted = 0
   AND (i.vm_state <> 'soft-delete' OR i.vm_state IS NULL)
   AND (i.hidden = 0 OR i.hidden IS NULL)
   AND (i.created_at IS NOT NULL
        OR (i.created_at IS NULL AND i.id > %(id)s))
 ORDER BY i.created_at, i.id
 LIMIT %(limit)s

-- name: placement_heal.one_instance
-- used by: placement heal_allocations
-- --instance: the same filters for one uuid.
SELECT i.id, i.uuid, i.created_at, i.host, i.node, i.project_id,
       i.user_id, i.task_state, i.image_ref, e.flavor
  FROM instances i
  LEFT JOIN instance_extra e ON e.instance_uuid = i.uuid
 WHERE i.deleted = 0
   AND (i.vm_state <> 'soft-delete' OR i.vm_state IS NULL)
   AND (i.hidden = 0 OR i.hidden IS NULL)
   AND i.uuid = %(uuid)s

-- name: placement_heal.marker_position
-- used by: placement heal_allocations
-- Where a stored resume marker instance sorts (deleted or not, as nova
-- reads a marker).
SELECT id, created_at FROM instances WHERE uuid = %(uuid)s

-- name: placement_heal.root_bdms
-- used by: placement heal_allocations
-- Boot from volume: the root block device mappings (boot_index 0, not
-- deleted) of a page of instances; the first one per instance counts.
SELECT instance_uuid, destination_type
  FROM block_device_mapping
 WHERE instance_uuid IN %(uuids)s AND deleted = 0 AND boot_index = 0
 ORDER BY id

-- name: placement_heal.compute_node
-- used by: placement heal_allocations
-- The compute node (resource provider uuid) of an instance's host and
-- node; the first one when there are several.
SELECT uuid
  FROM compute_nodes
 WHERE host = %(host)s AND hypervisor_hostname = %(node)s AND deleted = 0
 ORDER BY id
 LIMIT 1

-- name: placement_heal.get_marker
-- used by: placement heal_allocations
-- The resume marker of earlier --max-count runs of this scope: a row of
-- instance_mappings that maps nothing (no cell), as map_instances keeps
-- its own. project_id names the scope, user_id the cell, instance_uuid
-- the last instance looked at (its dashes replaced so it can never be
-- taken for a real mapping).
SELECT instance_uuid, user_id
  FROM instance_mappings
 WHERE project_id = %(scope)s AND cell_id IS NULL

-- name: placement_heal.delete_marker
-- used by: placement heal_allocations
-- Drops the resume marker of a scope (the cycle is complete, or a new
-- marker replaces it).
DELETE FROM instance_mappings
 WHERE project_id = %(scope)s AND cell_id IS NULL

-- name: placement_heal.insert_marker
-- used by: placement heal_allocations
-- Records where a --max-count run stopped.
INSERT INTO instance_mappings
       (created_at, instance_uuid, cell_id, project_id, user_id,
        queued_for_delete)
VALUES (UTC_TIMESTAMP(), %(marker)s, NULL, %(scope)s, %(cell)s, 0)
