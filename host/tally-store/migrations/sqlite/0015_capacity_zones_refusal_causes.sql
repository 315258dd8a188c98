-- Numbers a site can act on (issue 21).

-- A license server's IANA time zone (`America/Chicago`) or fixed offset (`+05:30`): how its logs
-- are read and its reports shown. NULL: none set (imports fall back on `utc_offset`, then on
-- this machine's offset).
ALTER TABLE license_server ADD COLUMN time_zone TEXT;

-- Why a denial was refused: capacity | configuration | other (tally-core `refusal`). Only
-- capacity refusals count in rollups (denials, desired). NULL: not classified yet; the store
-- classifies those when it opens (store_state 'refusals') and re-rolls their hours.
ALTER TABLE denial ADD COLUMN cause TEXT;
INSERT INTO store_state (name, value) VALUES ('refusals', 'classify');

-- Licences issued per feature over a range of time, from the server's own records (`server`),
-- license files (`license-file`) or the operator (`operator`), most trusted first. `issued`
-- NULL: uncounted; no row at all: unknown (never zero). `valid_to` is exclusive (an expiry or
-- the end of a contract); NULL bounds are open.
CREATE TABLE capacity (
    id             INTEGER PRIMARY KEY,
    server_id      INTEGER NOT NULL REFERENCES license_server(id),
    feature_id     INTEGER NOT NULL REFERENCES feature(id),
    source         TEXT NOT NULL,
    -- Pools of one feature (INCREMENT lines, RLM pools) add up; '' when the source names none.
    pool           TEXT NOT NULL DEFAULT '',
    version        TEXT,
    issued         INTEGER,
    valid_from     INTEGER,
    valid_to       INTEGER,
    import_run_id  INTEGER REFERENCES import_run(id),
    created_at     INTEGER NOT NULL
);
CREATE INDEX capacity_feature ON capacity (feature_id, source);
