-- Uses of replaced secrets per minute, for "used N times in the last hour". Minutes older than an
-- hour are deleted as new ones are written.
CREATE TABLE retiring_secret_uses (
    digest  BLOB NOT NULL REFERENCES retiring_secrets (digest) ON DELETE CASCADE,
    minute  INTEGER NOT NULL,
    uses    INTEGER NOT NULL,
    PRIMARY KEY (digest, minute)
) STRICT;
