-- Audit write throughput at scale (issue 6): the deferred index tables of
-- 0005 were keyed on (principal, ...) and (resource_kind, resource_id, ...)
-- across the whole trail, so the keys of one index pass landed on leaves
-- spread over the entire table: a pass of 8,192 rows dirtied ~1 leaf per
-- key per table once the table had more leaves than the pass had keys.
-- On a 5,000,000-record trail the writer sustained 10k records/s against
-- 35k on an empty one (audit_benchmark BM_WriterSync with a copy of the
-- reports database), nearly all of it in index passes reading and
-- rewriting cold leaves.
--
-- Each key now starts with its generation, gen = seq >> gen_shift (65,536
-- consecutive records by default): a pass only touches the newest
-- generation's subtree, which stays small and cached whatever the size of
-- the trail, and whole generations are contiguous key ranges. Readers
-- probe the generations newest first and stop as soon as an older
-- generation cannot hold a newer row than the page already has; the
-- per-generation time bounds they need are kept in audit_idx_generations
-- (a lower min_time or higher max_time than the true one is harmless:
-- retention leaves them so).
--
-- gen_shift is stored, not compiled in, so that tests can use generations
-- of a few rows; it may only change while the index tables are empty.
ALTER TABLE audit_index_state
  ADD COLUMN gen_shift INTEGER NOT NULL DEFAULT 16
  CHECK (gen_shift >= 0 AND gen_shift <= 40);

CREATE TABLE audit_idx_generations (
  gen      INTEGER PRIMARY KEY CHECK (gen >= 0),
  min_time INTEGER NOT NULL,
  max_time INTEGER NOT NULL,
  CHECK (min_time <= max_time)
) STRICT;

CREATE TABLE audit_idx_principal_0006 (
  gen       INTEGER NOT NULL,
  principal TEXT NOT NULL,
  time      INTEGER NOT NULL,
  seq       INTEGER NOT NULL,
  PRIMARY KEY (gen, principal, time, seq)
) STRICT, WITHOUT ROWID;
INSERT INTO audit_idx_principal_0006 (gen, principal, time, seq)
  SELECT seq >> 16, principal, time, seq FROM audit_idx_principal
  ORDER BY 1, 2, 3, 4;
DROP TABLE audit_idx_principal;
ALTER TABLE audit_idx_principal_0006 RENAME TO audit_idx_principal;

CREATE TABLE audit_idx_resource_0006 (
  gen           INTEGER NOT NULL,
  resource_kind TEXT NOT NULL,
  resource_id   TEXT NOT NULL,
  time          INTEGER NOT NULL,
  seq           INTEGER NOT NULL,
  PRIMARY KEY (gen, resource_kind, resource_id, time, seq)
) STRICT, WITHOUT ROWID;
INSERT INTO audit_idx_resource_0006
  (gen, resource_kind, resource_id, time, seq)
  SELECT seq >> 16, resource_kind, resource_id, time, seq
  FROM audit_idx_resource ORDER BY 1, 2, 3, 4, 5;
DROP TABLE audit_idx_resource;
ALTER TABLE audit_idx_resource_0006 RENAME TO audit_idx_resource;

-- The (principal, rule) table goes: it served the unused-grants report's
-- newest-use probes, which stewardd answers from its in-memory usage index
-- (server/audit/usage.h) since 0003's aggregate, and QueryDecisions filters
-- naming a principal, a rule, an effect and one kind, which the principal
-- table now answers (a principal's records in time order, the rest tested
-- on the rows). Every record paid for its keys in every index pass.
DROP TABLE audit_idx_principal_rule;

-- Every indexed row has a principal key (possibly ''), so the principal
-- table gives each generation's time bounds without reading audit_log.
INSERT INTO audit_idx_generations (gen, min_time, max_time)
  SELECT gen, MIN(time), MAX(time) FROM audit_idx_principal GROUP BY gen;
