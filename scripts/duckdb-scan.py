#!/usr/bin/env python3
"""DuckDB baseline of scripts/bench-index.sh: scan the same JSONL that
evidx-index indexes, with read_json, on the same number of threads.

usage: duckdb-scan.py THREADS PATH...

PATH is a JSONL file or a directory (its *.jsonl files, recursively). Every
line is parsed: the schema is detected (read_json's default), then
count(*) and count(Event.System.EventID) are computed, which DuckDB can
only give by reading each record (evtx_dump-shaped JSONL). Prints one line:
`duckdb-scan: records=R secs=S`.
"""
import os
import sys
import time

import duckdb


def main():
    threads, paths = int(sys.argv[1]), sys.argv[2:]
    files = []
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                files += [os.path.join(root, n) for n in names if n.endswith(".jsonl")]
        else:
            files.append(p)
    files.sort()
    con = duckdb.connect()
    con.execute(f"SET threads={threads}")
    t = time.time()
    records, ids = con.execute(
        "SELECT count(*), count(Event.System.EventID) "
        "FROM read_json(?, format='newline_delimited')",
        [files],
    ).fetchone()
    print(f"duckdb-scan: records={records} ids={ids} secs={time.time() - t:.3f}")


if __name__ == "__main__":
    main()
