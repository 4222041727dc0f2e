-- onward transfers and recorded verdicts

-- A sub-processor's own sub-processors, as JSON like `locations`; records written before
-- had none recorded.
ALTER TABLE subprocessors ADD COLUMN onward_transfers TEXT NOT NULL DEFAULT '[]';

-- The verdict each sub-processor last had, so that a verdict changed by the law (a new act
-- loaded, an expiry passed) or by new rules is announced in the change feed. `rules` is
-- the engine's rules version the verdict was computed under.
CREATE TABLE verdicts (
    subprocessor_id TEXT PRIMARY KEY REFERENCES subprocessors (id),
    version INTEGER NOT NULL,
    law_version TEXT NOT NULL,
    rules INTEGER NOT NULL,
    as_of TEXT NOT NULL,
    status TEXT NOT NULL,
    flags TEXT NOT NULL,
    recorded_at TEXT NOT NULL
) WITHOUT ROWID;

-- Sub-processors already on the register were judged under the rules before version 2:
-- the first sweep compares their verdicts with that, and announces what the new rules
-- changed. A register that is empty now has nothing to compare.
INSERT INTO meta (key, value)
    SELECT 'verdicts_before_rules', '1' WHERE EXISTS (SELECT 1 FROM subprocessors);
