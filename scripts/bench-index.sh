#!/usr/bin/env bash
# Indexing benchmark: evidx-index throughput against a full re-parse baseline,
# and evidx-index peak memory at SIZE vs 2 x SIZE.
#
# usage: scripts/bench-index.sh [SIZE]        SIZE as evidx-gen --size [default: 200MB]
#
#   For FORMAT in evtx, jsonl: generate SIZE with evidx-gen, then RUNS times
#   each (page cache warm, runs interleaved):
#     evidx-index  (release)          -> median wall time, MB/s, events/s, peak RSS
#     baseline                        -> median wall time
#       evtx:  evtx-baseline  = every record parsed and rendered to JSON with
#              the `evtx` crate, multi-threaded (what evtx_dump/Chainsaw/
#              Hayabusa pay on every hunt)
#       jsonl: json-baseline  = every line serde_json-parsed
#     ratio = evidx-index / baseline  (a one-off cost; bench-query.sh shows
#             what each later hunt costs)
#   Memory: evidx-index on EVTX at SIZE and 2 x SIZE, RUNS times each, with
#   the default index memory budget and with --memory 15; prints the ratios of
#   median peak RSS and peak heap (RssAnon) 2 x SIZE / SIZE (~1.0 = bounded
#   memory) and of median time (~2.0 = linear).
#
#   Append (APPEND_TEST=1): what appending and de-duplication cost, on EVTX
#   at SIZE, RUNS times each (medians, and ratios against a run in the same
#   loop):
#     fresh        evidx-index --force into an empty index (the baseline)
#     same files   the same files again: all already indexed (SHA-256 only)
#     same events  the same events as JSONL (same seed) appended: every event
#                  read and found a duplicate; against a fresh JSONL index
#                  (the same parsing, every event added)
#     new events   another archive of SIZE (seed + 1) appended: every event
#                  looked up in the index first, then added; against fresh
#
# Knobs (environment): RUNS [3], FORMATS ["evtx jsonl"], MEMORY_TEST [1],
#   APPEND_TEST [1],
#   MEMORY_BUDGETS ["default 15": evidx-index --memory values to test],
#   KEEP [0: delete the 2 x SIZE archive and the indexes at the end],
#   plus SEED, THREADS, EVIDX_BENCH_DIR (see scripts/bench-lib.sh).
# Exit status: non-zero if a tool fails or evidx-index misses/skips records.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

SIZE="${1:-200MB}"
RUNS="${RUNS:-3}"
FORMATS="${FORMATS:-evtx jsonl}"
MEMORY_TEST="${MEMORY_TEST:-1}"
APPEND_TEST="${APPEND_TEST:-1}"
MEMORY_BUDGETS="${MEMORY_BUDGETS:-default 15}"
KEEP="${KEEP:-0}"
size_bytes "$SIZE" >/dev/null

ensure_tools
build_release evidx-index evidx-gen evidx-bench
BENCH_DIR="${EVIDX_BENCH_DIR:-$(target_dir)/evidx-bench}"
mkdir -p "$BENCH_DIR"
LOGS="$BENCH_DIR/logs"
mkdir -p "$LOGS"

echo
echo "==================================================================="
echo " evidx bench-index   SIZE=$SIZE  RUNS=$RUNS  seed=$SEED  threads=${THREADS:-all}"
echo "==================================================================="
host_info
log "bench dir: $BENCH_DIR"
log "all runs read a warm page cache; times are wall clock of the whole process"

declare -A MEM_MS MEM_RSS MEM_ANON

# bench_index_once DIR IDX TAG [EXTRA_ARGS...] : one evidx-index run over
# GEN_INPUTS (heap sampled); sets T_MS, T_CPU_MS, T_RSS_KB, T_ANON_KB
bench_index_once() {
    local idx="$2" tag="$3"
    shift 3
    # shellcheck disable=SC2046
    SAMPLE_ANON=1 timed "$LOGS/index-$tag.log" "$BIN/evidx-index" $(index_jargs) "$@" --force -o "$idx" "${GEN_INPUTS[@]}"
    if [[ "$T_RC" != 0 ]]; then
        cat "$LOGS/index-$tag.log" >&2
        die "evidx-index exited with $T_RC"
    fi
}

