-- db online_data_migrations: the eleven online data migrations of nova
-- 34.0.0, in its order. Each batch selects at most %(limit)s candidate
-- rows (locking them where the batch then writes them; in the order
-- MariaDB returns nova's unordered queries: the index order where one
-- serves the WHERE clause, else primary-key order), and changes them in
-- one transaction; every step is idempotent, so a run killed at any
-- point is continued by the next one.
-- Timestamps are UTC, as nova writes them. A soft delete sets
-- deleted = id and deleted_at and leaves updated_at alone (oslo.db's
-- soft_delete); an ORM update also sets updated_at.
-- nova writes a batch's rows one at a time. The migrations of uuids
-- (3, 4, 10), zones (5), ratios (7), user ids (9) and compute ids (11)
-- write them here with one UPDATE per batch, so a batch costs the same
-- few statements whatever its size: the same value for every row
-- (WHERE id IN %(ids)s), or each row's own value through a CASE on the
-- id made of one online_migrations.when_id arm per row ({arms}). A
-- statement takes at most 1,000 arms (MariaDB tries a CASE's arms in
-- turn, so its cost grows with the square of their number): a
-- --max-count batch of more rows writes them 1,000 at a time.
-- The zone (5) and compute id (11) batches read the instances with
-- nova's own query, unordered and without locks, so that MariaDB picks
-- the plan, and so the rows and their order, it picks for nova's (for
-- a few hundred rows a table scan, in id order; for many, the index on
-- the WHERE column, in its order); they then lock those rows by id,
-- the only rows they lock, and write the ones still to do.


-- 1. migrate_quota_limits_to_api_db ------------------------------------

-- name: online_migrations.main_project_quotas
-- used by: db online_data_migrations
-- Per-project quota limits still in the cell database (Pike moved them
-- to the API database).
SELECT id, project_id, resource, hard_limit
  FROM quotas
 WHERE deleted = 0
 ORDER BY id
 LIMIT %(limit)s
   FOR UPDATE

-- name: online_migrations.main_user_quotas
-- used by: db online_data_migrations
-- Per-user quota limits still in the cell database.
SELECT id, project_id, user_id, resource, hard_limit
  FROM project_user_quotas
 WHERE deleted = 0
 ORDER BY id
 LIMIT %(limit)s
   FOR UPDATE

-- name: online_migrations.api_insert_project_quota
-- used by: db online_data_migrations
-- A per-project limit in the API database. The unique key on
-- (project_id, resource) makes an already-copied limit a duplicate-key
-- error, which rolls back the batch's copies as nova does.
INSERT INTO quotas (created_at, project_id, resource, hard_limit)
VALUES (UTC_TIMESTAMP(), %(project_id)s, %(resource)s, %(hard_limit)s)

-- name: online_migrations.api_insert_user_quota
-- used by: db online_data_migrations
-- A per-user limit in the API database (unique on user, project and
-- resource).
INSERT INTO project_user_quotas
       (created_at, user_id, project_id, resource, hard_limit)
VALUES (UTC_TIMESTAMP(), %(user_id)s, %(project_id)s, %(resource)s,
        %(hard_limit)s)

-- name: online_migrations.main_delete_project_quota
-- used by: db online_data_migrations
-- Soft-deletes the migrated per-project limit in the cell database,
-- matched by project and resource as nova matches it (NULL-safe).
UPDATE quotas
   SET deleted = id, deleted_at = UTC_TIMESTAMP()
 WHERE deleted = 0
   AND project_id <=> %(project_id)s
   AND resource = %(resource)s

-- name: online_migrations.main_delete_user_quota
-- used by: db online_data_migrations
-- Soft-deletes the migrated per-user limit in the cell database.
UPDATE project_user_quotas
   SET deleted = id, deleted_at = UTC_TIMESTAMP()
 WHERE deleted = 0
   AND project_id = %(project_id)s
   AND user_id = %(user_id)s
   AND resource = %(resource)s


-- 2. migrate_quota_classes_to_api_db -----------------------------------

-- name: online_migrations.main_quota_classes
-- used by: db online_data_migrations
-- Quota classes still in the cell database.
SELECT id, class_name, resource, hard_limit
  FROM quota_classes
 WHERE deleted = 0
 ORDER BY id
 LIMIT %(limit)s
   FOR UPDATE

