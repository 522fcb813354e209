-- What loading a compute node does in nova, done by the commands that
-- load nodes so that the end state is nova's.

-- name: compute_nodes.heal_ratios
-- used by: cell_v2 delete_cell, cell_v2 delete_host, cell_v2 discover_hosts,
-- used by: cell_v2 map_cell_and_hosts, cell_v2 simple_cell_setup,
-- used by: db ironic_compute_node_move, db ironic_flavor_migration
-- Allocation ratios that are NULL or 0.0 get the configured value (or
-- nova's initial default), and updated_at is stamped; ids is a list of
-- live node ids.
UPDATE compute_nodes
   SET cpu_allocation_ratio = IF(COALESCE(cpu_allocation_ratio, 0) = 0,
                                 %(cpu)s, cpu_allocation_ratio),
       ram_allocation_ratio = IF(COALESCE(ram_allocation_ratio, 0) = 0,
                                 %(ram)s, ram_allocation_ratio),
       disk_allocation_ratio = IF(COALESCE(disk_allocation_ratio, 0) = 0,
                                  %(disk)s, disk_allocation_ratio),
       updated_at = UTC_TIMESTAMP()
 WHERE id IN %(ids)s AND deleted = 0
   AND (COALESCE(cpu_allocation_ratio, 0) = 0
        OR COALESCE(ram_allocation_ratio, 0) = 0
        OR COALESCE(disk_allocation_ratio, 0) = 0)
