-- What the latest poll of a server said of its vendor daemons (replaced at every answered poll),
-- and of each feature: licenses reserved, borrowed and the pools summed into `issued`.
CREATE TABLE vendor_daemon (
    server_id  INTEGER NOT NULL,
    name       TEXT NOT NULL,
    status     TEXT NOT NULL,
    version    TEXT,
    message    TEXT,
    PRIMARY KEY (server_id, name)
);

ALTER TABLE feature ADD COLUMN reserved INTEGER NOT NULL DEFAULT 0;
ALTER TABLE feature ADD COLUMN borrowed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE feature ADD COLUMN pools INTEGER NOT NULL DEFAULT 0;
