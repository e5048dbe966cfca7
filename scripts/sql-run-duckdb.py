#!/usr/bin/env python3
"""Run SQL compiled by `evidx-query --emit-sql duckdb` in DuckDB and write
each result as CSV in the form of `evidx-query --format csv` (RFC 4180,
quoted only when needed, `\\n` line ends, null as an empty field).

The `processes` table comes from Parquet written by `evidx-index --parquet`
(`--parquet DIR`) or from NDJSON with the same columns (`--ndjson FILE`,
`_time` given as epoch microseconds in `_time_us`; the query tests write it).

    sql-run-duckdb.py (--parquet DIR | --ndjson FILE) --sql-dir IN --out OUT

Every IN/<name>.sql gives OUT/<name>.csv, or OUT/<name>.err with DuckDB's
message when the statement fails. Exit status 0 when all ran.
"""

import pathlib
import sys

from evidx_sql_contract import INTS, TEXT, arguments, run_dir

import duckdb


def load(con, args):
    if args.parquet:
        glob = str(pathlib.Path(args.parquet) / "**" / "*.parquet")
        # A view cannot take a prepared parameter: the path is a literal.
        literal = "'" + glob.replace("'", "''") + "'"
        con.execute(
            f"CREATE VIEW processes AS SELECT * FROM read_parquet({literal}, "
            "hive_partitioning = true, hive_types = {'date': 'VARCHAR'})"
        )
        return
    cols = {"_time_us": "BIGINT"}
    cols.update({c: "VARCHAR" for c in TEXT})
    cols.update({c: "BIGINT" for c in INTS})
    spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in cols.items()) + "}"
    select = ", ".join(
        ["make_timestamp(_time_us) AS _time"] + [f'"{c}"' for c in TEXT + INTS]
    )
    con.execute(
        f"CREATE TABLE processes AS SELECT {select} FROM "
        f"read_json(?, format='newline_delimited', columns={spec})",
        [args.ndjson],
    )


def main():
    args = arguments(__doc__)
    con = duckdb.connect()
    # Time text and sorting must not depend on the machine's settings.
    con.execute("SET TimeZone = 'UTC'")
    load(con, args)

    def run(text):
        cur = con.execute(text)
        return [d[0] for d in cur.description], cur.fetchall()

    failed = run_dir(args, run, duckdb.Error)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
