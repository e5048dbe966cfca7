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

import argparse
import csv
import pathlib
import sys

import duckdb

# The contract's string columns (evidx_schema::fields::CIM_FIELDS order).
CIM = (
    "dest user process process_name process_path process_exec parent_process "
    "parent_process_name parent_process_path parent_process_exec process_id "
    "parent_process_id process_guid parent_process_guid original_file_name "
    "process_hash process_integrity_level process_current_directory user_id "
    "action vendor_product os host"
).split()
TEXT = CIM + ["evidx_source", "sourcetype", "evidx_channel"]
INTS = ["evidx_record_id", "evidx_chunk", "evidx_offset", "evidx_event_code"]


def load(con, args):
    if args.parquet:
        glob = str(pathlib.Path(args.parquet) / "**" / "*.parquet")
        con.execute(
            "CREATE VIEW processes AS SELECT * FROM read_parquet(?, hive_partitioning=true)",
            [glob],
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
    ap = argparse.ArgumentParser()
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--parquet")
    src.add_argument("--ndjson")
    ap.add_argument("--sql-dir", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    # Time text and sorting must not depend on the machine's settings.
    con.execute("SET TimeZone = 'UTC'")
    load(con, args)
    failed = 0
    for sql_file in sorted(pathlib.Path(args.sql_dir).glob("*.sql")):
        name = sql_file.stem
        try:
            cur = con.execute(sql_file.read_text(encoding="utf-8"))
            header = [d[0] for d in cur.description]
            rows = cur.fetchall()
        except duckdb.Error as e:
            failed += 1
            (out / f"{name}.err").write_text(str(e), encoding="utf-8")
            continue
        with open(out / f"{name}.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            for r in rows:
                w.writerow(["" if v is None else v for v in r])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
