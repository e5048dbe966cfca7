#!/usr/bin/env python3
"""Run SQL compiled by `evidx-query --emit-sql spark` in Spark (PySpark 3.5)
and write each result as CSV in the form of `evidx-query --format csv`.

    sql-run-spark.py [--master local[2]] (--parquet DIR | --ndjson FILE) --sql-dir IN --out OUT

The input is as for sql-run-duckdb.py. The session time zone is UTC (the
compiled SQL makes UTC time text in any zone, but daylight-saving gaps of
another zone could shift it). Every IN/<name>.sql gives OUT/<name>.csv, or
OUT/<name>.err with Spark's message.
"""

import sys

from evidx_spark_sql import processes_view, run_sql, session
from evidx_sql_contract import INTS, TEXT, arguments, run_dir

from pyspark.sql import functions as F
from pyspark.sql import types as T


def load(spark, args):
    if args.parquet:
        processes_view(spark, args.parquet)
        return
    fields = [T.StructField("_time_us", T.LongType())]
    fields += [T.StructField(c, T.StringType()) for c in TEXT]
    fields += [T.StructField(c, T.LongType()) for c in INTS]
    df = spark.read.schema(T.StructType(fields)).json(args.ndjson)
    cols = [F.expr("timestamp_micros(_time_us)").alias("_time")]
    cols += [F.col(c) for c in TEXT + INTS]
    df.select(*cols).cache().createOrReplaceTempView("processes")


def main():
    args = arguments(
        __doc__, lambda ap: ap.add_argument("--master", default="local[2]")
    )
    spark = session(args.master, "evidx-sql")
    load(spark, args)

    # Spark raises many kinds of errors; each is reported.
    failed = run_dir(args, lambda text: run_sql(spark, text), Exception)
    spark.stop()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
