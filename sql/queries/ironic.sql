-- Ironic compute nodes in a cell database: the Pike-era flavor migration
-- (db ironic_flavor_migration, from nova 22 and older) and moving a node
-- to another nova-compute service (db ironic_compute_node_move).

-- name: ironic.nodes_of_type
-- used by: db ironic_flavor_migration
-- --all: every compute node of the ironic hypervisor type. Deleted ones
-- too: nova's query for this had no deleted filter.
SELECT id, hypervisor_hostname, hypervisor_type, deleted
  FROM compute_nodes
 WHERE hypervisor_type = %(hypervisor_type)s
 ORDER BY id

-- name: ironic.nodes_on_host
-- used by: db ironic_flavor_migration
-- --host: the live compute nodes of one service host, of any type (the
-- caller checks the first one's type, as nova did).
SELECT id, hypervisor_hostname, hypervisor_type, deleted
  FROM compute_nodes
 WHERE host = %(host)s AND deleted = 0
 ORDER BY id

-- name: ironic.node_on_host
-- used by: db ironic_flavor_migration
-- --host with --node: the live compute node with that hypervisor
-- hostname (the ironic node uuid) on that host.
SELECT id, hypervisor_hostname, hypervisor_type, deleted
  FROM compute_nodes
 WHERE host = %(host)s AND hypervisor_hostname = %(node)s AND deleted = 0
 ORDER BY id
 LIMIT 1

-- name: ironic.instances_on_nodes
-- used by: db ironic_flavor_migration
-- The live instances on each of a chunk of compute nodes (ids is a tuple
-- of node ids), matched on instances.node as nova's instance filter
-- did: not deleted, not soft-deleted, not hidden.
SELECT cn.id, i.uuid
  FROM compute_nodes cn
  JOIN instances i ON i.node = cn.hypervisor_hostname
 WHERE cn.id IN %(ids)s
   AND i.deleted = 0
   AND (i.vm_state <> 'soft-delete' OR i.vm_state IS NULL)
   AND (i.hidden = 0 OR i.hidden IS NULL)
 ORDER BY cn.id, i.id

-- name: ironic.flavors_for_update
-- used by: db ironic_flavor_migration
-- The embedded flavors of a batch of instances (uuids is a tuple of
-- bound uuids), locked until the batch commits.
SELECT instance_uuid, flavor
  FROM instance_extra
 WHERE instance_uuid IN %(uuids)s AND deleted = 0
 ORDER BY id
 FOR UPDATE

-- name: ironic.update_flavor
-- used by: db ironic_flavor_migration
-- Writes one migrated embedded flavor; updated_at moves as nova's save
-- moved it.
UPDATE instance_extra
   SET flavor = %(flavor)s, updated_at = UTC_TIMESTAMP()
 WHERE instance_uuid = %(uuid)s AND deleted = 0

-- name: ironic.compute_service
-- used by: db ironic_compute_node_move
-- The live nova-compute service of a host (the first, by id).
SELECT id, host, forced_down
  FROM services
 WHERE host = %(host)s AND `binary` = 'nova-compute' AND deleted = 0
 ORDER BY id
 LIMIT 1

-- name: ironic.service_by_id
-- used by: db ironic_compute_node_move
-- The live service a compute node belongs to.
SELECT id, host, forced_down
  FROM services
 WHERE id = %(id)s AND deleted = 0

-- name: ironic.node_by_uuid
-- used by: db ironic_compute_node_move
-- The live compute node of an ironic node uuid.
SELECT id, uuid, host, hypervisor_hostname, service_id
  FROM compute_nodes
 WHERE uuid = %(uuid)s AND deleted = 0
 ORDER BY id
 LIMIT 1

-- name: ironic.lock_node
-- used by: db ironic_compute_node_move
-- Re-reads the compute node inside the move's transaction and locks it,
-- so a concurrent change is either seen or waited for.
SELECT id, uuid, host, hypervisor_hostname, service_id
  FROM compute_nodes
 WHERE id = %(id)s AND deleted = 0
 FOR UPDATE

-- name: ironic.instances_on_node
-- used by: db ironic_compute_node_move
-- The live instances of a compute node, by its host and hypervisor
-- hostname (NULL matches NULL, as nova's query did), locked for the move.
SELECT uuid
  FROM instances
 WHERE host <=> %(host)s AND node <=> %(node)s AND deleted = 0
 ORDER BY id
 FOR UPDATE

-- name: ironic.move_node
-- used by: db ironic_compute_node_move
-- Hands the compute node to the destination service.
UPDATE compute_nodes
   SET service_id = %(service_id)s, host = %(host)s,
       updated_at = UTC_TIMESTAMP()
 WHERE id = %(id)s

-- name: ironic.move_instance
-- used by: db ironic_compute_node_move
-- Moves one instance of the node to the destination host (like an
-- evacuation without a rebuild).
UPDATE instances
   SET host = %(host)s, updated_at = UTC_TIMESTAMP()
 WHERE uuid = %(uuid)s AND deleted = 0
