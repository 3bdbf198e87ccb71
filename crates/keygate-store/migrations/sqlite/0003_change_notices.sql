-- Change notices between processes sharing one SQLite file (the server and the command line):
-- written with every change that affects verification, read by the server's poller.
CREATE TABLE change_notices (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    notice      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
