-- revision: b30f573d3377
-- down_revision: d67eeaabee36
-- Drop the unused per-field columns of build_requests.
-- Removes the build_requests columns that pre-Rocky code used to hold a
-- half-built instance field by field; since then the whole instance is
-- stored serialized in build_requests.instance. Values in the dropped
-- columns are discarded.

-- build_requests: drop the fifteen unused per-field columns in one pass
ALTER TABLE `build_requests`
  DROP COLUMN `vm_state`,
  DROP COLUMN `access_ip_v6`,
  DROP COLUMN `config_drive`,
  DROP COLUMN `locked_by`,
  DROP COLUMN `security_groups`,
  DROP COLUMN `progress`,
  DROP COLUMN `info_cache`,
  DROP COLUMN `display_name`,
  DROP COLUMN `instance_metadata`,
  DROP COLUMN `image_ref`,
  DROP COLUMN `key_name`,
  DROP COLUMN `user_id`,
  DROP COLUMN `access_ip_v4`,
  DROP COLUMN `task_state`,
  DROP COLUMN `request_spec_id`;
