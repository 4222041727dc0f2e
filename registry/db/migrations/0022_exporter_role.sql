-- exporter role per sub-processor

-- This organisation's role for the data it passes to each sub-processor: processor for its
-- customers' data, controller for its own (staff, billing). It decides the SCC module the
-- transfer needs. NULL: the organisation's role (REGISTRY_ORGANISATION_ROLE).
ALTER TABLE subprocessors ADD COLUMN exporter_role TEXT
    CHECK (exporter_role IS NULL OR exporter_role IN ('processor', 'controller'));
