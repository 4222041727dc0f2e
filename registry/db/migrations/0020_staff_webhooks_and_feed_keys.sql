-- staff webhooks and feed keys

-- Feed keys: role `feed`, bound to one customer as a customer key is. The table is rebuilt
-- to widen its checks (SQLite cannot alter a CHECK); no other table refers to it.
CREATE TABLE api_keys_widened (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL
        CHECK (role IN ('admin', 'procurement', 'customer', 'service', 'feed')),
    customer_id TEXT,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    expires_on TEXT,
    last_used_on TEXT,
    CHECK ((role IN ('customer', 'feed')) = (customer_id IS NOT NULL))
);

INSERT INTO api_keys_widened
    (id, name, role, customer_id, token_hash, created_at, revoked_at, expires_on, last_used_on)
SELECT id, name, role, customer_id, token_hash, created_at, revoked_at, expires_on, last_used_on
FROM api_keys;

DROP TABLE api_keys;

ALTER TABLE api_keys_widened RENAME TO api_keys;

-- Staff webhooks: no customer, owned by the staff role that registered them (admin or
-- procurement). webhook_deliveries refers to this table, so its rows are put back under the
-- same ids before the transaction commits: the foreign key is checked then, not on the DROP.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE webhooks_before AS SELECT * FROM webhooks;

DROP TABLE webhooks;

CREATE TABLE webhooks (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    customer_id TEXT,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    description TEXT,
    status TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    disabled_reason TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    retry_at TEXT,
    secret_created_at TEXT,
    previous_secret TEXT,
    previous_secret_expires_at TEXT,
    owner_role TEXT CHECK (owner_role IN ('admin', 'procurement')),
    CHECK ((customer_id IS NULL) = (owner_role IS NOT NULL))
);

INSERT INTO webhooks
    (seq, id, customer_id, url, events, secret, description, status, consecutive_failures,
     disabled_reason, version, created_at, updated_at, retry_at, secret_created_at,
     previous_secret, previous_secret_expires_at)
SELECT seq, id, customer_id, url, events, secret, description, status, consecutive_failures,
    disabled_reason, version, created_at, updated_at, retry_at, secret_created_at,
    previous_secret, previous_secret_expires_at
FROM webhooks_before;

DROP TABLE webhooks_before;

CREATE INDEX webhooks_customer ON webhooks (customer_id, seq);

CREATE INDEX webhooks_staff ON webhooks (owner_role, seq) WHERE owner_role IS NOT NULL;

CREATE INDEX webhooks_previous_secret ON webhooks (previous_secret_expires_at)
    WHERE previous_secret_expires_at IS NOT NULL;

-- When staff were told (`incident.overdue`) that an incident's notice is overdue: once each.
CREATE TABLE IF NOT EXISTS incident_overdue_told (
    incident_id TEXT PRIMARY KEY,
    told_at TEXT NOT NULL
);
