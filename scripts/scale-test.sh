#!/usr/bin/env bash
# Scale acceptance test: on a generated multi-GB archive, evidx-query returns
# exactly the planted ground-truth table of the ESCU detection
# "GetNetTcpconnection with PowerShell".
#
# usage: scripts/scale-test.sh [SIZE] [FORMAT]
#   SIZE    as evidx-gen --size              [default: 2GiB]
#   FORMAT  evtx | jsonl | ecs | xml          [default: evtx, or $FORMAT]
#
#   1. evidx-gen --size SIZE --format FORMAT      (time, peak RSS)
#   2. evidx-index over the archive               (time, peak RSS; every record
#                                                  read, none skipped)
#   3. evidx-query --macros ESCU/macros -f ESCU/detections/endpoint/
#      getnettcpconnection_with_powershell.yml (v3)  (time, peak RSS)
#   4. diff the CSV against DIR/expected/getnettcpconnection_with_powershell.csv
#   Prints times, peak RSS, and index size vs input size.
#   Exit status: 0 = identical; 1 = mismatch or a step failed.
#
# Knobs (environment): EVIDX_SCALE_DIR [<cargo target dir>/evidx-scale]
#   (deleted at the end unless KEEP=1), KEEP [0], SEED [1], THREADS [all],
#   ESCU_DIR [<repo>/../shared/escu].
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

SIZE="${1:-2GiB}"
FORMAT="${2:-${FORMAT:-evtx}}"
KEEP="${KEEP:-0}"
case "$FORMAT" in evtx | jsonl | ecs | xml) ;; *) die "FORMAT must be evtx, jsonl, ecs or xml" ;; esac
SIZE_B=$(size_bytes "$SIZE")
seed_detection

ensure_tools
build_release evidx-index evidx-query evidx-gen
WORK="${EVIDX_SCALE_DIR:-$(target_dir)/evidx-scale}"
GEN="$WORK/archive-$FORMAT-$SIZE"
IDX="$WORK/index-$FORMAT-$SIZE"
LOGS="$WORK/logs"

cleanup() {
    if [[ "$KEEP" == 1 ]]; then
        log "KEEP=1: left $WORK in place"
    else
        rm -rf "$GEN" "$IDX" "$WORK/result.csv"
        log "removed archive and index (logs kept in $LOGS)"
    fi
}

echo
echo "==================================================================="
echo " evidx scale-test   SIZE=$SIZE  FORMAT=$FORMAT  seed=$SEED  threads=${THREADS:-all}"
echo "==================================================================="
host_info
log "work dir: $WORK"

# Text formats are larger than EVTX for the same events; the index is ~10%.
mkdir -p "$WORK" "$LOGS"
need=$(awk -v b="$SIZE_B" 'BEGIN { printf "%.0f", b * 1.8 }')
avail=$(($(df -Pk "$WORK" | awk 'NR==2 {print $4}') * 1024))
log "disk: $(hbytes "$avail") free at $WORK, about $(hbytes "$need") needed"
if ((avail < need)); then
    die "not enough disk space under $WORK: $(hbytes "$avail") free, about $(hbytes "$need") needed (set EVIDX_SCALE_DIR or a smaller SIZE)"
fi
trap cleanup EXIT
rm -rf "$GEN" "$IDX"

echo
log "[1/4] generate"
jargs=()
if [[ -n "$THREADS" ]]; then jargs=(-j "$THREADS"); fi
timed "$LOGS/gen.log" "$BIN/evidx-gen" --seed "$SEED" --size "$SIZE" --format "$FORMAT" "${jargs[@]}" -o "$GEN"
[[ "$T_RC" == 0 ]] || { cat "$LOGS/gen.log" >&2; die "evidx-gen failed ($T_RC)"; }
GEN_MS=$T_MS GEN_RSS=$T_RSS_KB
log "  $(tail -1 "$LOGS/gen.log")"
EVENTS=$(json_num "$GEN/manifest.json" events)
EXPECTED="$GEN/expected/$DET_NAME.csv"
[[ -f "$EXPECTED" ]] || die "the generator wrote no $EXPECTED"
mapfile -t INPUTS < <(find "$GEN" -mindepth 1 -maxdepth 1 -type d ! -name expected | sort)
INPUT_BYTES=$(du -sb --apparent-size "${INPUTS[@]}" | awk '{s+=$1} END {printf "%.0f", s}')
NFILES=$(find "${INPUTS[@]}" -type f | wc -l)
log "  input: $(hbytes "$INPUT_BYTES") in $NFILES files, $EVENTS events; expected table: $(($(wc -l <"$EXPECTED") - 1)) rows"

