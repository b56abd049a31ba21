DROP INDEX changes_txid_idx;
