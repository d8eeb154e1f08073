-- During a Gmail resync (its history was lost), the ids the listing has shown so far.
-- Stored messages the listing did not show are then asked about one by one: only a
-- provider's "not found" removes one, never its absence from a listing alone.
CREATE TABLE mail_resync_listed (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    PRIMARY KEY (account_id, id)
) STRICT, WITHOUT ROWID;
