-- 0001_initial.sql (PostgreSQL): the role store's tables, equivalent to
-- migrations/0001_initial.sql for SQLite without the audit trail (which
-- stays in SQLite for now).
--
-- Conventions (never edit this file once it has landed: the runner records
-- its SHA-256 and refuses a changed file):
--   * Every time is a BIGINT of microseconds since the Unix epoch (UTC), as
--     in the SQLite schema, so both engines convert times the same way.
--   * Every text key is COLLATE "C": ORDER BY and keyset comparisons are
--     byte order whatever the database's locale, as in SQLite (BINARY).
--   * CHECK constraints mirror the SQLite ones, so a row written by another
--     tool is as meaningful as one written by stewardd.

-- Applied migrations, written by the runner in the migration's transaction.
CREATE TABLE schema_migrations (
  version    INTEGER PRIMARY KEY CHECK (version >= 1),
  name       TEXT NOT NULL UNIQUE CHECK (name ~ '^[0-9]{4}_.*\.sql$'),
  checksum   TEXT NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
  applied_at BIGINT NOT NULL CHECK (applied_at >= 0)
);

-- One row. `revision` is bumped by every committed admin change; writers
-- lock this row first (SELECT ... FOR UPDATE), which serializes changes
-- across every stewardd sharing the database. `initialized_at` is set by
-- `stewardd init`.
CREATE TABLE store_meta (
  singleton      INTEGER PRIMARY KEY CHECK (singleton = 1),
  revision       BIGINT NOT NULL CHECK (revision >= 0),
  initialized_at BIGINT CHECK (initialized_at IS NULL OR initialized_at >= 0)
);
INSERT INTO store_meta (singleton, revision) VALUES (1, 0);

-- Principals. `attributes` is the canonical JSON object stewardd writes
-- (kept as TEXT: its exact bytes are what the snapshot loader parses).
CREATE TABLE principals (
  id           TEXT COLLATE "C" PRIMARY KEY
               CHECK (length(id) BETWEEN 1 AND 256
                      AND id !~ '[\x01-\x1f\x7f]'),
  display_name TEXT NOT NULL DEFAULT '' CHECK (length(display_name) <= 1024),
  attributes   TEXT NOT NULL DEFAULT '{}'
               CHECK (octet_length(attributes) <= 65536
                      AND json_typeof(attributes::json) = 'object'),
  disabled     BOOLEAN NOT NULL DEFAULT false,
  created_at   BIGINT NOT NULL CHECK (created_at >= 0),
  updated_at   BIGINT NOT NULL CHECK (updated_at >= created_at)
);

-- Role bindings; deleting a principal deletes its bindings.
CREATE TABLE role_bindings (
  principal  TEXT COLLATE "C" NOT NULL
             REFERENCES principals (id) ON DELETE CASCADE,
  role       TEXT COLLATE "C" NOT NULL
             CHECK (length(role) BETWEEN 1 AND 128
                    AND role ~ '^[A-Za-z_][A-Za-z0-9_-]*$'),
  scope      TEXT COLLATE "C" NOT NULL DEFAULT ''
             CHECK (scope = ''
                    OR (length(scope) <= 256
                        AND scope ~ '^[A-Za-z0-9_.:@-]+(/[A-Za-z0-9_.:@-]+)*$')),
  granted_by TEXT NOT NULL CHECK (length(granted_by) BETWEEN 1 AND 256),
  granted_at BIGINT NOT NULL CHECK (granted_at >= 0),
  expires_at BIGINT CHECK (expires_at IS NULL OR expires_at > granted_at),
  reason     TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 1024),
  PRIMARY KEY (principal, role, scope)
);
CREATE INDEX role_bindings_by_role ON role_bindings (role, principal, scope);
CREATE INDEX role_bindings_by_expiry ON role_bindings (expires_at)
  WHERE expires_at IS NOT NULL;

-- Policy versions. `source` is the JSON array of {"path", "text"} as
-- applied (TEXT: `sha256` is the hex SHA-256 of its exact bytes). At most
-- one version is active.
CREATE TABLE policy_versions (
  version    BIGINT PRIMARY KEY CHECK (version >= 1),
  source     TEXT NOT NULL
             CHECK (json_typeof(source::json) = 'array'
                    AND json_array_length(source::json) >= 1),
  sha256     TEXT NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  author     TEXT NOT NULL CHECK (length(author) BETWEEN 1 AND 256),
  message    TEXT NOT NULL DEFAULT '' CHECK (length(message) <= 4096),
  created_at BIGINT NOT NULL CHECK (created_at >= 0),
  active     BOOLEAN NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX policy_versions_one_active ON policy_versions (active)
  WHERE active;

-- Service API keys: only the SHA-256 of a key; admin keys carry their
-- TOTP secret and the last accepted time step. Names are unique for ever.
CREATE TABLE api_keys (
  id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name           TEXT COLLATE "C" NOT NULL UNIQUE
                 CHECK (name ~ '^[A-Za-z0-9_.:@-]{1,128}$'),
  role           TEXT NOT NULL CHECK (role IN ('client', 'auditor', 'admin')),
  key_hash       BYTEA NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
  totp_secret    TEXT
                 CHECK ((role = 'admin') = (totp_secret IS NOT NULL)
                        AND (totp_secret IS NULL
                             OR totp_secret ~ '^[A-Z2-7]{16,}$')),
  totp_last_step BIGINT CHECK (totp_last_step IS NULL
                               OR (role = 'admin' AND totp_last_step >= 0)),
  created_by     TEXT NOT NULL CHECK (length(created_by) BETWEEN 1 AND 256),
  created_at     BIGINT NOT NULL CHECK (created_at >= 0),
  revoked_at     BIGINT CHECK (revoked_at IS NULL OR revoked_at >= created_at)
);
