-- Two changes that keep lists and searches fast in a large mailbox.
--
-- 1. A message's bytes move to a table of their own, so rows of mail_messages stay small:
--    a list or a search reads a few pages instead of one page (or more) per message.
CREATE TABLE mail_raw (
    account_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    raw        BLOB NOT NULL,             -- the message as received: nothing is lost
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, id) REFERENCES mail_messages (account_id, id) ON DELETE CASCADE
) STRICT;
INSERT INTO mail_raw (account_id, id, raw)
SELECT account_id, id, raw FROM mail_messages WHERE raw IS NOT NULL;
ALTER TABLE mail_messages DROP COLUMN raw;

-- 2. A message's rowid follows its date: received_at (unix ms, kept within 1 ms and
--    year 2223) times 2^20, plus a number among messages of the same millisecond. The
--    full-text index is keyed by rowid, so it can give the newest matches first and stop.
--    The store assigns rowids this way from now on; existing rows are renumbered (first
--    out of the way, below zero, so no two rows ever share one) and the index rebuilt.
CREATE TEMP TABLE renumber (old INTEGER PRIMARY KEY, new INTEGER NOT NULL);
INSERT INTO renumber (old, new)
SELECT rowid, (max(1, min(received_at, 8000000000000)) << 20) - 1 + row_number() OVER (
           PARTITION BY max(1, min(received_at, 8000000000000)) ORDER BY rowid)
FROM mail_messages;
UPDATE mail_messages SET rowid = -rowid;
UPDATE mail_messages SET rowid = (SELECT new FROM renumber WHERE old = -mail_messages.rowid);
DROP TABLE renumber;
DELETE FROM mail_search;
INSERT INTO mail_search (rowid, subject, participants, body, attachments)
SELECT rowid, subject, participants, body, attachments FROM mail_search_source;

-- The list's order (newest first, then account and id), so a page is read off the index.
DROP INDEX mail_messages_newest;
CREATE INDEX mail_messages_order ON mail_messages (received_at, account_id, id);
