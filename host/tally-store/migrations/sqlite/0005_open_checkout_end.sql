-- An open checkout counts until its server's last poll (`license_server.last_poll`, read through
-- a join): every poll, failed ones included, extends what is open, so the per-row `last_seen`
-- that each poll rewrote is gone. Rows it had left behind a failed poll count further now: their
-- rollups are recomputed when the store opens.
UPDATE store_state SET value = 'rebuild' WHERE name = 'rollups' AND EXISTS (
    SELECT 1 FROM open_checkout o JOIN license_server s ON s.id = o.server_id
    WHERE s.last_poll IS NULL OR o.last_seen <> s.last_poll
);
ALTER TABLE open_checkout DROP COLUMN last_seen;
