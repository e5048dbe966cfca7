#!/usr/bin/env bash
# Differential check of a detection corpus: evidx-query against DuckDB.
#
# usage: scripts/corpus-check.sh CORPUS INPUT...
#
# CORPUS is a checkout of splunk/security_content (detections/, macros/,
# lookups/); INPUT... are EVTX/JSON files or folders (the shared datasets,
# a generated archive). Every detection of CORPUS/detections that reads
# Endpoint.Processes is
#   - run by evidx-query as one --pack over an index of INPUT, and
#   - compiled with --emit-sql duckdb and run by DuckDB over the Parquet
#     that the same evidx-index run wrote;
# the two CSVs of each detection must be byte for byte the same. Prints how
# many ran, compiled, had rows and differed; exits 1 on a difference.
#
# Knobs (environment): WORK [a temporary folder, removed at the end],
# KEEP [0]. Needs python3 with the duckdb package (installed with pip when
# missing).
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
die() { echo "ERROR: $*" >&2; exit 1; }

CORPUS="${1:-}"
[[ -n "$CORPUS" && $# -ge 2 ]] || die "usage: $0 CORPUS INPUT..."
shift
[[ -d "$CORPUS/detections" && -d "$CORPUS/macros" ]] || die "$CORPUS: no detections/ and macros/"
python3 -c 'import duckdb' 2>/dev/null || python3 -m pip install --quiet duckdb || die "pip install duckdb failed"

cargo build --release --quiet -p evidx-index -p evidx-query --manifest-path "$REPO_ROOT/Cargo.toml"
BIN="$(cargo metadata --format-version 1 --no-deps --manifest-path "$REPO_ROOT/Cargo.toml" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release"
WORK="${WORK:-$(mktemp -d)}"
[[ "${KEEP:-0}" == 1 ]] || trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/pack" "$WORK/sql"

grep -rlZ --include='*.yml' 'Endpoint.Processes' "$CORPUS/detections" |
    while IFS= read -r -d '' f; do ln -sf "$(realpath "$f")" "$WORK/pack/"; done
echo "corpus: $(ls "$WORK/pack" | wc -l) detections that read Endpoint.Processes"

status=0
"$BIN/evidx-index" -q --force -o "$WORK/index" --parquet "$WORK/parquet" "$@" || status=$?
# 3: written, with some corrupt input skipped (named in the manifest).
[[ "$status" == 0 || "$status" == 3 ]] || die "evidx-index exited with $status"
status=0
"$BIN/evidx-query" -i "$WORK/index" --macros "$CORPUS/macros" --lookups "$CORPUS/lookups" \
    --pack "$WORK/pack" --out "$WORK/evidx" >"$WORK/pack.log" 2>"$WORK/pack.err" || status=$?
# 4: some detections were refused (other data models, MLTK models).
[[ "$status" == 0 || "$status" == 4 ]] || { tail "$WORK/pack.err" >&2; die "evidx-query --pack exited with $status"; }
echo "evidx:  $(tail -1 "$WORK/pack.log")"

compiled=0
for f in "$WORK"/pack/*.yml; do
    n="$(basename "$f" .yml)"
    if "$BIN/evidx-query" --emit-sql duckdb --macros "$CORPUS/macros" --lookups "$CORPUS/lookups" \
        -f "$f" >"$WORK/sql/$n.sql" 2>/dev/null; then
        compiled=$((compiled + 1))
    else
        rm -f "$WORK/sql/$n.sql"
    fi
done
echo "sql:    $compiled compiled for DuckDB"
python3 "$REPO_ROOT/scripts/sql-run-duckdb.py" --parquet "$WORK/parquet" --sql-dir "$WORK/sql" \
    --out "$WORK/duckdb" || die "DuckDB failed on a statement (see $WORK/duckdb/*.err; KEEP=1 keeps it)"

same=0 differ=0 with_rows=0
for f in "$WORK"/duckdb/*.csv; do
    n="$(basename "$f")"
    if cmp -s "$f" "$WORK/evidx/$n"; then
        same=$((same + 1))
        [[ "$(wc -l <"$f")" -gt 1 ]] && with_rows=$((with_rows + 1))
    else
        differ=$((differ + 1))
        echo "DIFFERS: $n"
    fi
done
echo "result: $same identical ($with_rows with rows), $differ different"
[[ "$differ" == 0 ]]
