-- Tally's own licence (tally-core `licence`, seeds 002 and 003).

-- Licence files installed, newest in force; none: the built-in Community licence. Kept as the
-- signed text, so the signature is checked again each time it is read.
CREATE TABLE licence_file (
    id            INTEGER PRIMARY KEY,
    text          TEXT NOT NULL,
    installed_at  INTEGER NOT NULL,
    -- Set when a newer file replaced it, or it was removed.
    retired_at    INTEGER
);

-- One incident per violation (a seed row and whom it is about) while it persists: opened when
-- first found, `last_seen` kept up, closed when a check of the same scope no longer finds it.
-- A notification is due for each incident until `notified_at` is set.
CREATE TABLE licence_incident (
    id           INTEGER PRIMARY KEY,
    scope        TEXT NOT NULL,
    row_name     TEXT NOT NULL,
    subject      TEXT NOT NULL,
    message      TEXT NOT NULL,
    opened_at    INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    closed_at    INTEGER,
    notified_at  INTEGER
);
CREATE INDEX licence_incident_scope ON licence_incident (scope, closed_at);

-- The license-manager version each server showed, a row per change: the maintenance row asks
-- what a server ran before maintenance ended. Rows older than their server's `created_at`
-- belong to a removed server whose id was reused, and are ignored.
CREATE TABLE server_manager_version (
    server_id  INTEGER NOT NULL,
    version    TEXT NOT NULL,
    since      INTEGER NOT NULL
);
CREATE INDEX server_manager_version_server ON server_manager_version (server_id, since);
