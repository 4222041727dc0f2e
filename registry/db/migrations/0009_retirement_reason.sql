-- retirement reason

-- Why a sub-processor was retired, or is to be: retired_on may be a later day, until which
-- the record stays in force (its status reads retired from that day on, with no write).
ALTER TABLE subprocessors ADD COLUMN retired_reason TEXT;
