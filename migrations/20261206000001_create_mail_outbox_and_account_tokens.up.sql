-- Email addresses are verified; a changed address waits, unverified, until the mail sent to
-- it is answered. Mails wait in an outbox that a worker on each server sends from; the
-- single-use tokens they carry (password reset, email verification) are stored only as
-- SHA-256 hashes.

ALTER TABLE users
    ADD COLUMN email_verified_at timestamptz,
    -- The address an email change asked for, until it is verified; the account keeps its
    -- `email` until then.
    ADD COLUMN pending_email     text
                                 CONSTRAINT users_pending_email_check
                                 CHECK (char_length(pending_email) BETWEEN 3 AND 254);

-- A mail to send. Its text is made when it is sent (with a fresh token, where it carries
-- one), so the outbox never holds a secret. `next_attempt_at` is when a worker may take it
-- next: taking it moves this past the send's timeout, so that no other server takes it
-- while it is being sent.
CREATE TABLE mail_outbox (
    id              uuid        PRIMARY KEY,
    kind            text        NOT NULL
                                CONSTRAINT mail_outbox_kind_check
                                CHECK (kind IN ('password_reset', 'email_verification')),
    recipient       text        NOT NULL
                                CONSTRAINT mail_outbox_recipient_check
                                CHECK (char_length(recipient) BETWEEN 3 AND 254),
    user_id         uuid        REFERENCES users (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text        CONSTRAINT mail_outbox_last_error_check
                                CHECK (char_length(last_error) <= 1000)
);
-- The worker's queue: what is due, oldest first.
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at);

-- A single-use token mailed to `email`: it resets the account's password or verifies that
-- address. Only its hash is kept; a newer token of the same purpose replaces it, use
-- deletes it.
CREATE TABLE account_tokens (
    token_hash bytea       PRIMARY KEY
                           CONSTRAINT account_tokens_token_hash_check
                           CHECK (octet_length(token_hash) = 32),
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text        NOT NULL
                           CONSTRAINT account_tokens_purpose_check
                           CHECK (purpose IN ('password_reset', 'email_verification')),
    email      text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
-- One live token per account and purpose: a newer one replaces it.
CREATE UNIQUE INDEX account_tokens_user_purpose_idx ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expires_idx ON account_tokens (expires_at);
