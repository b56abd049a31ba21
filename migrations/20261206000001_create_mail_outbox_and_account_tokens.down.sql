DROP TABLE account_tokens;
DROP TABLE mail_outbox;
ALTER TABLE users
    DROP COLUMN pending_email,
    DROP COLUMN email_verified_at;
