-- Every poll adds to its open checkouts' user_month rows (license-seconds, checkouts): an index
-- holding those columns (0020) was rewritten with each of them, about a third of `tally serve`'s
-- CPU on 1,000 polled servers. The users and hosts pages find a user's (or host's) month rows by
-- these keys and read the totals from the rows themselves.
DROP INDEX user_month_user;
DROP INDEX user_month_host;
CREATE INDEX user_month_user ON user_month (user_id, server_id);
CREATE INDEX user_month_host ON user_month (host_id, server_id);
