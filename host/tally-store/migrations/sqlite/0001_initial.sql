-- Tally's history on SQLite. All times are UTC seconds since 1970.
-- Secondary indexes are added by the features that read through them: each one slows bulk
-- inserts (PERF.md: 6-8x for indexes during bulk insert).

CREATE TABLE license_server (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    -- The format or manager that feeds it, e.g. `flexlm-debuglog`.
    manager     TEXT NOT NULL,
    host        TEXT,
    port        INTEGER,
    created_at  INTEGER NOT NULL
);

CREATE TABLE feature (
    id          INTEGER PRIMARY KEY,
    server_id   INTEGER NOT NULL REFERENCES license_server(id),
    vendor      TEXT NOT NULL,
    name        TEXT NOT NULL,
    UNIQUE (server_id, vendor, name)
);

CREATE TABLE user (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE
);

CREATE TABLE host (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE
);

-- One import of one log file, and its checkpoint: the facts of a batch and the checkpoint that
-- covers them are written in one transaction, so an interrupted import resumes exactly.
CREATE TABLE import_run (
    id               INTEGER PRIMARY KEY,
    server_id        INTEGER NOT NULL REFERENCES license_server(id),
    format           TEXT NOT NULL,
    plugin           TEXT NOT NULL,
    plugin_version   TEXT NOT NULL,
    path             TEXT NOT NULL,
    -- File identity: sha256 of the first head_len bytes.
    head_len         INTEGER NOT NULL,
    head_hash        TEXT NOT NULL,
    -- Checkpoint: bytes consumed, sha256 of the last line consumed, the importer's state.
    offset           INTEGER NOT NULL DEFAULT 0,
    last_line_hash   TEXT NOT NULL DEFAULT '',
    state            BLOB,
    lines            INTEGER NOT NULL DEFAULT 0,
    sessions         INTEGER NOT NULL DEFAULT 0,
    denials          INTEGER NOT NULL DEFAULT 0,
    queued           INTEGER NOT NULL DEFAULT 0,
    server_events    INTEGER NOT NULL DEFAULT 0,
    malformed        INTEGER NOT NULL DEFAULT 0,
    diagnostics      INTEGER NOT NULL DEFAULT 0,
    -- running | complete | failed
    status           TEXT NOT NULL,
    error            TEXT,
    started_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    finished_at      INTEGER
);
CREATE INDEX import_run_server ON import_run (server_id);

CREATE TABLE session (
    id             INTEGER PRIMARY KEY,
    server_id      INTEGER NOT NULL REFERENCES license_server(id),
    feature_id     INTEGER NOT NULL REFERENCES feature(id),
    user_id        INTEGER NOT NULL REFERENCES user(id),
    host_id        INTEGER NOT NULL REFERENCES host(id),
    count          INTEGER NOT NULL,
    start          INTEGER NOT NULL,
    "end"          INTEGER NOT NULL,
    end_reason     TEXT NOT NULL,
    project        TEXT,
    import_run_id  INTEGER REFERENCES import_run(id)
);

CREATE TABLE denial (
    id                 INTEGER PRIMARY KEY,
    server_id          INTEGER NOT NULL REFERENCES license_server(id),
    feature_id         INTEGER NOT NULL REFERENCES feature(id),
    user_id            INTEGER NOT NULL REFERENCES user(id),
    host_id            INTEGER NOT NULL REFERENCES host(id),
    count              INTEGER NOT NULL,
    time               INTEGER NOT NULL,
    -- denied | unsupported
    kind               TEXT NOT NULL,
    -- FlexNet-style `-4,342:10054`
    code               TEXT,
    reason             TEXT,
    requested_version  TEXT,
    import_run_id      INTEGER REFERENCES import_run(id)
);

CREATE TABLE queued_request (
    id             INTEGER PRIMARY KEY,
    server_id      INTEGER NOT NULL REFERENCES license_server(id),
    feature_id     INTEGER NOT NULL REFERENCES feature(id),
    user_id        INTEGER NOT NULL REFERENCES user(id),
    host_id        INTEGER NOT NULL REFERENCES host(id),
    count          INTEGER NOT NULL,
    time           INTEGER,
    import_run_id  INTEGER REFERENCES import_run(id)
);

CREATE TABLE server_event (
    id             INTEGER PRIMARY KEY,
    server_id      INTEGER NOT NULL REFERENCES license_server(id),
    time           INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    daemon         TEXT NOT NULL,
    text           TEXT NOT NULL,
    import_run_id  INTEGER REFERENCES import_run(id)
);

-- Lines an importer could not read, with their line numbers. The first 1000 per run are kept;
-- import_run counts them all.
CREATE TABLE import_diagnostic (
    import_run_id  INTEGER NOT NULL REFERENCES import_run(id),
    line           INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    text           TEXT NOT NULL
);
CREATE INDEX import_diagnostic_run ON import_diagnostic (import_run_id, line);
