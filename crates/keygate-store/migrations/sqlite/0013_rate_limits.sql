-- How often a token may be used: a JSON array of named limits ({"name", "limit", "per_seconds"})
-- on a token, or on an API user for all of its tokens together; NULL for no limit.
ALTER TABLE tokens ADD COLUMN rate_limits TEXT;
ALTER TABLE users ADD COLUMN rate_limits TEXT;

-- The use of each limit in each window, summed over every node: each node adds what it admitted
-- since its last report and reads back the total. `subject` is the token's or the API user's id.
CREATE TABLE rate_counts (
    subject BLOB NOT NULL,
    name TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    window_end BIGINT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (subject, name, window_start)
);
CREATE INDEX rate_counts_end_idx ON rate_counts (window_end);
