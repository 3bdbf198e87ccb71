-- Leaked tokens: when a token was reported leaked, where it was found and by whom (`github`,
-- `gitlab`, `holder`); and what each workspace does with a token of its that leaked.
ALTER TABLE tokens ADD COLUMN leaked_at TIMESTAMPTZ;
ALTER TABLE tokens ADD COLUMN leak_url TEXT;
ALTER TABLE tokens ADD COLUMN leak_reporter TEXT;
ALTER TABLE workspaces ADD COLUMN leak_policy TEXT NOT NULL DEFAULT 'revoke'
    CHECK (leak_policy IN ('revoke', 'notify'));
