-- Uses of replaced secrets per minute, for "used N times in the last hour". Minutes older than an
-- hour are deleted as new ones are written.
CREATE TABLE retiring_secret_uses (
    digest  BYTEA NOT NULL REFERENCES retiring_secrets (digest) ON DELETE CASCADE,
    minute  TIMESTAMPTZ NOT NULL,
    uses    BIGINT NOT NULL,
    PRIMARY KEY (digest, minute)
);
