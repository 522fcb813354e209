-- The API database rows of archived instances, deleted (not archived) as
-- nova-manage does, in nova-manage's order.

-- name: archive_api.delete_instance_mappings
-- used by: db archive_deleted_rows
-- Cell mappings of the archived instances.
DELETE FROM instance_mappings WHERE instance_uuid IN %(uuids)s

-- name: archive_api.delete_request_specs
-- used by: db archive_deleted_rows
-- Scheduling requests of the archived instances.
DELETE FROM request_specs WHERE instance_uuid IN %(uuids)s

-- name: archive_api.delete_instance_group_members
-- used by: db archive_deleted_rows
-- Server-group memberships of the archived instances.
DELETE FROM instance_group_member WHERE instance_uuid IN %(uuids)s
