-- During a resync (the provider lost Ferry's history or delta), the ids its listing has
-- shown so far, per checkpoint scope ('' for Gmail; a folder id for Outlook).
-- Stored messages the listing did not show are then asked about one by one: only a
-- provider's "not found" removes one, never its absence from a listing alone.
CREATE TABLE mail_resync_listed (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    id         TEXT NOT NULL,
    PRIMARY KEY (account_id, scope, id)
) STRICT, WITHOUT ROWID;
