-- What the latest poll of a server said of its vendor daemons (replaced at every answered poll),
-- and of each feature: licenses reserved, borrowed and the pools summed into `issued`.
CREATE TABLE vendor_daemon (
    server_id  BIGINT NOT NULL,
    name       VARCHAR(255) NOT NULL,
    status     VARCHAR(16) NOT NULL,
    version    VARCHAR(255),
    message    TEXT,
    PRIMARY KEY (server_id, name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

ALTER TABLE feature
    ADD COLUMN reserved BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN borrowed BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN pools BIGINT NOT NULL DEFAULT 0;
