-- document withdrawal and supersession

-- A copy is never deleted: withdrawn, it keeps its row and its SHA-256 for the audit trail,
-- with who withdrew it, when and why. It is no longer served to customers nor counted as a
-- copy on file.
ALTER TABLE documents ADD COLUMN withdrawn_at TEXT;

ALTER TABLE documents ADD COLUMN withdrawn_by TEXT;

ALTER TABLE documents ADD COLUMN withdrawn_reason TEXT;

-- A copy uploaded to replace another names it, and the replaced one names its successor.
ALTER TABLE documents ADD COLUMN supersedes TEXT REFERENCES documents (id);

ALTER TABLE documents ADD COLUMN superseded_by TEXT REFERENCES documents (id);

-- The customers a withdrawn copy was disclosed to are listed by document.
CREATE INDEX disclosures_document ON disclosures (document_id, seq);
