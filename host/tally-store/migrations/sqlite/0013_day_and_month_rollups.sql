-- Day and month rollups (UTC days and months; `day`/`month` is the period's first second), beside
-- the hourly ones and kept in the same transaction: each row folds its period's hourly rows (peaks
-- the largest, seconds and counts added; distinct users and hosts those holding a license at some
-- instant of the period). Reports over long windows read these: three years are ~1,100 day rows or
-- 36 month rows per feature instead of ~26,000 hourly ones. Derived rows: no foreign keys.
CREATE TABLE day_rollup (
    feature_id       INTEGER NOT NULL,
    day              INTEGER NOT NULL,
    server_id        INTEGER NOT NULL,
    peak_in_use      INTEGER NOT NULL,
    peak_desired     INTEGER NOT NULL,
    used_seconds     INTEGER NOT NULL,
    desired_seconds  INTEGER NOT NULL,
    denials          INTEGER NOT NULL,
    checkouts        INTEGER NOT NULL,
    distinct_users   INTEGER NOT NULL,
    distinct_hosts   INTEGER NOT NULL,
    PRIMARY KEY (feature_id, day)
) WITHOUT ROWID;

CREATE TABLE user_day (
    feature_id       INTEGER NOT NULL,
    day              INTEGER NOT NULL,
    user_id          INTEGER NOT NULL,
    host_id          INTEGER NOT NULL,
    server_id        INTEGER NOT NULL,
    peak_in_use      INTEGER NOT NULL,
    peak_desired     INTEGER NOT NULL,
    used_seconds     INTEGER NOT NULL,
    desired_seconds  INTEGER NOT NULL,
    denials          INTEGER NOT NULL,
    checkouts        INTEGER NOT NULL,
    PRIMARY KEY (feature_id, day, user_id, host_id)
) WITHOUT ROWID;

CREATE TABLE month_rollup (
    feature_id       INTEGER NOT NULL,
    month            INTEGER NOT NULL,
    server_id        INTEGER NOT NULL,
    peak_in_use      INTEGER NOT NULL,
    peak_desired     INTEGER NOT NULL,
    used_seconds     INTEGER NOT NULL,
    desired_seconds  INTEGER NOT NULL,
    denials          INTEGER NOT NULL,
    checkouts        INTEGER NOT NULL,
    distinct_users   INTEGER NOT NULL,
    distinct_hosts   INTEGER NOT NULL,
    PRIMARY KEY (feature_id, month)
) WITHOUT ROWID;

CREATE TABLE user_month (
    feature_id       INTEGER NOT NULL,
    month            INTEGER NOT NULL,
    user_id          INTEGER NOT NULL,
    host_id          INTEGER NOT NULL,
    server_id        INTEGER NOT NULL,
    peak_in_use      INTEGER NOT NULL,
    peak_desired     INTEGER NOT NULL,
    used_seconds     INTEGER NOT NULL,
    desired_seconds  INTEGER NOT NULL,
    denials          INTEGER NOT NULL,
    checkouts        INTEGER NOT NULL,
    PRIMARY KEY (feature_id, month, user_id, host_id)
) WITHOUT ROWID;

-- Derived rows go with their feature (a license server removed deletes its features): the store
-- never leaves day or month rows whose hourly rows are gone.
CREATE TRIGGER feature_coarse_rollups AFTER DELETE ON feature BEGIN
    DELETE FROM day_rollup WHERE feature_id = old.id;
    DELETE FROM user_day WHERE feature_id = old.id;
    DELETE FROM month_rollup WHERE feature_id = old.id;
    DELETE FROM user_month WHERE feature_id = old.id;
END;

-- The history written before these existed gets its rows from the hourly ones when the store
-- opens.
INSERT INTO store_state (name, value) VALUES ('coarse_rollups', 'rebuild');