-- name: online_migrations.api_quota_class_exists
-- used by: db online_data_migrations
-- quota_classes has no unique key, so nova looks for an existing class
-- and resource first (NULL matches NULL, as SQLAlchemy's filter_by).
SELECT id
  FROM quota_classes
 WHERE class_name <=> %(class_name)s
   AND resource <=> %(resource)s
 LIMIT 1

-- name: online_migrations.api_insert_quota_class
-- used by: db online_data_migrations
-- A quota class in the API database.
INSERT INTO quota_classes (created_at, class_name, resource, hard_limit)
VALUES (UTC_TIMESTAMP(), %(class_name)s, %(resource)s, %(hard_limit)s)

-- name: online_migrations.main_delete_quota_class
-- used by: db online_data_migrations
-- Soft-deletes a migrated quota class in the cell database.
UPDATE quota_classes
   SET deleted = id, deleted_at = UTC_TIMESTAMP()
 WHERE deleted = 0
   AND id = %(id)s


-- 3. migration_migrate_to_uuid -----------------------------------------

-- name: online_migrations.migrations_without_uuid
-- used by: db online_data_migrations
-- Live migration records that predate the uuid column (Queens).
SELECT id
  FROM migrations
 WHERE deleted = 0
   AND uuid IS NULL
 ORDER BY id
 LIMIT %(limit)s
   FOR UPDATE

-- fragment: online_migrations.when_id
-- One arm of a CASE on a row's id: row %(id_N)s takes %(value_N)s (N
-- numbers the arms of one statement). Repeated once per row, it lets
-- one UPDATE give each row of a batch its own value (the {arms} of the
-- set_* statements below); the values stay bound, never spliced in.
WHEN %(id_{n})s THEN %(value_{n})s

-- name: online_migrations.set_migration_uuids
-- used by: db online_data_migrations
-- Gives each migration record of the batch its new uuid (random ones,
-- made by nmtool as nova makes them: uuid4), one arm per record.
UPDATE migrations
   SET uuid = CASE id {arms} END,
       updated_at = UTC_TIMESTAMP()
 WHERE id IN %(ids)s
   AND uuid IS NULL


-- 4. BlockDeviceMapping.populate_uuids ---------------------------------

-- name: online_migrations.bdms_without_uuid
-- used by: db online_data_migrations
-- Block device mappings without a uuid, deleted ones included (nova
-- does not filter them).
SELECT id
  FROM block_device_mapping
 WHERE uuid IS NULL
 ORDER BY id
 LIMIT %(limit)s
   FOR UPDATE

-- name: online_migrations.set_bdm_uuids
-- used by: db online_data_migrations
-- Gives each block device mapping of the batch its new uuid.
UPDATE block_device_mapping
   SET uuid = CASE id {arms} END,
       updated_at = UTC_TIMESTAMP()
 WHERE id IN %(ids)s
   AND uuid IS NULL


-- 5. populate_missing_availability_zones -------------------------------

-- name: online_migrations.instances_without_az
-- used by: db online_data_migrations
-- Instances on a host but with no availability zone recorded, deleted
-- ones included; instances without a host are left alone. nova's query
-- as it is (see the top of this file): no index holds the zone, so
-- MariaDB reads rows until it has the batch, and a locking read would
-- lock every row it passes (on a cloud whose zones are all set, the
-- whole table).
SELECT id, host
  FROM instances
 WHERE host IS NOT NULL
   AND availability_zone IS NULL
 LIMIT %(limit)s

-- name: online_migrations.lock_instances_without_az
-- used by: db online_data_migrations
-- Locks the batch's instances by id, keeping those still without a
-- zone (another run may have written some meanwhile), with their host
-- as it is now.
SELECT id, host
  FROM instances
 WHERE id IN %(ids)s
   AND host IS NOT NULL
   AND availability_zone IS NULL
   FOR UPDATE

