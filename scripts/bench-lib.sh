# Shared helpers of scripts/bench-index.sh, scripts/bench-query.sh and
# scripts/scale-test.sh. Sourced, not run. Expects `set -euo pipefail`.
#
# Environment knobs common to all scripts:
#   EVIDX_BENCH_DIR  where generated archives and indexes go
#                    [default: <cargo target dir>/evidx-bench]
#   SEED             evidx-gen seed [default: 1]
#   THREADS          -j for evidx-index / evidx-gen / the baselines [default: all cores]
#   ESCU_DIR         the ESCU corpus [default: <repo>/../shared/escu]

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

SEED="${SEED:-1}"
THREADS="${THREADS:-}"
ESCU_DIR="${ESCU_DIR:-$REPO_ROOT/../shared/escu}"

die() { echo "ERROR: $*" >&2; exit 1; }
log() { echo "$*"; }

# seed_detection : sets DET_NAME, DETECTION and MACROS, the ESCU detection
# whose ground truth evidx-gen plants ("GetNetTcpconnection with PowerShell",
# v3) and the macros it needs; dies when the ESCU corpus is not there.
seed_detection() {
    DET_NAME=getnettcpconnection_with_powershell
    DETECTION="$ESCU_DIR/detections/endpoint/$DET_NAME.yml"
    MACROS="$ESCU_DIR/macros"
    [[ -f "$DETECTION" && -d "$MACROS" ]] || die "ESCU corpus not found at $ESCU_DIR (set ESCU_DIR)"
}

# ---------------------------------------------------------------- tools

ensure_tools() {
    command -v cargo >/dev/null || die "cargo not found (install Rust: https://rustup.rs)"
    if [[ ! -x /usr/bin/time ]]; then
        log "installing GNU time (for peak RSS)..."
        local sudo=""
        if [[ "$(id -u)" != 0 ]]; then sudo="sudo"; fi
        if command -v apt-get >/dev/null; then
            $sudo apt-get update -qq >/dev/null && $sudo apt-get install -y -qq time >/dev/null
        elif command -v dnf >/dev/null; then
            $sudo dnf install -y -q time
        elif command -v apk >/dev/null; then
            $sudo apk add -q gnu-time  # installs /usr/bin/time
        fi
        [[ -x /usr/bin/time ]] || die "/usr/bin/time (GNU time) is needed; install package 'time'"
    fi
    for t in awk sort sha256sum du df find cmp diff; do
        command -v "$t" >/dev/null || die "$t not found"
    done
}

# The cargo target dir (honours CARGO_TARGET_DIR and .cargo/config).
target_dir() {
    local d
    d="$(cargo metadata --format-version 1 --no-deps 2>/dev/null |
        grep -o '"target_directory":"[^"]*"' | head -1 | cut -d'"' -f4)"
    [[ -n "$d" ]] || d="$REPO_ROOT/target"
    echo "$d"
}

# build_release PKG... : release build, sets BIN to the binaries' dir.
build_release() {
    local args=()
    for p in "$@"; do args+=(-p "$p"); done
    log "building (cargo build --release ${args[*]})..."
    cargo build --release --quiet "${args[@]}"
    BIN="$(target_dir)/release"
}

# ---------------------------------------------------------------- numbers

now_ns() { date +%s%N; }

# median of the numbers given as arguments
median() {
    printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {
        if (NR == 0) { print "nan"; exit }
        if (NR % 2) print a[(NR+1)/2]; else printf "%.6g\n", (a[NR/2]+a[NR/2+1])/2 }'
}

# calc EXPR : floating point arithmetic with awk, e.g. calc "3 / 2"
calc() { awk "BEGIN { printf \"%.6g\n\", $1 }"; }
fmt() { awk -v v="$2" "BEGIN { printf \"$1\", v }"; }

# human bytes
hbytes() { numfmt --to=si --suffix=B --format='%.1f' "$1"; }

# size_bytes SIZE : evidx-gen size syntax (123, 5MB, 2GiB, 1.5GB) to bytes
size_bytes() {
    local s="$1" num unit mult
    num="${s%%[A-Za-z]*}"
    unit="${s#"$num"}"
    case "$unit" in
        "" | B) mult=1 ;;
        kB | KB) mult=1000 ;;
        MB) mult=1000000 ;;
        GB) mult=1000000000 ;;
        TB) mult=1000000000000 ;;
        KiB) mult=1024 ;;
        MiB) mult=1048576 ;;
        GiB) mult=1073741824 ;;
        TiB) mult=1099511627776 ;;
        *) die "bad size '$s' (use e.g. 200MB, 2GiB, 1.5GB)" ;;
    esac
    awk -v n="$num" -v m="$mult" 'BEGIN { printf "%.0f\n", n * m }'
}

# size_times SIZE K : SIZE multiplied by K, keeping the unit (200MB 2 -> 400MB)
size_times() {
    local s="$1" num unit
    num="${s%%[A-Za-z]*}"
    unit="${s#"$num"}"
    echo "$(awk -v n="$num" -v k="$2" 'BEGIN { printf "%g", n * k }')$unit"
}

# ---------------------------------------------------------------- running

