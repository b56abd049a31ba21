CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
DROP INDEX users_email_key_idx;
ALTER TABLE users DROP COLUMN email_key;
