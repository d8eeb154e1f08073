-- A sync round that would remove a large share of a service's items stops and waits
-- here for the user: `decision` is NULL while Ferry asks, then 'remove' (apply the
-- removals) or 'keep' (keep the local copies), which the next run carries out.
CREATE TABLE sync_holds (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    service    TEXT NOT NULL CHECK (service IN ('mail', 'calendar', 'contacts')),
    removing   INTEGER NOT NULL,          -- items the round would remove
    local      INTEGER NOT NULL,          -- items the service had when the run started
    held_at    INTEGER NOT NULL,          -- unix ms
    decision   TEXT CHECK (decision IN ('remove', 'keep')),
    notified   INTEGER NOT NULL DEFAULT 0, -- the desktop notification about it was shown
    PRIMARY KEY (account_id, service)
) STRICT;
