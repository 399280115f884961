-- Second-factor lockout in the store (issue: "a TOTP code is accepted once
-- across all replicas, and the lockout counts across replicas"). The
-- authenticator used to count failed second factors per key in memory;
-- they are now counted on the key's row, so the count survives a restart
-- and, on PostgreSQL (postgresql/0003_second_factor_lockout.sql, the same
-- columns), is shared by every replica.
--   totp_failures       failed second factors in the current window
--   totp_window_start   when that window began (NULL: never failed)
--   totp_locked_until   refused until this time (NULL: never locked)
-- Updated by one statement per failure (KeyRepository::
-- RecordSecondFactorFailure), never by an admin change: no revision bump.
-- ADD COLUMN with a constant default does not rewrite the table.
ALTER TABLE api_keys ADD COLUMN totp_failures INTEGER NOT NULL DEFAULT 0
  CHECK (totp_failures >= 0);
ALTER TABLE api_keys ADD COLUMN totp_window_start INTEGER
  CHECK (totp_window_start IS NULL OR totp_window_start >= 0);
ALTER TABLE api_keys ADD COLUMN totp_locked_until INTEGER
  CHECK (totp_locked_until IS NULL OR totp_locked_until >= 0);