echo
log "[2/4] index (evidx-index; the just-written archive is likely in the page cache)"
# shellcheck disable=SC2046
SAMPLE_ANON=1 timed "$LOGS/index.log" "$BIN/evidx-index" $(index_jargs) --force -o "$IDX" "${INPUTS[@]}"
IDX_MS=$T_MS IDX_RSS=$T_RSS_KB IDX_ANON=$T_ANON_KB IDX_CPU=$T_CPU_MS
tail -1 "$LOGS/index.log" | sed 's/^/  /'
[[ "$T_RC" == 0 ]] || { tail -20 "$LOGS/index.log" >&2; die "evidx-index exited with $T_RC (see $IDX/manifest.json)"; }
check_index_manifest "$IDX" "$EVENTS"
IDX_BYTES=$(du -sb "$IDX" | cut -f1)
PROC_EVENTS=$(json_num "$IDX/manifest.json" process_events 4)

echo
log "[3/4] query ($DET_NAME v3, --macros)"
timed "$WORK/result.csv" "$BIN/evidx-query" -i "$IDX" --macros "$MACROS" -f "$DETECTION" --format csv
Q_MS=$T_MS Q_RSS=$T_RSS_KB
[[ "$T_RC" == 0 ]] || { cat "$WORK/result.csv" >&2; die "evidx-query exited with $T_RC"; }
# A second run: the hunt after the first (index pages cached).
timed "$LOGS/result2.csv" "$BIN/evidx-query" -i "$IDX" --macros "$MACROS" -f "$DETECTION" --format csv
Q2_MS=$T_MS
log "  $(($(wc -l <"$WORK/result.csv") - 1)) rows"

echo
log "[4/4] compare with the planted ground truth"
STATUS=0
if cmp -s "$WORK/result.csv" "$EXPECTED" && cmp -s "$LOGS/result2.csv" "$EXPECTED"; then
    log "  IDENTICAL: evidx-query output == $EXPECTED"
else
    STATUS=1
    cp "$WORK/result.csv" "$LOGS/result.csv"
    cp "$EXPECTED" "$LOGS/expected.csv"
    log "  MISMATCH (saved to $LOGS/result.csv and $LOGS/expected.csv):"
    diff -u "$EXPECTED" "$WORK/result.csv" | head -60 | sed 's/^/    /' || true
fi

echo
log "-------------------------------------------------------------------"
printf '  %-22s %9s %12s %14s\n' step "wall s" "peak RSS" throughput
printf '  %-22s %9.2f %8.0f MiB %9.1f MB/s\n' "evidx-gen" "$(calc "$GEN_MS / 1000")" "$(calc "$GEN_RSS / 1024")" "$(calc "$INPUT_BYTES / 1e6 / ($GEN_MS / 1000)")"
printf '  %-22s %9.2f %8.0f MiB %9.1f MB/s  %.0f events/s; cpu %.1f s; heap (RssAnon) %.0f MiB\n' "evidx-index" "$(calc "$IDX_MS / 1000")" "$(calc "$IDX_RSS / 1024")" "$(calc "$INPUT_BYTES / 1e6 / ($IDX_MS / 1000)")" "$(calc "$EVENTS / ($IDX_MS / 1000)")" "$(calc "$IDX_CPU / 1000")" "$(calc "$IDX_ANON / 1024")"
printf '  %-22s %9.3f %8.0f MiB\n' "evidx-query (1st)" "$(calc "$Q_MS / 1000")" "$(calc "$Q_RSS / 1024")"
printf '  %-22s %9.3f\n' "evidx-query (2nd)" "$(calc "$Q2_MS / 1000")"
printf '  input %s (%s events, %s process creations) -> index %s = %.2f%% of input\n' \
    "$(hbytes "$INPUT_BYTES")" "$EVENTS" "$PROC_EVENTS" "$(hbytes "$IDX_BYTES")" "$(calc "100 * $IDX_BYTES / $INPUT_BYTES")"
log "-------------------------------------------------------------------"
if [[ "$STATUS" == 0 ]]; then
    log "SCALE TEST PASSED ($SIZE $FORMAT)"
else
    log "SCALE TEST FAILED ($SIZE $FORMAT): the detection output differs from the ground truth"
fi
exit "$STATUS"
