-- revision: 2903cd72dc14
-- down_revision: d60bddf7a903
-- Add tls_port to console_auth_tokens.
-- Adds the TLS port to console authorization tokens, so a console proxy
-- can reach a console that listens on a separate TLS port.

-- console_auth_tokens: optional TLS port of the console endpoint
ALTER TABLE `console_auth_tokens`
  ADD COLUMN `tls_port` int(11) DEFAULT NULL;
