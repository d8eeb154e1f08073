-- Connection health and the per-account timeline.

-- One row per account: where its connection stands. Written by the keeper (refresh,
-- retries) and read by the UI, the tray and the notification policy.
CREATE TABLE account_health (
    account_id       TEXT PRIMARY KEY NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    state            TEXT NOT NULL CHECK (state IN ('healthy', 'retrying', 'needs_sign_in', 'paused')),
    since            INTEGER NOT NULL, -- unix ms: when this state began
    cause            TEXT,             -- oauth::refresh::Cause, camelCase
    code             TEXT,             -- the provider's own code, e.g. AADSTS700082
    failures         INTEGER NOT NULL DEFAULT 0, -- consecutive failed attempts
    next_try_at      INTEGER,          -- unix ms, while retrying
    last_refresh_at  INTEGER,          -- unix ms of the last successful refresh
    last_sync_at     INTEGER,          -- unix ms of the last successful sync
    grant_expires_at INTEGER,          -- unix ms, when the provider said the grant ends
    notified_at      INTEGER,          -- unix ms: this incident was announced (NULL: not yet)
    warned_at        INTEGER           -- unix ms: the "ends tomorrow" warning went out
) STRICT;

-- What happened to each account, newest last. Plain words and provider codes; never a
-- token or code.
CREATE TABLE account_timeline (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    at         INTEGER NOT NULL, -- unix ms
    kind       TEXT NOT NULL,    -- added, refreshed, refresh_failed, needs_sign_in, ...
    detail     TEXT NOT NULL DEFAULT '',
    code       TEXT
) STRICT;
CREATE INDEX account_timeline_by_account ON account_timeline (account_id, at);
