-- The hours logging was on: as migrations/sqlite/0004.
ALTER TABLE import_run
    ADD COLUMN first_event BIGINT,
    ADD COLUMN last_event BIGINT;

CREATE TABLE poll_span (
    server_id   BIGINT NOT NULL REFERENCES license_server(id),
    first_poll  BIGINT NOT NULL,
    last_poll   BIGINT NOT NULL
);
CREATE INDEX poll_span_server ON poll_span (server_id, last_poll);

INSERT INTO store_state (name, value) VALUES ('logged', 'rebuild');
