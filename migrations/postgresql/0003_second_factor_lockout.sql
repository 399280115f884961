-- 0003_second_factor_lockout.sql (PostgreSQL): failed second factors are
-- counted on the key's row, shared by every replica, so N replicas behind a
-- balancer allow max_failures tries per window in total, not N times that.
-- The same columns as SQLite's 0010_second_factor_lockout.sql:
--   totp_failures       failed second factors in the current window
--   totp_window_start   when that window began (unix microseconds; NULL:
--                       never failed)
--   totp_locked_until   refused until this time (NULL: never locked)
-- Each failure is one UPDATE ... RETURNING that computes the new window from
-- the row it locks (KeyRepository::RecordSecondFactorFailure), so failures
-- arriving at the same moment on different replicas are all counted. Not an
-- admin change: no revision bump, no notification. ADD COLUMN with a
-- constant default does not rewrite the table.
ALTER TABLE api_keys
  ADD COLUMN totp_failures INTEGER NOT NULL DEFAULT 0
    CHECK (totp_failures >= 0),
  ADD COLUMN totp_window_start BIGINT
    CHECK (totp_window_start IS NULL OR totp_window_start >= 0),
  ADD COLUMN totp_locked_until BIGINT
    CHECK (totp_locked_until IS NULL OR totp_locked_until >= 0);
