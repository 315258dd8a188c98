-- End-user agents (`tally-agent`) and License Harvesting. All times are UTC seconds.

-- One row per enrolment of an agent.
CREATE TABLE agent (
    id                BIGSERIAL PRIMARY KEY,
    host              TEXT NOT NULL,
    os                TEXT NOT NULL,
    version           TEXT NOT NULL,
    enrolled          BIGINT NOT NULL,
    -- When the server last received a report of it (NULL before the first).
    last_seen         BIGINT,
    -- When the operator enabled License Harvesting for it (NULL: it only watches); the
    -- licence's harvesting-agent limit admits them in this order.
    harvesting_since  BIGINT,
    -- The problems of its latest heartbeat, a JSON array of strings.
    errors            TEXT NOT NULL DEFAULT '[]',
    -- Its queue's figures as its latest heartbeat gave them.
    queued            BIGINT NOT NULL DEFAULT 0,
    dropped           BIGINT NOT NULL DEFAULT 0,
    -- Reports applied, and reports received again after they were applied.
    reports           BIGINT NOT NULL DEFAULT 0,
    duplicates        BIGINT NOT NULL DEFAULT 0,
    -- Report ids up to this one are forgotten (only the latest are kept): a report sent again
    -- with one of them was applied before, since an agent sends its reports in order.
    seq_floor         BIGINT NOT NULL DEFAULT 0
);

-- The reports applied: a report id is stored in the transaction that applies the report, so a
-- report sent again is answered `duplicate` and applied once.
CREATE TABLE agent_report (
    agent_id  BIGINT NOT NULL,
    seq       BIGINT NOT NULL,
    received  BIGINT NOT NULL,
    PRIMARY KEY (agent_id, seq)
);

-- What the agents watch: an executable name or path pattern, the license server and feature
-- it holds, and its harvesting policy (JSON of tally-core's `harvest::Policy`, NULL: never
-- harvested).
CREATE TABLE watched_application (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    -- `name` or `path`
    match_kind  TEXT NOT NULL,
    pattern     TEXT NOT NULL,
    server_id   BIGINT NOT NULL,
    feature     TEXT NOT NULL,
    policy      TEXT
);

-- End User sessions: a watched process as the agents saw it, from its first report to the
-- first report without it. `checkout_id` is the license manager's open checkout it annotates
-- (same server, feature, user and host when first seen); NULL: it counts alone as End User.
CREATE TABLE agent_session (
    id               BIGSERIAL PRIMARY KEY,
    agent_id         BIGINT NOT NULL,
    server_id        BIGINT NOT NULL,
    feature          TEXT NOT NULL,
    application      TEXT NOT NULL,
    user_name        TEXT,
    host             TEXT NOT NULL,
    pid              BIGINT NOT NULL,
    started          BIGINT NOT NULL,
    first_seen       BIGINT NOT NULL,
    last_seen        BIGINT NOT NULL,
    -- NULL while the process runs.
    ended            BIGINT,
    cpu_time_ms      BIGINT NOT NULL,
    -- Hundredths of a percent of one core over the latest report's interval.
    cpu_centi        BIGINT NOT NULL,
    input_idle_secs  BIGINT,
    suspended        BOOLEAN NOT NULL,
    -- The CPU samples harvesting decides on (JSON, bounded by the policy's window).
    cpu_samples      TEXT NOT NULL,
    reports          BIGINT NOT NULL,
    checkout_id      BIGINT,
    UNIQUE (agent_id, pid, started)
);
CREATE INDEX agent_session_open ON agent_session (agent_id, ended);

-- Harvest orders the server gave, and what became of them (one event per result).
CREATE TABLE harvest_order (
    id          BIGSERIAL PRIMARY KEY,
    agent_id    BIGINT NOT NULL,
    session_id  BIGINT NOT NULL,
    -- `dry-run`, `graceful`, `force`, `suspend`
    method      TEXT NOT NULL,
    -- JSON of the protocol's release method and of the reasons
    release_json TEXT NOT NULL,
    reasons_json TEXT NOT NULL,
    ordered     BIGINT NOT NULL,
    -- The outcome's kind once the agent reported it.
    outcome     TEXT,
    UNIQUE (session_id, method)
);

CREATE TABLE harvest_event (
    id           BIGSERIAL PRIMARY KEY,
    order_id     BIGINT NOT NULL,
    agent_id     BIGINT NOT NULL,
    session_id   BIGINT NOT NULL,
    server_id    BIGINT NOT NULL,
    feature      TEXT NOT NULL,
    application  TEXT NOT NULL,
    user_name    TEXT,
    host         TEXT NOT NULL,
    pid          BIGINT NOT NULL,
    method       TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    reason       TEXT,
    time         BIGINT NOT NULL,
    -- Licence time given back, seconds (0 for a dry run or a process left running).
    saved_secs   BIGINT NOT NULL,
    UNIQUE (order_id, outcome)
);

-- License servers whose agent data the operator turned off (seed 001's End User "Disabled"):
-- reports of their applications are not recorded.
CREATE TABLE agent_server_off (
    server_id  BIGINT PRIMARY KEY,
    since      BIGINT NOT NULL
);
