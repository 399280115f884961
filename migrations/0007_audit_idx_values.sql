-- QueryDecisions filters on the record kind, the action, the resource kind,
-- the calling key or the effect alone (no principal or resource) had no
-- index but audit_log_by_time: the reader walked back through time until
-- the page was full. Fine for common values, but a rare or absent one --
-- the auditor's "every export", "every admin change", "every deny" where
-- denies are rare -- read the whole trail: 0.68 s for a page on 1,000,000
-- records, warm (audit_benchmark BM_QueryByFilter/3). Indexing these
-- columns per record would cost the writer a key each (0004 dropped the
-- action and effect indexes for that).
--
-- Instead, each generation (migrations/0006) counts the records it holds
-- per value of these low-cardinality columns: a few rows per index pass.
-- The reader skips generations without the value and scans the others by
-- rowid; it keeps the time-index walk for values common enough to fill a
-- page sooner that way (it estimates both from the counts). A count that
-- is too high is harmless (retention leaves a cut generation's counts as
-- they were); one that is too low would hide rows, so counts are only ever
-- added in the index pass that moves the watermark over their rows.
--
-- The rule and purpose are counted the same way, and their partial indexes
-- on audit_log go: each record paid for them in every group commit (the
-- writer sustains ~7% more records/s without them, BM_WriterSync/1024),
-- and the counts answer a rare rule or purpose almost as well.
CREATE TABLE audit_idx_values (
  col   TEXT NOT NULL
        CHECK (col IN ('kind', 'action', 'resource_kind', 'caller',
                       'effect', 'rule_id', 'purpose')),
  value TEXT NOT NULL,
  gen   INTEGER NOT NULL CHECK (gen >= 0),
  n     INTEGER NOT NULL CHECK (n > 0),
  PRIMARY KEY (col, value, gen)
) STRICT, WITHOUT ROWID;

-- The rows already indexed. One scan of audit_log grouped by every
-- combination (a few dozen per generation), then each column's counts.
WITH combos AS MATERIALIZED (
  SELECT seq >> s.gen_shift AS gen, kind, action, resource_kind, caller,
         effect, rule_id, purpose, COUNT(*) AS n
  FROM audit_log NOT INDEXED, audit_index_state s
  WHERE s.id = 1 AND seq <= s.indexed_through
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8)
INSERT INTO audit_idx_values (col, value, gen, n)
  SELECT 'kind', kind, gen, SUM(n) FROM combos GROUP BY 2, 3
  UNION ALL
  SELECT 'action', action, gen, SUM(n) FROM combos GROUP BY 2, 3
  UNION ALL
  SELECT 'resource_kind', resource_kind, gen, SUM(n) FROM combos GROUP BY 2, 3
  UNION ALL
  SELECT 'caller', caller, gen, SUM(n) FROM combos GROUP BY 2, 3
  UNION ALL
  SELECT 'effect', effect, gen, SUM(n) FROM combos GROUP BY 2, 3
  UNION ALL
  SELECT 'rule_id', rule_id, gen, SUM(n) FROM combos GROUP BY 2, 3
  UNION ALL
  SELECT 'purpose', purpose, gen, SUM(n) FROM combos GROUP BY 2, 3;

DROP INDEX audit_log_by_rule;
DROP INDEX audit_log_by_purpose;
