-- Query plans (AuthorizationService.PlanResources) are audited as records
-- of their own kind, 'plan': who asked which resources of a kind they may
-- act on, for what purpose, and what kind of plan they got. The kind CHECK
-- of audit_log gains 'plan'; nothing else changes.
--
-- SQLite cannot alter a CHECK constraint in place, so audit_log is rebuilt
-- as in 0005: same columns, same rows, same seqs, the CHECKs of 0005 with
-- one more accepted kind (OR-chains, not IN lists, for the reason 0005
-- gives), its two indexes recreated. The index tables of 0006 and 0007 key
-- on seq and are untouched. The rebuild rewrites every row once at the
-- first start of this version: about as long as 0005 took (minutes on tens
-- of millions of records).
--
-- sqlite_sequence is carried over so seqs are never reused and a removal
-- of tail rows stays visible to VerifyChain.
CREATE TABLE audit_migration_0009_sequence (seq INTEGER NOT NULL) STRICT;
INSERT INTO audit_migration_0009_sequence (seq)
  SELECT seq FROM sqlite_sequence WHERE name = 'audit_log';

CREATE TABLE audit_log_0009 (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  time           INTEGER NOT NULL CHECK (time >= 0),
  kind           TEXT NOT NULL
                 CHECK (kind = 'decision' OR kind = 'admin' OR kind = 'auth'
                        OR kind = 'system' OR kind = 'plan'),
  decision_id    TEXT CHECK (decision_id IS NULL OR length(decision_id) >= 1),
  caller         TEXT NOT NULL DEFAULT '',
  principal      TEXT NOT NULL DEFAULT '',
  action         TEXT NOT NULL DEFAULT '',
  resource_kind  TEXT NOT NULL DEFAULT '',
  resource_id    TEXT NOT NULL DEFAULT '',
  resource_scope TEXT NOT NULL DEFAULT '',
  effect         TEXT NOT NULL
                 CHECK ((effect = 'ALLOW' OR effect = 'DENY' OR effect = 'OK'
                         OR effect = 'FAILED')
                        AND (kind <> 'decision' OR effect = 'ALLOW'
                             OR effect = 'DENY')),
  reason         TEXT NOT NULL DEFAULT '',
  rule_id        TEXT NOT NULL DEFAULT '',
  policy_version INTEGER CHECK (policy_version IS NULL OR policy_version >= 0),
  store_revision INTEGER CHECK (store_revision IS NULL OR store_revision >= 0),
  request_id     TEXT NOT NULL DEFAULT '',
  fields         TEXT NOT NULL DEFAULT '[]'
                 CHECK (json_valid(fields) AND json_type(fields) = 'array'),
  purpose        TEXT NOT NULL DEFAULT '',
  justification  TEXT NOT NULL DEFAULT '',
  attributes     BLOB,
  key_id         TEXT,
  details        TEXT CHECK (details IS NULL OR json_valid(details)),
  totp_verified  INTEGER CHECK (totp_verified IS NULL OR totp_verified = 0
                                OR totp_verified = 1),
  prev_hash      BLOB NOT NULL CHECK (length(prev_hash) = 32),
  hash           BLOB NOT NULL CHECK (length(hash) = 32),
  CHECK (kind <> 'decision' OR decision_id IS NOT NULL),
  CHECK (kind <> 'plan' OR decision_id IS NOT NULL),
  CHECK (key_id IS NULL OR attributes IS NOT NULL)
) STRICT;
INSERT INTO audit_log_0009
  SELECT * FROM audit_log ORDER BY seq;
DROP TABLE audit_log;
ALTER TABLE audit_log_0009 RENAME TO audit_log;
INSERT OR IGNORE INTO sqlite_sequence (name, seq)
  SELECT 'audit_log', 0 WHERE NOT EXISTS
    (SELECT 1 FROM sqlite_sequence WHERE name = 'audit_log');
UPDATE sqlite_sequence
  SET seq = MAX(seq, COALESCE((SELECT MAX(seq) FROM
                               audit_migration_0009_sequence), 0))
  WHERE name = 'audit_log';
DROP TABLE audit_migration_0009_sequence;

CREATE INDEX audit_log_by_time ON audit_log (time);
CREATE UNIQUE INDEX audit_log_by_decision_id ON audit_log (decision_id)
  WHERE decision_id IS NOT NULL;
