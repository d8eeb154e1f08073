-- Mail, synced per account, and the sync engine's checkpoints and run log.

-- Gmail labels and Outlook folders, one row each per account.
CREATE TABLE mail_folders (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id         TEXT NOT NULL,             -- the provider's label or folder id
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('system', 'user')),
    parent_id  TEXT,                      -- Outlook's nested folders
    PRIMARY KEY (account_id, id)
) STRICT;

-- One row per message and account: the same Message-ID in two of the user's accounts is
-- two rows, shown once in the inbox (grouped by message_id).
CREATE TABLE mail_messages (
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,          -- Gmail id, or Graph's immutable id
    thread_id     TEXT NOT NULL,          -- Gmail threadId, Graph conversationId
    message_id    TEXT,                   -- the Message-ID header, without brackets
    subject       TEXT NOT NULL DEFAULT '',
    from_name     TEXT NOT NULL DEFAULT '',
    from_address  TEXT NOT NULL DEFAULT '',
    recipients    TEXT NOT NULL DEFAULT '[]', -- JSON: [{"kind","name","address"}]
    received_at   INTEGER NOT NULL,       -- unix ms
    snippet       TEXT NOT NULL DEFAULT '',
    body_text     TEXT NOT NULL DEFAULT '',
    has_html      INTEGER NOT NULL DEFAULT 0,
    unread        INTEGER NOT NULL DEFAULT 0,
    starred       INTEGER NOT NULL DEFAULT 0, -- Gmail STARRED, Outlook flagged
    attachments   TEXT NOT NULL DEFAULT '[]', -- JSON metadata; the bytes stay in raw
    size          INTEGER NOT NULL DEFAULT 0,
    raw           BLOB,                   -- the message as received: nothing is lost
    raw_format    TEXT NOT NULL DEFAULT 'rfc822' CHECK (raw_format IN ('rfc822', 'graph-json')),
    problem       TEXT,                   -- why it could not be read, if it could not
    version       TEXT,                   -- Gmail historyId or Graph changeKey
    PRIMARY KEY (account_id, id)
) STRICT;
CREATE INDEX mail_messages_newest ON mail_messages (received_at DESC);
CREATE INDEX mail_messages_by_header ON mail_messages (message_id);
CREATE INDEX mail_messages_by_thread ON mail_messages (account_id, thread_id);

CREATE TABLE mail_message_folders (
    account_id TEXT NOT NULL,
    message    TEXT NOT NULL,
    folder     TEXT NOT NULL,
    PRIMARY KEY (account_id, message, folder),
    FOREIGN KEY (account_id, message) REFERENCES mail_messages (account_id, id) ON DELETE CASCADE
) STRICT;

-- Full-text search over subject, participants, body text and attachment names. Its rowid
-- is mail_messages' rowid; triggers keep it in step, inside the writing transaction
-- (deleting an account's messages by cascade fires them too).
CREATE VIRTUAL TABLE mail_search USING fts5 (
    subject, participants, body, attachments,
    tokenize = 'unicode61 remove_diacritics 2'
);
-- What search indexes of a message, in one place for the triggers below.
CREATE VIEW mail_search_source AS
SELECT rowid,
       subject,
       from_name || ' ' || from_address || ' ' || coalesce((
           SELECT group_concat(json_extract(value, '$.name') || ' ' || json_extract(value, '$.address'), ' ')
           FROM json_each(recipients)), '') AS participants,
       body_text AS body,
       coalesce((SELECT group_concat(json_extract(value, '$.filename'), ' ') FROM json_each(attachments)), '') AS attachments
FROM mail_messages;
CREATE TRIGGER mail_search_add AFTER INSERT ON mail_messages BEGIN
    INSERT INTO mail_search (rowid, subject, participants, body, attachments)
    SELECT rowid, subject, participants, body, attachments FROM mail_search_source WHERE rowid = new.rowid;
END;
CREATE TRIGGER mail_search_remove AFTER DELETE ON mail_messages BEGIN
    DELETE FROM mail_search WHERE rowid = old.rowid;
END;
CREATE TRIGGER mail_search_change AFTER UPDATE OF subject, from_name, from_address, recipients, body_text, attachments ON mail_messages BEGIN
    DELETE FROM mail_search WHERE rowid = old.rowid;
    INSERT INTO mail_search (rowid, subject, participants, body, attachments)
    SELECT rowid, subject, participants, body, attachments FROM mail_search_source WHERE rowid = new.rowid;
END;

-- Where each account's sync of a service stands: the provider's own checkpoint
-- (historyId, delta link, page token) as JSON, written in the same transaction as the
-- data it covers. `scope` separates Graph's per-folder rounds ('' when one per service).
CREATE TABLE sync_checkpoints (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    service    TEXT NOT NULL CHECK (service IN ('mail', 'calendar', 'contacts')),
    scope      TEXT NOT NULL DEFAULT '',
    checkpoint TEXT NOT NULL,
    updated_at INTEGER NOT NULL,          -- unix ms
    PRIMARY KEY (account_id, service, scope)
) STRICT;

-- One row per sync run, for the account page's sync log.
CREATE TABLE sync_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    service     TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('full', 'incremental', 'reset')),
    started_at  INTEGER NOT NULL,         -- unix ms
    finished_at INTEGER,
    added       INTEGER NOT NULL DEFAULT 0,
    changed     INTEGER NOT NULL DEFAULT 0,
    removed     INTEGER NOT NULL DEFAULT 0,
    requests    INTEGER NOT NULL DEFAULT 0,
    quota_units INTEGER NOT NULL DEFAULT 0,
    error       TEXT
) STRICT;
CREATE INDEX sync_runs_by_account ON sync_runs (account_id, service, started_at);
