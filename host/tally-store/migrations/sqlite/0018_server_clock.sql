-- The clock skew of each license server (server minus Tally, seconds) as bounded by the time
-- stamps it wrote since its clock last moved (tally-core `clock`): a row per server, kept up
-- by its polls and followed logs.
CREATE TABLE server_clock (
    server_id     INTEGER PRIMARY KEY,
    at_least      INTEGER NOT NULL,
    -- NULL until a stamp bounds the skew from above.
    at_most       INTEGER,
    observations  INTEGER NOT NULL,
    -- An observation disagreed with all before it: the clock was stepped.
    stepped       INTEGER NOT NULL,
    as_of         INTEGER NOT NULL
);
