-- personal-data breach notifications

-- A personal-data breach at a sub-processor, as this organisation tells its customers of it
-- (GDPR Art. 33(2), with the facts of Art. 33(3)). The row holds the current version;
-- incident_versions keeps every version. `detected_on` is a UTC timestamp, so an incident
-- overdue for notice is found by comparing it as a string. `all_customers` = 1: it concerns
-- every customer, else those in incident_customers.
CREATE TABLE incidents (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    subprocessor_id TEXT NOT NULL REFERENCES subprocessors (id),
    status TEXT NOT NULL CHECK (status IN ('open', 'communicated', 'closed')),
    version INTEGER NOT NULL,
    detected_on TEXT NOT NULL,
    facts TEXT NOT NULL,
    all_customers INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    communicated_at TEXT,
    closed_at TEXT
);

CREATE INDEX incidents_status ON incidents (status, detected_on);

CREATE INDEX incidents_subprocessor ON incidents (subprocessor_id, seq);

-- Every version as it was written; `record` is the staff representation's JSON.
CREATE TABLE incident_versions (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    version INTEGER NOT NULL,
    at TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (incident_id, version)
);

-- The customers an incident concerns (named, or every customer once told), and when each
-- was first told of it.
CREATE TABLE incident_customers (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    customer_id TEXT NOT NULL,
    told_at TEXT,
    PRIMARY KEY (incident_id, customer_id)
);

CREATE INDEX incident_customers_customer ON incident_customers (customer_id, incident_id);
