-- Users, workspaces, roles, memberships and tokens.
-- Timestamps are INTEGER microseconds since the Unix epoch (UTC); ids are UUIDv7 as 16-byte BLOBs.

CREATE TABLE workspaces (
    id          BLOB PRIMARY KEY NOT NULL,
    slug        TEXT NOT NULL,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX workspaces_slug_uq ON workspaces (slug);

CREATE TABLE users (
    id                 BLOB PRIMARY KEY NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('human', 'api')),
    email              TEXT,
    display_name       TEXT NOT NULL,
    password_hash      TEXT,
    workspace_id       BLOB REFERENCES workspaces (id) ON DELETE CASCADE,
    is_instance_admin  INTEGER NOT NULL DEFAULT 0,
    disabled_at        INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    CHECK ((kind = 'human') = (email IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX users_email_uq ON users (email);
CREATE INDEX users_workspace_idx ON users (workspace_id);

CREATE TABLE roles (
    id            BLOB PRIMARY KEY NOT NULL,
    workspace_id  BLOB NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    description   TEXT,
    permissions   TEXT NOT NULL,
    builtin       INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX roles_name_uq ON roles (workspace_id, name);

CREATE TABLE members (
    workspace_id  BLOB NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id       BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
) STRICT;
CREATE INDEX members_user_idx ON members (user_id);

CREATE TABLE member_roles (
    workspace_id  BLOB NOT NULL,
    user_id       BLOB NOT NULL,
    role_id       BLOB NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (workspace_id, user_id, role_id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES members (workspace_id, user_id) ON DELETE CASCADE
) STRICT;
CREATE INDEX member_roles_role_idx ON member_roles (role_id);

CREATE TABLE tokens (
    id            BLOB PRIMARY KEY NOT NULL,
    user_id       BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('personal', 'user', 'api')),
    name          TEXT,
    description   TEXT,
    digest        BLOB NOT NULL,
    hint          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    last_used_at  INTEGER,
    last_used_ip  TEXT,
    revoked_at    INTEGER,
    rotated_at    INTEGER
) STRICT;
CREATE UNIQUE INDEX tokens_digest_uq ON tokens (digest);
CREATE INDEX tokens_user_idx ON tokens (user_id);
-- One personal token per user; refreshing it rotates this row.
CREATE UNIQUE INDEX tokens_personal_uq ON tokens (user_id) WHERE kind = 'personal';
