-- webhook secret rotation

-- When the current signing secret was made (registration or its last rotation);
-- endpoints registered before keep their registration time.
ALTER TABLE webhooks ADD COLUMN secret_created_at TEXT;

UPDATE webhooks SET secret_created_at = created_at;

-- The secret a rotation replaced, still signing beside the new one until its expiry,
-- then removed. Both are NULL outside an overlap window.
ALTER TABLE webhooks ADD COLUMN previous_secret TEXT;

ALTER TABLE webhooks ADD COLUMN previous_secret_expires_at TEXT;

CREATE INDEX webhooks_previous_secret ON webhooks (previous_secret_expires_at)
    WHERE previous_secret_expires_at IS NOT NULL;
