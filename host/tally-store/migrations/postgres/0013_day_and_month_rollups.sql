-- Day and month rollups (UTC days and months; `day`/`month` is the period's first second), beside
-- the hourly ones and kept in the same transaction: each row folds its period's hourly rows (peaks
-- the largest, seconds and counts added; distinct users and hosts those holding a license at some
-- instant of the period). Reports over long windows read these: three years are ~1,100 day rows or
-- 36 month rows per feature instead of ~26,000 hourly ones. Derived rows: no foreign keys.
CREATE TABLE day_rollup (
    feature_id       BIGINT NOT NULL,
    day              BIGINT NOT NULL,
    server_id        BIGINT NOT NULL,
    peak_in_use      BIGINT NOT NULL,
    peak_desired     BIGINT NOT NULL,
    used_seconds     BIGINT NOT NULL,
    desired_seconds  BIGINT NOT NULL,
    denials          BIGINT NOT NULL,
    checkouts        BIGINT NOT NULL,
    distinct_users   BIGINT NOT NULL,
    distinct_hosts   BIGINT NOT NULL,
    PRIMARY KEY (feature_id, day)
);

CREATE TABLE user_day (
    feature_id       BIGINT NOT NULL,
    day              BIGINT NOT NULL,
    user_id          BIGINT NOT NULL,
    host_id          BIGINT NOT NULL,
    server_id        BIGINT NOT NULL,
    peak_in_use      BIGINT NOT NULL,
    peak_desired     BIGINT NOT NULL,
    used_seconds     BIGINT NOT NULL,
    desired_seconds  BIGINT NOT NULL,
    denials          BIGINT NOT NULL,
    checkouts        BIGINT NOT NULL,
    PRIMARY KEY (feature_id, day, user_id, host_id)
);

CREATE TABLE month_rollup (
    feature_id       BIGINT NOT NULL,
    month            BIGINT NOT NULL,
    server_id        BIGINT NOT NULL,
    peak_in_use      BIGINT NOT NULL,
    peak_desired     BIGINT NOT NULL,
    used_seconds     BIGINT NOT NULL,
    desired_seconds  BIGINT NOT NULL,
    denials          BIGINT NOT NULL,
    checkouts        BIGINT NOT NULL,
    distinct_users   BIGINT NOT NULL,
    distinct_hosts   BIGINT NOT NULL,
    PRIMARY KEY (feature_id, month)
);

CREATE TABLE user_month (
    feature_id       BIGINT NOT NULL,
    month            BIGINT NOT NULL,
    user_id          BIGINT NOT NULL,
    host_id          BIGINT NOT NULL,
    server_id        BIGINT NOT NULL,
    peak_in_use      BIGINT NOT NULL,
    peak_desired     BIGINT NOT NULL,
    used_seconds     BIGINT NOT NULL,
    desired_seconds  BIGINT NOT NULL,
    denials          BIGINT NOT NULL,
    checkouts        BIGINT NOT NULL,
    PRIMARY KEY (feature_id, month, user_id, host_id)
);

-- Derived rows go with their feature (a license server removed deletes its features): the store
-- never leaves day or month rows whose hourly rows are gone.
CREATE FUNCTION forget_coarse_rollups() RETURNS trigger AS $$
BEGIN
    DELETE FROM day_rollup WHERE feature_id = OLD.id;
    DELETE FROM user_day WHERE feature_id = OLD.id;
    DELETE FROM month_rollup WHERE feature_id = OLD.id;
    DELETE FROM user_month WHERE feature_id = OLD.id;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER feature_coarse_rollups AFTER DELETE ON feature
    FOR EACH ROW EXECUTE FUNCTION forget_coarse_rollups();

-- The history written before these existed gets its rows from the hourly ones when the store
-- opens.
INSERT INTO store_state (name, value) VALUES ('coarse_rollups', 'rebuild');
