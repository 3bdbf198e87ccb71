-- Kept for the same schema on both backends: PostgreSQL nodes tell each other through
-- LISTEN/NOTIFY, and never write here.
CREATE TABLE change_notices (
    id          BIGSERIAL PRIMARY KEY,
    notice      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
