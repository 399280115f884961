-- 0002_audit.sql (PostgreSQL): the audit trail shared by every replica.
--
-- Each stewardd writing to this database appends to its own hash chain,
-- named by its replica name (`chain`). Within a chain `seq` is dense from 1
-- and the chain is exactly SQLite's (server/audit/record.h): the canonical
-- encoding is computed from these columns, so every column keeps the type
-- and bytes the encoding names (BIGINT for INTEGER, TEXT for TEXT, BYTEA
-- for BLOB; texts COLLATE "C" so comparisons are byte order as in SQLite).
-- Verification recomputes each chain from the stored rows alone.
--
-- audit_records is partitioned by RANGE on `time` (unix microseconds), one
-- partition per UTC month, so retention can detach or drop a month at a
-- time and time-bounded queries touch only the months they name. The
-- writers create the partitions ahead of time
-- (steward_audit_ensure_partitions below: at start and daily, the current
-- month and the next ones). A DEFAULT partition takes any record whose
-- month has no partition yet (a clock far off, a writer that could not
-- create one), so an insert never fails for want of a partition; a month
-- whose rows already sit in DEFAULT is not given a partition later (PostgreSQL
-- would refuse it), they stay in DEFAULT.
--
-- PostgreSQL requires every unique constraint of a partitioned table to
-- contain the partition key, so the primary key is (chain, seq, time):
-- unique per partition. That (chain, seq) is unique across partitions is
-- kept by the writer protocol instead: a chain's rows are appended only in
-- a transaction that advances audit_chains.last_seq from the value the
-- writer read (compare-and-set on the locked row), so two transactions can
-- never both append seq N, and VerifyPgChains checks density per chain.

-- One row per chain: its head (last committed seq and hash), updated in
-- the same transaction as the records, and the session token of the
-- writer currently holding the chain (set when it takes its advisory
-- lock; a batch from any other session matches no row and fails).
CREATE TABLE audit_chains (
  chain        TEXT COLLATE "C" PRIMARY KEY
               CHECK (chain ~ '^[A-Za-z0-9_.:@-]{1,128}$'),
  last_seq     BIGINT NOT NULL CHECK (last_seq >= 0),
  last_hash    BYTEA NOT NULL CHECK (octet_length(last_hash) = 32),
  writer_token TEXT,
  created_at   BIGINT NOT NULL CHECK (created_at >= 0),
  updated_at   BIGINT NOT NULL CHECK (updated_at >= 0)
);

CREATE TABLE audit_records (
  chain          TEXT COLLATE "C" NOT NULL,
  seq            BIGINT NOT NULL CHECK (seq >= 1),
  time           BIGINT NOT NULL CHECK (time >= 0),
  kind           TEXT COLLATE "C" NOT NULL
                 CHECK (kind IN ('decision', 'admin', 'auth', 'system',
                                 'plan')),
  decision_id    TEXT COLLATE "C"
                 CHECK (decision_id IS NULL OR length(decision_id) >= 1),
  caller         TEXT COLLATE "C" NOT NULL DEFAULT '',
  principal      TEXT COLLATE "C" NOT NULL DEFAULT '',
  action         TEXT COLLATE "C" NOT NULL DEFAULT '',
  resource_kind  TEXT COLLATE "C" NOT NULL DEFAULT '',
  resource_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
  resource_scope TEXT COLLATE "C" NOT NULL DEFAULT '',
  effect         TEXT COLLATE "C" NOT NULL
                 CHECK (effect IN ('ALLOW', 'DENY', 'OK', 'FAILED')
                        AND (kind <> 'decision'
                             OR effect IN ('ALLOW', 'DENY'))),
  reason         TEXT COLLATE "C" NOT NULL DEFAULT '',
  rule_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
  policy_version BIGINT CHECK (policy_version IS NULL OR policy_version >= 0),
  store_revision BIGINT CHECK (store_revision IS NULL OR store_revision >= 0),
  request_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
  fields         TEXT COLLATE "C" NOT NULL DEFAULT '[]'
                 CHECK (json_typeof(fields::json) = 'array'),
  purpose        TEXT COLLATE "C" NOT NULL DEFAULT '',
  justification  TEXT COLLATE "C" NOT NULL DEFAULT '',
  attributes     BYTEA,
  key_id         TEXT COLLATE "C",
  details        TEXT COLLATE "C"
                 CHECK (details IS NULL
                        OR json_typeof(details::json) IS NOT NULL),
  totp_verified  BIGINT CHECK (totp_verified IS NULL
                               OR totp_verified IN (0, 1)),
  prev_hash      BYTEA NOT NULL CHECK (octet_length(prev_hash) = 32),
  hash           BYTEA NOT NULL CHECK (octet_length(hash) = 32),
  CHECK (kind NOT IN ('decision', 'plan') OR decision_id IS NOT NULL),
  CHECK (key_id IS NULL OR attributes IS NOT NULL),
  PRIMARY KEY (chain, seq, time)
) PARTITION BY RANGE (time);

