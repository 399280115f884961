-- 0001_initial.sql: the first Steward schema.
--
-- Conventions (read before adding a migration; never edit this file once it
-- has landed: the runner records its SHA-256 and refuses a changed file):
--   * Every time is an INTEGER of microseconds since the Unix epoch (UTC).
--     Integers sort and compare exactly, index compactly, and map 1:1 to
--     absl::Time via absl::ToUnixMicros / absl::FromUnixMicros.
--   * Tables are STRICT so a value of the wrong type is an error, not a
--     silent conversion.
--   * CHECK constraints keep every row meaningful even when written by a
--     tool other than stewardd (sqlite3 shell, a restore script).
--   * A scope is '' (global) or '/'-separated segments of
--     [A-Za-z0-9_.:@-], no empty segment, at most 256 bytes.
--   * Role names follow the policy language's identifiers:
--     [A-Za-z_][A-Za-z0-9_-]*.

-- Applied migrations. Written by the migration runner in the same
-- transaction as the migration itself.
CREATE TABLE schema_migrations (
  version    INTEGER PRIMARY KEY CHECK (version >= 1),
  name       TEXT NOT NULL UNIQUE CHECK (name GLOB '[0-9][0-9][0-9][0-9]_*.sql'),
  checksum   TEXT NOT NULL CHECK (length(checksum) = 64
                                  AND checksum NOT GLOB '*[^0-9a-f]*'),
  applied_at INTEGER NOT NULL CHECK (applied_at >= 0)
) STRICT;

-- One row. `revision` is bumped by every committed admin change (policy,
-- principal, binding, API key), so a decision that records it can be replayed
-- against the exact state it saw. `initialized_at` is set by `stewardd init`.
CREATE TABLE store_meta (
  singleton      INTEGER PRIMARY KEY CHECK (singleton = 1),
  revision       INTEGER NOT NULL CHECK (revision >= 0),
  initialized_at INTEGER CHECK (initialized_at IS NULL OR initialized_at >= 0)
) STRICT;
INSERT INTO store_meta (singleton, revision) VALUES (1, 0);

-- Principals (users, services). `attributes` is a JSON object validated by
-- stewardd against the active policy's `principal` block; keys are sorted.
-- WITHOUT ROWID: the table is clustered by id, which keyset paging and the
-- snapshot build (a merge with role_bindings in id order) both scan.
CREATE TABLE principals (
  id           TEXT PRIMARY KEY
               CHECK (length(id) BETWEEN 1 AND 256
                      AND id NOT GLOB ('*[' || char(1, 2, 3, 4, 5, 6, 7, 8, 9,
                          10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                          23, 24, 25, 26, 27, 28, 29, 30, 31, 127) || ']*')),
  display_name TEXT NOT NULL DEFAULT '' CHECK (length(display_name) <= 1024),
  attributes   TEXT NOT NULL DEFAULT '{}'
               CHECK (length(attributes) <= 65536
                      AND json_valid(attributes)
                      AND json_type(attributes) = 'object'),
  disabled     INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at   INTEGER NOT NULL CHECK (created_at >= 0),
  updated_at   INTEGER NOT NULL CHECK (updated_at >= created_at)
) STRICT, WITHOUT ROWID;

-- Role bindings. Deleting a principal deletes its bindings (ON DELETE
-- CASCADE); audit_log rows are deliberately NOT linked by a foreign key, so
-- the evidence of what a deleted principal did stays.
-- `role` is a name, not an id: the roles live in the policy, which changes
-- independently; bindings to roles a policy no longer declares are kept and
-- ignored by the snapshot. Clustered by (principal, role, scope) for the
-- snapshot build's merge scan and per-principal lookups.
CREATE TABLE role_bindings (
  principal  TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
  role       TEXT NOT NULL
             CHECK (length(role) BETWEEN 1 AND 128
                    AND role GLOB '[A-Za-z_]*'
                    AND role NOT GLOB '*[^A-Za-z0-9_-]*'),
  scope      TEXT NOT NULL DEFAULT ''
             CHECK (scope = ''
                    OR (length(scope) <= 256
                        AND substr(scope, 1, 1) <> '/'
                        AND substr(scope, -1, 1) <> '/'
                        AND instr(scope, '//') = 0
                        AND scope NOT GLOB '*[^A-Za-z0-9_.:@/-]*')),
  granted_by TEXT NOT NULL CHECK (length(granted_by) BETWEEN 1 AND 256),
  granted_at INTEGER NOT NULL CHECK (granted_at >= 0),
  expires_at INTEGER CHECK (expires_at IS NULL OR expires_at > granted_at),
  reason     TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 1024),
  PRIMARY KEY (principal, role, scope)
) STRICT, WITHOUT ROWID;
CREATE INDEX role_bindings_by_role ON role_bindings (role, principal);
CREATE INDEX role_bindings_by_expiry ON role_bindings (expires_at)
  WHERE expires_at IS NOT NULL;

