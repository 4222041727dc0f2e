-- key lifecycle

-- An expiry date (the last day the key works, in the registry's zone) and the last day it
-- was used (written at most once per key per day). Keys made before stay without expiry;
-- their customer ids are kept as they were written, unvalidated.
ALTER TABLE api_keys ADD COLUMN expires_on TEXT;

ALTER TABLE api_keys ADD COLUMN last_used_on TEXT;
