-- revision: d60bddf7a903
-- down_revision: 13863f4e1612
-- Recreate share_mapping with unique constraints.
-- Rebuilds share_mapping with two unique constraints: a share may be
-- attached to a server only once, and a mount tag is unique per server.
-- Like nova, this drops and recreates the table, so any rows it held are
-- discarded.

-- share_mapping: drop the first version of the table
DROP TABLE `share_mapping`;

-- share_mapping: recreate it with uniqueness on (instance_uuid, share_id)
-- and (instance_uuid, tag); the constraint names are nova's
CREATE TABLE `share_mapping` (
  `created_at` datetime DEFAULT NULL,
  `updated_at` datetime DEFAULT NULL,
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `uuid` varchar(36) DEFAULT NULL,
  `instance_uuid` varchar(36) DEFAULT NULL,
  `share_id` varchar(36) DEFAULT NULL,
  `status` varchar(32) DEFAULT NULL,
  `tag` varchar(48) DEFAULT NULL,
  `export_location` text DEFAULT NULL,
  `share_proto` varchar(32) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uniq_key_pairs0instance_uuid0share_id` (`instance_uuid`, `share_id`),
  UNIQUE KEY `uniq_key_pairs0instance_uuid0tag` (`instance_uuid`, `tag`),
  KEY `share_idx` (`share_id`),
  KEY `share_mapping_instance_uuid_share_id_idx` (`instance_uuid`, `share_id`),
  CONSTRAINT `share_mapping_instance_uuid_fkey` FOREIGN KEY (`instance_uuid`) REFERENCES `instances` (`uuid`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;
