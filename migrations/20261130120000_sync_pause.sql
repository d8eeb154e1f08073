-- Services the user paused on the dashboard: their sync waits until resumed, while the
-- account itself (its tokens, its other services) carries on.
CREATE TABLE sync_paused (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    service    TEXT NOT NULL CHECK (service IN ('mail', 'calendar', 'contacts')),
    since      INTEGER NOT NULL,          -- unix ms
    PRIMARY KEY (account_id, service)
) STRICT;
