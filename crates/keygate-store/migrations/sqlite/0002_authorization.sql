-- Members' resource grants, teams, token scopes, invitations, the audit log, and the built-in
-- roles admin, member, viewer and public.

ALTER TABLE users ADD COLUMN description TEXT;
-- Resource grants of the public role (JSON array of patterns); NULL for other roles.
ALTER TABLE roles ADD COLUMN grants TEXT;
-- JSON {"workspaces", "permissions", "resources"}; NULL for an unscoped token.
ALTER TABLE tokens ADD COLUMN scope TEXT;

CREATE TABLE member_grants (
    workspace_id  BLOB NOT NULL,
    user_id       BLOB NOT NULL,
    pattern       TEXT NOT NULL,
    PRIMARY KEY (workspace_id, user_id, pattern),
    FOREIGN KEY (workspace_id, user_id) REFERENCES members (workspace_id, user_id) ON DELETE CASCADE
) STRICT;

CREATE TABLE teams (
    id            BLOB PRIMARY KEY NOT NULL,
    workspace_id  BLOB NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    description   TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX teams_name_uq ON teams (workspace_id, name);

CREATE TABLE team_members (
    team_id       BLOB NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    workspace_id  BLOB NOT NULL,
    user_id       BLOB NOT NULL,
    PRIMARY KEY (team_id, user_id),
    FOREIGN KEY (workspace_id, user_id) REFERENCES members (workspace_id, user_id) ON DELETE CASCADE
) STRICT;
CREATE INDEX team_members_member_idx ON team_members (workspace_id, user_id);

CREATE TABLE team_roles (
    team_id  BLOB NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    role_id  BLOB NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, role_id)
) STRICT;
CREATE INDEX team_roles_role_idx ON team_roles (role_id);

CREATE TABLE team_grants (
    team_id  BLOB NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    pattern  TEXT NOT NULL,
    PRIMARY KEY (team_id, pattern)
) STRICT;

CREATE TABLE invitations (
    id            BLOB PRIMARY KEY NOT NULL,
    workspace_id  BLOB NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    email         TEXT NOT NULL,
    roles         TEXT NOT NULL,
    grants        TEXT NOT NULL,
    code_digest   BLOB NOT NULL,
    invited_by    BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    accepted_at   INTEGER
) STRICT;
CREATE UNIQUE INDEX invitations_code_uq ON invitations (code_digest);
CREATE INDEX invitations_workspace_idx ON invitations (workspace_id, email);

-- Kept when the workspace or the actor goes: the log outlives what it describes.
CREATE TABLE audit_events (
    id              BLOB PRIMARY KEY NOT NULL,
    workspace_id    BLOB,
    actor_id        BLOB,
    actor_label     TEXT,
    actor_token_id  BLOB,
    action          TEXT NOT NULL,
    target_type     TEXT NOT NULL,
    target_id       TEXT,
    details         TEXT NOT NULL,
    client_ip       TEXT,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX audit_events_workspace_idx ON audit_events (workspace_id, id);

INSERT INTO roles (id, workspace_id, name, description, permissions, builtin, created_at, updated_at)
SELECT randomblob(16), w.id, r.name, r.description, r.permissions, 1, w.created_at, w.created_at
FROM workspaces w,
     (SELECT 'admin' AS name, 'Everything except deleting the workspace and changing its owners.' AS description, '["*"]' AS permissions
      UNION ALL SELECT 'member', 'Reads and writes the platform''s resources; no management.', '["*:read","*:write"]'
      UNION ALL SELECT 'viewer', 'Reads the platform''s resources.', '["*:read"]'
      UNION ALL SELECT 'public', 'What anonymous callers may do. Empty until opened.', '[]') r;
