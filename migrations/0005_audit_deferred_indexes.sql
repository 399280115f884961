-- Audit write throughput (issue 6): the writer's group commit maintained
-- three indexes keyed on high-cardinality columns (principal; resource kind
-- and id; principal and rule). Each record landed on a different leaf page
-- of each, so every record dirtied ~1.2 pages (~4.8 KiB of WAL, fsynced)
-- and the trail was bound by the disk, not the CPU.
--
-- Those three indexes become WITHOUT ROWID tables filled behind a
-- watermark: the writer's transactions append only the row (and the
-- append-like indexes: time, decision id, rule, purpose); an indexer on the
-- writer thread (server/audit/indexer.h) takes the rows seq in
-- (indexed_through, MAX(seq)], inserts their keys in key order and advances
-- indexed_through in the same transaction, so each leaf is dirtied once per
-- pass instead of once per record and a crash simply re-indexes from the
-- watermark. Readers (server/audit/reader.cc) answer from the index table
-- UNION a scan of the rows above the watermark (a bounded rowid range).
-- Retention deletes the index entries of the rows it purges.
--
-- The migration rewrites every row of audit_log once (the table rebuild
-- below) and indexes them once: minutes on a trail of tens of millions of
-- records, at the first start of this version.
-- The audit_log table is rebuilt with the same columns, the same rows and
-- equivalent CHECK constraints: its IN-list checks (kind IN (...), effect IN
-- (...), totp_verified IN (...)) are written as OR-chains of equalities,
-- which accept and reject exactly the same values. SQLite evaluates a
-- constant IN list through an ephemeral lookup table; on the writer's
-- insert path those three lookups cost ~3.5 us of CPU per record (measured
-- with the sqlite3 shell, 131,072 rows in 1,024-row transactions: 1.43 s
-- user with the IN lists, 0.83 s without), a tenth of the whole per-record
-- cost of the trail.
--
-- sqlite_sequence (AUTOINCREMENT's high-water mark, which can be above
-- MAX(seq) when tail rows were removed) is carried over, so seqs are never
-- reused and such a removal stays visible to VerifyChain.
CREATE TABLE audit_migration_0005_sequence (seq INTEGER NOT NULL) STRICT;
INSERT INTO audit_migration_0005_sequence (seq)
  SELECT seq FROM sqlite_sequence WHERE name = 'audit_log';

CREATE TABLE audit_log_0005 (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  time           INTEGER NOT NULL CHECK (time >= 0),
  kind           TEXT NOT NULL
                 CHECK (kind = 'decision' OR kind = 'admin' OR kind = 'auth'
                        OR kind = 'system'),
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
  CHECK (key_id IS NULL OR attributes IS NOT NULL)
) STRICT;
INSERT INTO audit_log_0005
  SELECT * FROM audit_log ORDER BY seq;
DROP TABLE audit_log;
ALTER TABLE audit_log_0005 RENAME TO audit_log;
INSERT OR IGNORE INTO sqlite_sequence (name, seq)
  SELECT 'audit_log', 0 WHERE NOT EXISTS
    (SELECT 1 FROM sqlite_sequence WHERE name = 'audit_log');
UPDATE sqlite_sequence
  SET seq = MAX(seq, COALESCE((SELECT MAX(seq) FROM
                               audit_migration_0005_sequence), 0))
  WHERE name = 'audit_log';
DROP TABLE audit_migration_0005_sequence;

-- audit_log's own indexes, as in 0001 (they append: time and decision ids
-- grow, and a policy has few rules and purposes).
CREATE INDEX audit_log_by_rule ON audit_log (rule_id, time) WHERE rule_id <> '';
CREATE INDEX audit_log_by_purpose ON audit_log (purpose, time)
  WHERE purpose <> '';
CREATE INDEX audit_log_by_time ON audit_log (time);
CREATE UNIQUE INDEX audit_log_by_decision_id ON audit_log (decision_id)
  WHERE decision_id IS NOT NULL;

CREATE TABLE audit_index_state (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  indexed_through INTEGER NOT NULL CHECK (indexed_through >= 0)
) STRICT;

CREATE TABLE audit_idx_principal (
  principal TEXT NOT NULL,
  time      INTEGER NOT NULL,
  seq       INTEGER NOT NULL,
  PRIMARY KEY (principal, time, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE audit_idx_resource (
  resource_kind TEXT NOT NULL,
  resource_id   TEXT NOT NULL,
  time          INTEGER NOT NULL,
  seq           INTEGER NOT NULL,
  PRIMARY KEY (resource_kind, resource_id, time, seq)
) STRICT, WITHOUT ROWID;

-- Only records with a rule, like the partial index it replaces.
CREATE TABLE audit_idx_principal_rule (
  principal TEXT NOT NULL,
  rule_id   TEXT NOT NULL,
  effect    TEXT NOT NULL,
  kind      TEXT NOT NULL,
  time      INTEGER NOT NULL,
  seq       INTEGER NOT NULL,
  PRIMARY KEY (principal, rule_id, effect, kind, time, seq)
) STRICT, WITHOUT ROWID;

-- An existing trail is indexed here, in key order, once.
INSERT INTO audit_idx_principal (principal, time, seq)
  SELECT principal, time, seq FROM audit_log ORDER BY 1, 2, 3;
INSERT INTO audit_idx_resource (resource_kind, resource_id, time, seq)
  SELECT resource_kind, resource_id, time, seq FROM audit_log
  ORDER BY 1, 2, 3, 4;
INSERT INTO audit_idx_principal_rule
  (principal, rule_id, effect, kind, time, seq)
  SELECT principal, rule_id, effect, kind, time, seq FROM audit_log
  WHERE rule_id <> '' ORDER BY 1, 2, 3, 4, 5, 6;
INSERT INTO audit_index_state (id, indexed_through)
  VALUES (1, COALESCE((SELECT MAX(seq) FROM audit_log), 0));
