-- Heatmap cells (hour of the UTC week × weekday) rolled up per feature and UTC month, and per
-- feature and UTC year, beside the other rollups and kept in the same transaction. A heatmap over
-- years read every hourly row of its window (10 M sessions, all history: 6 s); from these it
-- reads at most 168 rows per feature and whole year, and per whole month at its ends, the hours
-- left at either end from the hourly rows: a window of any length is 10^3-10^4 rows per feature.
-- Months and years, not weeks: a week's cells are its hours, so only periods of several weeks
-- fold anything. `cell` is the hour's offset in its UTC week counted from Thursday 1970-01-01
-- 00:00 (the Unix epoch), in seconds: a timestamp with the cell's weekday and hour of day.
-- Each row folds its hourly rows (peaks the largest, seconds and counts added, distinct users and
-- hosts the most of any one of its hours). Derived rows: no foreign keys.
CREATE TABLE month_cell (
    feature_id       BIGINT NOT NULL,
    month            BIGINT NOT NULL,
    cell             BIGINT NOT NULL,
    server_id        BIGINT NOT NULL,
    peak_in_use      BIGINT NOT NULL,
    peak_desired     BIGINT NOT NULL,
    used_seconds     BIGINT NOT NULL,
    desired_seconds  BIGINT NOT NULL,
    denials          BIGINT NOT NULL,
    checkouts        BIGINT NOT NULL,
    distinct_users   BIGINT NOT NULL,
    distinct_hosts   BIGINT NOT NULL,
    PRIMARY KEY (feature_id, month, cell)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE year_cell (
    feature_id       BIGINT NOT NULL,
    year             BIGINT NOT NULL,
    cell             BIGINT NOT NULL,
    server_id        BIGINT NOT NULL,
    peak_in_use      BIGINT NOT NULL,
    peak_desired     BIGINT NOT NULL,
    used_seconds     BIGINT NOT NULL,
    desired_seconds  BIGINT NOT NULL,
    denials          BIGINT NOT NULL,
    checkouts        BIGINT NOT NULL,
    distinct_users   BIGINT NOT NULL,
    distinct_hosts   BIGINT NOT NULL,
    PRIMARY KEY (feature_id, year, cell)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

-- Derived rows go with their feature, as the day and month rows do.
CREATE TRIGGER feature_month_cell AFTER DELETE ON feature
    FOR EACH ROW DELETE FROM month_cell WHERE feature_id = OLD.id;
CREATE TRIGGER feature_year_cell AFTER DELETE ON feature
    FOR EACH ROW DELETE FROM year_cell WHERE feature_id = OLD.id;

-- The history written before these existed gets its cells from the hourly rows when the store
-- opens.
INSERT INTO store_state (name, value) VALUES ('cell_rollups', 'rebuild');
