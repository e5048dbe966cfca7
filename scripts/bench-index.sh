#!/usr/bin/env bash
# Indexing benchmark (issue 9): evidx-index end to end, in one run, against
#   - evtx_dump converting the same EVTX files to JSONL, and
#   - DuckDB merely scanning the same JSONL with read_json,
# on generated archives of each SIZE and on the real EVTX files of ../shared;
# and evidx-index peak memory at SIZE vs 2 x SIZE.
#
# usage: scripts/bench-index.sh [SIZE...]     SIZEs as evidx-gen --size [default: 200MB]
#        e.g. scripts/bench-index.sh 1GiB 8GiB 32GiB
#
#   For each SIZE, RUNS times each, runs interleaved, page cache warm:
#     [evtx]  evidx-gen --format evtx, then
#       evidx-index                   -> median wall time, MB/s, records/s, cpu, peak RSS,
#                                        index size / input size
#       evtx_dump -o jsonl            -> every file converted to JSONL (written to /dev/null),
#                                        THREADS files at a time, one thread each
#                                        (installed with `cargo install evtx` when missing)
#       evtx-baseline (BASELINES=1)   -> the `evtx` crate's parse and render in one process
#     [jsonl] evidx-gen --format jsonl (evtx_dump-shaped), then
#       evidx-index
#       duckdb read_json              -> scripts/duckdb-scan.py on THREADS threads (Python
#                                        duckdb, installed with pip when missing)
#       json-baseline (BASELINES=1)   -> every line serde_json-parsed
#     [floor] (FLOOR=1, generated archives) index-floor, in the same rounds: the
#       SHA-256 of the inputs and tantivy adding their process creations (built
#       beforehand), the two stages evidx-index keeps whatever its parser does;
#       prints their sum against the time the target leaves evidx-index (half
#       evtx_dump's, twice DuckDB's): a floor above it means no parser can
#       meet the target. And evidx's parser alone against the baseline.
#   Then [real]: the EVTX files of ../shared/datasets and ../shared/sigma-regression
#   (many small files, some of them corrupt): evidx-index against evtx_dump.
#   Each prints the speed ratios evidx-index / baseline (records/s; the issue 9
#   targets are >= 2 against evtx_dump and >= 0.5 against DuckDB). records/s
#   of every tool counts the records evidx-index read from the same files.
#   Memory (MEMORY_TEST=1): evidx-index on EVTX at the first SIZE and 2 x SIZE,
#   RUNS times each, with the default index memory budget and with --memory 15;
#   prints the ratios of median peak RSS and peak heap (RssAnon) 2 x SIZE / SIZE
#   (~1.0 = bounded memory) and of median time (~2.0 = linear).
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
# Knobs (environment): RUNS [3], FORMATS ["evtx jsonl"], REAL [1: the ../shared
#   EVTX files], BASELINES [0: also the in-process evtx-baseline/json-baseline],
#   FLOOR [1: index-floor on the generated archives up to 9 GiB],
#   MEMORY_TEST [1], APPEND_TEST [1],
#   MEMORY_BUDGETS ["default 15"], KEEP [0: delete the generated
#   archives and the indexes at the end], plus SEED, THREADS, EVIDX_BENCH_DIR
#   (see scripts/bench-lib.sh).
# Exit status: non-zero if a tool fails or evidx-index misses/skips generated records.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

