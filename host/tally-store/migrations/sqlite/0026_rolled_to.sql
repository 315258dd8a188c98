-- Open checkouts count in the rollups from their start until `rolled_to`, the last poll that
-- wrote their hours (at most an hour behind `last_poll`): a poll that only extends what is
-- open keeps that in the writer's memory, and a recomputation from the facts stops where the
-- rows stop. Until now every poll wrote them: `last_poll`.
ALTER TABLE license_server ADD COLUMN rolled_to INTEGER;
UPDATE license_server SET rolled_to = last_poll;
-- A checkout reported starting at its server's last poll counted there as an instant; it now
-- counts from the next poll that writes its hours.
UPDATE store_state SET value = 'rebuild' WHERE name = 'rollups' AND EXISTS (
    SELECT 1 FROM open_checkout o JOIN license_server s ON s.id = o.server_id WHERE o.start >= s.last_poll
);
