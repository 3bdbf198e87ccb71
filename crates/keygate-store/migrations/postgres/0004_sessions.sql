-- Web UI sign-in sessions. Only a SHA-256 digest of the session secret (the cookie value) is kept.
CREATE TABLE sessions (
    id          UUID PRIMARY KEY,
    digest      BYTEA NOT NULL,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    client_ip   TEXT
);
CREATE UNIQUE INDEX sessions_digest_uq ON sessions (digest);
CREATE INDEX sessions_user_idx ON sessions (user_id);
