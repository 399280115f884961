-- 0004_audit_reports_retention.sql (PostgreSQL): the index of subject
-- access over the audit trail of every replica, and the DDL steps of
-- retention by partition.
--
-- Numbered 0004, not 0003: 0003 is reserved for a parallel change (the
-- lockout tables); migrations apply in version order.
--
-- Subject access (AuditQueries::SubjectAccess): every record about one
-- resource, newest first, whatever replica recorded it. Created on the
-- partitioned parent, so every partition (existing and future, DEFAULT
-- included) gets it. The other reports need no index of their own:
-- PgTrailUsage folds each chain's new decisions by the primary key.
CREATE INDEX audit_records_by_resource
  ON audit_records (resource_kind, resource_id, time);

-- Retention by partition (server/audit/postgresql/pg_retention.h). DDL
-- takes identifiers, which cannot be bound as parameters; these functions
-- take the partition as a regclass (an OID, resolved by PostgreSQL) so the
-- purger's SQL stays constant text, and refuse anything but a range
-- partition of audit_records.
CREATE FUNCTION steward_audit_check_partition(part REGCLASS)
RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
  IF part = 'audit_records_default'::regclass OR NOT EXISTS (
       SELECT 1 FROM pg_inherits
       WHERE inhrelid = part AND inhparent = 'audit_records'::regclass) THEN
    RAISE EXCEPTION 'not a monthly partition of audit_records: %', part;
  END IF;
END;
$$;

-- Blocks inserts into the partition (a writer whose clock is far behind)
-- until the purging transaction ends; readers go on.
CREATE FUNCTION steward_audit_lock_partition(part REGCLASS)
RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
  PERFORM steward_audit_check_partition(part);
  EXECUTE format('LOCK TABLE %s IN SHARE MODE', part);
END;
$$;

-- Detaches the partition and drops it: its files are unlinked (nothing is
-- overwritten; see docs/deployment.md).
CREATE FUNCTION steward_audit_drop_partition(part REGCLASS)
RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
  PERFORM steward_audit_check_partition(part);
  EXECUTE format('ALTER TABLE audit_records DETACH PARTITION %s', part);
  EXECUTE format('DROP TABLE %s', part);
END;
$$;
