-- Tally's history on MySQL/MariaDB: the same tables as migrations/sqlite, version for version.
-- All times are UTC seconds since 1970 (BIGINT); every integer is BIGINT so one Rust type reads
-- it on every backend. Names are VARCHAR(255) (unique keys need a bounded length) with a binary
-- no-pad collation: `ann`, `Ann` and `ann ` are three users, as on the other backends.
-- Secondary indexes are added by the features that read through them.

CREATE TABLE license_server (
    id          BIGINT AUTO_INCREMENT PRIMARY KEY,
    name        VARCHAR(255) NOT NULL UNIQUE,
    -- The format or manager that feeds it, e.g. `flexlm-debuglog`.
    manager     VARCHAR(255) NOT NULL,
    host        TEXT,
    port        BIGINT,
    created_at  BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE feature (
    id          BIGINT AUTO_INCREMENT PRIMARY KEY,
    server_id   BIGINT NOT NULL,
    vendor      VARCHAR(255) NOT NULL,
    name        VARCHAR(255) NOT NULL,
    UNIQUE (server_id, vendor, name),
    FOREIGN KEY (server_id) REFERENCES license_server(id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE `user` (
    id    BIGINT AUTO_INCREMENT PRIMARY KEY,
    name  VARCHAR(255) NOT NULL UNIQUE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE host (
    id    BIGINT AUTO_INCREMENT PRIMARY KEY,
    name  VARCHAR(255) NOT NULL UNIQUE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

-- One import of one log file, and its checkpoint (written in the same transaction as its facts).
CREATE TABLE import_run (
    id               BIGINT AUTO_INCREMENT PRIMARY KEY,
    server_id        BIGINT NOT NULL,
    format           VARCHAR(255) NOT NULL,
    plugin           VARCHAR(255) NOT NULL,
    plugin_version   VARCHAR(255) NOT NULL,
    path             TEXT NOT NULL,
    head_len         BIGINT NOT NULL,
    head_hash        VARCHAR(255) NOT NULL,
    `offset`         BIGINT NOT NULL DEFAULT 0,
    last_line_hash   VARCHAR(255) NOT NULL DEFAULT '',
    state            LONGBLOB,
    `lines`          BIGINT NOT NULL DEFAULT 0,
    sessions         BIGINT NOT NULL DEFAULT 0,
    denials          BIGINT NOT NULL DEFAULT 0,
    queued           BIGINT NOT NULL DEFAULT 0,
    server_events    BIGINT NOT NULL DEFAULT 0,
    malformed        BIGINT NOT NULL DEFAULT 0,
    diagnostics      BIGINT NOT NULL DEFAULT 0,
    -- running | complete | failed
    status           VARCHAR(16) NOT NULL,
    error            MEDIUMTEXT,
    started_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    finished_at      BIGINT,
    INDEX import_run_server (server_id),
    FOREIGN KEY (server_id) REFERENCES license_server(id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE session (
    id             BIGINT AUTO_INCREMENT PRIMARY KEY,
    server_id      BIGINT NOT NULL,
    feature_id     BIGINT NOT NULL,
    user_id        BIGINT NOT NULL,
    host_id        BIGINT NOT NULL,
    count          BIGINT NOT NULL,
    start          BIGINT NOT NULL,
    `end`          BIGINT NOT NULL,
    end_reason     VARCHAR(32) NOT NULL,
    project        TEXT,
    import_run_id  BIGINT,
    FOREIGN KEY (server_id) REFERENCES license_server(id),
    FOREIGN KEY (feature_id) REFERENCES feature(id),
    FOREIGN KEY (user_id) REFERENCES `user`(id),
    FOREIGN KEY (host_id) REFERENCES host(id),
    FOREIGN KEY (import_run_id) REFERENCES import_run(id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE denial (
    id                 BIGINT AUTO_INCREMENT PRIMARY KEY,
    server_id          BIGINT NOT NULL,
    feature_id         BIGINT NOT NULL,
    user_id            BIGINT NOT NULL,
    host_id            BIGINT NOT NULL,
    count              BIGINT NOT NULL,
    time               BIGINT NOT NULL,
    -- denied | unsupported
    kind               VARCHAR(16) NOT NULL,
    code               VARCHAR(64),
    reason             TEXT,
    requested_version  TEXT,
    import_run_id      BIGINT,
    FOREIGN KEY (server_id) REFERENCES license_server(id),
    FOREIGN KEY (feature_id) REFERENCES feature(id),
    FOREIGN KEY (user_id) REFERENCES `user`(id),
    FOREIGN KEY (host_id) REFERENCES host(id),
    FOREIGN KEY (import_run_id) REFERENCES import_run(id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE queued_request (
    id             BIGINT AUTO_INCREMENT PRIMARY KEY,
    server_id      BIGINT NOT NULL,
    feature_id     BIGINT NOT NULL,
    user_id        BIGINT NOT NULL,
    host_id        BIGINT NOT NULL,
    count          BIGINT NOT NULL,
    time           BIGINT,
    import_run_id  BIGINT,
    FOREIGN KEY (server_id) REFERENCES license_server(id),
    FOREIGN KEY (feature_id) REFERENCES feature(id),
    FOREIGN KEY (user_id) REFERENCES `user`(id),
    FOREIGN KEY (host_id) REFERENCES host(id),
    FOREIGN KEY (import_run_id) REFERENCES import_run(id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TABLE server_event (
    id             BIGINT AUTO_INCREMENT PRIMARY KEY,
    server_id      BIGINT NOT NULL,
    time           BIGINT NOT NULL,
    kind           VARCHAR(32) NOT NULL,
    daemon         VARCHAR(255) NOT NULL,
    text           MEDIUMTEXT NOT NULL,
    import_run_id  BIGINT,
    FOREIGN KEY (server_id) REFERENCES license_server(id),
    FOREIGN KEY (import_run_id) REFERENCES import_run(id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

-- Lines an importer could not read. The first 1000 per run are kept; import_run counts them all.
CREATE TABLE import_diagnostic (
    import_run_id  BIGINT NOT NULL,
    line           BIGINT NOT NULL,
    kind           VARCHAR(16) NOT NULL,
    text           MEDIUMTEXT NOT NULL,
    INDEX import_diagnostic_run (import_run_id, line),
    FOREIGN KEY (import_run_id) REFERENCES import_run(id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;
