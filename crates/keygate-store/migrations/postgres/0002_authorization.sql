-- Members' resource grants, teams, token scopes, invitations, the audit log, and the built-in
-- roles admin, member, viewer and public.

ALTER TABLE users ADD COLUMN description TEXT;
-- Resource grants of the public role (JSON array of patterns); NULL for other roles.
ALTER TABLE roles ADD COLUMN grants JSONB;
-- {"workspaces", "permissions", "resources"}; NULL for an unscoped token.
ALTER TABLE tokens ADD COLUMN scope JSONB;

CREATE TABLE member_grants (
    workspace_id  UUID NOT NULL,
    user_id       UUID NOT NULL,
    pattern       TEXT NOT NULL,
    PRIMARY KEY (workspace_id, user_id, pattern),
    FOREIGN KEY (workspace_id, user_id) REFERENCES members (workspace_id, user_id) ON DELETE CASCADE
);

CREATE TABLE teams (
    id            UUID PRIMARY KEY,
    workspace_id  UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    description   TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX teams_name_uq ON teams (workspace_id, name);

CREATE TABLE team_members (
    team_id       UUID NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    workspace_id  UUID NOT NULL,
    user_id       UUID NOT NULL,
    PRIMARY KEY (team_id, user_id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES members (workspace_id, user_id) ON DELETE CASCADE
);
CREATE INDEX team_members_member_idx ON team_members (workspace_id, user_id);

CREATE TABLE team_roles (
    team_id  UUID NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    role_id  UUID NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, role_id)
);
CREATE INDEX team_roles_role_idx ON team_roles (role_id);

CREATE TABLE team_grants (
    team_id  UUID NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    pattern  TEXT NOT NULL,
    PRIMARY KEY (team_id, pattern)
);

CREATE TABLE invitations (
    id            UUID PRIMARY KEY,
    workspace_id  UUID NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email         TEXT NOT NULL,
    roles         JSONB NOT NULL,
    grants        JSONB NOT NULL,
    code_digest   BYTEA NOT NULL,
    invited_by    UUID REFERENCES users (id) ON DELETE SET NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    accepted_at   TIMESTAMPTZ
);
CREATE UNIQUE INDEX invitations_code_uq ON invitations (code_digest);
CREATE INDEX invitations_workspace_idx ON invitations (workspace_id, email);

-- Kept when the workspace or the actor goes: the log outlives what it describes.
CREATE TABLE audit_events (
    id              UUID PRIMARY KEY,
    workspace_id    UUID,
    actor_id        UUID,
    actor_label     TEXT,
    actor_token_id  UUID,
    action          TEXT NOT NULL,
    target_type     TEXT NOT NULL,
    target_id       TEXT,
    details         JSONB NOT NULL,
    client_ip       TEXT,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_events_workspace_idx ON audit_events (workspace_id, id);

INSERT INTO roles (id, workspace_id, name, description, permissions, builtin, created_at, updated_at)
SELECT gen_random_uuid(), w.id, r.name, r.description, r.permissions::jsonb, TRUE, w.created_at, w.created_at
FROM workspaces w,
     (SELECT 'admin' AS name, 'Everything except deleting the workspace and changing its owners.' AS description, '["*"]' AS permissions
      UNION ALL SELECT 'member', 'Reads and writes the platform''s resources; no management.', '["*:read","*:write"]'
      UNION ALL SELECT 'viewer', 'Reads the platform''s resources.', '["*:read"]'
      UNION ALL SELECT 'public', 'What anonymous callers may do. Empty until opened.', '[]') r;