for FORMAT in $FORMATS; do
    case "$FORMAT" in
        evtx) BASELINE=evtx-baseline ;;
        jsonl) BASELINE=json-baseline ;;
        *) die "FORMATS: only evtx and jsonl have a baseline (got $FORMAT)" ;;
    esac
    echo
    log "[$FORMAT] archive"
    GEN="$BENCH_DIR/gen-$FORMAT-$SIZE-s$SEED"
    gen_archive "$FORMAT" "$SIZE" "$GEN"
    INPUT_BYTES=$(du -sb --apparent-size "${GEN_INPUTS[@]}" | awk '{s+=$1} END {printf "%.0f", s}')
    log "  $(hbytes "$INPUT_BYTES") in $GEN_FILES files, $GEN_EVENTS events"
    warm "${GEN_INPUTS[@]}"
    IDX="$BENCH_DIR/idx-$FORMAT-$SIZE-s$SEED"
    idx_ms=() idx_rss=() idx_cpu=() idx_anon=() base_ms=() base_cpu=()
    for ((r = 1; r <= RUNS; r++)); do
        bench_index_once "$GEN" "$IDX" "$FORMAT-$r"
        idx_ms+=("$T_MS") idx_rss+=("$T_RSS_KB") idx_cpu+=("$T_CPU_MS") idx_anon+=("$T_ANON_KB")
        check_index_manifest "$IDX" "$GEN_EVENTS"
        # shellcheck disable=SC2046
        timed "$LOGS/$BASELINE-$FORMAT-$r.log" "$BIN/$BASELINE" $(index_jargs) "${GEN_INPUTS[@]}"
        [[ "$T_RC" == 0 ]] || { cat "$LOGS/$BASELINE-$FORMAT-$r.log" >&2; die "$BASELINE failed"; }
        base_ms+=("$T_MS") base_cpu+=("$T_CPU_MS")
        brec=$(grep -oE 'records=[0-9]+' "$LOGS/$BASELINE-$FORMAT-$r.log" | cut -d= -f2)
        [[ "$brec" == "$GEN_EVENTS" ]] || die "$BASELINE read $brec records, the archive has $GEN_EVENTS"
        log "  run $r: evidx-index $(fmt %.2f "$(calc "${idx_ms[-1]} / 1000")") s (cpu $(fmt %.2f "$(calc "${idx_cpu[-1]} / 1000")") s, RSS $(fmt %.0f "$(calc "${idx_rss[-1]} / 1024")") MiB)   $BASELINE $(fmt %.2f "$(calc "$T_MS / 1000")") s (cpu $(fmt %.2f "$(calc "$T_CPU_MS / 1000")") s)   load $(cut -d' ' -f1 /proc/loadavg)"
    done
    m_idx=$(median "${idx_ms[@]}")
    m_base=$(median "${base_ms[@]}")
    m_rss=$(median "${idx_rss[@]}")
    m_idx_cpu=$(median "${idx_cpu[@]}")
    m_base_cpu=$(median "${base_cpu[@]}")
    m_anon=$(median "${idx_anon[@]}")
    if [[ "$FORMAT" == evtx ]]; then
        MEM_MS["default,1"]=$m_idx MEM_RSS["default,1"]=$m_rss MEM_ANON["default,1"]=$m_anon
    fi
    proc_events=$(json_num "$IDX/manifest.json" process_events 4)
    idx_bytes=$(du -sb "$IDX" | cut -f1)
    log "  -------------------------------------------------------------"
    printf '  %-14s median %7.2f s  %7.1f MB/s  %9.0f events/s  cpu %7.2f s  peak RSS %5.0f MiB (heap %.0f MiB)\n' \
        evidx-index "$(calc "$m_idx / 1000")" "$(calc "$INPUT_BYTES / 1e6 / ($m_idx / 1000)")" \
        "$(calc "$GEN_EVENTS / ($m_idx / 1000)")" "$(calc "$m_idx_cpu / 1000")" "$(calc "$m_rss / 1024")" "$(calc "$m_anon / 1024")"
    printf '  %-14s median %7.2f s  %7.1f MB/s  %9.0f events/s  cpu %7.2f s\n' \
        "$BASELINE" "$(calc "$m_base / 1000")" "$(calc "$INPUT_BYTES / 1e6 / ($m_base / 1000)")" \
        "$(calc "$GEN_EVENTS / ($m_base / 1000)")" "$(calc "$m_base_cpu / 1000")"
    printf '  RATIO [%s] evidx-index / %s = %.2fx wall, %.2fx cpu\n' \
        "$FORMAT" "$BASELINE" "$(calc "$m_idx / $m_base")" "$(calc "$m_idx_cpu / $m_base_cpu")"
    printf '  index %s for %s input = %.1f%%; %s process events indexed\n' \
        "$(hbytes "$idx_bytes")" "$(hbytes "$INPUT_BYTES")" "$(calc "100 * $idx_bytes / $INPUT_BYTES")" "$proc_events"
    [[ "$KEEP" == 1 ]] || rm -rf "$IDX"
