"""What the SQL programs (sql-run-duckdb.py, spark/evidx_spark.py) share:
the CSV form of `evidx-query --format csv` (RFC 4180, quoted only when
needed, `\\n` line ends, null as an empty field)."""

import argparse
import csv
import pathlib


def write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else v for v in r])


def arguments(doc, extra=None):
    """The runner's command line: the input (`--parquet DIR`, written by
    `evidx-index --parquet`), `--sql-dir IN` and `--out OUT`, plus what
    `extra` adds."""
    ap = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if extra:
        extra(ap)
    ap.add_argument("--parquet", required=True)
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
