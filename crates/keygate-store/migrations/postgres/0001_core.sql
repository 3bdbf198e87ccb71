-- Users, workspaces, roles, memberships and tokens.

CREATE TABLE workspaces (
    id          UUID PRIMARY KEY,
    slug        TEXT NOT NULL,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX workspaces_slug_uq ON workspaces (slug);

CREATE TABLE users (
    id                 UUID PRIMARY KEY,
    kind               TEXT NOT NULL CHECK (kind IN ('human', 'api')),
    email              TEXT,
    display_name       TEXT NOT NULL,
    password_hash      TEXT,
    workspace_id       UUID REFERENCES workspaces (id) ON DELETE CASCADE,
    is_instance_admin  BOOLEAN NOT NULL DEFAULT FALSE,
    disabled_at        TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    CHECK ((kind = 'human') = (email IS NOT NULL))
);
CREATE UNIQUE INDEX users_email_uq ON users (email);
CREATE INDEX users_workspace_idx ON users (workspace_id);

CREATE TABLE roles (
    id            UUID PRIMARY KEY,
    workspace_id  UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    description   TEXT,
    permissions   JSONB NOT NULL,
    builtin       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX roles_name_uq ON roles (workspace_id, name);

CREATE TABLE members (
    workspace_id  UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id       UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX members_user_idx ON members (user_id);

CREATE TABLE member_roles (
    workspace_id  UUID NOT NULL,
    user_id       UUID NOT NULL,
    role_id       UUID NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (workspace_id, user_id, role_id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES members (workspace_id, user_id) ON DELETE CASCADE
);
CREATE INDEX member_roles_role_idx ON member_roles (role_id);

CREATE TABLE tokens (
    id            UUID PRIMARY KEY,
    user_id       UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('personal', 'user', 'api')),
    name          TEXT,
    description   TEXT,
    digest        BYTEA NOT NULL,
    hint          TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ,
    last_used_at  TIMESTAMPTZ,
    last_used_ip  TEXT,
    revoked_at    TIMESTAMPTZ,
    rotated_at    TIMESTAMPTZ
);
CREATE UNIQUE INDEX tokens_digest_uq ON tokens (digest);
CREATE INDEX tokens_user_idx ON tokens (user_id);
-- One personal token per user; refreshing it rotates this row.
CREATE UNIQUE INDEX tokens_personal_uq ON tokens (user_id) WHERE kind = 'personal';
