-- Hourly rollups (tally-core `rollup`): per feature and UTC hour, and per user and host within
-- it. The writer replaces the rows of the hours a write touches in the same transaction as the
-- facts, from every fact overlapping them; dashboards and reports read these, never raw sessions.
CREATE TABLE hour_rollup (
    feature_id       INTEGER NOT NULL REFERENCES feature(id),
    hour             INTEGER NOT NULL,
    server_id        INTEGER NOT NULL REFERENCES license_server(id),
    peak_in_use      INTEGER NOT NULL,
    peak_desired     INTEGER NOT NULL,
    used_seconds     INTEGER NOT NULL,
    desired_seconds  INTEGER NOT NULL,
    denials          INTEGER NOT NULL,
    checkouts        INTEGER NOT NULL,
    distinct_users   INTEGER NOT NULL,
    distinct_hosts   INTEGER NOT NULL,
    PRIMARY KEY (feature_id, hour)
) WITHOUT ROWID;
CREATE INDEX hour_rollup_server ON hour_rollup (server_id, hour);

CREATE TABLE user_hour (
    feature_id       INTEGER NOT NULL REFERENCES feature(id),
    hour             INTEGER NOT NULL,
    user_id          INTEGER NOT NULL REFERENCES user(id),
    host_id          INTEGER NOT NULL REFERENCES host(id),
    server_id        INTEGER NOT NULL REFERENCES license_server(id),
    peak_in_use      INTEGER NOT NULL,
    peak_desired     INTEGER NOT NULL,
    used_seconds     INTEGER NOT NULL,
    desired_seconds  INTEGER NOT NULL,
    denials          INTEGER NOT NULL,
    checkouts        INTEGER NOT NULL,
    PRIMARY KEY (feature_id, hour, user_id, host_id)
) WITHOUT ROWID;
CREATE INDEX user_hour_server ON user_hour (server_id, hour);

-- Re-rolling a feature's hours reads the facts overlapping them: sessions ending within a day
-- after the hours (by this index), sessions longer than a day (listed again in long_session, few),
-- open checkouts, and denials by time.
CREATE INDEX session_feature_end ON session (feature_id, "end");
CREATE INDEX denial_feature_time ON denial (feature_id, time);

CREATE TABLE long_session (
    server_id      INTEGER NOT NULL REFERENCES license_server(id),
    feature_id     INTEGER NOT NULL REFERENCES feature(id),
    user_id        INTEGER NOT NULL REFERENCES user(id),
    host_id        INTEGER NOT NULL REFERENCES host(id),
    count          INTEGER NOT NULL,
    start          INTEGER NOT NULL,
    "end"          INTEGER NOT NULL,
    end_reason     TEXT NOT NULL,
    import_run_id  INTEGER REFERENCES import_run(id)
);
CREATE INDEX long_session_feature_end ON long_session (feature_id, "end");
INSERT INTO long_session (server_id, feature_id, user_id, host_id, count, start, "end", end_reason, import_run_id)
    SELECT server_id, feature_id, user_id, host_id, count, start, "end", end_reason, import_run_id
    FROM session WHERE "end" - start > 86400;

-- Store-wide flags. `rollups = rebuild`: the store recomputes every rollup when it opens (here:
-- the history written before rollups existed), then sets it to `ok`.
CREATE TABLE store_state (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
INSERT INTO store_state (name, value) VALUES ('rollups', 'rebuild');
