-- change control

-- A change is material (customers are told, and may object) or housekeeping (internal);
-- a change meant for one customer only (an answer to its objection) names that customer.
ALTER TABLE changes ADD COLUMN material INTEGER NOT NULL DEFAULT 1;

ALTER TABLE changes ADD COLUMN customer_id TEXT;

CREATE INDEX changes_customer ON changes (customer_id, seq) WHERE customer_id IS NOT NULL;

-- A vendor recorded after the fact (already in use): never announced as new.
ALTER TABLE subprocessors ADD COLUMN already_in_use INTEGER NOT NULL DEFAULT 0;

-- Why a sub-processor took effect with less notice than promised, when it did.
ALTER TABLE subprocessors ADD COLUMN urgent_reason TEXT;

-- A material change announced but not yet in force: the current version stays in force
-- until effective_on. At most one per sub-processor; a new one replaces it.
CREATE TABLE pending_changes (
    subprocessor_id TEXT PRIMARY KEY REFERENCES subprocessors (id),
    change_id TEXT NOT NULL UNIQUE,
    base_version INTEGER NOT NULL,
    changes TEXT NOT NULL,
    announced_on TEXT NOT NULL,
    effective_on TEXT NOT NULL,
    urgent_reason TEXT,
    created_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX pending_changes_effective ON pending_changes (effective_on);