-- name: online_migrations.api_hosts_az
-- used by: db online_data_migrations
-- The availability zones of the hosts a batch has not looked up yet, in
-- one read of the API database's aggregates: every aggregate holding one
-- of them with availability_zone metadata, the first aggregate first (a
-- host's zone is that of its first). Each row names the host as the
-- aggregate stores it; the hosts asked for match it as the column's
-- collation says (case aside, as a rule), which is why nmtool asks
-- host by host instead (online_migrations.api_host_az) when a row's
-- host is not exactly one of theirs or two of theirs might be the same
-- host to the server.
SELECT h.host, m.value
  FROM aggregates a
  JOIN aggregate_hosts h ON h.aggregate_id = a.id
  JOIN aggregate_metadata m ON m.aggregate_id = a.id
 WHERE h.host IN %(hosts)s
   AND m.`key` = 'availability_zone'
 ORDER BY a.id

-- name: online_migrations.api_host_az
-- used by: db online_data_migrations
-- The availability zone of one host: the availability_zone metadata of
-- the first aggregate holding it (the API database's aggregates). Only
-- when a batch's hosts cannot be told apart from one read (see
-- online_migrations.api_hosts_az).
SELECT m.value
  FROM aggregates a
  JOIN aggregate_hosts h ON h.aggregate_id = a.id
  JOIN aggregate_metadata m ON m.aggregate_id = a.id
 WHERE h.host = %(host)s
   AND m.`key` = 'availability_zone'
 ORDER BY a.id
 LIMIT 1

-- name: online_migrations.set_instance_azs
-- used by: db online_data_migrations
-- Records the availability zone of each instance of the batch that has
-- one (one arm per instance; an instance whose host is empty gets none
-- and is not written, as nova leaves it).
UPDATE instances
   SET availability_zone = CASE id {arms} END,
       updated_at = UTC_TIMESTAMP()
 WHERE id IN %(ids)s


-- Cells (for steps 6, 8 and 9) ------------------------------------------

-- name: online_migrations.cells
-- used by: db online_data_migrations
-- Every cell mapping with its id, in id order, as nova walks them.
SELECT id, uuid, name, database_connection
  FROM cell_mappings
 ORDER BY id


-- 6. populate_queued_for_delete ----------------------------------------

-- name: online_migrations.mappings_without_qfd
-- used by: db online_data_migrations
-- Instance mappings of one cell that never got a queued_for_delete value.
SELECT id, instance_uuid
  FROM instance_mappings
 WHERE queued_for_delete IS NULL
   AND cell_id = %(cell_id)s
 ORDER BY id
 LIMIT %(limit)s
   FOR UPDATE

-- name: online_migrations.cell_deleted_instances
-- used by: db online_data_migrations
-- Which of these instances are deleted or soft-deleted in their cell
-- (hidden instances are not listed, as in nova's instance list).
SELECT uuid
  FROM instances
 WHERE uuid IN %(uuids)s
   AND (deleted = id OR vm_state = 'soft-delete')
   AND (hidden = 0 OR hidden IS NULL)

-- name: online_migrations.set_qfd
-- used by: db online_data_migrations
-- Sets queued_for_delete on a set of instance mappings.
UPDATE instance_mappings
   SET queued_for_delete = %(value)s, updated_at = UTC_TIMESTAMP()
 WHERE id IN %(ids)s


-- 7. migrate_empty_ratio -----------------------------------------------

-- name: online_migrations.nodes_with_empty_ratio
-- used by: db online_data_migrations
-- Live compute nodes with an allocation ratio of 0.0 or NULL.
SELECT id, cpu_allocation_ratio, ram_allocation_ratio,
       disk_allocation_ratio
  FROM compute_nodes
 WHERE (ram_allocation_ratio = 0.0 OR cpu_allocation_ratio = 0.0
        OR disk_allocation_ratio = 0.0 OR ram_allocation_ratio IS NULL
        OR cpu_allocation_ratio IS NULL OR disk_allocation_ratio IS NULL)
   AND deleted = 0
 ORDER BY id
 LIMIT %(limit)s
   FOR UPDATE

-- name: online_migrations.fill_node_ratios
-- used by: db online_data_migrations
-- Replaces the empty (NULL or 0.0) allocation ratios of a set of nodes
-- with the configured ones and leaves the others as they are, as nova
-- does: migrate_empty_ratio for the live nodes it found, and
-- populate_instance_compute_id for every node, deleted ones included,
-- whose row it reads (nova's ComputeNode fills the ratios it loads).
-- The values are the same for every node: from nova.conf.
UPDATE compute_nodes
   SET cpu_allocation_ratio = IF(cpu_allocation_ratio IS NULL
                                 OR cpu_allocation_ratio = 0.0,
                                 %(cpu)s, cpu_allocation_ratio),
       ram_allocation_ratio = IF(ram_allocation_ratio IS NULL
                                 OR ram_allocation_ratio = 0.0,
                                 %(ram)s, ram_allocation_ratio),
       disk_allocation_ratio = IF(disk_allocation_ratio IS NULL
                                  OR disk_allocation_ratio = 0.0,
                                  %(disk)s, disk_allocation_ratio),
       updated_at = UTC_TIMESTAMP()
 WHERE id IN %(ids)s


-- 8. fill_virtual_interface_list ---------------------------------------

-- name: online_migrations.vif_marker
-- used by: db online_data_migrations
-- The scan position nova keeps in a fake virtual interface row: its tag
-- is the uuid of the last instance checked.
SELECT tag
  FROM virtual_interfaces
 WHERE instance_uuid = %(fake)s
 ORDER BY id
 LIMIT 1

-- name: online_migrations.marker_instance
-- used by: db online_data_migrations
-- The sort position (created_at, id) of the marker instance, deleted
-- or not.
SELECT created_at, id
  FROM instances
 WHERE uuid = %(uuid)s
 LIMIT 1

-- name: online_migrations.instances_after_marker
-- used by: db online_data_migrations
-- The next live instances in (created_at, id) order after the marker
-- (from the start without one); soft-deleted and hidden ones are not
-- listed, as in nova's instance list with deleted=False. The
-- created_at >= marker line adds nothing to what is matched; with the
-- index forced, it lets MariaDB start the (deleted, created_at) range at
-- the marker. Left to itself it reads that index from the first live
-- instance on every batch (a run's walk over the cell grows with the
-- square of its instances: 10 ms a batch 70,000 instances in, against
-- 1 ms).
SELECT id, uuid
  FROM instances FORCE INDEX (instances_deleted_created_at_idx)
 WHERE deleted = 0
   AND (vm_state <> 'soft-delete' OR vm_state IS NULL)
   AND (hidden = 0 OR hidden IS NULL)
   AND (%(m_created)s IS NULL OR created_at >= %(m_created)s)
   AND (%(m_id)s IS NULL
        OR (%(m_created)s IS NULL AND id > %(m_id)s)
        OR (%(m_created)s IS NOT NULL
            AND (created_at > %(m_created)s
                 OR (created_at = %(m_created)s AND id > %(m_id)s))))
 ORDER BY created_at, id
 LIMIT %(limit)s

-- name: online_migrations.instance_info_caches
-- used by: db online_data_migrations
-- The network info cached for a batch's instances (live cache rows
-- only; the first by id where there would be several).
SELECT instance_uuid, network_info
  FROM instance_info_caches
 WHERE instance_uuid IN %(uuids)s
   AND deleted = 0
 ORDER BY id

-- name: online_migrations.instance_info_cache
-- used by: db online_data_migrations
-- The network info cached for one instance (live cache rows only): only
-- when the batch's read above names an instance otherwise than the
-- instance row does (the uuid columns compare case aside).
SELECT network_info
  FROM instance_info_caches
 WHERE instance_uuid = %(uuid)s
   AND deleted = 0
 ORDER BY id
 LIMIT 1

-- name: online_migrations.vifs_of_instances
-- used by: db online_data_migrations
-- The live virtual interfaces of the batch's instances that have
-- network info, each instance's in nova's order, to compare with the
-- cache. Not locked: an instance found to need a rebuild is read again
-- under lock (instance_vifs) and compared again before it is rebuilt.
SELECT instance_uuid, uuid
  FROM virtual_interfaces
 WHERE instance_uuid IN %(uuids)s
   AND deleted = 0
 ORDER BY created_at, id

-- name: online_migrations.instance_vifs
-- used by: db online_data_migrations
-- An instance's live virtual interfaces, in nova's order.
SELECT id, uuid, tag
  FROM virtual_interfaces
 WHERE instance_uuid = %(uuid)s
   AND deleted = 0
 ORDER BY created_at, id
   FOR UPDATE

-- name: online_migrations.delete_vif
-- used by: db online_data_migrations
-- Soft-deletes one virtual interface being rebuilt from the cache.
UPDATE virtual_interfaces
   SET deleted = id, deleted_at = UTC_TIMESTAMP()
 WHERE id = %(id)s
   AND deleted = 0

-- name: online_migrations.insert_vif
-- used by: db online_data_migrations
-- A virtual interface rebuilt from the cache (address is mac/port id).
INSERT INTO virtual_interfaces
       (created_at, address, uuid, instance_uuid, tag, deleted)
VALUES (UTC_TIMESTAMP(), %(address)s, %(uuid)s, %(instance_uuid)s,
        %(tag)s, 0)

-- name: online_migrations.drop_marker_vif
-- used by: db online_data_migrations
-- Removes the previous marker row (hard delete, as nova does).
DELETE FROM virtual_interfaces
 WHERE instance_uuid = %(fake)s

-- name: online_migrations.fake_instance_exists
-- used by: db online_data_migrations
-- Whether the fake instance the marker row's foreign key needs exists.
SELECT id
  FROM instances
 WHERE uuid = %(fake)s
 LIMIT 1

-- name: online_migrations.default_secgroup_exists
-- used by: db online_data_migrations
-- nova creates an instance only after making sure the request's project
-- (none, for the admin context) has a live 'default' security group.
SELECT id
  FROM security_groups
 WHERE project_id IS NULL
   AND name = 'default'
   AND deleted = 0
 LIMIT 1

-- name: online_migrations.insert_default_secgroup
-- used by: db online_data_migrations
-- The 'default' security group of the project-less admin context.
INSERT INTO security_groups
       (created_at, name, description, user_id, project_id, deleted)
VALUES (UTC_TIMESTAMP(), 'default', 'default', NULL, NULL, 0)

-- name: online_migrations.insert_fake_instance
-- used by: db online_data_migrations
-- The fake instance, with the column defaults nova's model fills in.
INSERT INTO instances
       (created_at, uuid, project_id, user_id, shutdown_terminate,
        disable_terminate, deleted, cleaned, hidden)
VALUES (UTC_TIMESTAMP(), %(fake)s, %(fake)s, %(fake)s, 0, 0, 0, 0, 0)

-- name: online_migrations.insert_fake_info_cache
-- used by: db online_data_migrations
-- The empty info cache nova creates with every instance.
INSERT INTO instance_info_caches (created_at, instance_uuid, deleted)
VALUES (UTC_TIMESTAMP(), %(fake)s, 0)

-- name: online_migrations.insert_fake_extra
-- used by: db online_data_migrations
-- The empty instance_extra row nova creates with every instance.
INSERT INTO instance_extra (created_at, instance_uuid, deleted)
VALUES (UTC_TIMESTAMP(), %(fake)s, 0)

-- name: online_migrations.insert_fake_id_mapping
-- used by: db online_data_migrations
-- The EC2 id mapping nova creates with every instance.
INSERT INTO instance_id_mappings (created_at, uuid, deleted)
VALUES (UTC_TIMESTAMP(), %(fake)s, 0)

-- name: online_migrations.delete_fake_instance
-- used by: db online_data_migrations
-- nova destroys the fake instance at once: soft-deletes it ...
UPDATE instances
   SET deleted = id, deleted_at = UTC_TIMESTAMP()
 WHERE uuid = %(fake)s
   AND deleted = 0

-- name: online_migrations.delete_fake_info_cache
-- used by: db online_data_migrations
-- ... its info cache ...
UPDATE instance_info_caches
   SET deleted = id, deleted_at = UTC_TIMESTAMP()
 WHERE instance_uuid = %(fake)s
   AND deleted = 0

-- name: online_migrations.delete_fake_extra
-- used by: db online_data_migrations
-- ... its instance_extra row ...
UPDATE instance_extra
   SET deleted = id, deleted_at = UTC_TIMESTAMP()
 WHERE instance_uuid = %(fake)s
   AND deleted = 0

-- name: online_migrations.delete_fake_id_mapping
-- used by: db online_data_migrations
-- ... and its EC2 id mapping.
UPDATE instance_id_mappings
   SET deleted = id, deleted_at = UTC_TIMESTAMP()
 WHERE uuid = %(fake)s
   AND deleted = 0

-- name: online_migrations.insert_marker_vif
-- used by: db online_data_migrations
-- The marker row: the fake instance's interface, tagged with the uuid of
-- the last instance checked.
INSERT INTO virtual_interfaces
       (created_at, address, uuid, instance_uuid, tag, deleted)
VALUES (UTC_TIMESTAMP(), %(address)s, %(fake)s, %(fake)s, %(marker)s, 0)


-- 9. populate_user_id --------------------------------------------------

-- name: online_migrations.mappings_without_user
-- used by: db online_data_migrations
-- Instance mappings with no user_id, except the fake instance's, in the
-- order of the (user_id, project_id) index nova's unordered query reads.
SELECT id, instance_uuid, cell_id
  FROM instance_mappings
 WHERE user_id IS NULL
   AND project_id <> %(fake)s
 ORDER BY project_id, id
 LIMIT %(limit)s
   FOR UPDATE

-- name: online_migrations.cell_instance_users
-- used by: db online_data_migrations
-- The owners of these instances in their cell, deleted ones included
-- (hidden instances are not listed, as in nova's instance list).
SELECT uuid, user_id
  FROM instances
 WHERE uuid IN %(uuids)s
   AND (hidden = 0 OR hidden IS NULL)

-- name: online_migrations.set_mapping_users
-- used by: db online_data_migrations
-- Records the owner of each instance mapping of the batch whose owner
-- was found (one arm per mapping).
UPDATE instance_mappings
   SET user_id = CASE id {arms} END,
       updated_at = UTC_TIMESTAMP()
 WHERE id IN %(ids)s


-- 10. PciDevice.populate_dev_uuids -------------------------------------

-- name: online_migrations.pci_devices_without_uuid
-- used by: db online_data_migrations
-- PCI devices without a uuid, deleted ones included.
SELECT id
  FROM pci_devices
 WHERE uuid IS NULL
 ORDER BY id
 LIMIT %(limit)s
   FOR UPDATE

-- name: online_migrations.set_pci_device_uuids
-- used by: db online_data_migrations
-- Gives each PCI device of the batch its new uuid.
UPDATE pci_devices
   SET uuid = CASE id {arms} END,
       updated_at = UTC_TIMESTAMP()
 WHERE id IN %(ids)s
   AND uuid IS NULL


-- 11. populate_instance_compute_id -------------------------------------

-- name: online_migrations.instances_without_compute_id
-- used by: db online_data_migrations
-- Instances (deleted ones included) not yet pointing at their compute
-- node by id (2023.2). nova's query as it is (see the top of this
-- file): on a large table MariaDB reads the (compute_id, deleted) index,
-- live instances first; on a small one it scans the table in id order.
SELECT id, uuid, host, node
  FROM instances
 WHERE compute_id IS NULL
 LIMIT %(limit)s

-- name: online_migrations.lock_instances_without_compute_id
-- used by: db online_data_migrations
-- Locks the batch's instances by id, keeping those still without a
-- compute_id, each with the id of its compute node as nova looks it
-- up: the oldest row of that host and node name, deleted ones included,
-- NULL matching NULL; NULL when there is none. The lock is on the
-- instances alone: the subquery reads compute_nodes without locking
-- them (nova reads them outside the batch's transaction), so
-- nova-compute can go on updating its node.
SELECT i.id, i.uuid, i.host, i.node,
       (SELECT MIN(c.id)
          FROM compute_nodes c
         WHERE c.host <=> i.host
           AND c.hypervisor_hostname <=> i.node) AS node_id
  FROM instances i
 WHERE i.id IN %(ids)s
   AND i.compute_id IS NULL
   FOR UPDATE

-- name: online_migrations.nodes_by_id
-- used by: db online_data_migrations
-- The nodes a batch's instances point at: what nova checks when it
-- loads each (a node without a uuid fails the batch) and the ratios
-- that loading fills in when they are empty.
SELECT id, cpu_allocation_ratio, ram_allocation_ratio,
       disk_allocation_ratio, uuid
  FROM compute_nodes
 WHERE id IN %(ids)s

-- name: online_migrations.set_instance_compute_ids
-- used by: db online_data_migrations
-- Points each instance of the batch that has a node at it (one arm per
-- instance: the node id the batch's read found).
UPDATE instances
   SET compute_id = CASE id {arms} END,
       updated_at = UTC_TIMESTAMP()
 WHERE id IN %(ids)s