SIZES=("$@")
[[ ${#SIZES[@]} -gt 0 ]] || SIZES=(200MB)
SIZE="${SIZES[0]}"
RUNS="${RUNS:-3}"
FORMATS="${FORMATS:-evtx jsonl}"
REAL="${REAL:-1}"
BASELINES="${BASELINES:-0}"
FLOOR="${FLOOR:-1}"
MEMORY_TEST="${MEMORY_TEST:-1}"
APPEND_TEST="${APPEND_TEST:-1}"
MEMORY_BUDGETS="${MEMORY_BUDGETS:-default 15}"
KEEP="${KEEP:-0}"
for s in "${SIZES[@]}"; do size_bytes "$s" >/dev/null; done
NT="${THREADS:-$(nproc)}"

ensure_tools
build_release evidx-index evidx-gen evidx-bench
if ! command -v evtx_dump >/dev/null; then
    log "installing evtx_dump (cargo install evtx)..."
    cargo install --quiet evtx || die "cargo install evtx failed"
fi
if [[ "$FORMATS" == *jsonl* ]] && ! python3 -c 'import duckdb' 2>/dev/null; then
    log "installing the duckdb Python package (pip)..."
    python3 -m pip install --quiet duckdb || die "pip install duckdb failed"
fi
BENCH_DIR="${EVIDX_BENCH_DIR:-$(target_dir)/evidx-bench}"
mkdir -p "$BENCH_DIR"
LOGS="$BENCH_DIR/logs"
mkdir -p "$LOGS"

echo
echo "==================================================================="
echo " evidx bench-index   SIZES=${SIZES[*]}  RUNS=$RUNS  seed=$SEED  threads=$NT"
echo "==================================================================="
host_info
log "evtx_dump: $(evtx_dump --version 2>/dev/null | head -1)"
if [[ "$FORMATS" == *jsonl* ]]; then log "duckdb: $(python3 -c 'import duckdb; print(duckdb.__version__)')"; fi
log "bench dir: $BENCH_DIR"
log "all runs read a warm page cache; times are wall clock of the whole process"

declare -A MEM_MS MEM_RSS MEM_ANON

# bench_index_once IDX TAG [EXTRA_ARGS...] : one evidx-index run over
# INPUTS (heap sampled); sets T_MS, T_CPU_MS, T_RSS_KB, T_ANON_KB. Exit
# status 3 (records skipped) is accepted only when SKIPS_OK=1 (real files).
bench_index_once() {
    local idx="$1" tag="$2"
    shift 2
    # shellcheck disable=SC2046
    SAMPLE_ANON=1 timed "$LOGS/index-$tag.log" "$BIN/evidx-index" $(index_jargs) "$@" --force -o "$idx" "${INPUTS[@]}"
    if [[ "$T_RC" != 0 && ! ("$T_RC" == 3 && "${SKIPS_OK:-0}" == 1) ]]; then
        cat "$LOGS/index-$tag.log" >&2
        die "evidx-index exited with $T_RC"
    fi
}

# run_baseline NAME LOG : one run of a baseline over INPUTS; sets T_*.
run_baseline() {
    local name="$1" out="$2"
    case "$name" in
        evtx_dump)
            # One evtx_dump per file, NT at a time (as a user converts a folder).
            timed "$out" bash -c 'find "$@" -type f -name "*.evtx" -print0 |
                xargs -0 -P "$NT" -n 1 sh -c '"'"'evtx_dump -o jsonl -t 1 "$0" >/dev/null 2>&1 || true'"'"'' _ "${INPUTS[@]}"
            ;;
        duckdb)
            timed "$out" python3 "$REPO_ROOT/scripts/duckdb-scan.py" "$NT" "${INPUTS[@]}" ;;
        evtx-baseline | json-baseline)
            timed "$out" "$BIN/$name" -j "$NT" "${INPUTS[@]}" ;;
        *) die "unknown baseline $name" ;;
    esac
    [[ "$T_RC" == 0 ]] || { cat "$out" >&2; die "$name failed"; }
}

