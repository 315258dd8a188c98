-- Tally's own licence (tally-core `licence`, seeds 002 and 003).

-- Licence files installed, newest in force; none: the built-in Community licence. Kept as the
-- signed text, so the signature is checked again each time it is read.
CREATE TABLE licence_file (
    id            BIGINT AUTO_INCREMENT PRIMARY KEY,
    text          TEXT NOT NULL,
    installed_at  BIGINT NOT NULL,
    -- Set when a newer file replaced it, or it was removed.
    retired_at    BIGINT
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

-- One incident per violation (a seed row and whom it is about) while it persists: opened when
-- first found, `last_seen` kept up, closed when a check of the same scope no longer finds it.
-- A notification is due for each incident until `notified_at` is set.
CREATE TABLE licence_incident (
    id           BIGINT AUTO_INCREMENT PRIMARY KEY,
    scope        VARCHAR(255) NOT NULL,
    row_name     VARCHAR(255) NOT NULL,
    subject      VARCHAR(255) NOT NULL,
    message      TEXT NOT NULL,
    opened_at    BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL,
    closed_at    BIGINT,
    notified_at  BIGINT
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;
CREATE INDEX licence_incident_scope ON licence_incident (scope, closed_at);

-- The license-manager version each server showed, a row per change: the maintenance row asks
-- what a server ran before maintenance ended. Rows older than their server's `created_at`
-- belong to a removed server whose id was reused, and are ignored.
CREATE TABLE server_manager_version (
    server_id  BIGINT NOT NULL,
    version    VARCHAR(255) NOT NULL,
    since      BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;
CREATE INDEX server_manager_version_server ON server_manager_version (server_id, since);
