-- Where a token may be used from: a JSON array of networks (CIDR) on a token, or on an API user
-- for all of its tokens; NULL for anywhere.
ALTER TABLE tokens ADD COLUMN allowed_ips JSONB;
ALTER TABLE users ADD COLUMN allowed_ips JSONB;
