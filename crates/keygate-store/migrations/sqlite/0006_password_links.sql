-- One-time links with which a person whose account an instance admin created sets their
-- password. Only a SHA-256 digest of the link's code is kept.
CREATE TABLE password_links (
    id           BLOB PRIMARY KEY NOT NULL,
    user_id      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_digest  BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
) STRICT;
CREATE UNIQUE INDEX password_links_code_uq ON password_links (code_digest);
CREATE INDEX password_links_user_idx ON password_links (user_id);