done

if [[ "$MEMORY_TEST" == 1 ]]; then
    SIZE2=$(size_times "$SIZE" 2)
    echo
    log "[memory] evidx-index on EVTX, SIZE=$SIZE vs 2 x SIZE=$SIZE2, memory budgets: $MEMORY_BUDGETS"
    log "  RSS = peak resident set (GNU time; includes touched pages of the mmapped inputs)"
    log "  heap = peak RssAnon (sampled every 50 ms): the process's own memory"
    GEN1="$BENCH_DIR/gen-evtx-$SIZE-s$SEED"
    GEN2="$BENCH_DIR/gen-evtx-$SIZE2-s$SEED"
    for budget in $MEMORY_BUDGETS; do
        extra=()
        if [[ "$budget" != default ]]; then extra=(--memory "$budget"); fi
        for k in 1 2; do
            [[ -z "${MEM_MS["$budget,$k"]:-}" ]] || continue
            if [[ "$k" == 1 ]]; then sz=$SIZE gen=$GEN1; else sz=$SIZE2 gen=$GEN2; fi
            gen_archive evtx "$sz" "$gen"
            warm "${GEN_INPUTS[@]}"
            rss=() ms=() anon=()
            for ((r = 1; r <= RUNS; r++)); do
                bench_index_once "$gen" "$BENCH_DIR/idx-mem" "mem-$budget-$k-$r" "${extra[@]}"
                check_index_manifest "$BENCH_DIR/idx-mem" "$GEN_EVENTS"
                rss+=("$T_RSS_KB") ms+=("$T_MS") anon+=("$T_ANON_KB")
                log "  --memory $budget at $sz run $r: $(fmt %.2f "$(calc "$T_MS / 1000")") s, RSS $(fmt %.0f "$(calc "$T_RSS_KB / 1024")") MiB, heap $(fmt %.0f "$(calc "$T_ANON_KB / 1024")") MiB   load $(cut -d' ' -f1 /proc/loadavg)"
            done
            MEM_MS["$budget,$k"]=$(median "${ms[@]}")
            MEM_RSS["$budget,$k"]=$(median "${rss[@]}")
            MEM_ANON["$budget,$k"]=$(median "${anon[@]}")
        done
    done
    log "  -------------------------------------------------------------"
    printf '  %-16s %15s %15s %15s %15s %11s %11s %9s\n' "--memory MiB" "RSS@$SIZE" "RSS@$SIZE2" "heap@$SIZE" "heap@$SIZE2" "RSS ratio" "heap ratio" "time ratio"
    for budget in $MEMORY_BUDGETS; do
        printf '  %-16s %11.0f MiB %11.0f MiB %11.0f MiB %11.0f MiB %11.2f %11.2f %9.2f\n' "$budget" \
            "$(calc "${MEM_RSS["$budget,1"]} / 1024")" "$(calc "${MEM_RSS["$budget,2"]} / 1024")" \
            "$(calc "${MEM_ANON["$budget,1"]} / 1024")" "$(calc "${MEM_ANON["$budget,2"]} / 1024")" \
            "$(calc "${MEM_RSS["$budget,2"]} / ${MEM_RSS["$budget,1"]}")" \
            "$(calc "${MEM_ANON["$budget,2"]} / ${MEM_ANON["$budget,1"]}")" \
            "$(calc "${MEM_MS["$budget,2"]} / ${MEM_MS["$budget,1"]}")"
    done
    log "  RATIO = 2 x SIZE / SIZE (medians): ~1.0 = flat (bounded memory); 2.0 = grows with input; time 2.0 = linear."
    log "  The tantivy writer buffers up to --memory (default 128 MiB, shared by all threads) before"
    log "  writing a segment, so with the default budget the heap grows with input until that cap and"
    log "  then stays flat; a small budget (15) shows the memory that does not come from that buffer."
    rm -rf "$BENCH_DIR/idx-mem"
    [[ "$KEEP" == 1 ]] || rm -rf "$GEN2" "$GEN2.gen.log" "$GEN2.gen.log.rss"
