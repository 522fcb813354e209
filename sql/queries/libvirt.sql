-- libvirt list_unset_machine_type: the instances of a cell whose stored
-- image properties have no hw_machine_type.

-- name: libvirt.group_concat_room
-- used by: libvirt list_unset_machine_type
-- Room for a whole instance's system metadata in one GROUP_CONCAT value
-- (MySQL's default is 1 KiB, MariaDB's 1 MiB), for this session only:
-- a truncated list would read as a broken one. 1 GiB is the largest
-- packet either server sends, and a value both accept.
SET SESSION group_concat_max_len = 1073741824

-- name: libvirt.unset_candidates
-- used by: libvirt list_unset_machine_type
-- Live instances that are not being built (a NULL vm_state counts, and
-- the comparison is exact as in nova's Python check), in id order, each
-- with its whole system metadata as one JSON list of [key, value] pairs
-- (soft-deleted rows included, as nova reads them; in id order, so that
-- a key stored twice resolves as it does in nova). Streamed: one row per
-- instance instead of one per metadata row is what keeps the client's
-- parsing small, and the instances sharing an image share this text.
SELECT i.uuid, i.image_ref,
       (SELECT GROUP_CONCAT(JSON_ARRAY(sm.`key`, sm.value)
                            ORDER BY sm.id SEPARATOR ',')
          FROM instance_system_metadata sm
         WHERE sm.instance_uuid = i.uuid) AS system_metadata
  FROM instances i
 WHERE i.deleted = 0
   AND NOT (i.vm_state <=> BINARY 'building')
 ORDER BY i.id
