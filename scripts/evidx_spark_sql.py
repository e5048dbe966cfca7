"""What spark/evidx_spark.py needs from Spark: a session set up as evidx's
SQL expects, and the `processes` view over Parquet written by
`evidx-index --parquet`."""

from pyspark.sql import SparkSession


def session(master, app, **conf):
    """A Spark session on `master` (None: what spark-submit gives) with the
    time zone UTC (the compiled SQL makes UTC time text in any zone, but
    daylight-saving gaps of another zone could shift it) and the `date`
    partition kept as text (`YYYY-MM-DD` or `unknown`, as the Parquet
    contract says), plus `conf`."""
    b = SparkSession.builder.appName(app)
    if master:
        b = b.master(master)
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }
    settings.update(conf)
    for k, v in settings.items():
        b = b.config(k, v)
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def processes_view(spark, parquet):
    """The view `processes` over the Parquet directory (or URL) `parquet`."""
    spark.read.parquet(parquet).createOrReplaceTempView("processes")


def run_sql(spark, text):
    """A statement's (header, rows)."""
    df = spark.sql(text)
    return df.columns, df.collect()
