-- A workspace may cap the lifetime of the tokens that act in it (API users' tokens and tokens
-- scoped to it); NULL for no cap.
ALTER TABLE workspaces ADD COLUMN max_token_lifetime_days INTEGER CHECK (max_token_lifetime_days > 0);
