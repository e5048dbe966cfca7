#!/usr/bin/env bash
# Query benchmark: per-hunt cost of evidx-query over an index against the
# re-parse approach (what Chainsaw/Hayabusa/evtx_dump+grep pay on every hunt),
# plus a correctness check of the detection output against the generator's
# planted ground truth.
#
# usage: scripts/bench-query.sh [SIZE]        SIZE as evidx-gen --size [default: 200MB]
#
#   Generates SIZE (reusing bench-index.sh's archive in the bench dir when it
#   is the same), indexes it once, then RUNS times each (interleaved, warm):
#     getnettcp  ESCU GetNetTcpconnection with PowerShell (v3 YAML, --macros)
#     pack       every detection under $ESCU_DIR/detections (--pack --out)
#     exact      inline: process_name=powershell.exe, by dest
#     contains   inline: process=*Get-NetTcpConnection*, by dest user
#     groupby    inline: no filter, count by process_name (touches every row)
#     baseline   full parse of the archive (evtx-baseline / json-baseline)
#   and prints each median in ms and the ratio query / baseline.
#   Fails (exit 1) unless getnettcp's CSV (and the pack's CSV of the same
#   detection) is byte-identical to DIR/expected/getnettcpconnection_with_powershell.csv.
#
# Knobs (environment): RUNS [5], FORMAT [evtx | jsonl], KEEP [1: keep the
#   archive and index for the next run; 0 deletes them],
#   plus SEED, THREADS, EVIDX_BENCH_DIR, ESCU_DIR (see scripts/bench-lib.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

SIZE="${1:-200MB}"
RUNS="${RUNS:-5}"
FORMAT="${FORMAT:-evtx}"
KEEP="${KEEP:-1}"
size_bytes "$SIZE" >/dev/null
case "$FORMAT" in
    evtx) BASELINE=evtx-baseline ;;
    jsonl) BASELINE=json-baseline ;;
    *) die "FORMAT must be evtx or jsonl" ;;
esac
seed_detection

ensure_tools
build_release evidx-index evidx-query evidx-gen evidx-bench
BENCH_DIR="${EVIDX_BENCH_DIR:-$(target_dir)/evidx-bench}"
LOGS="$BENCH_DIR/logs"
mkdir -p "$LOGS"

echo
echo "==================================================================="
echo " evidx bench-query   SIZE=$SIZE  FORMAT=$FORMAT  RUNS=$RUNS  seed=$SEED"
echo "==================================================================="
host_info
log "bench dir: $BENCH_DIR; ESCU: $ESCU_DIR"
log "times are wall clock of the whole process (start, open index, search, print), warm page cache"

GEN="$BENCH_DIR/gen-$FORMAT-$SIZE-s$SEED"
gen_archive "$FORMAT" "$SIZE" "$GEN"
EXPECTED="$GEN/expected/$DET_NAME.csv"
INPUT_BYTES=$(du -sb --apparent-size "${GEN_INPUTS[@]}" | awk '{s+=$1} END {printf "%.0f", s}')
log "archive: $(hbytes "$INPUT_BYTES") in $GEN_FILES files, $GEN_EVENTS events"

IDX="$BENCH_DIR/qidx-$FORMAT-$SIZE-s$SEED"
IDX_STAMP="$(sha256sum "$BIN/evidx-index" | cut -c1-16) $(cat "$GEN/.bench-stamp")"
if [[ -f "$IDX/.bench-stamp" && "$(cat "$IDX/.bench-stamp")" == "$IDX_STAMP" ]]; then
    log "reusing index $IDX"
else
    warm "${GEN_INPUTS[@]}"
    # shellcheck disable=SC2046
    timed "$LOGS/qindex.log" "$BIN/evidx-index" $(index_jargs) --force -o "$IDX" "${GEN_INPUTS[@]}"
    [[ "$T_RC" == 0 ]] || { cat "$LOGS/qindex.log" >&2; die "evidx-index exited with $T_RC"; }
    check_index_manifest "$IDX" "$GEN_EVENTS"
    echo "$IDX_STAMP" >"$IDX/.bench-stamp"
    log "indexed once in $(fmt %.2f "$(calc "$T_MS / 1000")") s (not part of the per-hunt figures)"
fi
IDX_BYTES=$(du -sb "$IDX" | cut -f1)
log "index: $(hbytes "$IDX_BYTES"), $(json_num "$IDX/manifest.json" process_events 4) process events"
warm "$IDX" "${GEN_INPUTS[@]}"