-- Policy versions. `source` is a JSON array of {"path", "text"} objects (the
-- files as applied); `sha256` is the lowercase hex SHA-256 of `source`'s
-- exact bytes. At most one version is active (partial unique index).
CREATE TABLE policy_versions (
  version    INTEGER PRIMARY KEY CHECK (version >= 1),
  source     TEXT NOT NULL CHECK (json_valid(source)
                                  AND json_type(source) = 'array'
                                  AND json_array_length(source) >= 1),
  sha256     TEXT NOT NULL CHECK (length(sha256) = 64
                                  AND sha256 NOT GLOB '*[^0-9a-f]*'),
  author     TEXT NOT NULL CHECK (length(author) BETWEEN 1 AND 256),
  message    TEXT NOT NULL DEFAULT '' CHECK (length(message) <= 4096),
  created_at INTEGER NOT NULL CHECK (created_at >= 0),
  active     INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1))
) STRICT;
CREATE UNIQUE INDEX policy_versions_one_active ON policy_versions (active)
  WHERE active = 1;

-- Service API keys. Only the SHA-256 of a key is stored. Admin keys carry
-- the base32 TOTP secret (RFC 6238) their second factor needs, and the last
-- time step accepted, so a code is accepted once only. Names are unique for
-- ever (also after revocation) because audit records name the key.
CREATE TABLE api_keys (
  id             INTEGER PRIMARY KEY,
  name           TEXT NOT NULL UNIQUE
                 CHECK (length(name) BETWEEN 1 AND 128
                        AND name NOT GLOB '*[^A-Za-z0-9_.:@-]*'),
  role           TEXT NOT NULL CHECK (role IN ('client', 'auditor', 'admin')),
  key_hash       BLOB NOT NULL UNIQUE CHECK (length(key_hash) = 32),
  totp_secret    TEXT
                 CHECK ((role = 'admin') = (totp_secret IS NOT NULL)
                        AND (totp_secret IS NULL
                             OR (length(totp_secret) >= 16
                                 AND totp_secret NOT GLOB '*[^A-Z2-7]*'))),
  totp_last_step INTEGER CHECK (totp_last_step IS NULL
                                OR (role = 'admin' AND totp_last_step >= 0)),
  created_by     TEXT NOT NULL CHECK (length(created_by) BETWEEN 1 AND 256),
  created_at     INTEGER NOT NULL CHECK (created_at >= 0),
  revoked_at     INTEGER CHECK (revoked_at IS NULL OR revoked_at >= created_at)
) STRICT;

-- The audit trail (written by server/audit). One row per decision, admin
-- change, authentication failure or system event (e.g. a retention purge).
-- Chained: hash = SHA-256(prev_hash || canonical encoding of the row), the
-- encoding documented in server/audit. `attributes` holds the minimized
-- request/context attributes as JSON, or their AES-256-GCM ciphertext when
-- `key_id` names the encryption key. No foreign keys on purpose: records
-- outlive the principals, keys and policy versions they mention.
CREATE TABLE audit_log (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  time           INTEGER NOT NULL CHECK (time >= 0),
  kind           TEXT NOT NULL
                 CHECK (kind IN ('decision', 'admin', 'auth', 'system')),
  decision_id    TEXT CHECK (decision_id IS NULL OR length(decision_id) >= 1),
  caller         TEXT NOT NULL DEFAULT '',
  principal      TEXT NOT NULL DEFAULT '',
  action         TEXT NOT NULL DEFAULT '',
  resource_kind  TEXT NOT NULL DEFAULT '',
  resource_id    TEXT NOT NULL DEFAULT '',
  resource_scope TEXT NOT NULL DEFAULT '',
  effect         TEXT NOT NULL
                 CHECK (effect IN ('ALLOW', 'DENY', 'OK', 'FAILED')
                        AND (kind <> 'decision' OR effect IN ('ALLOW', 'DENY'))),
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
  totp_verified  INTEGER CHECK (totp_verified IS NULL OR totp_verified IN (0, 1)),
  prev_hash      BLOB NOT NULL CHECK (length(prev_hash) = 32),
  hash           BLOB NOT NULL CHECK (length(hash) = 32),
  CHECK (kind <> 'decision' OR decision_id IS NOT NULL),
  CHECK (key_id IS NULL OR attributes IS NOT NULL)
) STRICT;
-- Auditor queries filter on one of these columns plus a time range and page
-- by seq (every index ends in the rowid, i.e. seq, so keyset paging is an
-- index range scan; no OFFSET).
CREATE INDEX audit_log_by_principal ON audit_log (principal, time);
CREATE INDEX audit_log_by_resource ON audit_log (resource_kind, resource_id, time);
CREATE INDEX audit_log_by_action ON audit_log (action, time);
CREATE INDEX audit_log_by_effect ON audit_log (effect, time);
CREATE INDEX audit_log_by_rule ON audit_log (rule_id, time) WHERE rule_id <> '';
CREATE INDEX audit_log_by_purpose ON audit_log (purpose, time) WHERE purpose <> '';
CREATE INDEX audit_log_by_time ON audit_log (time);
CREATE UNIQUE INDEX audit_log_by_decision_id ON audit_log (decision_id)
  WHERE decision_id IS NOT NULL;

-- Retention checkpoints: before purging records up to `seq`, the writer
-- stores that record's hash here so the chain stays verifiable from the
-- first retained record.
CREATE TABLE audit_checkpoints (
  seq          INTEGER PRIMARY KEY CHECK (seq >= 1),
  hash         BLOB NOT NULL CHECK (length(hash) = 32),
  time         INTEGER NOT NULL CHECK (time >= 0),
  purged_count INTEGER NOT NULL DEFAULT 0 CHECK (purged_count >= 0),
  created_at   INTEGER NOT NULL CHECK (created_at >= 0)
) STRICT;
