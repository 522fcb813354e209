-- revision: 1acf2c98e646
-- down_revision: 1b91788ec3a6
-- Add compute node ids to instances and migrations.
-- Records compute nodes by id rather than only by host/node name: adds
-- instances.compute_id and migrations.dest_compute_id (and the same
-- columns on their shadow tables), with lookup indexes on the live tables.
-- Existing rows get NULL.

-- instances: id of the compute node the server runs on
ALTER TABLE `instances`
  ADD COLUMN `compute_id` bigint(20) DEFAULT NULL,
  ADD INDEX `instances_compute_id_deleted_idx` (`compute_id`, `deleted`);

-- migrations: id of the destination compute node
ALTER TABLE `migrations`
  ADD COLUMN `dest_compute_id` bigint(20) DEFAULT NULL,
  ADD INDEX `migrations_dest_compute_id_deleted_idx` (`dest_compute_id`, `deleted`);

-- shadow_instances: same column on the archive table, no index
ALTER TABLE `shadow_instances`
  ADD COLUMN `compute_id` bigint(20) DEFAULT NULL;

-- shadow_migrations: same column on the archive table, no index
ALTER TABLE `shadow_migrations`
  ADD COLUMN `dest_compute_id` bigint(20) DEFAULT NULL;
