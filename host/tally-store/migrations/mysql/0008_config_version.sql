-- Counts changes to the license servers' configuration (added, edited, removed), so a running
-- `tally serve` notices them, also those another process made, by reading one row instead of
-- every server.
CREATE TABLE config_version (version BIGINT NOT NULL);
INSERT INTO config_version (version) VALUES (0);
