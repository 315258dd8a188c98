-- A denial may last: `until_time` ends the shortfall of a partial grant (SFLM grants fewer
-- licences than desired; the rest stays wanted while the granted part is held, WIT 0.3.0
-- `denial.until`). NULL: a refusal at `time` only, as every denial stored before. Partial grants
-- imported before this were stored as instants: re-import those SFLM logs to count their
-- desired hours.
ALTER TABLE denial ADD COLUMN until_time BIGINT;
-- Re-rolling hours finds the lasting denials that started before them and reach into them.
CREATE INDEX denial_feature_until ON denial (feature_id, until_time) WHERE until_time IS NOT NULL;
