-- Two CHECK constraints let in one new value each. SQLite cannot change a CHECK in place,
-- so each table is built again under its new definition, inside this migration's
-- transaction, with every row (and every rowid, which the search index is keyed by)
-- carried over.
--
-- 1. mail_messages.raw_format: 'gmail-json', Gmail's JSON for a message fetched with its
--    conversation (threads.get, which has no raw format); its MIME source is fetched
--    from Gmail when an export needs it.
-- 2. sync_runs.kind: 'deeper', a run that fetches the older mail a deeper "Keep mail
--    from" setting adds.
--
-- Foreign keys stay on during a migration, so the parent cannot simply be dropped (its
-- rows' deletion would cascade): the children are built again first, pointing at the new
-- parent, and every name is moved into place at the end.

DROP VIEW mail_search_source;
DROP TRIGGER mail_search_add;
DROP TRIGGER mail_search_remove;
DROP TRIGGER mail_search_change;
DROP INDEX mail_messages_by_header;
DROP INDEX mail_messages_by_thread;
DROP INDEX mail_messages_order;

CREATE TABLE mail_messages_next (
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
    attachments   TEXT NOT NULL DEFAULT '[]', -- JSON metadata
    size          INTEGER NOT NULL DEFAULT 0,
    raw_format    TEXT NOT NULL DEFAULT 'rfc822'
                  CHECK (raw_format IN ('rfc822', 'graph-json', 'gmail-json')),
    problem       TEXT,                   -- why it could not be read, if it could not
    version       TEXT,                   -- Gmail historyId or Graph changeKey
    PRIMARY KEY (account_id, id)
) STRICT;
INSERT INTO mail_messages_next (rowid, account_id, id, thread_id, message_id, subject,
    from_name, from_address, recipients, received_at, snippet, body_text, has_html, unread,
    starred, attachments, size, raw_format, problem, version)
SELECT rowid, account_id, id, thread_id, message_id, subject, from_name, from_address,
    recipients, received_at, snippet, body_text, has_html, unread, starred, attachments,
    size, raw_format, problem, version
FROM mail_messages;

CREATE TABLE mail_raw_next (
    account_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    raw        BLOB NOT NULL,             -- the message as received: nothing is lost
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, id) REFERENCES mail_messages_next (account_id, id) ON DELETE CASCADE
) STRICT;
INSERT INTO mail_raw_next (account_id, id, raw) SELECT account_id, id, raw FROM mail_raw;

CREATE TABLE mail_message_folders_next (
    account_id TEXT NOT NULL,
    message    TEXT NOT NULL,
    folder     TEXT NOT NULL,
    PRIMARY KEY (account_id, message, folder),
    FOREIGN KEY (account_id, message) REFERENCES mail_messages_next (account_id, id) ON DELETE CASCADE
) STRICT;
INSERT INTO mail_message_folders_next (account_id, message, folder)
SELECT account_id, message, folder FROM mail_message_folders;

-- The old tables have no child left that a deletion could cascade to.
DROP TABLE mail_raw;
DROP TABLE mail_message_folders;
DROP TABLE mail_messages;
-- Renaming a parent rewrites its children's references to the new name.
ALTER TABLE mail_messages_next RENAME TO mail_messages;
ALTER TABLE mail_raw_next RENAME TO mail_raw;
ALTER TABLE mail_message_folders_next RENAME TO mail_message_folders;

CREATE INDEX mail_messages_by_header ON mail_messages (message_id);
CREATE INDEX mail_messages_by_thread ON mail_messages (account_id, thread_id);
CREATE INDEX mail_messages_order ON mail_messages (received_at, account_id, id);

-- The search index's source and triggers, as before (the index itself is unchanged: the
-- rowids it is keyed by were carried over).
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

CREATE TABLE sync_runs_next (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    service     TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('full', 'incremental', 'reset', 'deeper')),
    started_at  INTEGER NOT NULL,         -- unix ms
    finished_at INTEGER,
    added       INTEGER NOT NULL DEFAULT 0,
    changed     INTEGER NOT NULL DEFAULT 0,
    removed     INTEGER NOT NULL DEFAULT 0,
    requests    INTEGER NOT NULL DEFAULT 0,
    quota_units INTEGER NOT NULL DEFAULT 0,
    error       TEXT
) STRICT;
INSERT INTO sync_runs_next SELECT * FROM sync_runs;
DROP TABLE sync_runs;
ALTER TABLE sync_runs_next RENAME TO sync_runs;
CREATE INDEX sync_runs_by_account ON sync_runs (account_id, service, started_at);
