#!/usr/bin/env python3
"""evidx on Apache Spark (PySpark 3.5, Java 17): two jobs.

    evidx_spark.py index --master URL --out DIR [--evidx-index PATH] INPUT...
    evidx_spark.py hunt --master URL --data PARQUET [--macros DIR]
                        (--file DET | --pack DIR)... --out DIR [--evidx-query PATH]

`index` lists the input files on the driver and spreads them over the
executors (balanced by size). Each task runs `evidx-index --parquet` on its
share into a scratch directory of its own, moves the Parquet parts it wrote
into DIR/parquet/date=.../ (part names are unique to each run) and returns
its manifest; the driver writes DIR/manifest.json: the totals summed and
the per-input reports concatenated. DIR must be a path every executor can
write (a shared file system).

`hunt` compiles every detection (`--file`, or the .yml/.yaml/.spl files
under `--pack`; both may repeat) with `evidx-query --emit-sql spark`, runs
it over a view `processes` of the Parquet at PARQUET (a path or URL such as
s3a://bucket/evidx/parquet) and writes DIR/<detection>.csv in the form of
`evidx-query --format csv`. <detection> is the file's stem, or its path
under the pack with `/` as `.` when stems collide. It prints one line per
detection: its rows, or why the compiler refused it. Exit status: 0, or 1
when a detection failed to compile for another reason or failed in Spark.

The binaries default to evidx-index / evidx-query on PATH (on the
executors for `index`: ship them with `--files` or install them on a path
every node has).
"""

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

# The modules the SQL runners share, in scripts/ next to this directory.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from evidx_spark_sql import processes_view, run_sql, session  # noqa: E402
from evidx_sql_contract import write_csv  # noqa: E402

# evidx-index's exit status when the index was written but some input was
# skipped (listed in the manifest): the task's result still counts.
EXIT_PARTIAL = 3
# evidx-query's exit status for a search it cannot run (invalid, or SPL
# it does not support or cannot compile): reported and skipped.
EXIT_REFUSED = 3


def list_inputs(inputs):
    """The files under `inputs` (directories walked, following links, as
    evidx-index walks them) as (path, size), sorted and de-duplicated.
    Relative paths are made absolute (executors run elsewhere) by joining
    them to the working directory, not normalized: the path is the rows'
    `evidx_source`, as a single evidx-index run would give it."""
    files = {}
    for top in inputs:
        top = os.path.join(os.getcwd(), top)
        if not os.path.isdir(top):
            # A missing input is passed on: evidx-index names it.
            files[top] = os.path.getsize(top) if os.path.isfile(top) else 0
            continue
        for root, dirs, names in os.walk(top, followlinks=True):
            dirs.sort()
            for n in names:
                p = os.path.join(root, n)
                files[p] = os.path.getsize(p) if os.path.isfile(p) else 0
    return sorted(files.items())


def shares(files, n):
    """`files` in at most `n` shares of about equal bytes (largest first
    into the lightest share)."""
    bins = [[0, []] for _ in range(max(1, min(n, len(files))))]
    for path, size in sorted(files, key=lambda f: (-f[1], f[0])):
        light = min(bins, key=lambda b: b[0])
        light[0] += size
        light[1].append(path)
    return [sorted(b[1]) for b in bins if b[1]]


def executable(binary, cwd):
    """Where the executor finds `binary`: a bare name on PATH, an absolute
    path as it is, a relative one shipped with `--files` (in the task's
    working directory) or under the driver's working directory `cwd`."""
    if os.sep not in binary or os.path.isabs(binary):
        return binary
    from pyspark import SparkFiles

    for c in (SparkFiles.get(os.path.basename(binary)), os.path.join(cwd, binary)):
        if os.path.exists(c):
            return c
    return binary


def index_share(paths, out, binary, job):
    """Run on an executor: index `paths` into a scratch Parquet directory,
    copy its parts into OUT/parquet under hidden names (readers skip names
    starting with `.`), return the run's manifest and the parts copied."""
    scratch = tempfile.mkdtemp(prefix="evidx-task-")
    try:
        pq = os.path.join(scratch, "parquet")
        cmd = [binary, "--quiet", "--parquet", pq, *paths]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode not in (0, EXIT_PARTIAL):
            raise RuntimeError(
                f"{' '.join(cmd[:4])} ... ({len(paths)} inputs) exited "
                f"{p.returncode}: {p.stderr.strip()}"
            )
        with open(os.path.join(pq, "_evidx", "manifest.json"), encoding="utf-8") as f:
            manifest = json.load(f)
        parts = []
        for part in sorted(pathlib.Path(pq).glob("date=*/part-*.parquet")):
            dest = pathlib.Path(out, "parquet", part.parent.name)
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(part, dest / hidden(part.name, job))
            parts.append(str(dest / part.name))
        return manifest, parts
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def hidden(name, job):
    """The name a part has until the job publishes it."""
    return f".{name}.{job}"


def publish(out, job, parts):
    """Give the parts of successful tasks their names, and delete what
    failed or retried attempts of tasks of this job left."""
    for part in parts:
        p = pathlib.Path(part)
        os.replace(p.with_name(hidden(p.name, job)), p)
    for left in pathlib.Path(out, "parquet").glob(f"date=*/.part-*.{job}"):
        left.unlink()


# Totals that are a time range: the combined one spans them all.
EARLIEST, LATEST = ("earliest",), ("latest",)


