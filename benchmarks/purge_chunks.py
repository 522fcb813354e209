"""One shadow table deleted three ways, timed to the statement's end and
to the end of InnoDB's purge of the rows: one unbounded DELETE (what
nova-manage does), chunks `ORDER BY id LIMIT n` (what nmtool does), and
chunks bounded by an id found first (keyset).

    python benchmarks/purge_chunks.py MODE CHUNK [--port 3327]
        [--source nmp_main_p2m.shadow_instance_actions_events]

MODE: one, order or keyset. The table is copied into a scratch database
(chunktry) first, and dropped after. Needs a server of one's own
(benchmarks/bench-mariadb.sh): it turns on InnoDB's
`purge_del_mark_records` counter, a global setting.
"""
import argparse
import time

import pymysql

PURGED = ("SELECT `count` FROM information_schema.innodb_metrics "
          "WHERE name = 'purge_del_mark_records'")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("one", "order", "keyset"))
    parser.add_argument("chunk", type=int)
    parser.add_argument("--port", type=int, default=3327)
    parser.add_argument("--source",
                        default="nmp_main_p2m.shadow_instance_actions_events")
    opts = parser.parse_args()
    conn = pymysql.connect(host="127.0.0.1", port=opts.port, user="root",
                           autocommit=True)
    cur = conn.cursor()
    cur.execute("SET GLOBAL innodb_monitor_enable = 'purge_del_mark_records'")
    cur.execute("DROP DATABASE IF EXISTS chunktry")
    cur.execute("CREATE DATABASE chunktry")
    try:
        cur.execute("CREATE TABLE chunktry.t LIKE %s" % opts.source)
        cur.execute("INSERT INTO chunktry.t SELECT * FROM %s" % opts.source)
        time.sleep(5)
        cur.execute(PURGED)
        base = cur.fetchone()[0]
        started = time.perf_counter()
        deleted, after, statements = 0, -1, 0
        while True:
            last = True
            if opts.mode == "one":
                count = cur.execute("DELETE FROM chunktry.t")
            elif opts.mode == "order":
                count = cur.execute("DELETE FROM chunktry.t ORDER BY id "
                                    "LIMIT %s", (opts.chunk,))
                last = count < opts.chunk
            else:
                cur.execute("SELECT id FROM chunktry.t WHERE id > %s ORDER "
                            "BY id LIMIT 1 OFFSET %s",
                            (after, opts.chunk - 1))
                row = cur.fetchone()
                statements += 1
                if row:
                    count = cur.execute("DELETE FROM chunktry.t WHERE id > "
                                        "%s AND id <= %s", (after, row[0]))
                    after, last = row[0], False
                else:
                    count = cur.execute("DELETE FROM chunktry.t WHERE id > "
                                        "%s", (after,))
            deleted += count
            statements += 1
            if last:
                break
        statement_time = time.perf_counter() - started
        while True:
            cur.execute(PURGED)
            if cur.fetchone()[0] - base >= deleted * 0.99:
                break
            time.sleep(0.1)
        print("%s %d: %d rows, %.2f s of statements, %.2f s until purged, "
              "%d statements" % (opts.mode, opts.chunk, deleted,
                                 statement_time,
                                 time.perf_counter() - started, statements))
    finally:
        cur.execute("DROP DATABASE IF EXISTS chunktry")


if __name__ == "__main__":
    main()
