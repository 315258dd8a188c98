-- License servers as configured by the operator (seed 001), polls and their samples: as
-- migrations/sqlite/0002.
ALTER TABLE license_server
    ADD COLUMN vendor VARCHAR(255),
    ADD COLUMN enabled BOOLEAN NOT NULL DEFAULT TRUE,
    ADD COLUMN poll_format VARCHAR(255),
    ADD COLUMN query_interval BIGINT NOT NULL DEFAULT 60,
    ADD COLUMN import_format VARCHAR(255),
    ADD COLUMN follow MEDIUMTEXT NOT NULL DEFAULT '[]',
    ADD COLUMN utc_offset BIGINT,
    ADD COLUMN remote_status VARCHAR(32) NOT NULL DEFAULT 'N/A',
    ADD COLUMN remote_reason MEDIUMTEXT,
    ADD COLUMN import_status VARCHAR(32) NOT NULL DEFAULT 'N/A',
    ADD COLUMN import_reason MEDIUMTEXT,
    ADD COLUMN last_poll BIGINT,
    ADD COLUMN updated_at BIGINT;

ALTER TABLE feature
    ADD COLUMN issued BIGINT,
    ADD COLUMN expiry BIGINT,
    ADD COLUMN kind VARCHAR(32),
    ADD COLUMN version VARCHAR(255),
    ADD COLUMN last_seen BIGINT;

-- Where a session came from: a log (`import`) or consecutive polls (`poll`).
ALTER TABLE session ADD COLUMN source VARCHAR(16) NOT NULL DEFAULT 'import';

CREATE TABLE usage_sample (
    server_id   BIGINT NOT NULL,
    feature_id  BIGINT NOT NULL,
    time        BIGINT NOT NULL,
    issued      BIGINT,
    in_use      BIGINT NOT NULL,
    queued      BIGINT NOT NULL DEFAULT 0,
    INDEX usage_sample_feature_time (feature_id, time),
    FOREIGN KEY (server_id) REFERENCES license_server(id),
    FOREIGN KEY (feature_id) REFERENCES feature(id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE open_checkout (
    id          BIGINT AUTO_INCREMENT PRIMARY KEY,
    server_id   BIGINT NOT NULL,
    feature_id  BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    host_id     BIGINT NOT NULL,
    display     TEXT NOT NULL,
    handle      TEXT NOT NULL,
    count       BIGINT NOT NULL,
    start       BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    INDEX open_checkout_server (server_id),
    FOREIGN KEY (server_id) REFERENCES license_server(id),
    FOREIGN KEY (feature_id) REFERENCES feature(id),
    FOREIGN KEY (user_id) REFERENCES `user`(id),
    FOREIGN KEY (host_id) REFERENCES host(id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;
