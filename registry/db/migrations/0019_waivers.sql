-- waivers and evidence reminders

-- A waiver: staff accept the risk of one warning (`code`) on one sub-processor, in one
-- country (NULL for a warning raised with no country), until `expires_on` (the first day it
-- no longer applies). A revoked waiver keeps its row, with who revoked it and when, for the
-- audit trail. `created_by` and `revoked_by` are the acting key's id, or the operator's name.
CREATE TABLE IF NOT EXISTS waivers (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    subprocessor_id TEXT NOT NULL REFERENCES subprocessors (id),
    code TEXT NOT NULL,
    country TEXT,
    reason TEXT NOT NULL,
    expires_on TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT,
    revoked_at TEXT,
    revoked_by TEXT
);

CREATE INDEX IF NOT EXISTS waivers_subprocessor ON waivers (subprocessor_id, seq);

-- Each evidence.due event the daily sweep recorded, once per item and due date: a later
-- sweep finds the row and records nothing again; a new due date is a new row.
CREATE TABLE IF NOT EXISTS evidence_reminders (
    kind TEXT NOT NULL,
    item TEXT NOT NULL,
    due_on TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (kind, item, due_on)
);
