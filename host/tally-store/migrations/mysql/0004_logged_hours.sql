-- The hours logging was on: as migrations/sqlite/0004.
ALTER TABLE import_run
    ADD COLUMN first_event BIGINT,
    ADD COLUMN last_event BIGINT;

CREATE TABLE poll_span (
    server_id   BIGINT NOT NULL,
    first_poll  BIGINT NOT NULL,
    last_poll   BIGINT NOT NULL,
    INDEX poll_span_server (server_id, last_poll),
    FOREIGN KEY (server_id) REFERENCES license_server(id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

INSERT INTO store_state (name, value) VALUES ('logged', 'rebuild');
