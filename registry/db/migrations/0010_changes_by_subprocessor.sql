-- changes by sub-processor

-- The register as it stood on a day shows what was pending then: each listed
-- sub-processor's own change events, read along this key.
CREATE INDEX changes_subprocessor ON changes (subprocessor_id, seq);
