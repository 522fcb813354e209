-- revision: 16f1fbcab42b
-- down_revision: 8f2f1571d55b
-- Fix shadow tables that drifted from their live tables.
-- Brings three shadow tables in line with their live tables, fixing
-- old changes that were applied to a live table but not to its shadow:
-- user_id length of shadow_volume_usage_cache, two indexes that shadow
-- tables should never have had, and the binary collation of
-- shadow_instance_type_extra_specs.

-- shadow_volume_usage_cache: widen user_id to 64 characters like the live table
ALTER TABLE `shadow_volume_usage_cache`
  MODIFY `user_id` varchar(64) DEFAULT NULL;

-- shadow_instance_extra: drop the index shadow tables are not meant to have
ALTER TABLE `shadow_instance_extra` DROP INDEX `shadow_instance_extra_idx`;

-- shadow_migrations: drop the unique index on uuid (archived rows may repeat)
ALTER TABLE `shadow_migrations` DROP INDEX `shadow_migrations_uuid`;

-- shadow_instance_type_extra_specs: binary (case-sensitive) collation for
-- the table and its text columns, like instance_type_extra_specs
ALTER TABLE `shadow_instance_type_extra_specs`
  CONVERT TO CHARACTER SET utf8 COLLATE utf8_bin;
