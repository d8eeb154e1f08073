-- Tokens and per-service grants for each account.

-- An account's tokens, sealed with AES-256-GCM under a key derived from the keychain's
-- vault key (the account id is the associated data). Only non-secret facts are in clear.
CREATE TABLE account_tokens (
    account_id        TEXT PRIMARY KEY NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    sealed            BLOB NOT NULL,
    access_expires_at INTEGER NOT NULL, -- unix milliseconds
    scopes            TEXT NOT NULL,    -- granted scopes, space-separated
    updated_at        INTEGER NOT NULL  -- unix milliseconds
) STRICT;

-- What the user asked for and what the provider granted, per service.
CREATE TABLE account_services (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    service    TEXT NOT NULL CHECK (service IN ('mail', 'calendar', 'contacts')),
    requested  INTEGER NOT NULL CHECK (requested IN (0, 1)),
    granted    INTEGER NOT NULL CHECK (granted IN (0, 1)),
    access     TEXT NOT NULL DEFAULT 'read' CHECK (access IN ('read', 'readwrite')),
    PRIMARY KEY (account_id, service)
) STRICT;

ALTER TABLE accounts ADD COLUMN last_activity_at INTEGER; -- unix milliseconds
