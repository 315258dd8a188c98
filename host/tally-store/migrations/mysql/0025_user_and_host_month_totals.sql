-- Per feature and UTC month, each user's totals (user_month folded over hosts) and each host's
-- (folded over users): the users and hosts reports over years and the users and hosts pages read
-- these, about a third of user_month's rows, through keys that follow what they ask (a feature's
-- months, a user's or host's rows with their totals in the index).
--
-- Polls add to the current month's user_month rows every minute and never write these: a
-- server's month in `poll_open_month` (the month of its polls) may lag here, and reads take that
-- month of that server from user_month instead. When a server's polls move to another month the
-- month they leave is folded here (rows of closed months are no longer rewritten); imports,
-- re-rolls and rebuilds fold the months they write, in their own transaction. Derived rows: no
-- foreign keys.
CREATE TABLE user_month_total (
    feature_id       BIGINT NOT NULL,
    month            BIGINT NOT NULL,
    user_id          BIGINT NOT NULL,
    server_id        BIGINT NOT NULL,
    peak_in_use      BIGINT NOT NULL,
    peak_desired     BIGINT NOT NULL,
    used_seconds     BIGINT NOT NULL,
    desired_seconds  BIGINT NOT NULL,
    denials          BIGINT NOT NULL,
    checkouts        BIGINT NOT NULL,
    PRIMARY KEY (feature_id, month, user_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;
CREATE INDEX user_month_total_user ON user_month_total (user_id, server_id, month, checkouts, used_seconds);

CREATE TABLE host_month_total (
    feature_id       BIGINT NOT NULL,
    month            BIGINT NOT NULL,
    host_id          BIGINT NOT NULL,
    server_id        BIGINT NOT NULL,
    peak_in_use      BIGINT NOT NULL,
    peak_desired     BIGINT NOT NULL,
    used_seconds     BIGINT NOT NULL,
    desired_seconds  BIGINT NOT NULL,
    denials          BIGINT NOT NULL,
    checkouts        BIGINT NOT NULL,
    PRIMARY KEY (feature_id, month, host_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;
CREATE INDEX host_month_total_host ON host_month_total (host_id, server_id, month, checkouts, used_seconds);

CREATE TABLE poll_open_month (
    server_id        BIGINT PRIMARY KEY,
    month            BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_nopad_bin;

CREATE TRIGGER feature_user_month_total AFTER DELETE ON feature
    FOR EACH ROW DELETE FROM user_month_total WHERE feature_id = OLD.id;
CREATE TRIGGER feature_host_month_total AFTER DELETE ON feature
    FOR EACH ROW DELETE FROM host_month_total WHERE feature_id = OLD.id;

-- A server's user_month rows of its polls' month, found by user (or host), server and month.
DROP INDEX user_month_user ON user_month;
DROP INDEX user_month_host ON user_month;
CREATE INDEX user_month_user ON user_month (user_id, server_id, month);
CREATE INDEX user_month_host ON user_month (host_id, server_id, month);

INSERT INTO user_month_total (feature_id, month, user_id, server_id, peak_in_use, peak_desired,
                              used_seconds, desired_seconds, denials, checkouts)
SELECT feature_id, month, user_id, max(server_id), max(peak_in_use), max(peak_desired),
       sum(used_seconds), sum(desired_seconds), sum(denials), sum(checkouts)
FROM user_month GROUP BY feature_id, month, user_id;
INSERT INTO host_month_total (feature_id, month, host_id, server_id, peak_in_use, peak_desired,
                              used_seconds, desired_seconds, denials, checkouts)
SELECT feature_id, month, host_id, max(server_id), max(peak_in_use), max(peak_desired),
       sum(used_seconds), sum(desired_seconds), sum(denials), sum(checkouts)
FROM user_month GROUP BY feature_id, month, host_id;
