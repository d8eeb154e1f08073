-- A message's stored bytes are now kept compressed (one zstd frame) when that makes them
-- smaller: JSON, HTML and MIME text take a third or less of their size. Rows stored
-- before keep their bytes as they are (compressed = 0).
ALTER TABLE mail_raw ADD COLUMN compressed INTEGER NOT NULL DEFAULT 0 CHECK (compressed IN (0, 1));
