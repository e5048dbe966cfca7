#!/usr/bin/env bash
# Hunt benchmark: do hunts stay fast and bounded as the archive grows?
# Everything is measured in one run, on this machine, against baselines
# taken in the same run.
#
# usage: scripts/bench-hunt.sh [SMALL] [LARGE]     sizes as evidx-gen --size
#                                                  [default: 1GiB 8GiB]
#
# For SMALL and LARGE generated EVTX archives (seed $SEED):
#   index      evidx-index, once per size (wall time: the pack's baseline)
#   seed       ESCU "GetNetTcpconnection with PowerShell" (v3), SEED_REPS
#              warm runs per round (it takes about 10 ms: one sample per
#              round would be noise), SMALL and LARGE alternating; its CSV
#              must equal the planted ground truth
#   pack       every detection of $ESCU_DIR/detections, --pack --out, RUNS
#              runs; peak RSS; the seed detection's CSV must equal the truth
# and on LARGE:
#   groupby9   | tstats count min(_time) max(_time) by 9 fields, no where
#              (original_file_name process_id parent_process_id process_hash
#              dest user parent_process_name process_name process), CSV out
#   duckdb     the same group-by in DuckDB over the same rows (export-rows
#              -> DuckDB table), `group` (GROUP BY into a table) and `full`
#              (GROUP BY, ORDER BY, CSV out: what evidx-query does); the
#              DuckDB result must equal evidx's, row for row
# Prints medians and the ratios the hunt issue sets targets for:
#   seed p50 LARGE / SMALL          <= 1.5
#   pack LARGE / index LARGE        <= 0.05
#   pack peak RSS LARGE             <  1 GiB, and LARGE / SMALL about 1
#                                   (peak RSS counts the index pages mapped;
#                                   the heap, RssAnon, is printed too)
#   groupby9 / duckdb group alone   <= 2 (the issue's "DuckDB grouping
#                                   the same rows"); against DuckDB's
#                                   group+sort+CSV, the same work as evidx,
#                                   the ratio is printed too
#
# With CORPUS set to a checkout of splunk/security_content, also:
#   corpus     every detection of $CORPUS/detections that reads
#              Endpoint.Processes (several hundred), with its macros and
#              lookups, as one --pack --out, RUNS runs at both sizes; peak
#              RSS; how many ran and why the others did not (other data
#              models, MLTK models); ratio to evidx-index printed
#
# Knobs (environment): RUNS [5], SEED_REPS [9], KEEP [0: delete archives, indexes and
#   exports at the end], plus SEED, THREADS, EVIDX_BENCH_DIR, ESCU_DIR
#   (scripts/bench-lib.sh). Needs python3; installs the duckdb package with
#   pip when it is missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

SMALL="${1:-1GiB}"
LARGE="${2:-8GiB}"
RUNS="${RUNS:-5}"
SEED_REPS="${SEED_REPS:-9}"
KEEP="${KEEP:-0}"
size_bytes "$SMALL" >/dev/null
size_bytes "$LARGE" >/dev/null
seed_detection
GROUP_FIELDS=(original_file_name process_id parent_process_id process_hash dest user parent_process_name process_name process)

ensure_tools
command -v python3 >/dev/null || die "python3 is needed for the DuckDB baseline"
if ! python3 -c 'import duckdb' 2>/dev/null; then
    log "installing the duckdb Python package (pip)..."
    python3 -m pip install --quiet duckdb || die "pip install duckdb failed"
fi
build_release evidx-index evidx-query evidx-gen evidx-bench
BENCH_DIR="${EVIDX_BENCH_DIR:-$(target_dir)/evidx-bench}"
LOGS="$BENCH_DIR/logs"
mkdir -p "$LOGS"

echo
echo "==================================================================="
echo " evidx bench-hunt   SMALL=$SMALL  LARGE=$LARGE  RUNS=$RUNS  seed=$SEED"
echo "==================================================================="
host_info
log "bench dir: $BENCH_DIR; ESCU: $ESCU_DIR; duckdb $(python3 -c 'import duckdb; print(duckdb.__version__)')"
log "query times: wall clock of the whole process (start, open, search, write), warm page cache"