CREATE TABLE audit_records_default PARTITION OF audit_records DEFAULT;

-- Reads across all chains go by time (queries, exports, reports); a
-- decision is looked up by its id. Created on the parent, so every
-- partition gets them. Kept few: each index costs every insert.
CREATE INDEX audit_records_by_time ON audit_records (time, chain, seq);
CREATE INDEX audit_records_by_decision_id ON audit_records (decision_id)
  WHERE decision_id IS NOT NULL;
CREATE INDEX audit_records_by_principal ON audit_records (principal, time);

-- Retention anchors per chain: before records up to `seq` of `chain` are
-- removed (a partition dropped), the hash of record `seq` is stored here,
-- so verification starts the chain from it (SQLite's audit_checkpoints).
CREATE TABLE audit_retention_checkpoints (
  chain        TEXT COLLATE "C" NOT NULL REFERENCES audit_chains (chain),
  seq          BIGINT NOT NULL CHECK (seq >= 1),
  hash         BYTEA NOT NULL CHECK (octet_length(hash) = 32),
  time         BIGINT NOT NULL CHECK (time >= 0),
  purged_count BIGINT NOT NULL DEFAULT 0 CHECK (purged_count >= 0),
  created_at   BIGINT NOT NULL CHECK (created_at >= 0),
  PRIMARY KEY (chain, seq)
);

-- Signed checkpoints per chain (server/audit/signed_checkpoint.h): the
-- writer of `chain` signs (seq, head, time) of its chain; seq 0 is the
-- checkpoint of an empty chain.
CREATE TABLE audit_signed_checkpoints (
  chain     TEXT COLLATE "C" NOT NULL REFERENCES audit_chains (chain),
  seq       BIGINT NOT NULL CHECK (seq >= 0),
  head      BYTEA NOT NULL CHECK (octet_length(head) = 32),
  time      BIGINT NOT NULL CHECK (time >= 0),
  key_id    TEXT COLLATE "C" NOT NULL CHECK (length(key_id) = 16),
  signature BYTEA NOT NULL CHECK (octet_length(signature) = 64),
  PRIMARY KEY (chain, seq)
);

-- Creates the monthly partitions of audit_records for `months` UTC months
-- starting with the month of `from_micros`, skipping those that exist and
-- those whose rows already sit in the DEFAULT partition. Returns how many
-- it created. Replicas call it concurrently; a transaction-scoped advisory
-- lock makes them take turns. Names: audit_records_yYYYYmMM.
CREATE FUNCTION steward_audit_ensure_partitions(from_micros BIGINT,
                                                months INTEGER)
RETURNS INTEGER LANGUAGE plpgsql AS $$
DECLARE
  first_month TIMESTAMP := date_trunc(
      'month', to_timestamp(from_micros / 1000000.0) AT TIME ZONE 'UTC');
  month_start TIMESTAMP;
  lo BIGINT;
  hi BIGINT;
  part TEXT;
  created INTEGER := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('steward.audit.partitions',
                                                 0));
  FOR i IN 0 .. months - 1 LOOP
    month_start := first_month + make_interval(months => i);
    lo := (extract(epoch FROM month_start AT TIME ZONE 'UTC')
           * 1000000)::BIGINT;
    hi := (extract(epoch FROM (month_start + INTERVAL '1 month')
                              AT TIME ZONE 'UTC') * 1000000)::BIGINT;
    part := 'audit_records_' || to_char(month_start, '"y"YYYY"m"MM');
    IF to_regclass(part) IS NULL
       AND NOT EXISTS (SELECT 1 FROM audit_records_default
                       WHERE time >= lo AND time < hi) THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF audit_records '
                     'FOR VALUES FROM (%s) TO (%s)', part, lo, hi);
      created := created + 1;
    END IF;
  END LOOP;
  RETURN created;
END;
$$;
