-- Secrets that a rotation replaced. With a grace period, the old secret keeps working until
-- `grace_seconds` after the new secret's first use (`retires_at`, set then), never past
-- `deadline` (at most seven days after the rotation, never past the token's expiry), and not
-- after `ended_at` (ended early: rotated again, revoked, user disabled, or ended by hand). Rows
-- stay after a secret retired, so that a copy still in use is recognised. Only the digest of the
-- old secret is kept, as for tokens.
CREATE TABLE retiring_secrets (
    digest         BLOB PRIMARY KEY NOT NULL,
    token_id       BLOB NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    hint           TEXT NOT NULL,
    rotated_at     INTEGER NOT NULL,
    grace_seconds  INTEGER NOT NULL,
    deadline       INTEGER NOT NULL,
    retires_at     INTEGER,
    ended_at       INTEGER,
    uses           INTEGER NOT NULL DEFAULT 0,
    last_used_at   INTEGER,
    last_used_ip   TEXT
) STRICT;
CREATE INDEX retiring_secrets_token_idx ON retiring_secrets (token_id);
