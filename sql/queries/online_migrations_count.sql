-- db online_data_migrations at a terminal: before the first batch, one
-- COUNT per migration of the rows its batches will match (the "Total
-- Needed" column of a run that finishes), for the progress line's
-- percentage and time left. Only read, never locking: a row that
-- changes meanwhile only makes the estimate a little off. Not run when
-- stderr is not a terminal.

-- name: online_migrations_count.quota_limits
-- used by: db online_data_migrations
-- migrate_quota_limits_to_api_db: per-project and per-user limits still
-- in the cell database.
SELECT (SELECT COUNT(*) FROM quotas WHERE deleted = 0)
       + (SELECT COUNT(*) FROM project_user_quotas WHERE deleted = 0)

-- name: online_migrations_count.quota_classes
-- used by: db online_data_migrations
-- migrate_quota_classes_to_api_db: quota classes still in the cell
-- database.
SELECT COUNT(*)
  FROM quota_classes
 WHERE deleted = 0

-- name: online_migrations_count.migrations_without_uuid
-- used by: db online_data_migrations
-- migration_migrate_to_uuid: live migration records without a uuid.
SELECT COUNT(*)
  FROM migrations
 WHERE deleted = 0
   AND uuid IS NULL

-- name: online_migrations_count.bdms_without_uuid
-- used by: db online_data_migrations
-- BlockDeviceMapping.populate_uuids: block device mappings without a
-- uuid, deleted ones included.
SELECT COUNT(*)
  FROM block_device_mapping
 WHERE uuid IS NULL

-- name: online_migrations_count.instances_without_az
-- used by: db online_data_migrations
-- populate_missing_availability_zones: instances on a host with no
-- availability zone recorded.
SELECT COUNT(*)
  FROM instances
 WHERE host IS NOT NULL
   AND availability_zone IS NULL

-- name: online_migrations_count.mappings_without_qfd
-- used by: db online_data_migrations
-- populate_queued_for_delete (API database): instance mappings in a cell
-- without a queued_for_delete value.
SELECT COUNT(*)
  FROM instance_mappings
 WHERE queued_for_delete IS NULL
   AND cell_id IS NOT NULL

-- name: online_migrations_count.nodes_with_empty_ratio
-- used by: db online_data_migrations
-- migrate_empty_ratio: live compute nodes with an allocation ratio of
-- 0.0 or NULL.
SELECT COUNT(*)
  FROM compute_nodes
 WHERE (ram_allocation_ratio = 0.0 OR cpu_allocation_ratio = 0.0
        OR disk_allocation_ratio = 0.0 OR ram_allocation_ratio IS NULL
        OR cpu_allocation_ratio IS NULL OR disk_allocation_ratio IS NULL)
   AND deleted = 0

-- name: online_migrations_count.instances_to_compare
-- used by: db online_data_migrations
-- fill_virtual_interface_list (each cell): the live instances after the
-- cell's scan marker (from the start without one) that have cached
-- network info, the ones the scan compares with their interfaces.
SELECT COUNT(*)
  FROM instances i
 WHERE i.deleted = 0
   AND (i.vm_state <> 'soft-delete' OR i.vm_state IS NULL)
   AND (i.hidden = 0 OR i.hidden IS NULL)
   AND i.uuid <> %(fake)s
   AND (%(m_id)s IS NULL
        OR (%(m_created)s IS NULL AND i.id > %(m_id)s)
        OR (%(m_created)s IS NOT NULL
            AND (i.created_at > %(m_created)s
                 OR (i.created_at = %(m_created)s AND i.id > %(m_id)s))))
   AND EXISTS (SELECT 1
                 FROM instance_info_caches c
                WHERE c.instance_uuid = i.uuid
                  AND c.deleted = 0
                  AND c.network_info IS NOT NULL
                  AND c.network_info <> '[]')

-- name: online_migrations_count.mappings_without_user
-- used by: db online_data_migrations
-- populate_user_id (API database): instance mappings without a user_id,
-- except the fake instance's.
SELECT COUNT(*)
  FROM instance_mappings
 WHERE user_id IS NULL
   AND project_id <> %(fake)s

-- name: online_migrations_count.pci_devices_without_uuid
-- used by: db online_data_migrations
-- PciDevice.populate_dev_uuids: PCI devices without a uuid, deleted ones
-- included.
SELECT COUNT(*)
  FROM pci_devices
 WHERE uuid IS NULL

-- name: online_migrations_count.instances_without_compute_id
-- used by: db online_data_migrations
-- populate_instance_compute_id: instances (deleted ones included) not
-- yet pointing at their compute node by id.
SELECT COUNT(*)
  FROM instances
 WHERE compute_id IS NULL
