-- Rollup rows are derived from the facts and carry no foreign keys: as migrations/sqlite/0006.
-- The indexes InnoDB added for the user and host keys go too; nothing reads by them.
ALTER TABLE hour_rollup
    DROP FOREIGN KEY hour_rollup_ibfk_1,
    DROP FOREIGN KEY hour_rollup_ibfk_2;
ALTER TABLE user_hour
    DROP FOREIGN KEY user_hour_ibfk_1,
    DROP FOREIGN KEY user_hour_ibfk_2,
    DROP FOREIGN KEY user_hour_ibfk_3,
    DROP FOREIGN KEY user_hour_ibfk_4;
ALTER TABLE user_hour
    DROP INDEX user_id,
    DROP INDEX host_id;