# compare LABEL BASELINE... : RUNS interleaved runs of evidx-index and each
# baseline over INPUTS (INPUT_BYTES bytes); prints the medians and ratios.
# With EXPECT_RECORDS set, evidx-index must read exactly that many records.
compare() {
    local label="$1" tag r b records
    shift
    local baselines=("$@")
    declare -A MS CPU RSS
    local floor_sha=() floor_parse=() floor_tantivy=()
    local idx="$BENCH_DIR/idx-$label" idx_anon=()
    tag="${label//[^A-Za-z0-9._-]/_}"
    export NT
    for ((r = 1; r <= RUNS; r++)); do
        bench_index_once "$idx" "$tag-$r"
        MS[evidx-index]+=" $T_MS" CPU[evidx-index]+=" $T_CPU_MS" RSS[evidx-index]+=" $T_RSS_KB"
        idx_anon+=("$T_ANON_KB")
        if [[ -n "${EXPECT_RECORDS:-}" ]]; then check_index_manifest "$idx" "$EXPECT_RECORDS"; fi
        local line="  run $r: evidx-index $(fmt %.2f "$(calc "$T_MS / 1000")") s"
        for b in "${baselines[@]}"; do
            run_baseline "$b" "$LOGS/$b-$tag-$r.log"
            MS[$b]+=" $T_MS" CPU[$b]+=" $T_CPU_MS" RSS[$b]+=" $T_RSS_KB"
            line+="   $b $(fmt %.2f "$(calc "$T_MS / 1000")") s"
        done
        if [[ "${WITH_FLOOR:-0}" == 1 ]]; then
            local flog="$LOGS/index-floor-$tag-$r.log"
            timed "$flog" env -u INDEX_FLOOR_STAGES "$BIN/index-floor" -j "$NT" "${INPUTS[@]}"
            [[ "$T_RC" == 0 ]] || { cat "$flog" >&2; die "index-floor failed"; }
            floor_sha+=("$(floor_secs sha256 "$flog")") floor_parse+=("$(floor_secs parse "$flog")")
            floor_tantivy+=("$(floor_secs tantivy "$flog")")
            line+="   index-floor: sha256 ${floor_sha[-1]} parse ${floor_parse[-1]} tantivy ${floor_tantivy[-1]} s"
        fi
        log "$line   load $(cut -d' ' -f1 /proc/loadavg)"
    done
    records=$(json_num "$idx/manifest.json" records_read 4)
    local idx_bytes proc_events skipped m_idx
    idx_bytes=$(du -sb "$idx" | cut -f1)
    proc_events=$(json_num "$idx/manifest.json" process_events 4)
    skipped=$(json_num "$idx/manifest.json" skipped 4)
    log "  -------------------------------------------------------------"
    printf '  %-14s %9s %9s %11s %9s %10s\n' tool "median s" "MB/s" "records/s" "cpu s" "peak RSS"
    for b in evidx-index "${baselines[@]}"; do
        # shellcheck disable=SC2086
        local m_ms m_cpu m_rss
        m_ms=$(median ${MS[$b]}) m_cpu=$(median ${CPU[$b]}) m_rss=$(median ${RSS[$b]})
        printf '  %-14s %9.2f %9.1f %11.0f %9.2f %6.0f MiB\n' "$b" "$(calc "$m_ms / 1000")" \
            "$(calc "$INPUT_BYTES / 1e6 / ($m_ms / 1000)")" "$(calc "$records / ($m_ms / 1000)")" \
            "$(calc "$m_cpu / 1000")" "$(calc "$m_rss / 1024")"
    done
    # shellcheck disable=SC2086
    m_idx=$(median ${MS[evidx-index]})
    for b in "${baselines[@]}"; do
        # shellcheck disable=SC2086
        printf '  RATIO [%s] evidx-index / %s = %.2fx records/s (cpu %.2fx)\n' "$label" "$b" \
            "$(calc "$(median ${MS[$b]}) / $m_idx")" "$(calc "$(median ${CPU[$b]}) / $(median ${CPU[evidx-index]})")"
    done
    if ((${#floor_sha[@]} > 0)); then
        # The target's time for evidx-index: half evtx_dump's (2x its
        # records/s), or twice DuckDB's (0.5x).
        local b=${baselines[0]} m_b sha tan parse budget
        # shellcheck disable=SC2086
        m_b=$(median ${MS[$b]})
        case "$b" in evtx_dump) budget=$(calc "$m_b / 2 / 1000") ;; *) budget=$(calc "$m_b * 2 / 1000") ;; esac
        sha=$(median "${floor_sha[@]}") tan=$(median "${floor_tantivy[@]}")
        printf '  FLOOR [%s] SHA-256 %.2f s + tantivy %.2f s = %.2f s (index-floor, medians); the target leaves evidx-index %.2f s (%s): floor / that = %.2f\n' \
            "$label" "$sha" "$tan" "$(calc "$sha + $tan")" "$budget" \
            "$(case "$b" in evtx_dump) echo "half of evtx_dump" ;; *) echo "twice $b" ;; esac)" \
            "$(calc "($sha + $tan) / $budget")"
        parse=$(median "${floor_parse[@]}")
        printf '  PARSE [%s] evidx-index'"'"'s parser alone (index-floor, every record read and dropped) %.2f s: %.2fx the records/s of %s\n' \
            "$label" "$parse" "$(calc "$m_b / 1000 / $parse")" "$b"
    fi
    printf '  index %s for %s input = %.1f%%; %s records, %s process events indexed, %s skipped; evidx heap %.0f MiB\n' \
        "$(hbytes "$idx_bytes")" "$(hbytes "$INPUT_BYTES")" "$(calc "100 * $idx_bytes / $INPUT_BYTES")" \
        "$records" "$proc_events" "$skipped" "$(calc "$(median "${idx_anon[@]}") / 1024")"
    # shellcheck disable=SC2086
    LAST_MS=$(median ${MS[evidx-index]}) LAST_RSS=$(median ${RSS[evidx-index]}) LAST_ANON=$(median "${idx_anon[@]}")
    rm -rf "$idx"
}

# floor_secs STAGE LOG : the seconds index-floor printed for STAGE.
floor_secs() { sed -n "s/.*stage=$1 .* secs=\([0-9.]*\) .*/\1/p" "$2"; }

input_bytes() { find "$@" -type f -printf '%s\n' | awk '{s+=$1} END {printf "%.0f", s}'; }

for SZ in "${SIZES[@]}"; do
    for FORMAT in $FORMATS; do
        case "$FORMAT" in
            evtx) baselines=(evtx_dump) extra=evtx-baseline ;;
            jsonl) baselines=(duckdb) extra=json-baseline ;;
            *) die "FORMATS: evtx and jsonl (got $FORMAT)" ;;
        esac
        if [[ "$BASELINES" == 1 ]]; then baselines+=("$extra"); fi
        echo
        log "[$FORMAT $SZ] archive"
        GEN="$BENCH_DIR/gen-$FORMAT-$SZ-s$SEED"
        gen_archive "$FORMAT" "$SZ" "$GEN"
        INPUTS=("${GEN_INPUTS[@]}")
        INPUT_BYTES=$(input_bytes "${INPUTS[@]}")
        log "  $(hbytes "$INPUT_BYTES") in $GEN_FILES files, $GEN_EVENTS events"
        warm "${INPUTS[@]}"
        # index-floor holds the documents in memory (about 0.35 GB a GiB of input).
        with_floor=$FLOOR
        if ((INPUT_BYTES > 9 * 2 ** 30)); then with_floor=0; fi
        WITH_FLOOR=$with_floor EXPECT_RECORDS=$GEN_EVENTS compare "$FORMAT-$SZ" "${baselines[@]}"
        if [[ "$FORMAT" == evtx && "$SZ" == "$SIZE" ]]; then
            MEM_MS["default,1"]=$LAST_MS MEM_RSS["default,1"]=$LAST_RSS MEM_ANON["default,1"]=$LAST_ANON
        fi
        if [[ "$KEEP" != 1 && ! ("$MEMORY_TEST" == 1 && "$FORMAT" == evtx && "$SZ" == "$SIZE") ]]; then
            rm -rf "$GEN" "$GEN.gen.log" "$GEN.gen.log.rss"
        fi
    done
