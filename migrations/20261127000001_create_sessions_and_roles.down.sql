DROP TABLE revocations;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP INDEX users_enabled_admins_idx;
ALTER TABLE users DROP COLUMN disabled_at, DROP COLUMN role;
