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

DROP INDEX audit_log_by_principal;
DROP INDEX audit_log_by_resource;
DROP INDEX audit_log_by_principal_rule;
