-- revision: ccb0fa1a2252
-- down_revision: 16f1fbcab42b
-- Add encryption fields to block_device_mapping.
-- Adds the ephemeral-storage encryption fields to block device mappings
-- (live and shadow): whether the disk is encrypted, the secret holding its
-- key, the encryption format and format options. Existing rows get NULL.

-- block_device_mapping: encryption attributes of each disk
ALTER TABLE `block_device_mapping`
  ADD COLUMN `encrypted` tinyint(1) DEFAULT NULL,
  ADD COLUMN `encryption_secret_uuid` varchar(36) DEFAULT NULL,
  ADD COLUMN `encryption_format` varchar(128) DEFAULT NULL,
  ADD COLUMN `encryption_options` varchar(4096) DEFAULT NULL;

-- shadow_block_device_mapping: same columns on the archive table
ALTER TABLE `shadow_block_device_mapping`
  ADD COLUMN `encrypted` tinyint(1) DEFAULT NULL,
  ADD COLUMN `encryption_secret_uuid` varchar(36) DEFAULT NULL,
  ADD COLUMN `encryption_format` varchar(128) DEFAULT NULL,
  ADD COLUMN `encryption_options` varchar(4096) DEFAULT NULL;
