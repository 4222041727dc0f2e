-- document malware scans
-- Each copy's last malware scan: `clean` (ClamAV found nothing) or `infected` (found by a
-- rescan, the copy withdrawn), with the engine and signature versions and when. A copy with no
-- row was stored with no scanner configured, as every copy before this migration was: its scan
-- reads `not_scanned`.
CREATE TABLE IF NOT EXISTS document_scans (
    document_id TEXT PRIMARY KEY REFERENCES documents (id),
    scan TEXT NOT NULL CHECK (scan IN ('clean', 'infected')),
    scan_engine TEXT NOT NULL,
    scan_signatures TEXT,
    scanned_at TEXT NOT NULL
);
