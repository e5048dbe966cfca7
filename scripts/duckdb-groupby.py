#!/usr/bin/env python3
"""DuckDB baseline of scripts/bench-hunt.sh: the same tstats group-by over
the same rows, in DuckDB, timed in the same run.

usage: duckdb-groupby.py ROWS.csv DB_FILE RUNS FIELD... [--check EVIDX.csv]

ROWS.csv is `export-rows` output (every indexed event: Processes.* and
_time in microseconds). It is loaded once into DB_FILE (DuckDB's own
columnar storage, as evidx reads its own index). Then, RUNS times, the
group-by of

  | tstats count min(_time) as firstTime max(_time) as lastTime
    from datamodel=Endpoint.Processes by FIELD...

runs two ways: `group` (GROUP BY into a temporary table: the grouping
alone) and `full` (GROUP BY, ORDER BY the by-fields, CSV to /dev/null: the
work evidx-query does to print the result). Prints one line per way with
the median seconds. With --check, the `full` result must equal the evidx
CSV (as row multisets).
"""
import csv
import os
import statistics
import sys
import time

import duckdb


def main():
    args = sys.argv[1:]
    check = None
    if "--check" in args:
        i = args.index("--check")
        check = args[i + 1]
        del args[i : i + 2]
    rows_csv, db_file, runs, fields = args[0], args[1], int(args[2]), args[3:]
    fresh = not os.path.exists(db_file)
    con = duckdb.connect(db_file)
    con.execute(f"SET threads={os.cpu_count()}")
    if fresh:
        t = time.time()
        con.execute(
            "CREATE TABLE p AS SELECT * FROM read_csv(?, header=true, all_varchar=true)",
            [rows_csv],
        )
        con.execute('ALTER TABLE p ALTER "_time" TYPE BIGINT')
        print(f"duckdb: loaded {rows_csv} in {time.time() - t:.1f} s", file=sys.stderr)
    cols = ", ".join(f'"{f}"' for f in fields)
    not_null = " AND ".join(f'"{f}" IS NOT NULL' for f in fields)
    select = (
        f"SELECT {cols}, count(*) AS count, "
        f'min("_time") // 1000000 AS firstTime, max("_time") // 1000000 AS lastTime '
        f"FROM p WHERE {not_null} GROUP BY {cols}"
    )
    ways = {
        "group": f"CREATE OR REPLACE TEMP TABLE r AS {select}",
        "full": f"COPY ({select} ORDER BY {cols}) TO '/dev/null' (FORMAT csv, HEADER)",
    }
    for name, sql in ways.items():
        times = []
        for _ in range(runs):
            t = time.time()
            con.execute(sql)
            times.append(time.time() - t)
        print(f"duckdb {name} median_s={statistics.median(times):.4f} runs={' '.join(f'{x:.3f}' for x in times)}")
    if check:
        out = db_file + ".result.csv"
        con.execute(f"COPY ({select} ORDER BY {cols}) TO '{out}' (FORMAT csv, HEADER)")
        with open(out, newline="") as a, open(check, newline="") as b:
            ra, rb = list(csv.reader(a)), list(csv.reader(b))
        os.remove(out)
        if ra[1:] and sorted(ra[1:]) == sorted(rb[1:]) and len(ra) == len(rb):
            print(f"duckdb check: the same {len(ra) - 1} rows as {check}")
        else:
            print(f"duckdb check: DIFFERENT from {check} ({len(ra) - 1} vs {len(rb) - 1} rows)")
            sys.exit(1)


if __name__ == "__main__":
    main()
