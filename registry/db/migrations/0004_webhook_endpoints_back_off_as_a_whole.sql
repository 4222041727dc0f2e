-- webhook endpoints back off as a whole

-- When an endpoint may next be tried: a claim's lease, or its back-off after a
-- failure; NULL when healthy and idle.
ALTER TABLE webhooks ADD COLUMN retry_at TEXT;

CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, status, seq);
