-- initial schema

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

INSERT INTO meta (key, value) VALUES ('revision', '0');

CREATE TABLE law (
    version TEXT PRIMARY KEY,
    records TEXT NOT NULL,
    loaded_at TEXT NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL
        CHECK (role IN ('admin', 'procurement', 'customer', 'service')),
    customer_id TEXT,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    CHECK ((role = 'customer') = (customer_id IS NOT NULL))
);

CREATE TABLE subprocessors (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    legal_entity TEXT,
    service TEXT NOT NULL,
    purpose TEXT,
    data_categories TEXT NOT NULL,
    locations TEXT NOT NULL,
    effective_on TEXT NOT NULL,
    announced_on TEXT NOT NULL,
    retired_on TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    changed_revision INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Lets a worker re-evaluate only what changed since the revision it has.
CREATE INDEX subprocessors_changed ON subprocessors (changed_revision);

CREATE UNIQUE INDEX subprocessors_current_name
    ON subprocessors (name COLLATE NOCASE) WHERE retired_on IS NULL;

CREATE INDEX subprocessors_service ON subprocessors (service, seq);

CREATE TABLE subprocessor_countries (
    country TEXT NOT NULL,
    subprocessor_seq INTEGER NOT NULL
        REFERENCES subprocessors (seq) ON DELETE CASCADE,
    PRIMARY KEY (country, subprocessor_seq)
) WITHOUT ROWID;

-- Rewriting a sub-processor's countries looks them up by sub-processor.
CREATE INDEX subprocessor_countries_seq ON subprocessor_countries (subprocessor_seq);
