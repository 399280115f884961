-- Signed checkpoints of the audit chain (server/audit/signed_checkpoint.h).
--
-- The hash chain alone proves only that the rows agree with each other:
-- anyone who can write the file can edit a record and recompute every
-- later hash. With `stewardd serve --audit-signing-key`, the writer signs
-- (seq, chain head, time) with an Ed25519 key held outside the database
-- every so many records or seconds and at shutdown, and stores the result
-- here. A rewrite of history then no longer reaches the signed head, and a
-- trail that ends before the newest checkpoint was cut. seq 0 is the
-- checkpoint of an empty trail (head = 32 zero bytes).
--
-- Separate from audit_checkpoints, which anchors the chain across
-- retention purges and is not signed.
CREATE TABLE audit_signed_checkpoints (
  seq       INTEGER PRIMARY KEY CHECK (seq >= 0),
  head      BLOB NOT NULL CHECK (length(head) = 32),
  time      INTEGER NOT NULL CHECK (time >= 0),
  key_id    TEXT NOT NULL CHECK (length(key_id) = 16),
  signature BLOB NOT NULL CHECK (length(signature) = 64)
) STRICT;
