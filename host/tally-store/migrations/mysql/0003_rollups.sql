-- Hourly rollups (tally-core `rollup`): per feature and UTC hour, and per user and host within
-- it. The writer replaces the rows of the hours a write touches in the same transaction as the
-- facts, from every fact overlapping them; dashboards and reports read these, never raw sessions.
CREATE TABLE hour_rollup (
    feature_id       BIGINT NOT NULL,
    hour             BIGINT NOT NULL,
    server_id        BIGINT NOT NULL,
    peak_in_use      BIGINT NOT NULL,
    peak_desired     BIGINT NOT NULL,
    used_seconds     BIGINT NOT NULL,
    desired_seconds  BIGINT NOT NULL,
    denials          BIGINT NOT NULL,
    checkouts        BIGINT NOT NULL,
    distinct_users   BIGINT NOT NULL,
    distinct_hosts   BIGINT NOT NULL,
    PRIMARY KEY (feature_id, hour),
    INDEX hour_rollup_server (server_id, hour),
    FOREIGN KEY (feature_id) REFERENCES feature(id),
    FOREIGN KEY (server_id) REFERENCES license_server(id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE user_hour (
    feature_id       BIGINT NOT NULL,
    hour             BIGINT NOT NULL,
    user_id          BIGINT NOT NULL,
    host_id          BIGINT NOT NULL,
    server_id        BIGINT NOT NULL,
    peak_in_use      BIGINT NOT NULL,
    peak_desired     BIGINT NOT NULL,
    used_seconds     BIGINT NOT NULL,
    desired_seconds  BIGINT NOT NULL,
    denials          BIGINT NOT NULL,
    checkouts        BIGINT NOT NULL,
    PRIMARY KEY (feature_id, hour, user_id, host_id),
    INDEX user_hour_server (server_id, hour),
    FOREIGN KEY (feature_id) REFERENCES feature(id),
    FOREIGN KEY (user_id) REFERENCES `user`(id),
    FOREIGN KEY (host_id) REFERENCES host(id),
    FOREIGN KEY (server_id) REFERENCES license_server(id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

-- Re-rolling a feature's hours reads the facts overlapping them: sessions ending within a day
-- after the hours (by this index), sessions longer than a day (listed again in long_session, few),
-- open checkouts, and denials by time.
CREATE INDEX session_feature_end ON session (feature_id, `end`);
CREATE INDEX denial_feature_time ON denial (feature_id, time);

CREATE TABLE long_session (
    server_id      BIGINT NOT NULL,
    feature_id     BIGINT NOT NULL,
    user_id        BIGINT NOT NULL,
    host_id        BIGINT NOT NULL,
    count          BIGINT NOT NULL,
    start          BIGINT NOT NULL,
    `end`          BIGINT NOT NULL,
    end_reason     VARCHAR(32) NOT NULL,
    import_run_id  BIGINT,
    INDEX long_session_feature_end (feature_id, `end`),
    FOREIGN KEY (server_id) REFERENCES license_server(id),
    FOREIGN KEY (feature_id) REFERENCES feature(id),
    FOREIGN KEY (user_id) REFERENCES `user`(id),
    FOREIGN KEY (host_id) REFERENCES host(id),
    FOREIGN KEY (import_run_id) REFERENCES import_run(id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;
INSERT INTO long_session (server_id, feature_id, user_id, host_id, count, start, `end`, end_reason, import_run_id)
    SELECT server_id, feature_id, user_id, host_id, count, start, `end`, end_reason, import_run_id
    FROM session WHERE `end` - start > 86400;

-- Store-wide flags. `rollups = rebuild`: the store recomputes every rollup when it opens (here:
-- the history written before rollups existed), then sets it to `ok`.
CREATE TABLE store_state (
    name   VARCHAR(64) PRIMARY KEY,
    value  VARCHAR(255) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;
INSERT INTO store_state (name, value) VALUES ('rollups', 'rebuild');
