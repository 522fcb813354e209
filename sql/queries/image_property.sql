-- image_property set: the request spec (API database) that carries a
-- copy of the instance's image properties, and the server group nova
-- reloads into it when it saves the spec.

-- name: image_property.request_spec
-- used by: image_property set
-- The stored request spec of an instance.
SELECT id, instance_uuid, spec
  FROM request_specs
 WHERE instance_uuid = %(uuid)s
 LIMIT 1

-- name: image_property.request_spec_update
-- used by: image_property set
-- The rewritten spec, with updated_at set as nova's ORM save sets it.
UPDATE request_specs
   SET spec = %(spec)s, updated_at = UTC_TIMESTAMP()
 WHERE id = %(id)s

-- name: image_property.instance_group
-- used by: image_property set
-- A server group by uuid, as nova reloads it into a request spec.
SELECT id, user_id, project_id, uuid, name, created_at, updated_at
  FROM instance_groups
 WHERE uuid = %(uuid)s
 LIMIT 1

-- name: image_property.instance_group_policy
-- used by: image_property set
-- The group's policy and its rules (JSON); nova uses the first.
SELECT policy, rules
  FROM instance_group_policy
 WHERE group_id = %(group_id)s
 ORDER BY id
 LIMIT 1