declare -A MS RSS ANON IDX_MS IDX_CPU IDX_BYTES IN_BYTES EVENTS GENDIR IDXDIR
CLEAN=()
cleanup() {
    if [[ "$KEEP" != 1 ]]; then
        rm -rf "${CLEAN[@]}"
        log "removed archives, indexes and exports (KEEP=1 keeps them)"
    fi
}
trap cleanup EXIT

for S in "$SMALL" "$LARGE"; do
    echo
    log "[$S] generate (or reuse) and index"
    GEN="$BENCH_DIR/gen-evtx-$S-s$SEED"
    gen_archive evtx "$S" "$GEN"
    GENDIR[$S]=$GEN
    IN_BYTES[$S]=$(du -sb --apparent-size "${GEN_INPUTS[@]}" | awk '{s+=$1} END {printf "%.0f", s}')
    EVENTS[$S]=$GEN_EVENTS
    IDX="$BENCH_DIR/hidx-$S-s$SEED"
    IDXDIR[$S]=$IDX
    CLEAN+=("$GEN" "$IDX")
    warm "${GEN_INPUTS[@]}"
    # shellcheck disable=SC2046
    timed "$LOGS/hindex-$S.log" "$BIN/evidx-index" $(index_jargs) --force -o "$IDX" "${GEN_INPUTS[@]}"
    [[ "$T_RC" == 0 ]] || { tail -20 "$LOGS/hindex-$S.log" >&2; die "evidx-index exited with $T_RC"; }
    check_index_manifest "$IDX" "$GEN_EVENTS"
    IDX_MS[$S]=$T_MS IDX_CPU[$S]=$T_CPU_MS
    IDX_BYTES[$S]=$(du -sb "$IDX" | cut -f1)
    log "  $(hbytes "${IN_BYTES[$S]}") EVTX, $GEN_EVENTS events -> index $(hbytes "${IDX_BYTES[$S]}") in $(fmt %.1f "$(calc "$T_MS / 1000")") s (cpu $(fmt %.1f "$(calc "$T_CPU_MS / 1000")") s)"
done

# run_case NAME SIZE RUN: one timed run, checked
run_case() {
    local name="$1" S="$2" r="$3" out="$LOGS/h-$1-$2-$3.out" IDX="${IDXDIR[$2]}" expected="${GENDIR[$2]}/expected/$DET_NAME.csv"
    local pack_out="$BENCH_DIR/hpack-out-$S"
    case "$name" in
        seed) timed "$out" "$BIN/evidx-query" -i "$IDX" --macros "$MACROS" -f "$DETECTION" --format csv ;;
        pack)
            rm -rf "$pack_out"
            SAMPLE_ANON=1 timed "$out" "$BIN/evidx-query" -i "$IDX" --macros "$MACROS" --pack "$ESCU_DIR/detections" --out "$pack_out"
            ANON[$name-$S]+="$T_ANON_KB " ;;
        corpus)
            rm -rf "$pack_out-corpus"
            timed "$out" "$BIN/evidx-query" -i "$IDX" --macros "$CORPUS/macros" --lookups "$CORPUS/lookups" \
                --pack "$CORPUS_PACK" --out "$pack_out-corpus"
            # 4: some detections were refused (other data models, MLTK).
            [[ "$T_RC" == 4 ]] && T_RC=0
            CORPUS_SUMMARY=$(tail -1 "$out") ;;
        groupby9)
            local by="" f
            for f in "${GROUP_FIELDS[@]}"; do by+=" Processes.$f"; done
            timed "$out" "$BIN/evidx-query" -i "$IDX" --format csv \
                "| tstats count min(_time) as firstTime max(_time) as lastTime from datamodel=Endpoint.Processes by$by" ;;
    esac
    [[ "$T_RC" == 0 ]] || { tail -20 "$out" >&2; die "$name on $S exited with $T_RC"; }
    MS[$name-$S]+="$T_MS "
    RSS[$name-$S]+="$T_RSS_KB "
    case "$name" in
        seed) cmp -s "$out" "$expected" || { diff -u "$expected" "$out" | head -20 >&2; die "seed detection on $S differs from $expected"; } ;;
        pack)
            cmp -s "$pack_out/$DET_NAME.csv" "$expected" || die "--pack's $DET_NAME on $S differs from $expected"
            grep -q "0 unsupported or failed" "$out" || { tail -5 "$out" >&2; die "a pack detection failed on $S"; } ;;
    esac
    if [[ "$name" == groupby9 && "$r" != 1 ]]; then rm -f "$out"; fi
}