# timed OUTFILE CMD... : runs CMD with stdout+stderr to OUTFILE under GNU time;
# sets T_MS (wall ms), T_CPU_MS (user + system CPU ms), T_RSS_KB (peak RSS)
# and T_RC (exit status). CPU time is the less noise-sensitive figure on a
# shared machine; wall time is what a user waits.
# With SAMPLE_ANON=1 it also samples the process's RssAnon every 50 ms and sets
# T_ANON_KB to the largest value seen: peak RSS counts the pages of mmapped
# input files too (reclaimable page cache), RssAnon is the heap.
timed() {
    local out="$1"; shift
    local rss_file="$out.rss" t0 t1 tpid cpid="" k v line
    T_ANON_KB=0
    t0=$(now_ns)
    /usr/bin/time -f '%M %U %S %e' -o "$rss_file" "$@" >"$out" 2>&1 &
    tpid=$!
    if [[ "${SAMPLE_ANON:-0}" == 1 ]]; then
        while kill -0 "$tpid" 2>/dev/null; do
            if [[ -z "$cpid" ]]; then
                read -r cpid _ <"/proc/$tpid/task/$tpid/children" 2>/dev/null || true
            fi
            if [[ -n "$cpid" ]]; then
                while read -r k v _; do
                    if [[ "$k" == RssAnon: ]]; then
                        if ((v > T_ANON_KB)); then T_ANON_KB=$v; fi
                        break
                    fi
                done <"/proc/$cpid/status" 2>/dev/null || true
            fi
            sleep 0.05
        done
    fi
    set +e
    wait "$tpid"
    T_RC=$?
    set -e
    t1=$(now_ns)
    T_MS=$(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", ns / 1e6 }')
    line="$(tail -1 "$rss_file" 2>/dev/null || true)"
    T_RSS_KB=$(awk '{print $1}' <<<"$line")
    T_CPU_MS=$(awk '{printf "%.0f", ($2 + $3) * 1000}' <<<"$line")
    [[ "$T_RSS_KB" =~ ^[0-9]+$ ]] || T_RSS_KB=0
    [[ "$T_CPU_MS" =~ ^[0-9]+$ ]] || T_CPU_MS=0
    if [[ "${SAMPLE_ANON:-0}" == 1 ]]; then
        # the sampling loop may notice the exit up to 50 ms late: use GNU time's wall clock
        T_MS=$(awk '{printf "%.0f", $4 * 1000}' <<<"$line")
        [[ "$T_MS" =~ ^[0-9]+$ ]] || T_MS=$(awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", ns / 1e6 }')
    fi
}

# warm PATH... : read inputs once so every timed run sees the same (warm) page
# cache. Writes still pending (a freshly generated archive, a new index) are
# flushed first: their writeback would otherwise land in the first timed runs.
warm() {
    sync
    find "$@" -type f -exec cat {} + >/dev/null
}

# ---------------------------------------------------------------- data

# top-level number field of a pretty-printed JSON manifest: json_top FILE KEY [INDENT]
json_num() {
    local file="$1" key="$2" indent="${3:-2}"
    grep -E "^ {$indent}\"$key\": " "$file" | head -1 | grep -oE -- '-?[0-9.]+' | head -1
}

# gen_archive FORMAT SIZE DIR : generate (or reuse, when the same evidx-gen
# binary already made it with the same arguments) an archive; sets GEN_BYTES,
# GEN_EVENTS, GEN_FILES and GEN_INPUTS (array: the host directories, i.e. the
# archive without expected/ and manifest.json).
gen_archive() {
    local format="$1" size="$2" dir="$3" stamp
    stamp="$(sha256sum "$BIN/evidx-gen" | cut -c1-16) --seed $SEED --size $size --format $format"
    if [[ -f "$dir/manifest.json" && -f "$dir/.bench-stamp" && "$(cat "$dir/.bench-stamp")" == "$stamp" ]]; then
        log "  reusing $dir"
    else
        rm -rf "$dir"
        mkdir -p "$(dirname "$dir")"
        local jargs=()
        if [[ -n "$THREADS" ]]; then jargs=(-j "$THREADS"); fi
        timed "$dir.gen.log" "$BIN/evidx-gen" --seed "$SEED" --size "$size" --format "$format" "${jargs[@]}" -o "$dir"
        [[ "$T_RC" == 0 ]] || { cat "$dir.gen.log" >&2; die "evidx-gen failed"; }
        echo "$stamp" >"$dir/.bench-stamp"
        log "  generated in $(fmt %.1f "$(calc "$T_MS / 1000")") s: $(tail -1 "$dir.gen.log")"
    fi
    GEN_EVENTS=$(json_num "$dir/manifest.json" events)
    GEN_BYTES=$(json_num "$dir/manifest.json" bytes)
    mapfile -t GEN_INPUTS < <(find "$dir" -mindepth 1 -maxdepth 1 -type d ! -name expected | sort)
    GEN_FILES=$(find "${GEN_INPUTS[@]}" -type f | wc -l)
    [[ ${#GEN_INPUTS[@]} -gt 0 ]] || die "no host directories in $dir"
}

# index_args : the -j option for evidx-index, if THREADS is set
index_jargs() { [[ -n "$THREADS" ]] && echo "-j $THREADS" || true; }

# check_index_manifest IDX EXPECTED_RECORDS : the index read every generated
# record and skipped none.
check_index_manifest() {
    local m="$1/manifest.json" read skipped
    read=$(json_num "$m" records_read 4)
    skipped=$(json_num "$m" skipped 4)
    [[ "$read" == "$2" ]] || die "index read $read records, the archive has $2"
    [[ "$skipped" == 0 ]] || die "index skipped $skipped records/chunks (see $m)"
}

host_info() {
    local cpu
    cpu="$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)"
    log "host: $(nproc) cores ($cpu), $(awk '/MemTotal/ {printf "%.1f GB RAM", $2/1e6}' /proc/meminfo 2>/dev/null || true); load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || true)"
    local rev="not a git checkout"
    if git -C "$REPO_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        rev="$(git -C "$REPO_ROOT" rev-parse --short HEAD)"
        git -C "$REPO_ROOT" diff --quiet HEAD 2>/dev/null || rev="$rev + uncommitted changes"
    fi
    log "evidx: $rev; binaries: $BIN"
}
