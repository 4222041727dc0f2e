-- name keys

-- Names are unique among current sub-processors by a key that ignores what a reader cannot
-- see: NFKC, case folded, format characters (U+200B, U+FEFF, ...) removed, whitespace runs
-- collapsed. SQL cannot compute it; the sub-processors' store writes it with every name,
-- and `registry init` fills it for rows written before this migration. The NOCASE index of
-- 0001 stays.
ALTER TABLE subprocessors ADD COLUMN name_key TEXT;

CREATE UNIQUE INDEX subprocessors_current_name_key
    ON subprocessors (name_key) WHERE retired_on IS NULL AND name_key IS NOT NULL;

-- The rows still without a key (written before this migration, or whose key clashed with
-- another current row's): few, and compared one by one.
CREATE INDEX subprocessors_unkeyed
    ON subprocessors (id) WHERE retired_on IS NULL AND name_key IS NULL;
