-- timestamps in milliseconds

-- Every stored timestamp now has one shape, YYYY-MM-DDTHH:MM:SS.sssZ, so timestamps
-- compare as strings (and the webhook claim can seek its index instead of computing
-- julianday() per row). Rows written at second precision gain ".000"; webhook times
-- were already in milliseconds. Audit entries keep the `at` they were hashed with.
UPDATE law SET loaded_at = substr(loaded_at, 1, 19) || '.000Z' WHERE length(loaded_at) = 20;

UPDATE api_keys SET created_at = substr(created_at, 1, 19) || '.000Z' WHERE length(created_at) = 20;

UPDATE api_keys SET revoked_at = substr(revoked_at, 1, 19) || '.000Z' WHERE length(revoked_at) = 20;

UPDATE subprocessors SET created_at = substr(created_at, 1, 19) || '.000Z' WHERE length(created_at) = 20;

UPDATE subprocessors SET updated_at = substr(updated_at, 1, 19) || '.000Z' WHERE length(updated_at) = 20;

UPDATE documents SET uploaded_at = substr(uploaded_at, 1, 19) || '.000Z' WHERE length(uploaded_at) = 20;

UPDATE documentation_requests SET created_at = substr(created_at, 1, 19) || '.000Z' WHERE length(created_at) = 20;

UPDATE documentation_request_items SET fulfilled_at = substr(fulfilled_at, 1, 19) || '.000Z' WHERE length(fulfilled_at) = 20;

UPDATE disclosures SET disclosed_at = substr(disclosed_at, 1, 19) || '.000Z' WHERE length(disclosed_at) = 20;

UPDATE subprocessor_versions SET recorded_at = substr(recorded_at, 1, 19) || '.000Z' WHERE length(recorded_at) = 20;

UPDATE changes SET at = substr(at, 1, 19) || '.000Z' WHERE length(at) = 20;

UPDATE objections SET created_at = substr(created_at, 1, 19) || '.000Z' WHERE length(created_at) = 20;

UPDATE webhooks SET created_at = substr(created_at, 1, 19) || '.000Z' WHERE length(created_at) = 20;

UPDATE webhooks SET updated_at = substr(updated_at, 1, 19) || '.000Z' WHERE length(updated_at) = 20;

UPDATE webhook_deliveries SET next_attempt_at = substr(next_attempt_at, 1, 19) || '.000Z' WHERE length(next_attempt_at) = 20;
