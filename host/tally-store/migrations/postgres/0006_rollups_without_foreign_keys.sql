-- Rollup rows are derived from the facts and carry no foreign keys: as migrations/sqlite/0006.
ALTER TABLE hour_rollup
    DROP CONSTRAINT hour_rollup_feature_id_fkey,
    DROP CONSTRAINT hour_rollup_server_id_fkey;
ALTER TABLE user_hour
    DROP CONSTRAINT user_hour_feature_id_fkey,
    DROP CONSTRAINT user_hour_user_id_fkey,
    DROP CONSTRAINT user_hour_host_id_fkey,
    DROP CONSTRAINT user_hour_server_id_fkey;
