-- Web UI sign-in sessions. Only a SHA-256 digest of the session secret (the cookie value) is kept.
CREATE TABLE sessions (
    id          BLOB PRIMARY KEY NOT NULL,
    digest      BLOB NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    client_ip   TEXT
) STRICT;
CREATE UNIQUE INDEX sessions_digest_uq ON sessions (digest);
CREATE INDEX sessions_user_idx ON sessions (user_id);
