-- opaque cursors and repeated downloads

-- The secret list cursors are encrypted and tagged with (registry/http/cursors.py): made
-- once, here, from SQLite's randomness (seeded by the operating system), so every worker and
-- every restart shares it, and a backup keeps it. Never served.
INSERT INTO meta (key, value) VALUES ('cursor_secret', lower(hex(randomblob(32))));

-- Repeated downloads of one copy by one key within REGISTRY_DISCLOSURE_WINDOW are one
-- disclosure: how many downloads it stands for, and when the last was.
ALTER TABLE disclosures ADD COLUMN downloads INTEGER NOT NULL DEFAULT 1;

ALTER TABLE disclosures ADD COLUMN last_downloaded_at TEXT;

UPDATE disclosures SET last_downloaded_at = disclosed_at;

CREATE INDEX disclosures_key_document ON disclosures (key_id, document_id, seq);