echo
log "queries: $RUNS warm runs each, interleaved"
warm "${IDXDIR[$SMALL]}" "${IDXDIR[$LARGE]}"
if [[ -n "${CORPUS:-}" ]]; then
    [[ -d "$CORPUS/detections" && -d "$CORPUS/macros" ]] || die "CORPUS=$CORPUS: no detections/ and macros/ (a checkout of splunk/security_content)"
    CORPUS_PACK="$BENCH_DIR/corpus-pack"
    rm -rf "$CORPUS_PACK"
    mkdir -p "$CORPUS_PACK"
    CLEAN+=("$CORPUS_PACK" "$BENCH_DIR/hpack-out-$SMALL-corpus" "$BENCH_DIR/hpack-out-$LARGE-corpus")
    grep -rlZ --include='*.yml' 'Endpoint.Processes' "$CORPUS/detections" |
        while IFS= read -r -d '' f; do ln -sf "$(realpath "$f")" "$CORPUS_PACK/"; done
    log "corpus: $(ls "$CORPUS_PACK" | wc -l) detections of $CORPUS that read Endpoint.Processes"
fi
for ((r = 1; r <= RUNS; r++)); do
    for ((k = 1; k <= SEED_REPS; k++)); do
        run_case seed "$SMALL" "$r"
        run_case seed "$LARGE" "$r"
    done
    run_case pack "$SMALL" "$r"
    run_case pack "$LARGE" "$r"
    run_case groupby9 "$LARGE" "$r"
    if [[ -n "${CORPUS:-}" ]]; then
        run_case corpus "$SMALL" "$r"
        run_case corpus "$LARGE" "$r"
    fi
    log "  run $r/$RUNS done"
done
GB_OUT="$LOGS/h-groupby9-$LARGE-1.out"
log "correctness: seed detection == planted truth at both sizes, alone and in --pack, in all $RUNS runs"

echo
log "DuckDB baseline: the same rows, the same group-by"
ROWS="$BENCH_DIR/rows-$LARGE-s$SEED.csv"
DUCK="$BENCH_DIR/rows-$LARGE-s$SEED.duckdb"
CLEAN+=("$ROWS" "$DUCK" "$DUCK.wal" "$BENCH_DIR/hpack-out-$SMALL" "$BENCH_DIR/hpack-out-$LARGE")
rm -f "$ROWS" "$DUCK" "$DUCK.wal"
"$BIN/export-rows" "${IDXDIR[$LARGE]}" "$ROWS"
DFIELDS=()
for f in "${GROUP_FIELDS[@]}"; do DFIELDS+=("Processes.$f"); done
python3 "$REPO_ROOT/scripts/duckdb-groupby.py" "$ROWS" "$DUCK" "$RUNS" "${DFIELDS[@]}" --check "$GB_OUT" | tee "$LOGS/duckdb.log"
D_GROUP=$(grep -oE 'group median_s=[0-9.]+' "$LOGS/duckdb.log" | cut -d= -f2)
D_FULL=$(grep -oE 'full median_s=[0-9.]+' "$LOGS/duckdb.log" | cut -d= -f2)

