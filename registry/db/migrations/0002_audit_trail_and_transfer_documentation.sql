-- audit trail and transfer documentation

-- Append-only and hash-chained: registry/audit/ is the only writer.
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT,
    change TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);

CREATE INDEX audit_object ON audit (object_type, object_id, seq);

CREATE TABLE documents (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    filename TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('scc', 'dpa', 'bcr', 'tia', 'other')),
    title TEXT NOT NULL,
    subprocessor_id TEXT REFERENCES subprocessors (id),
    country TEXT,
    audience TEXT NOT NULL CHECK (audience IN ('internal', 'disclosable')),
    summary TEXT,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);

CREATE INDEX documents_transfer ON documents (subprocessor_id, country, kind);

CREATE TABLE documentation_requests (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    customer_id TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    scope TEXT NOT NULL
);

CREATE INDEX documentation_requests_customer ON documentation_requests (customer_id, seq);

CREATE TABLE documentation_request_items (
    request_seq INTEGER NOT NULL
        REFERENCES documentation_requests (seq) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    subprocessor_id TEXT NOT NULL REFERENCES subprocessors (id),
    subprocessor_name TEXT NOT NULL,
    country TEXT NOT NULL,
    activity TEXT,
    mechanism TEXT,
    adequacy_decision TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'fulfilled', 'not_applicable')),
    document_id TEXT REFERENCES documents (id),
    fulfilled_at TEXT,
    note TEXT,
    PRIMARY KEY (request_seq, position)
) WITHOUT ROWID;

CREATE INDEX documentation_items_pending ON documentation_request_items (subprocessor_id, country) WHERE status = 'pending';

CREATE INDEX documentation_items_document ON documentation_request_items (document_id);

CREATE TABLE disclosures (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    customer_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    document_id TEXT NOT NULL REFERENCES documents (id),
    request_id TEXT NOT NULL REFERENCES documentation_requests (id),
    disclosed_at TEXT NOT NULL,
    range TEXT
);

CREATE INDEX disclosures_customer ON disclosures (customer_id, seq);
