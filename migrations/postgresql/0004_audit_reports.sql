-- 0004_audit_reports.sql (PostgreSQL): indexes for subject access and the
-- access reports over the audit trail of every replica.
--
-- Numbered 0004, not 0003: 0003 is reserved for a parallel change (the
-- lockout tables); migrations apply in version order.
--
-- Created on the partitioned parent, so every partition (existing and
-- future, DEFAULT included) gets them. Each index costs every insert, so
-- they are few and the report ones partial:
--  * subject access (AuditQueries::SubjectAccess): every record about one
--    resource, newest first;
--  * UnusedGrants (PgTrailUsage::Read): the newest ALLOW per (principal,
--    rule_id, resource_scope), found by a skip scan down this index, one
--    descent per distinct key;
--  * DecisionSummary (PgTrailUsage::Summarize): the window's decisions,
--    index-only (time, with effect and principal carried).

CREATE INDEX audit_records_by_resource
  ON audit_records (resource_kind, resource_id, time);

CREATE INDEX audit_records_allow_uses
  ON audit_records (principal, rule_id, resource_scope, time, seq)
  WHERE kind = 'decision' AND effect = 'ALLOW' AND rule_id <> '';

CREATE INDEX audit_records_decisions_by_time
  ON audit_records (time) INCLUDE (effect, principal)
  WHERE kind = 'decision';