done

if [[ "$REAL" == 1 ]]; then
    echo
    SHARED="$REPO_ROOT/../shared"
    mapfile -t INPUTS < <(find "$SHARED/datasets" "$SHARED/sigma-regression" -type f -name '*.evtx' 2>/dev/null | sort)
    if [[ ${#INPUTS[@]} -eq 0 ]]; then
        log "[real] no EVTX files under $SHARED: skipped"
    else
        INPUT_BYTES=$(input_bytes "${INPUTS[@]}")
        log "[real] the EVTX files of ../shared/datasets and ../shared/sigma-regression: ${#INPUTS[@]} files, $(hbytes "$INPUT_BYTES")"
        warm "${INPUTS[@]}"
        SKIPS_OK=1 compare real evtx_dump
    fi
fi

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
            INPUTS=("${GEN_INPUTS[@]}")
            warm "${INPUTS[@]}"
            rss=() ms=() anon=()
            for ((r = 1; r <= RUNS; r++)); do
                bench_index_once "$BENCH_DIR/idx-mem" "mem-$budget-$k-$r" "${extra[@]}"
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
    [[ "$KEEP" == 1 ]] || rm -rf "$GEN1" "$GEN1.gen.log" "$GEN1.gen.log.rss" "$GEN2" "$GEN2.gen.log" "$GEN2.gen.log.rss"
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
if [[ "$KEEP" == 1 ]]; then
    log "done. logs: $LOGS; archives kept (KEEP=1) in $BENCH_DIR"
else
    log "done. logs: $LOGS; generated archives deleted (KEEP=1 keeps them)"
fi