def add_totals(total, more):
    """Add the totals `more` into `total`: numbers summed (nested objects
    too), earliest/latest as the earliest and the latest."""
    for k, v in more.items():
        if v is None or isinstance(v, bool):
            continue
        if k in EARLIEST + LATEST and k in total and total[k] is not None:
            pick = min if k in EARLIEST else max
            total[k] = pick(total[k], v)
        elif isinstance(v, dict):
            add_totals(total.setdefault(k, {}), v)
        elif isinstance(v, (int, float)):
            total[k] = total.get(k, 0) + v
        else:
            total.setdefault(k, v)


def combine(manifests):
    """The job's manifest: the tasks' totals added up, their per-input
    reports in path order, and their runs."""
    totals, files, runs = {}, [], []
    for m in manifests:
        add_totals(totals, m.get("totals", {}))
        for run in m.get("runs", []):
            runs.append(run)
            files.extend(run.get("files", []))
    files.sort(key=lambda f: f.get("path", ""))
    first = manifests[0] if manifests else {}
    return {
        "tool": "evidx_spark.py index",
        "version": first.get("version"),
        "format": first.get("format"),
        "tasks": len(manifests),
        "totals": totals,
        "files": files,
        "runs": runs,
    }


def job_index(args):
    files = list_inputs(args.inputs)
    if not files:
        sys.exit("evidx_spark index: no input files")
    spark = session(args.master, "evidx-index")
    sc = spark.sparkContext
    groups = shares(files, sc.defaultParallelism)
    out, binary, cwd = os.path.abspath(args.out), args.evidx_index, os.getcwd()
    os.makedirs(os.path.join(out, "parquet"), exist_ok=True)
    # A task attempt that fails after copying some parts leaves them hidden:
    # only the parts of the attempts Spark keeps are published.
    job = f"spark-{sc.applicationId}"
    results = (
        sc.parallelize(groups, len(groups))
        .map(lambda share: index_share(share, out, executable(binary, cwd), job))
        .collect()
    )
    spark.stop()
    publish(out, job, [p for _, parts in results for p in parts])
    manifest = combine([m for m, _ in results])
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    c = manifest["totals"]
    print(
        f"indexed {c.get('files', 0)} files in {len(groups)} tasks: "
        f"{c.get('process_events', 0)} process events, {c.get('skipped', 0)} skipped"
    )


DETECTION_SUFFIXES = (".yml", ".yaml", ".spl")


def detections(files, packs):
    """(name, path) of every detection, named by stem, or, when stems
    collide, by the path under its pack (a `--file`: under the parent of
    its folder) with `/` as `.`: `--file case/query.spl` is `case.query`."""
    found = [(pathlib.Path(f), pathlib.Path(f).parent.parent) for f in files]
    for pack in packs:
        for p in sorted(pathlib.Path(pack).rglob("*")):
            if p.is_file() and p.suffix in DETECTION_SUFFIXES:
                found.append((p, pathlib.Path(pack)))
    stems = [p.stem for p, _ in found]
    out = []
    for p, base in found:
        name = p.stem
        if stems.count(name) > 1:
            name = ".".join(p.relative_to(base).with_suffix("").parts)
        out.append((name, p))
    return out


def compile_sql(binary, path, macros):
    """(sql, None), or (None, why) when evidx-query refused the detection;
    raises on any other failure."""
    cmd = [binary, "--emit-sql", "spark", "--file", str(path)]
    if macros:
        cmd += ["--macros", macros]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode == 0:
        return p.stdout, None
    why = p.stderr.strip().splitlines()
    if p.returncode == EXIT_REFUSED:
        return None, why[0] if why else "refused"
    raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")


def job_hunt(args):
    dets = detections(args.file, args.pack)
    if not dets:
        sys.exit("evidx_spark hunt: no detections")
    names = [n for n, _ in dets]
    if len(set(names)) != len(names):
        sys.exit("evidx_spark hunt: two detections have the same name")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    spark = session(args.master, "evidx-hunt")
    processes_view(spark, args.data)
    failed = 0
    for name, path in dets:
        try:
            sql, why = compile_sql(args.evidx_query, path, args.macros)
            if why is not None:
                print(f"refused\t{name}\t{why}", flush=True)
                continue
            header, rows = run_sql(spark, sql)
        # Spark raises many kinds of errors; each is reported.
        except Exception as e:  # noqa: BLE001
            failed += 1
            first = str(e).strip().splitlines()
            print(f"failed\t{name}\t{first[0] if first else type(e).__name__}", flush=True)
            continue
        write_csv(out / f"{name}.csv", header, rows)
        print(f"ok\t{name}\t{len(rows)} rows", flush=True)
    spark.stop()
    print(f"{len(dets)} detections, {failed} failed", flush=True)
    sys.exit(1 if failed else 0)


def arguments():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    jobs = ap.add_subparsers(dest="job", required=True)
    ix = jobs.add_parser("index", help="index inputs into Parquet on the executors")
    hu = jobs.add_parser("hunt", help="run detections over Parquet")
    for j in (ix, hu):
        j.add_argument("--master", help="Spark master URL (default: spark-submit's)")
        j.add_argument("--out", required=True)
    ix.add_argument("--evidx-index", default="evidx-index")
    ix.add_argument("inputs", nargs="+", metavar="INPUT")
    hu.add_argument("--data", required=True, help="the Parquet directory or URL")
    hu.add_argument("--macros")
    hu.add_argument("--file", action="append", default=[])
    hu.add_argument("--pack", action="append", default=[])
    hu.add_argument("--evidx-query", default="evidx-query")
    args = ap.parse_args()
    if args.job == "hunt" and not (args.file or args.pack):
        ap.error("hunt needs --file or --pack")
    return args


def main():
    args = arguments()
    if args.job == "index":
        job_index(args)
    else:
        job_hunt(args)


if __name__ == "__main__":
    main()
