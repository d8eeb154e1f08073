-- New messages are indexed for search by the statement that writes them
-- (store::mail::index_for_search): one INSERT per page of messages, in rowid order,
-- instead of this trigger's one per row. Changes and removals keep their triggers.
DROP TRIGGER mail_search_add;