fi
if [[ "$APPEND_TEST" == 1 ]]; then
    echo
    log "[append] appending and de-duplication, EVTX at $SIZE (indexes of 2 x SIZE events at the end)"
    gen_archive jsonl "$SIZE" "$BENCH_DIR/gen-jsonl-$SIZE-s$SEED"
    JSONL_INPUTS=("${GEN_INPUTS[@]}")
    SEED0=$SEED
    SEED=$((SEED0 + 1))
    NEW_GEN="$BENCH_DIR/gen-evtx-$SIZE-s$SEED"
    gen_archive evtx "$SIZE" "$NEW_GEN"
    NEW_INPUTS=("${GEN_INPUTS[@]}")
    SEED=$SEED0
    gen_archive evtx "$SIZE" "$BENCH_DIR/gen-evtx-$SIZE-s$SEED"
    EVTX_INPUTS=("${GEN_INPUTS[@]}")
    warm "${EVTX_INPUTS[@]}" "${JSONL_INPUTS[@]}" "${NEW_INPUTS[@]}"
    IDXA="$BENCH_DIR/idx-append" IDXB="$BENCH_DIR/idx-append-jsonl"
    declare -A AP_MS AP_CPU AP_ANON
    # append_once TAG IDX [ARGS...] INPUTS... : one timed run, heap sampled
    append_once() {
        local tag="$1" idx="$2"
        shift 2
        # shellcheck disable=SC2046
        SAMPLE_ANON=1 timed "$LOGS/append-$tag.log" "$BIN/evidx-index" $(index_jargs) -o "$idx" "$@"
        [[ "$T_RC" == 0 ]] || { cat "$LOGS/append-$tag.log" >&2; die "evidx-index ($tag) exited with $T_RC"; }
        AP_MS[$tag]+="$T_MS " AP_CPU[$tag]+="$T_CPU_MS " AP_ANON[$tag]+="$T_ANON_KB "
    }
    docs() { json_num "$1/manifest.json" documents 4; }
    for ((r = 1; r <= RUNS; r++)); do
        append_once fresh "$IDXA" --force "${EVTX_INPUTS[@]}"
        d0=$(docs "$IDXA")
        append_once same-files "$IDXA" "${EVTX_INPUTS[@]}"
        [[ "$(docs "$IDXA")" == "$d0" ]] || die "the same files added documents"
        [[ "$(json_num "$IDXA/manifest.json" files_already_indexed 4)" == "$GEN_FILES" ]] ||
            die "not every file was found already indexed"
        append_once same-events "$IDXA" "${JSONL_INPUTS[@]}"
        [[ "$(docs "$IDXA")" == "$d0" ]] || die "the same events as JSONL added $(($(docs "$IDXA") - d0)) documents"
        append_once fresh-jsonl "$IDXB" --force "${JSONL_INPUTS[@]}"
        [[ "$(docs "$IDXB")" == "$d0" ]] || die "JSONL and EVTX indexes differ: $(docs "$IDXB") vs $d0"
        append_once new-events "$IDXA" "${NEW_INPUTS[@]}"
        d1=$(docs "$IDXA")
        ((d1 > d0)) || die "new events added nothing"
        log "  run $r: fresh $(fmt %.2f "$(calc "$(echo ${AP_MS[fresh]} | awk '{print $NF}') / 1000")") s; documents $d0 -> $d1 after the new archive   load $(cut -d' ' -f1 /proc/loadavg)"
    done
    log "  -------------------------------------------------------------"
    for tag in fresh same-files same-events fresh-jsonl new-events; do
        # shellcheck disable=SC2086
        printf '  %-12s median %7.2f s  cpu %7.2f s  heap %5.0f MiB\n' "$tag" \
            "$(calc "$(median ${AP_MS[$tag]}) / 1000")" "$(calc "$(median ${AP_CPU[$tag]}) / 1000")" \
            "$(calc "$(median ${AP_ANON[$tag]}) / 1024")"
    done
    # shellcheck disable=SC2086
    {
        ratio() {
            printf '  RATIO %s = %.3f wall, %.3f cpu%s\n' "$1" \
                "$(calc "$(median ${AP_MS[$2]}) / $(median ${AP_MS[$3]})")" \
                "$(calc "$(median ${AP_CPU[$2]}) / $(median ${AP_CPU[$3]})")" "${4:-}"
        }
        ratio "same files / fresh" same-files fresh
        ratio "same events as JSONL / fresh JSONL" same-events fresh-jsonl \
            " (every event a duplicate vs every event added)"
        ratio "new events appended / fresh" new-events fresh " (into an index of SIZE vs an empty one)"
    }
    [[ "$KEEP" == 1 ]] || rm -rf "$IDXA" "$IDXB" "$NEW_GEN" "$NEW_GEN.gen.log" "$NEW_GEN.gen.log.rss"
fi
echo
log "done. logs: $LOGS; archives kept for bench-query.sh in $BENCH_DIR"
