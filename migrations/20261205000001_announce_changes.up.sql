-- Live events (`GET /events`): every server's streams wake when a change concerns them.
--
-- A write does not NOTIFY: PostgreSQL serializes the commits of notifying transactions
-- behind one lock held through the commit's WAL flush (measured on the CI machine: 7,000
-- inserts/s with the change log's trigger, 500/s with a `pg_notify` added to it). Instead
-- a server that committed a write reads the changes committed since it last looked, by
-- transaction id as the sync feed reads them, and notifies (channel `taskapi_changes`)
-- each list and person they concern: one small notifying statement for any number of
-- writes, at most every few milliseconds per server.
CREATE INDEX changes_txid_idx ON changes (txid);

-- The purge finds what is older than the lifetime in transaction order too (every change
-- before the first one still within it is older), so the index on the changes' time goes:
-- one index fewer for every write to pay.
DROP INDEX changes_at_idx;
