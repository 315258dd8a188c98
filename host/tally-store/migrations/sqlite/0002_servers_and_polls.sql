-- License servers as configured by the operator (seed 001): what monitors them and how they are
-- doing, per data source. Servers created by a plain import keep the defaults (N/A, nothing to follow).
ALTER TABLE license_server ADD COLUMN vendor TEXT;
ALTER TABLE license_server ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1;
-- Remote source: the poller format (NULL: not polled) and the query interval in seconds.
ALTER TABLE license_server ADD COLUMN poll_format TEXT;
ALTER TABLE license_server ADD COLUMN query_interval INTEGER NOT NULL DEFAULT 60;
-- Import source: the log format and the files or directories followed (JSON array of paths).
ALTER TABLE license_server ADD COLUMN import_format TEXT;
ALTER TABLE license_server ADD COLUMN follow TEXT NOT NULL DEFAULT '[]';
ALTER TABLE license_server ADD COLUMN utc_offset INTEGER;
ALTER TABLE license_server ADD COLUMN remote_status TEXT NOT NULL DEFAULT 'N/A';
ALTER TABLE license_server ADD COLUMN remote_reason TEXT;
ALTER TABLE license_server ADD COLUMN import_status TEXT NOT NULL DEFAULT 'N/A';
ALTER TABLE license_server ADD COLUMN import_reason TEXT;
-- When the server was last polled (by any answer): tells Unmonitored periods apart.
ALTER TABLE license_server ADD COLUMN last_poll INTEGER;
ALTER TABLE license_server ADD COLUMN updated_at INTEGER;

-- What the latest poll said of a feature (sums over its pools).
ALTER TABLE feature ADD COLUMN issued INTEGER;
ALTER TABLE feature ADD COLUMN expiry INTEGER;
ALTER TABLE feature ADD COLUMN kind TEXT;
ALTER TABLE feature ADD COLUMN version TEXT;
ALTER TABLE feature ADD COLUMN last_seen INTEGER;

-- Where a session came from: a log (`import`) or consecutive polls (`poll`).
ALTER TABLE session ADD COLUMN source TEXT NOT NULL DEFAULT 'import';

-- One row per feature per poll: the realtime history (issued NULL when uncounted).
CREATE TABLE usage_sample (
    server_id   INTEGER NOT NULL REFERENCES license_server(id),
    feature_id  INTEGER NOT NULL REFERENCES feature(id),
    time        INTEGER NOT NULL,
    issued      INTEGER,
    in_use      INTEGER NOT NULL,
    -- Requests waiting in the queue: demand beyond what was granted.
    queued      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX usage_sample_feature_time ON usage_sample (feature_id, time);

-- Checkouts seen by the latest poll and not yet gone: each becomes a session when it disappears.
CREATE TABLE open_checkout (
    id          INTEGER PRIMARY KEY,
    server_id   INTEGER NOT NULL REFERENCES license_server(id),
    feature_id  INTEGER NOT NULL REFERENCES feature(id),
    user_id     INTEGER NOT NULL REFERENCES user(id),
    host_id     INTEGER NOT NULL REFERENCES host(id),
    display     TEXT NOT NULL,
    handle      TEXT NOT NULL,
    count       INTEGER NOT NULL,
    start       INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL
);
CREATE INDEX open_checkout_server ON open_checkout (server_id);
