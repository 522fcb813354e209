-- Finding one instance the way nova-manage's instance commands do: its
-- mapping in the API database names the cell, the cell's database holds
-- the instance row and its system metadata.

-- name: instances.mapping
-- used by: image_property set, image_property show, libvirt get_machine_type,
-- used by: libvirt update_machine_type, volume_attachment show
-- The cell an instance is mapped to (API database). A NULL cell means
-- the instance was never scheduled; nova then looks in [database].
-- Like nova's first(), one row at most.
SELECT im.cell_id, cm.uuid, cm.name, cm.database_connection
  FROM instance_mappings im
  LEFT JOIN cell_mappings cm ON cm.id = im.cell_id
 WHERE im.instance_uuid = %(uuid)s
 LIMIT 1

-- name: instances.by_uuid
-- used by: image_property set, image_property show, libvirt get_machine_type,
-- used by: libvirt update_machine_type
-- The live (not soft-deleted) instance row in a cell database.
SELECT id, uuid, vm_state, image_ref
  FROM instances
 WHERE uuid = %(uuid)s AND deleted = 0
 LIMIT 1

-- name: instances.system_metadata
-- used by: image_property set, image_property show, libvirt get_machine_type,
-- used by: libvirt update_machine_type
-- Every system metadata row of an instance, soft-deleted ones included
-- (nova's Instance object reads them all), in id order: for a key
-- stored twice the later row's value wins, and the first row is the one
-- nova updates.
SELECT id, `key`, value
  FROM instance_system_metadata
 WHERE instance_uuid = %(uuid)s
 ORDER BY id

-- name: instances.system_metadata_update
-- used by: image_property set, libvirt update_machine_type
-- A changed value, written as nova's ORM flush writes it (updated_at
-- set, nothing else touched).
UPDATE instance_system_metadata
   SET value = %(value)s, updated_at = %(now)s
 WHERE id = %(id)s

-- name: instances.system_metadata_insert
-- used by: image_property set, libvirt update_machine_type
-- A new key, with the columns nova's model fills on insert.
INSERT INTO instance_system_metadata
       (created_at, updated_at, deleted_at, instance_uuid, `key`, value,
        deleted)
VALUES (%(now)s, NULL, NULL, %(uuid)s, %(key)s, %(value)s, 0)

-- name: instances.system_metadata_delete_duplicate
-- used by: image_property set, libvirt update_machine_type
-- A second row for a key already stored: nova's in-place update drops
-- it (a hard delete) when it saves the instance's system metadata.
DELETE FROM instance_system_metadata WHERE id = %(id)s

-- name: instances.touch
-- used by: image_property set, libvirt update_machine_type
-- Instance.save() with only system metadata changed still issues an
-- UPDATE of the instance row, which sets updated_at.
UPDATE instances SET updated_at = %(now)s WHERE uuid = %(uuid)s AND deleted = 0

-- name: instances.utc_now
-- used by: image_property set, libvirt update_machine_type
-- The time written into updated_at/created_at, from the database clock
-- in UTC like nova's utcnow(), to the second as the columns keep it.
SELECT UTC_TIMESTAMP()

-- name: instances.system_metadata_locked
-- used by: image_property set, libvirt update_machine_type
-- The same rows, locked for the write that follows in one transaction.
SELECT id, `key`, value
  FROM instance_system_metadata
 WHERE instance_uuid = %(uuid)s
 ORDER BY id
   FOR UPDATE
