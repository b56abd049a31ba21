-- Emails are compared by a key the server computes (Unicode NFKC, lower case, the domain
-- in IDNA ASCII form), so look-alike addresses are one account; the email stays as typed.
-- Rows from before have ASCII-only keys in practice: lower() is their key.
ALTER TABLE users ADD COLUMN email_key text;
UPDATE users SET email_key = lower(email);
ALTER TABLE users ALTER COLUMN email_key SET NOT NULL;
CREATE UNIQUE INDEX users_email_key_idx ON users (email_key);
DROP INDEX users_email_lower_key;
