-- revision: 960aac0e09ea
-- down_revision: ccb0fa1a2252
-- Drop duplicate indexes on instances and console_auth_tokens.
-- Removes two indexes that duplicate others: console_auth_tokens already
-- has an index starting with token_hash, and instances has the unique
-- constraint uniq_instances0uuid on uuid.

-- console_auth_tokens: drop token_hash index (covered by token_hash+instance_uuid)
ALTER TABLE `console_auth_tokens` DROP INDEX `console_auth_tokens_token_hash_idx`;

-- instances: drop the unnamed-style unique index on uuid (duplicate of uniq_instances0uuid)
ALTER TABLE `instances` DROP INDEX `uuid`;
