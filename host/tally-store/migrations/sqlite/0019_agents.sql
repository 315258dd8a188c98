-- End-user agents (`tally-agent`) and License Harvesting. All times are UTC seconds.

-- One row per enrolment of an agent.
CREATE TABLE agent (
    id                INTEGER PRIMARY KEY,
    host              TEXT NOT NULL,
    os                TEXT NOT NULL,
    version           TEXT NOT NULL,
    enrolled          INTEGER NOT NULL,
    -- When the server last received a report of it (NULL before the first).
    last_seen         INTEGER,
    -- When the operator enabled License Harvesting for it (NULL: it only watches); the
    -- licence's harvesting-agent limit admits them in this order.
    harvesting_since  INTEGER,
    -- The problems of its latest heartbeat, a JSON array of strings.
    errors            TEXT NOT NULL DEFAULT '[]',
    -- Its queue's figures as its latest heartbeat gave them.
    queued            INTEGER NOT NULL DEFAULT 0,
    dropped           INTEGER NOT NULL DEFAULT 0,
    -- Reports applied, and reports received again after they were applied.
    reports           INTEGER NOT NULL DEFAULT 0,
    duplicates        INTEGER NOT NULL DEFAULT 0,
    -- Report ids up to this one are forgotten (only the latest are kept): a report sent again
    -- with one of them was applied before, since an agent sends its reports in order.
    seq_floor         INTEGER NOT NULL DEFAULT 0
);

-- The reports applied: a report id is stored in the transaction that applies the report, so a
-- report sent again is answered `duplicate` and applied once.
CREATE TABLE agent_report (
    agent_id  INTEGER NOT NULL,
    seq       INTEGER NOT NULL,
    received  INTEGER NOT NULL,
    PRIMARY KEY (agent_id, seq)
);

-- What the agents watch: an executable name or path pattern, the license server and feature
-- it holds, and its harvesting policy (JSON of tally-core's `harvest::Policy`, NULL: never
-- harvested).
CREATE TABLE watched_application (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    -- `name` or `path`
    match_kind  TEXT NOT NULL,
    pattern     TEXT NOT NULL,
    server_id   INTEGER NOT NULL,
    feature     TEXT NOT NULL,
    policy      TEXT
);

-- End User sessions: a watched process as the agents saw it, from its first report to the
-- first report without it. `checkout_id` is the license manager's open checkout it annotates
-- (same server, feature, user and host when first seen); NULL: it counts alone as End User.
CREATE TABLE agent_session (
    id               INTEGER PRIMARY KEY,
    agent_id         INTEGER NOT NULL,
    server_id        INTEGER NOT NULL,
    feature          TEXT NOT NULL,
    application      TEXT NOT NULL,
    user_name        TEXT,
    host             TEXT NOT NULL,
    pid              INTEGER NOT NULL,
    started          INTEGER NOT NULL,
    first_seen       INTEGER NOT NULL,
    last_seen        INTEGER NOT NULL,
    -- NULL while the process runs.
    ended            INTEGER,
    cpu_time_ms      INTEGER NOT NULL,
    -- Hundredths of a percent of one core over the latest report's interval.
    cpu_centi        INTEGER NOT NULL,
    input_idle_secs  INTEGER,
    suspended        BOOLEAN NOT NULL,
    -- The CPU samples harvesting decides on (JSON, bounded by the policy's window).
    cpu_samples      TEXT NOT NULL,
    reports          INTEGER NOT NULL,
    checkout_id      INTEGER,
    UNIQUE (agent_id, pid, started)
);
CREATE INDEX agent_session_open ON agent_session (agent_id, ended);

-- Harvest orders the server gave, and what became of them (one event per result).
CREATE TABLE harvest_order (
    id          INTEGER PRIMARY KEY,
    agent_id    INTEGER NOT NULL,
    session_id  INTEGER NOT NULL,
    -- `dry-run`, `graceful`, `force`, `suspend`
    method      TEXT NOT NULL,
    -- JSON of the protocol's release method and of the reasons
    release_json TEXT NOT NULL,
    reasons_json TEXT NOT NULL,
    ordered     INTEGER NOT NULL,
    -- The outcome's kind once the agent reported it.
    outcome     TEXT,
    UNIQUE (session_id, method)
);

CREATE TABLE harvest_event (
    id           INTEGER PRIMARY KEY,
    order_id     INTEGER NOT NULL,
    agent_id     INTEGER NOT NULL,
    session_id   INTEGER NOT NULL,
    server_id    INTEGER NOT NULL,
    feature      TEXT NOT NULL,
    application  TEXT NOT NULL,
    user_name    TEXT,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    method       TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    reason       TEXT,
    time         INTEGER NOT NULL,
    -- Licence time given back, seconds (0 for a dry run or a process left running).
    saved_secs   INTEGER NOT NULL,
    UNIQUE (order_id, outcome)
);

-- License servers whose agent data the operator turned off (seed 001's End User "Disabled"):
-- reports of their applications are not recorded.
CREATE TABLE agent_server_off (
    server_id  INTEGER PRIMARY KEY,
    since      INTEGER NOT NULL
);
