"""What the SQL runners (sql-run-duckdb.py, sql-run-spark.py) share: the
columns of evidx's Parquet contract and the CSV form of `evidx-query
--format csv` (RFC 4180, quoted only when needed, `\\n` line ends, null as
an empty field)."""

import argparse
import csv
import pathlib

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


def write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else v for v in r])


def arguments(doc, extra=None):
    """The runners' command line: the input (`--parquet DIR` or `--ndjson
    FILE`), `--sql-dir IN` and `--out OUT`, plus what `extra` adds."""
    ap = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if extra:
        extra(ap)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--parquet")
    src.add_argument("--ndjson")
    ap.add_argument("--sql-dir", required=True)
    ap.add_argument("--out", required=True)
    return ap.parse_args()


def run_dir(args, run, errors):
    """Run every IN/<name>.sql with `run(text) -> (header, rows)`, writing
    OUT/<name>.csv, or OUT/<name>.err when it raises one of `errors`;
    returns the number that failed."""
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for sql_file in sorted(pathlib.Path(args.sql_dir).glob("*.sql")):
        name = sql_file.stem
        try:
            header, rows = run(sql_file.read_text(encoding="utf-8"))
        except errors as e:
            failed += 1
            (out / f"{name}.err").write_text(str(e), encoding="utf-8")
            continue
        write_csv(out / f"{name}.csv", header, rows)
    return failed
