-- The cell database side of the cell_v2 commands: compute nodes, services
-- and instances of one cell.

-- name: cell_hosts.unmapped_nodes
-- used by: cell_v2 discover_hosts
-- discover_hosts: live compute nodes not yet marked mapped, in id order,
-- a page at a time (keyset on id).
SELECT id, host, uuid
  FROM compute_nodes
 WHERE deleted = 0 AND mapped < 1 AND id > %(after)s
 ORDER BY id
 LIMIT %(limit)s

-- name: cell_hosts.compute_services
-- used by: cell_v2 discover_hosts
-- discover_hosts --by-service: live nova-compute services (disabled ones
-- too), a page at a time.
SELECT id, host
  FROM services
 WHERE deleted = 0 AND `binary` = 'nova-compute' AND id > %(after)s
 ORDER BY id
 LIMIT %(limit)s

-- name: cell_hosts.mark_mapped
-- used by: cell_v2 discover_hosts
-- discover_hosts: the nodes whose host mapping was just created.
UPDATE compute_nodes
   SET mapped = 1, updated_at = UTC_TIMESTAMP()
 WHERE id IN %(ids)s

-- name: cell_hosts.live_nodes
-- used by: cell_v2 delete_cell, cell_v2 map_cell_and_hosts,
-- used by: cell_v2 simple_cell_setup
-- map_cell_and_hosts: every live compute node of the local cell.
SELECT id, host, uuid FROM compute_nodes WHERE deleted = 0 ORDER BY id

-- name: cell_hosts.unmap_all_nodes
-- used by: cell_v2 delete_cell
-- delete_cell --force: live nodes become discoverable again (nova writes
-- every one, stamping updated_at).
UPDATE compute_nodes
   SET mapped = 0, updated_at = UTC_TIMESTAMP()
 WHERE deleted = 0

-- name: cell_hosts.unmap_host_nodes
-- used by: cell_v2 delete_host
-- delete_host: the host's live nodes become discoverable again.
UPDATE compute_nodes
   SET mapped = 0, updated_at = UTC_TIMESTAMP()
 WHERE deleted = 0 AND host = %(host)s

-- name: cell_hosts.live_instance_exists
-- used by: cell_v2 delete_cell
-- delete_cell: whether the cell still has a live instance.
SELECT 1 FROM instances WHERE deleted = 0 LIMIT 1

-- name: cell_hosts.live_instance_on_host
-- used by: cell_v2 delete_host
-- delete_host: whether a live instance is on the host.
SELECT 1 FROM instances WHERE deleted = 0 AND host = %(host)s LIMIT 1

-- name: cell_hosts.instance_state
-- used by: cell_v2 verify_instance
-- verify_instance: the instance's deleted flag (no row: archived).
SELECT deleted FROM instances WHERE uuid = %(uuid)s ORDER BY deleted LIMIT 1

-- name: cell_hosts.marker_position
-- used by: cell_v2 map_instances, cell_v2 simple_cell_setup
-- map_instances: where the previous run stopped (deleted instances
-- count, as nova reads them with read_deleted=yes).
SELECT created_at, id FROM instances WHERE uuid = %(uuid)s LIMIT 1

-- name: cell_hosts.instances_from_start
-- used by: cell_v2 map_instances, cell_v2 simple_cell_setup
-- map_instances: instances oldest first, as nova pages them
-- (created_at, then id), deleted ones included, hidden ones left out (the
-- copy a cross-cell resize keeps in the other cell: nova's instance
-- listing skips it unless asked, and NULL counts as not hidden).
SELECT uuid, project_id, user_id
  FROM instances
 WHERE hidden = 0 OR hidden IS NULL
 ORDER BY created_at, id
 LIMIT %(limit)s

-- name: cell_hosts.instances_after
-- used by: cell_v2 map_instances, cell_v2 simple_cell_setup
-- map_instances: the same order and instances, after the marker.
SELECT uuid, project_id, user_id
  FROM instances
 WHERE (hidden = 0 OR hidden IS NULL)
   AND (created_at > %(created_at)s
        OR (created_at = %(created_at)s AND id > %(id)s))
 ORDER BY created_at, id
 LIMIT %(limit)s

-- name: cell_hosts.instances_after_id
-- used by: cell_v2 map_instances, cell_v2 simple_cell_setup
-- map_instances: after a marker instance whose created_at is NULL, nova
-- pages on id alone.
SELECT uuid, project_id, user_id
  FROM instances
 WHERE (hidden = 0 OR hidden IS NULL) AND id > %(id)s
 ORDER BY created_at, id
 LIMIT %(limit)s

-- name: cell_hosts.host_node_ids
-- used by: cell_v2 delete_host
-- delete_host: the live compute nodes of one host.
SELECT id FROM compute_nodes WHERE deleted = 0 AND host = %(host)s

-- name: cell_hosts.count_instances
-- used by: cell_v2 map_instances
-- map_instances at a terminal: the instances to walk, for the time left.
SELECT COUNT(*) FROM instances WHERE hidden = 0 OR hidden IS NULL
