-- Ferry's first schema. Migrations are append-only once merged: change the schema with a
-- new timestamped file, never by editing this one.

-- One row per connected account, keyed by who the provider says it is (provider, tenant,
-- subject), never by email: emails change and can be reassigned.
CREATE TABLE accounts (
    id           TEXT PRIMARY KEY NOT NULL,
    provider     TEXT NOT NULL CHECK (provider IN ('google', 'microsoft')),
    tenant       TEXT NOT NULL DEFAULT '',
    subject      TEXT NOT NULL,
    email        TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL, -- unix milliseconds
    updated_at   INTEGER NOT NULL, -- unix milliseconds
    UNIQUE (provider, tenant, subject)
) STRICT;

-- Small user preferences (notifications on/off, launch at login, ...), one JSON value each.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
