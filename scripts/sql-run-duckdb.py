#!/usr/bin/env python3
"""Run SQL compiled by `evidx-query --emit-sql duckdb` in DuckDB and write
each result as CSV in the form of `evidx-query --format csv` (RFC 4180,
quoted only when needed, `\\n` line ends, null as an empty field).

The `processes` view is the Parquet written by `evidx-index --parquet DIR`.

    sql-run-duckdb.py --parquet DIR --sql-dir IN --out OUT

Every IN/<name>.sql gives OUT/<name>.csv, or OUT/<name>.err with DuckDB's
message when the statement fails. Exit status 0 when all ran.
"""

import pathlib
import sys

from evidx_sql_contract import arguments, run_dir

import duckdb


def load(con, parquet):
    glob = str(pathlib.Path(parquet) / "**" / "*.parquet")
    # A view cannot take a prepared parameter: the path is a literal.
    literal = "'" + glob.replace("'", "''") + "'"
    con.execute(
        f"CREATE VIEW processes AS SELECT * FROM read_parquet({literal}, "
        "hive_partitioning = true, hive_types = {'date': 'VARCHAR'})"
    )


def main():
    args = arguments(__doc__)
    con = duckdb.connect()
    # Time text and sorting must not depend on the machine's settings.
    con.execute("SET TimeZone = 'UTC'")
    load(con, args.parquet)

    def run(text):
        cur = con.execute(text)
        return [d[0] for d in cur.description], cur.fetchall()

    failed = run_dir(args, run, duckdb.Error)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
