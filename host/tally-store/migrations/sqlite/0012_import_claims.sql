-- Who imports which file right now: a lease per server and file head (see claims.rs). No
-- foreign key: a claim outlives nothing, and an expired one is simply replaced.
CREATE TABLE import_claim (
    server_id  INTEGER NOT NULL,
    head_hash  TEXT NOT NULL,
    holder     TEXT NOT NULL,
    path       TEXT NOT NULL,
    since      INTEGER NOT NULL,
    expires    INTEGER NOT NULL,
    PRIMARY KEY (server_id, head_hash)
);
