-- The database's side of the feed's cost on a delivery INSERT (docs/benchmarks.md, issue 30): 50,000
-- rows of ~1 KB into copies of the delivery table with every index, without and with the feed's
-- columns (database defaults) and index, alternately. On a migrated database:
--     psql "$DATABASE_URL" -f bench/feed_insert_cost.sql | grep Time
\timing on
DROP TABLE IF EXISTS t_base, t_feed;
CREATE TABLE t_feed (LIKE callbacks_app_delivery INCLUDING DEFAULTS INCLUDING INDEXES);
CREATE TABLE t_base (LIKE callbacks_app_delivery INCLUDING DEFAULTS INCLUDING INDEXES);
ALTER TABLE t_base DROP COLUMN feed_seq, DROP COLUMN feed_xid;
\set cols 'id, event, target, target_kind, target_origin, is_test, payload, status, attempt_count, next_attempt_at, created_at, owner_id'
\set vals 'left(''msg_'' || g || md5(random()::text), 32), ''task.completed'', ''http://127.0.0.1:9/cb'', ''http'', ''http://127.0.0.1:9'', false, repeat(''x'', 1000), ''pending'', 0, now(), now(), 1'
INSERT INTO t_base (:cols) SELECT :vals FROM generate_series(1, 50000) g;
INSERT INTO t_feed (:cols) SELECT :vals FROM generate_series(1, 50000) g;
INSERT INTO t_base (:cols) SELECT :vals FROM generate_series(1, 50000) g;
INSERT INTO t_feed (:cols) SELECT :vals FROM generate_series(1, 50000) g;
INSERT INTO t_base (:cols) SELECT :vals FROM generate_series(1, 50000) g;
INSERT INTO t_feed (:cols) SELECT :vals FROM generate_series(1, 50000) g;
DROP TABLE t_base, t_feed;