PACK_OUT="$BENCH_DIR/pack-out"
Q_EXACT='| tstats count from datamodel=Endpoint.Processes where Processes.process_name=powershell.exe by Processes.dest'
Q_CONTAINS='| tstats count from datamodel=Endpoint.Processes where Processes.process=*Get-NetTcpConnection* by Processes.dest Processes.user'
Q_GROUPBY='| tstats count from datamodel=Endpoint.Processes by Processes.process_name'
NAMES=(getnettcp pack exact contains groupby baseline)
declare -A MS

# run_case NAME RUN : one timed run; checks exit status and output
run_case() {
    local name="$1" r="$2" out="$LOGS/q-$1-$2.out"
    case "$name" in
        getnettcp) timed "$out" "$BIN/evidx-query" -i "$IDX" --macros "$MACROS" -f "$DETECTION" --format csv ;;
        pack)
            rm -rf "$PACK_OUT"
            timed "$out" "$BIN/evidx-query" -i "$IDX" --macros "$MACROS" --pack "$ESCU_DIR/detections" --out "$PACK_OUT" ;;
        exact) timed "$out" "$BIN/evidx-query" -i "$IDX" --format csv "$Q_EXACT" ;;
        contains) timed "$out" "$BIN/evidx-query" -i "$IDX" --format csv "$Q_CONTAINS" ;;
        groupby) timed "$out" "$BIN/evidx-query" -i "$IDX" --format csv "$Q_GROUPBY" ;;
        # shellcheck disable=SC2046
        baseline) timed "$out" "$BIN/$BASELINE" $(index_jargs) "${GEN_INPUTS[@]}" ;;
    esac
    # --pack exits 4 when some detections are unsupported; the others ran
    if [[ "$T_RC" != 0 && ! ("$name" == pack && "$T_RC" == 4) ]]; then
        cat "$out" >&2
        die "$name exited with $T_RC"
    fi
    MS[$name]+="$T_MS "
    case "$name" in
        getnettcp)
            if ! cmp -s "$out" "$EXPECTED"; then
                diff -u "$EXPECTED" "$out" | head -40 >&2 || true
                die "getnettcp output differs from the planted ground truth $EXPECTED (run $r)"
            fi ;;
        pack)
            local csv
            csv=$(find "$PACK_OUT" -name "$DET_NAME*.csv" | head -1)
            [[ -n "$csv" ]] || die "--pack wrote no CSV for $DET_NAME in $PACK_OUT"
            cmp -s "$csv" "$EXPECTED" || { diff -u "$EXPECTED" "$csv" | head -40 >&2 || true; die "--pack's $DET_NAME result differs from $EXPECTED"; }
            if [[ "$r" == 1 ]]; then PACK_RC=$T_RC PACK_CSVS=$(find "$PACK_OUT" -name '*.csv' | wc -l); fi
            ;;
        baseline)
            local brec
            brec=$(grep -oE 'records=[0-9]+' "$out" | cut -d= -f2)
            [[ "$brec" == "$GEN_EVENTS" ]] || die "$BASELINE read $brec records, the archive has $GEN_EVENTS" ;;
    esac
}

for ((r = 1; r <= RUNS; r++)); do
    for n in "${NAMES[@]}"; do run_case "$n" "$r"; done
    log "run $r/$RUNS done"
done

log "correctness: $DET_NAME output == $EXPECTED ($(($(wc -l <"$EXPECTED") - 1)) rows), in all $RUNS runs, alone and in --pack: OK"
log "pack: $PACK_CSVS result CSVs written, exit status $PACK_RC$([[ $PACK_RC == 4 ]] && echo ' (some detections unsupported; see logs)')"
log "rows: exact $(($(wc -l <"$LOGS/q-exact-1.out") - 1)), contains $(($(wc -l <"$LOGS/q-contains-1.out") - 1)), groupby $(($(wc -l <"$LOGS/q-groupby-1.out") - 1))"
echo
B=$(median ${MS[baseline]})
printf '  %-10s %10s %14s %14s   %s\n' case "median ms" "ratio vs base" "speedup" "runs (ms)"
for n in "${NAMES[@]}"; do
    # shellcheck disable=SC2086
    m=$(median ${MS[$n]})
    if [[ "$n" == baseline ]]; then
        printf '  %-10s %10.0f %14s %14s   %s  (%s: full parse of %s)\n' "$n" "$m" 1 "" "${MS[$n]}" "$BASELINE" "$(hbytes "$INPUT_BYTES")"
    else
        printf '  %-10s %10.0f   RATIO %.4f %12.1fx   %s\n' "$n" "$m" "$(calc "$m / $B")" "$(calc "$B / $m")" "${MS[$n]}"
    fi
done
echo
log "RATIO = evidx-query median / $BASELINE median (same run). pack = $PACK_CSVS detections in one process."
if [[ "$KEEP" != 1 ]]; then rm -rf "$IDX" "$GEN" "$PACK_OUT"; fi
