-- limits migrate_to_unified_limits: the legacy quota limits to copy to
-- Keystone, and the flavors whose resource classes need registered limits.

-- name: limits.quota_class
-- used by: limits migrate_to_unified_limits
-- The limits of one quota class in the API database (the 'default'
-- class holds the deployment-wide defaults that override [quota]).
SELECT resource, hard_limit
  FROM quota_classes
 WHERE class_name = %(class_name)s

-- name: limits.project_quotas_main
-- used by: limits migrate_to_unified_limits
-- A project's limits left in the main database by releases that kept
-- quotas there; the API database's rows take precedence over them.
SELECT resource, hard_limit
  FROM quotas
 WHERE project_id = %(project_id)s
   AND deleted = 0

-- name: limits.project_quotas_api
-- used by: limits migrate_to_unified_limits
-- A project's own limits in the API database.
SELECT resource, hard_limit
  FROM quotas
 WHERE project_id = %(project_id)s

-- name: limits.flavors_with_specs
-- used by: limits migrate_to_unified_limits
-- Every flavor with its extra specs, one row per spec (NULL key for a
-- flavor without any), in flavorid order as nova pages through them.
SELECT f.flavorid, f.name, f.vcpus, f.memory_mb, f.root_gb,
       f.ephemeral_gb, f.swap, s.`key`, s.value
  FROM flavors f
  LEFT JOIN flavor_extra_specs s ON s.flavor_id = f.id
 ORDER BY f.flavorid, f.id, s.id

-- name: limits.embedded_flavors
-- used by: limits migrate_to_unified_limits
-- The flavor stored with each live instance of a cell (of one project
-- when project_id is not NULL), newest first as nova lists instances.
SELECT i.created_at, i.id, e.flavor
  FROM instances i
  JOIN instance_extra e ON e.instance_uuid = i.uuid
 WHERE i.deleted = 0
   AND (%(project_id)s IS NULL OR i.project_id = %(project_id)s)
 ORDER BY i.created_at DESC, i.id DESC
