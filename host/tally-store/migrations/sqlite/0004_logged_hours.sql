-- The hours logging was on (seed 004's NrHours, tally-core `period::Logged`): the denominator
-- of every report average. Rollup rows exist only for hours with activity; these spans add the
-- idle hours. See `Store::logged_hours` for the rule.

-- An import run logged from its first event to its last (sessions, denials, queued requests,
-- server events), kept up to date by each committed batch.
ALTER TABLE import_run ADD COLUMN first_event INTEGER;
ALTER TABLE import_run ADD COLUMN last_event INTEGER;

-- A polled server logged from poll to poll while Tally ran: one span per run of polls, a new one
-- after a gap of missed polls (Unmonitored, seed 001).
CREATE TABLE poll_span (
    server_id   INTEGER NOT NULL REFERENCES license_server(id),
    first_poll  INTEGER NOT NULL,
    last_poll   INTEGER NOT NULL
);
CREATE INDEX poll_span_server ON poll_span (server_id, last_poll);

-- The history written before these existed gets its spans when the store opens.
INSERT INTO store_state (name, value) VALUES ('logged', 'rebuild');
