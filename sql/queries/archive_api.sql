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

-- name: archive_api.deleted_mappings
-- used by: db archive_deleted_rows
-- The sweep at the start of a run over a cell: mappings of deleted
-- instances (queued for delete, or never marked), of that cell when
-- %(cell_uuid)s names it, a chunk at a time in id order. Those whose
-- instance is archived lost their batch's API commit (the run died
-- between the cell's commit and the API's): their three kinds of rows
-- go as a batch's would (the statements above).
SELECT m.id, m.instance_uuid
  FROM instance_mappings m
 WHERE m.id > %(after)s
   AND (m.queued_for_delete IS NULL OR m.queued_for_delete <> 0)
   AND (%(cell_uuid)s IS NULL OR m.cell_id =
        (SELECT c.id FROM cell_mappings c WHERE c.uuid = %(cell_uuid)s))
 ORDER BY m.id
 LIMIT %(limit)s
