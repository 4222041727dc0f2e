-- register history, change feed, objections, webhooks

CREATE TABLE subprocessor_versions (
    subprocessor_id TEXT NOT NULL REFERENCES subprocessors (id),
    version INTEGER NOT NULL,
    recorded_at TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (subprocessor_id, version)
) WITHOUT ROWID;

CREATE INDEX subprocessor_versions_recorded ON subprocessor_versions (recorded_at);

CREATE TABLE changes (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    at TEXT NOT NULL,
    type TEXT NOT NULL,
    subprocessor_id TEXT NOT NULL REFERENCES subprocessors (id),
    version INTEGER NOT NULL,
    data TEXT NOT NULL
);

CREATE TABLE objections (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    subprocessor_id TEXT NOT NULL REFERENCES subprocessors (id),
    customer_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    reason TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (subprocessor_id, customer_id)
);

CREATE INDEX objections_customer ON objections (customer_id, seq);

CREATE TABLE webhooks (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    customer_id TEXT NOT NULL,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    description TEXT,
    status TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    disabled_reason TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE INDEX webhooks_customer ON webhooks (customer_id, seq);

CREATE TABLE webhook_deliveries (
    seq INTEGER PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id),
    change_seq INTEGER NOT NULL REFERENCES changes (seq),
    message_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_attempt_at TEXT,
    last_status_code INTEGER,
    last_error TEXT,
    delivered_at TEXT,
    UNIQUE (webhook_id, change_seq)
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, seq);

CREATE TABLE webhook_attempts (
    seq INTEGER PRIMARY KEY,
    delivery_seq INTEGER NOT NULL REFERENCES webhook_deliveries (seq),
    attempt INTEGER NOT NULL,
    at TEXT NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms INTEGER NOT NULL
);

CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_seq, attempt);

CREATE INDEX audit_action ON audit (action, seq);
