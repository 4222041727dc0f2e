-- retention and erasure

-- Personal data of an audit entry, held apart from the hashed entry, which holds in its place
-- `sha256:` and the hex SHA-256 of `salt` followed by the canonical JSON of `value`. Erasing a
-- payload sets `value` and `salt` to NULL (the row stays, marking the digest as erased): with
-- the salt gone, the digest of a guessable value can no longer be confirmed. `customer_id`
-- is the customer the payload concerns, when one does; erased with it. Entries written before
-- this migration hold their values inside the hashed entry and have no payloads: rewriting
-- them would break the chain, so they stay as they were.
CREATE TABLE audit_payloads (
    seq INTEGER NOT NULL,
    pointer TEXT NOT NULL,
    salt TEXT,
    value TEXT,
    customer_id TEXT,
    erased_at TEXT,
    PRIMARY KEY (seq, pointer),
    CHECK ((erased_at IS NULL) = (value IS NOT NULL AND salt IS NOT NULL))
) WITHOUT ROWID;

CREATE INDEX audit_payloads_customer ON audit_payloads (customer_id) WHERE customer_id IS NOT NULL;

-- Customers erased: never their id, only a salted SHA-256 of it, so that erasing the same id
-- again is told apart from an id never known ("already erased").
CREATE TABLE erasures (
    seq INTEGER PRIMARY KEY,
    digest TEXT NOT NULL,
    salt TEXT NOT NULL,
    erased_at TEXT NOT NULL
);
