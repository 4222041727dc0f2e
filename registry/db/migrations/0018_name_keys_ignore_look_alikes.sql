-- name keys ignore look-alike letters

-- Name keys now also drop every default-ignorable code point and compare the confusable
-- skeleton of UTS #39 (Cyrillic a as Latin a, 0 as o, rn as m): see
-- registry/subprocessors/names.py. SQL cannot compute the new keys; the old ones are
-- cleared here and `registry init` (which every `registry serve` runs) fills them again,
-- as it did for 0011. Until then, and for a current row whose new key another current row
-- already has, names are compared one by one, as for rows without a key.
UPDATE subprocessors SET name_key = NULL;
