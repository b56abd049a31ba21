-- Counters of the limits that must hold across instances and restarts: failed logins per
-- account and client address, failed logins per client address, registrations per client
-- address. One row per bucket; a row's window starts with its first hit.
CREATE TABLE rate_limit_counters (
    bucket text PRIMARY KEY,
    hits integer NOT NULL CHECK (hits >= 0),
    window_ends timestamptz NOT NULL
);
-- Expired rows are purged in the background.
CREATE INDEX rate_limit_counters_window_ends_idx ON rate_limit_counters (window_ends);
