-- Audit write throughput (issue 6): every audit record updates every
-- audit_log index inside the writer's group commit, and index maintenance
-- was about half of the writer's CPU per record. These two indexes key on a
-- column with a handful of values (effect: ALLOW/DENY/OK/FAILED; action: the
-- policy's few verbs), so they narrow a query little: a filter on effect or
-- action alone now walks audit_log_by_time newest first and tests the
-- column, as a filter on caller always has; pages stop at their LIMIT and
-- since/until bound the walk. Every query that combines effect or action
-- with principal, resource or rule keeps its selective index
-- (audit_log_by_principal, _by_resource, _by_rule, _by_principal_rule),
-- and no report (server/access_reports.cc, server/audit/usage.cc) or the
-- retention job used either index.
DROP INDEX audit_log_by_effect;
DROP INDEX audit_log_by_action;
