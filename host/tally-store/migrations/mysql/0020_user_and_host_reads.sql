-- The users and hosts pages read a user's (or host's) day and month rows: which servers it used
-- and its checkouts and license-hours from the month rows (covered by the index: no row read),
-- the last day it held a license from the day rows, latest first. Without these a page of 100
-- users scanned every user's rows.
CREATE INDEX user_month_user ON user_month (user_id, server_id, checkouts, used_seconds);
CREATE INDEX user_month_host ON user_month (host_id, server_id, checkouts, used_seconds);
CREATE INDEX user_day_user ON user_day (user_id, day);
CREATE INDEX user_day_host ON user_day (host_id, day);
