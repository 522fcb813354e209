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

-- name: placement.instances_on_node
-- used by: placement audit
-- audit: the instances (not deleted) on one compute node, read again
-- right before --delete removes a candidate orphan.
SELECT uuid
  FROM instances
 WHERE host = %(host)s AND node = %(node)s AND deleted = 0

-- name: placement.migrations_in_progress
-- used by: placement audit
-- audit: migrations from or to one compute node that are still in
-- progress (read again right before --delete removes a candidate orphan), by nova's list of final statuses (a NULL status counts as
-- final, as in nova's NOT IN).
SELECT uuid
  FROM migrations
 WHERE ((source_compute = %(host)s AND source_node = %(node)s)
        OR (dest_compute = %(host)s AND dest_node = %(node)s))
   AND status NOT IN ('confirmed', 'reverted', 'error', 'failed',
                      'completed', 'cancelled', 'done')
   AND deleted = 0

-- name: placement.compute_nodes_by_uuids
-- used by: placement audit
-- audit: the host and node of a page of resource providers' compute
-- nodes, in one cell; asked of each cell in turn for the uuids not found
-- yet, instead of once per provider and cell.
SELECT uuid, host, hypervisor_hostname
  FROM compute_nodes
 WHERE uuid IN %(uuids)s AND deleted = 0
 ORDER BY id

-- name: placement.instances_on_nodes
-- used by: placement audit
-- audit: the instances (not deleted) on a page's compute nodes in one
-- cell, in one query instead of one per node; the caller keeps the rows
-- whose (host, node) is one of the page's pairs.
SELECT uuid, host, node
  FROM instances
 WHERE host IN %(hosts)s AND node IN %(nodes)s AND deleted = 0

-- name: placement.migrations_on_nodes
-- used by: placement audit
-- audit: migrations from or to a page's compute nodes in one cell that
-- are still in progress, by nova's list of final statuses (a NULL status
-- counts as final, as in nova's NOT IN); one query instead of one per
-- node, the caller matching each end's (host, node) to the page's nodes.
SELECT uuid, source_compute, source_node, dest_compute, dest_node
  FROM migrations
 WHERE ((source_compute IN %(hosts)s AND source_node IN %(nodes)s)
        OR (dest_compute IN %(hosts)s AND dest_node IN %(nodes)s))
   AND status NOT IN ('confirmed', 'reverted', 'error', 'failed',
                      'completed', 'cancelled', 'done')
   AND deleted = 0
