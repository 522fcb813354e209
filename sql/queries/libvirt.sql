-- libvirt list_unset_machine_type: the instances of a cell whose stored
-- image properties have no hw_machine_type.

-- name: libvirt.unset_candidates
-- used by: libvirt list_unset_machine_type
-- Live instances that are not being built (a NULL vm_state counts, and
-- the comparison is exact as in nova's Python check), a batch at a time
-- in id order after the last id seen.
SELECT id, uuid, vm_state, image_ref
  FROM instances
 WHERE deleted = 0
   AND NOT (vm_state <=> BINARY 'building')
   AND id > %(after)s
 ORDER BY id
 LIMIT %(limit)s

-- name: libvirt.system_metadata_of
-- used by: libvirt list_unset_machine_type
-- The system metadata of a batch of instances (soft-deleted rows
-- included, as nova reads them), in id order so that a key stored twice
-- resolves as it does in nova.
SELECT instance_uuid, id, `key`, value
  FROM instance_system_metadata
 WHERE instance_uuid IN %(uuids)s
 ORDER BY id
