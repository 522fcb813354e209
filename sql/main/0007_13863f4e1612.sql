-- revision: 13863f4e1612
-- down_revision: 1acf2c98e646
-- Create the share_mapping table.
-- Adds share_mapping, which records Manila shares attached to servers
-- (virtiofs). Not soft-deletable, so it gets no shadow table.

-- share_mapping: one row per share attached to a server, with its export
-- location, protocol, mount tag and attachment status
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
  KEY `share_idx` (`share_id`),
  KEY `share_mapping_instance_uuid_share_id_idx` (`instance_uuid`, `share_id`),
  CONSTRAINT `share_mapping_instance_uuid_fkey` FOREIGN KEY (`instance_uuid`) REFERENCES `instances` (`uuid`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8;
