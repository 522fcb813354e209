-- What the placement commands (sync_aggregates, audit) read from the API
-- and cell databases. heal_allocations has its own file,
-- placement_heal.sql.

-- name: placement.aggregates_with_hosts
-- used by: placement sync_aggregates
-- sync_aggregates: every host aggregate with its member hosts. nova-manage
-- walks them in the order its ORM query returns them, which has no ORDER
-- BY: this is the same join (hosts and metadata, both LEFT OUTER), so the
-- server returns the same order; the caller keeps the first appearance
-- of each aggregate and host. Every column is selected, as the ORM does:
-- with a covering index the server would pick another plan (and order).
-- An aggregate without hosts has a NULL host.
SELECT a.id, a.uuid, a.name, h.host,
       a.created_at, a.updated_at,
       h.created_at, h.updated_at, h.id, h.aggregate_id,
       m.created_at, m.updated_at, m.id, m.aggregate_id, m.`key`, m.value
  FROM aggregates a
  LEFT OUTER JOIN aggregate_hosts h ON a.id = h.aggregate_id
  LEFT OUTER JOIN aggregate_metadata m ON a.id = m.aggregate_id

-- name: placement.host_cell
-- used by: placement sync_aggregates
-- sync_aggregates: the cell of one compute host (its host mapping); the
-- server's collation compares the names, as in nova's lookup.
SELECT c.uuid, c.name, c.database_connection
  FROM host_mappings h JOIN cell_mappings c ON c.id = h.cell_id
 WHERE h.host = %(host)s
 LIMIT 1

-- name: placement.compute_nodes_of_host
-- used by: placement sync_aggregates
-- sync_aggregates: the (not deleted) compute nodes of one host in its
-- cell; their uuid is the resource provider's uuid.
SELECT uuid
  FROM compute_nodes
 WHERE host = %(host)s AND deleted = 0
 ORDER BY id

-- name: placement.compute_node_by_uuid
-- used by: placement audit
-- audit: the host and node of a resource provider's compute node, looked
-- up in each cell until found.
SELECT host, hypervisor_hostname
  FROM compute_nodes
 WHERE uuid = %(uuid)s AND deleted = 0
 LIMIT 1

-- name: placement.instances_on_node
-- used by: placement audit
-- audit: the instances (not deleted) on one compute node.
SELECT uuid
  FROM instances
 WHERE host = %(host)s AND node = %(node)s AND deleted = 0

-- name: placement.migrations_in_progress
-- used by: placement audit
-- audit: migrations from or to one compute node that are still in
-- progress, by nova's list of final statuses (a NULL status counts as
-- final, as in nova's NOT IN).
SELECT uuid
  FROM migrations
 WHERE ((source_compute = %(host)s AND source_node = %(node)s)
        OR (dest_compute = %(host)s AND dest_node = %(node)s))
   AND status NOT IN ('confirmed', 'reverted', 'error', 'failed',
                      'completed', 'cancelled', 'done')
   AND deleted = 0
