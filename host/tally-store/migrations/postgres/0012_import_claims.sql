-- Who imports which file right now: a lease per server and file head (see claims.rs). No
-- foreign key: a claim outlives nothing, and an expired one is simply replaced.
CREATE TABLE import_claim (
    server_id  BIGINT NOT NULL,
    head_hash  TEXT NOT NULL,
    holder     TEXT NOT NULL,
    path       TEXT NOT NULL,
    since      BIGINT NOT NULL,
    expires    BIGINT NOT NULL,
    PRIMARY KEY (server_id, head_hash)
);
