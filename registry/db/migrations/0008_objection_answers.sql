-- objection answers

-- An objection is to one change (the sub-processor's announcement, or a material change
-- announced and pending), once per customer and change; staff answer it (upheld,
-- dismissed) or its customer withdraws it. SQLite cannot drop the old constraint (one per
-- customer and sub-processor), so the table is rebuilt; each existing objection is to
-- its sub-processor's announcement (NULL when none was recorded).
CREATE TABLE objections_answered (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    subprocessor_id TEXT NOT NULL REFERENCES subprocessors (id),
    change_id TEXT,
    customer_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    reason TEXT,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'upheld', 'dismissed', 'withdrawn')),
    response TEXT,
    resolved_at TEXT,
    resolved_by TEXT,
    UNIQUE (change_id, customer_id)
);

INSERT INTO objections_answered
    (seq, id, subprocessor_id, change_id, customer_id, key_id, reason, created_at)
SELECT o.seq, o.id, o.subprocessor_id,
    (SELECT c.id FROM changes c
        WHERE c.subprocessor_id = o.subprocessor_id AND c.type = 'subprocessor.announced'
        ORDER BY c.seq LIMIT 1),
    o.customer_id, o.key_id, o.reason, o.created_at
FROM objections o;

DROP TABLE objections;

ALTER TABLE objections_answered RENAME TO objections;

CREATE INDEX objections_customer ON objections (customer_id, seq);

CREATE INDEX objections_subprocessor ON objections (subprocessor_id, seq);

-- A sub-processor's announcement, found without reading the whole feed.
CREATE INDEX changes_subprocessor_type ON changes (subprocessor_id, type, seq);
