#!/usr/bin/env bash
# Fuzz every parser: scripts/fuzz.sh [SECONDS=60] [TARGET...]
#
# Builds the cargo-fuzz targets of fuzz/ (installing cargo-fuzz when it is
# missing; needs the nightly toolchain), seeds their corpora from ../shared
# and the project's own fixtures (scripts/fuzz-seeds.py), runs each target
# for SECONDS, and prints its executions and time. Exits 1 when a target
# found a crash, a hang or an out-of-memory input; libFuzzer keeps it in
# fuzz/artifacts/TARGET/. Corpora grow across runs in fuzz/corpus/ (ignored
# by git).
#
# Environment knobs:
#   FUZZ_SANITIZER  none (default: the code is safe Rust, and the build is
#                   several times faster) or address
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET="${1:-60}"
shift || true
ALL_TARGETS=(evtx_chunk text_lines archive spl)
TARGETS=("${@:-${ALL_TARGETS[@]}}")
SANITIZER="${FUZZ_SANITIZER:-none}"

# Largest input per target: one EVTX chunk, a block of text, a small archive,
# a query with its macros.
max_len() {
    case "$1" in
        evtx_chunk) echo 65536 ;;
        text_lines) echo 65536 ;;
        archive) echo 262144 ;;
        spl) echo 16384 ;;
    esac
}

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

# The fuzz crate is its own workspace: start from the main lock file so
# that the fuzzed dependencies are the tested ones.
[ -f fuzz/Cargo.lock ] || cp Cargo.lock fuzz/Cargo.lock

python3 scripts/fuzz-seeds.py .

# -a: debug assertions, so integer overflows panic instead of wrapping.
FUZZ=(cargo +nightly fuzz)
BUILD_FLAGS=(-s "$SANITIZER" -a)
echo "== building the fuzz targets"
"${FUZZ[@]}" build "${BUILD_FLAGS[@]}"
# The targets are run directly: no cargo (and no cargo lock) between runs.
BIN_DIR="${CARGO_TARGET_DIR:-fuzz/target}/$(rustc +nightly -vV | sed -n 's/^host: //p')/release"

LOGS="fuzz/logs"
mkdir -p "$LOGS"
declare -a ROWS
FAILED=0
for t in "${TARGETS[@]}"; do
    echo "== fuzzing $t for ${SECONDS_PER_TARGET}s"
    status=ok
    # One thread per parser: the fuzzer is the parallelism, and runs stay
    # reproducible.
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    if ! RAYON_NUM_THREADS=1 "$BIN_DIR/$t" -artifact_prefix="fuzz/artifacts/$t/" \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=20 -rss_limit_mb=2048 \
        -max_len="$(max_len "$t")" -print_final_stats=1 "fuzz/corpus/$t" >"$LOGS/$t.log" 2>&1; then
        status=FAILED
        FAILED=1
        echo "$t failed (a stack overflow kills it without an artifact; then rebuild with" \
            "FUZZ_SANITIZER=address to catch it):"
        grep -E 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written' "$LOGS/$t.log" | head -5 || true
    fi
    # libFuzzer's own count ("stat::number_of_executed_units", or the last
    # "#N" progress line when it died) and time ("Done N runs in S second(s)").
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$LOGS/$t.log" | grep -o '[0-9]*$' ||
        grep -o '^#[0-9]*' "$LOGS/$t.log" | tail -n 1 | tr -d '#' || echo 0)
    elapsed=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$LOGS/$t.log" | awk '{print $5}' || true)
    elapsed=${elapsed:-$SECONDS_PER_TARGET}
    corpus=$(ls "fuzz/corpus/$t" | wc -l)
    ROWS+=("$(printf '%-12s %12s %8ss %10s %8s' "$t" "$execs" "$elapsed" "$((execs / (elapsed > 0 ? elapsed : 1)))" "$corpus  $status")")
done

echo
printf '%-12s %12s %9s %10s %8s\n' target executions time execs/s corpus
printf '%s\n' "${ROWS[@]}"
echo "(logs: $LOGS/TARGET.log; crashing inputs: fuzz/artifacts/TARGET/)"
exit "$FAILED"
