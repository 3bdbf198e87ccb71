-- Secrets that a rotation replaced. With a grace period, the old secret keeps working until
-- `grace_seconds` after the new secret's first use (`retires_at`, set then), never past
-- `deadline` (at most seven days after the rotation, never past the token's expiry), and not
-- after `ended_at` (ended early: rotated again, revoked, user disabled, or ended by hand). Rows
-- stay after a secret retired, so that a copy still in use is recognised. Only the digest of the
-- old secret is kept, as for tokens.
CREATE TABLE retiring_secrets (
    digest         BYTEA PRIMARY KEY,
    token_id       UUID NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    hint           TEXT NOT NULL,
    rotated_at     TIMESTAMPTZ NOT NULL,
    grace_seconds  INTEGER NOT NULL,
    deadline       TIMESTAMPTZ NOT NULL,
    retires_at     TIMESTAMPTZ,
    ended_at       TIMESTAMPTZ,
    uses           BIGINT NOT NULL DEFAULT 0,
    last_used_at   TIMESTAMPTZ,
    last_used_ip   TEXT
);
CREATE INDEX retiring_secrets_token_idx ON retiring_secrets (token_id);
