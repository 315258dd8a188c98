-- Rollups are read by feature (their primary keys, `(feature_id, hour, …)`), a server's as its
-- features' ranges; no read needs `(server_id, hour)` any more. Kept up to date on every import
-- they were about a sixth of the cost of writing the hourly rows.
DROP INDEX hour_rollup_server ON hour_rollup;
DROP INDEX user_hour_server ON user_hour;
