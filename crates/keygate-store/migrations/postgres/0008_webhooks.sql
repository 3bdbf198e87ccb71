-- Webhook endpoints: a workspace's (`workspace_id`) or, without one, the instance's, which
-- receive every workspace's events and the instance's own. The secret signs deliveries; after a
-- rotation the previous one signs too until `previous_secret_until`.
CREATE TABLE webhook_endpoints (
    id                     UUID PRIMARY KEY,
    workspace_id           UUID REFERENCES workspaces (id) ON DELETE CASCADE,
    url                    TEXT NOT NULL,
    description            TEXT,
    secret                 TEXT NOT NULL,
    previous_secret        TEXT,
    previous_secret_until  TIMESTAMPTZ,
    disabled_at            TIMESTAMPTZ,
    disabled_reason        TEXT,
    created_at             TIMESTAMPTZ NOT NULL,
    updated_at             TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_endpoints_workspace_idx ON webhook_endpoints (workspace_id);

-- The events each endpoint receives.
CREATE TABLE webhook_endpoint_events (
    endpoint_id  UUID NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event        TEXT NOT NULL,
    PRIMARY KEY (endpoint_id, event)
);
CREATE INDEX webhook_endpoint_events_event_idx ON webhook_endpoint_events (event);

-- The outbox: one row per event and endpoint, written in the transaction of the change that
-- caused the event, so a crash loses none. A node takes due rows with a lease (`leased_until`)
-- and records each attempt's outcome; a node that dies mid-attempt leaves its lease to expire.
CREATE TABLE webhook_deliveries (
    message_id       UUID NOT NULL,
    endpoint_id      UUID NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event            TEXT NOT NULL,
    payload          TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ,
    leased_until     TIMESTAMPTZ,
    last_attempt_at  TIMESTAMPTZ,
    last_status      INTEGER,
    last_latency_ms  INTEGER,
    last_error       TEXT,
    PRIMARY KEY (message_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at);

-- Tokens by expiry, for the minute's look for tokens that near it.
CREATE INDEX tokens_expires_idx ON tokens (expires_at) WHERE revoked_at IS NULL;

-- Expiry events already sent: one per token and horizon (in days; 0 when it expired).
CREATE TABLE token_expiry_notices (
    token_id      UUID NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    horizon_days  INTEGER NOT NULL,
    noticed_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (token_id, horizon_days)
);
