-- Access reports (issue 9): UnusedGrants asks, for every role binding, when
-- an ALLOW decision last went through it. A decision names its principal
-- and its rule, and a rule belongs to one role, so this index answers both
-- questions the report asks of the trail without touching the table:
--  * the newest ALLOW per (principal, rule_id) over the whole trail, as ONE
--    ordered scan of index entries (GROUP BY in index order, no sort);
--  * the newest ALLOW of principal P through rule R, as one range probe
--    already in (time, seq) order — the AuditReader's query for
--    principal = ? AND rule_id = ? AND effect = ? AND kind IN (?) picks it
--    over audit_log_by_rule, which would walk every use of R.
-- time is the last key column on purpose: with resource_scope after it the
-- probe no longer comes out in (time, seq) order and SQLite falls back to
-- audit_log_by_rule. Partial, like audit_log_by_rule: records without a
-- rule (most denies, admin changes) are not indexed.
CREATE INDEX audit_log_by_principal_rule ON audit_log
  (principal, rule_id, effect, kind, time)
  WHERE rule_id <> '';
