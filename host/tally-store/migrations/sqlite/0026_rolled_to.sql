-- Open checkouts count in the rollups from their start until `rolled_to`, the last poll that
-- wrote their hours (at most an hour behind `last_poll`): a poll that only extends what is
-- open keeps that in the writer's memory, and a recomputation from the facts stops where the
-- rows stop. Until now every poll wrote them: `last_poll`.
ALTER TABLE license_server ADD COLUMN rolled_to INTEGER;
UPDATE license_server SET rolled_to = last_poll;

-- Re-rolls read the open checkouts of the features they roll.
CREATE INDEX open_checkout_feature ON open_checkout (feature_id);