med() { median ${MS[$1]}; }
medrss() { median ${RSS[$1]}; }
SEED_S=$(med "seed-$SMALL") SEED_L=$(med "seed-$LARGE")
PACK_S=$(med "pack-$SMALL") PACK_L=$(med "pack-$LARGE")
GB=$(med "groupby9-$LARGE")
echo
log "-------------------------------------------------------------------"
printf '  %-34s %12s %12s\n' "" "$SMALL" "$LARGE"
printf '  %-34s %12s %12s\n' "archive (EVTX)" "$(hbytes "${IN_BYTES[$SMALL]}")" "$(hbytes "${IN_BYTES[$LARGE]}")"
printf '  %-34s %12s %12s\n' "index size" "$(hbytes "${IDX_BYTES[$SMALL]}")" "$(hbytes "${IDX_BYTES[$LARGE]}")"
printf '  %-34s %12.1f %12.1f\n' "evidx-index wall s" "$(calc "${IDX_MS[$SMALL]} / 1000")" "$(calc "${IDX_MS[$LARGE]} / 1000")"
printf '  %-34s %12.1f %12.1f\n' "evidx-index cpu s" "$(calc "${IDX_CPU[$SMALL]} / 1000")" "$(calc "${IDX_CPU[$LARGE]} / 1000")"
printf '  %-34s %12.1f %12.1f   runs: %s| %s\n' "seed detection ms (median)" "$SEED_S" "$SEED_L" "${MS[seed-$SMALL]}" "${MS[seed-$LARGE]}"
printf '  %-34s %12.0f %12.0f   runs: %s| %s\n' "pack of $(ls "$BENCH_DIR/hpack-out-$LARGE" | wc -l) detections ms (median)" "$PACK_S" "$PACK_L" "${MS[pack-$SMALL]}" "${MS[pack-$LARGE]}"
printf '  %-34s %12.0f %12.0f\n' "pack peak RSS MiB (median)" "$(calc "$(medrss "pack-$SMALL") / 1024")" "$(calc "$(medrss "pack-$LARGE") / 1024")"
printf '  %-34s %12.0f %12.0f\n' "pack peak heap (RssAnon) MiB" "$(calc "$(median ${ANON[pack-$SMALL]}) / 1024")" "$(calc "$(median ${ANON[pack-$LARGE]}) / 1024")"
if [[ -n "${CORPUS:-}" ]]; then
    printf '  %-34s %12.0f %12.0f   runs: %s| %s\n' "corpus pack ms (median)" "$(med "corpus-$SMALL")" "$(med "corpus-$LARGE")" "${MS[corpus-$SMALL]}" "${MS[corpus-$LARGE]}"
    printf '  %-34s %12.0f %12.0f\n' "corpus pack peak RSS MiB (median)" "$(calc "$(medrss "corpus-$SMALL") / 1024")" "$(calc "$(medrss "corpus-$LARGE") / 1024")"
    log "  corpus: $CORPUS_SUMMARY"
fi
printf '  %-34s %12s %12.0f   runs: %s\n' "groupby9 ms (median)" "" "$GB" "${MS[groupby9-$LARGE]}"
printf '  %-34s %12s %12.0f\n' "groupby9 peak RSS MiB (median)" "" "$(calc "$(medrss "groupby9-$LARGE") / 1024")"
printf '  %-34s %12s %12.0f\n' "duckdb group ms (median)" "" "$(calc "$D_GROUP * 1000")"
printf '  %-34s %12s %12.0f\n' "duckdb group+sort+csv ms (median)" "" "$(calc "$D_FULL * 1000")"
echo
log "RATIOS (target in brackets)"
printf '  seed p50 %s / %s                RATIO %.2f   [<= 1.5]\n' "$LARGE" "$SMALL" "$(calc "$SEED_L / $SEED_S")"
printf '  pack %s / evidx-index %s         RATIO %.3f  [<= 0.05]\n' "$LARGE" "$LARGE" "$(calc "$PACK_L / ${IDX_MS[$LARGE]}")"
printf '  pack peak RSS %s / %s           RATIO %.2f   [about 1; under 1 GiB]\n' "$LARGE" "$SMALL" "$(calc "$(medrss "pack-$LARGE") / $(medrss "pack-$SMALL")")"
if [[ -n "${CORPUS:-}" ]]; then
    printf '  corpus pack %s / evidx-index %s  RATIO %.3f\n' "$LARGE" "$LARGE" "$(calc "$(med "corpus-$LARGE") / ${IDX_MS[$LARGE]}")"
fi
printf '  groupby9 / duckdb group alone       RATIO %.2f   [<= 2]\n' "$(calc "$GB / ($D_GROUP * 1000)")"
printf '  groupby9 / duckdb group+sort+csv    RATIO %.2f\n' "$(calc "$GB / ($D_FULL * 1000)")"
log "-------------------------------------------------------------------"
