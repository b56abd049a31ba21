CREATE INDEX changes_at_idx ON changes (at);
DROP INDEX changes_txid_idx;
