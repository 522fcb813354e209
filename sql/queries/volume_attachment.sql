-- volume_attachment show: an instance's block device mapping of one
-- volume, in the cell database the instance is mapped to.

-- name: volume_attachment.bdm
-- used by: volume_attachment show
-- The live (not soft-deleted) mapping of the volume to the instance,
-- every column the BlockDeviceMapping object shows.
SELECT id, uuid, instance_uuid, source_type, destination_type,
       guest_format, device_type, disk_bus, boot_index, device_name,
       delete_on_termination, snapshot_id, volume_id, volume_size,
       image_id, no_device, connection_info, tag, attachment_id,
       volume_type, encrypted, encryption_secret_uuid, encryption_format,
       encryption_options, created_at, updated_at, deleted_at, deleted
  FROM block_device_mapping
 WHERE volume_id = %(volume_id)s
   AND instance_uuid = %(instance_uuid)s
   AND deleted = 0
 ORDER BY id
 LIMIT 1

-- name: volume_attachment.bdm_set_uuid
-- used by: volume_attachment show
-- A mapping stored before uuids existed gets one when nova reads it;
-- only if it still has none (a concurrent reader may have set one).
-- nova's update sets updated_at too.
UPDATE block_device_mapping SET uuid = %(uuid)s, updated_at = UTC_TIMESTAMP()
 WHERE id = %(id)s AND uuid IS NULL

-- name: volume_attachment.bdm_uuid
-- used by: volume_attachment show
-- The uuid a mapping ended up with.
SELECT uuid FROM block_device_mapping WHERE id = %(id)s
